/**
 * AsyncResult: a thenable with every Promise method over one or more submitted messages, with
 * IPython Parallel's inspection API (ready, progress, timings, metadata, captured output) and
 * async iteration.
 */
import { onAbort, raceAbort, validateSignal } from "../abort.js";
import { CompositeError, TimeoutError } from "../errors.js";
import { checkBooleans, checkOptions, checkReturnWhen } from "../options.js";
import type { ReturnWhen } from "../options.js";
import type { ProgressBarFactory } from "./progress-bar.js";
import type { TaskEntry, TaskMetadata } from "./task-entry.js";

/**
 * One value per message, typed by the result's shape: `V` when the result stands for one
 * message (`Scalar` true), `V[]` for several, either when the shape is not known.
 */
export type PerMessage<Scalar extends boolean, V> = [Scalar] extends [true] ? V : [Scalar] extends [false] ? V[] : V | V[];

/** What iterating a result yields: the value of a one-message result, else the items of its list. */
export type ItemOf<T, Scalar extends boolean> = [Scalar] extends [true] ? T : T extends ReadonlyArray<infer E> ? E : unknown;

/** An argument of type `T`, or the future of a task whose value has that type (it runs first). */
export type Awaitable<T> = T | AsyncResult<T>;

/** A function's arguments, each of which may also be a future of its type. */
export type AwaitableArgs<A extends readonly unknown[]> = { [K in keyof A]: Awaitable<A[K]> };

/**
 * A result as `asCompleted` yields it. `for await` would unwrap a thenable, so the future is
 * typed without `then`/`catch`/`finally`; `get()` or `wait()` read it.
 */
export type Future<T = unknown, Scalar extends boolean = boolean> = Omit<AsyncResult<T, Scalar>, "then" | "catch" | "finally">;

/** What a result needs from its client (kept narrow to avoid an import cycle). */
export interface ResultOwner {
  abort(jobs: AsyncResult): Promise<string[]>;
  interrupt(jobs: AsyncResult): Promise<number[]>;
  /** Registered engine ids (empty while no engine has registered). */
  readonly ids: number[];
  /** Draws `waitInteractive`'s bar on a terminal. */
  readonly progressBar: ProgressBarFactory;
}

/** How entries combine into the awaited value. */
export interface ResultShape {
  /** One integer target: the value itself rather than a list. */
  scalar: boolean;
  /** Map results: concatenate chunk results into one list of items. */
  flatten?: boolean;
  /** Map results: the items one message's value stands for (default: the value, a list). */
  items?: (value: unknown) => unknown[];
  /** Post-processing of the joined value (scatter's `undefined`…). */
  join?: (value: unknown) => unknown;
  label?: string;
  /** What one message is, in error summaries: `engines` for direct views, else `tasks`. */
  unit?: "engines" | "tasks";
  /** Cancels the messages when it aborts; awaiting the result then rejects with its reason. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link AsyncResult.get}. */
export interface GetOptions {
  /** Milliseconds to wait; on expiry a TimeoutError is thrown and the task keeps running. */
  timeout?: number;
  /** Return errors in place of values (one entry per input item) instead of throwing. */
  returnExceptions?: boolean;
  /**
   * `"FIRST_EXCEPTION"`: throw the first failure as soon as it arrives instead of waiting for
   * every message (IPython Parallel's `get(return_when=FIRST_EXCEPTION)`). @default "ALL_COMPLETED"
   */
  returnWhen?: "ALL_COMPLETED" | "FIRST_EXCEPTION";
  /** Stops waiting and cancels the tasks (see {@link AsyncResult.cancel}); rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@link AsyncResult.wait}. */
export interface WaitOptions {
  /** Milliseconds to wait before resolving to false. */
  timeout?: number;
  /** Stops waiting and cancels the tasks (see {@link AsyncResult.cancel}); rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@link AsyncResult.waitInteractive}. */
export interface WaitInteractiveOptions {
  /** Milliseconds between progress updates. @default 1000 */
  interval?: number;
  /** Where progress goes. @default process.stderr */
  stream?: NodeJS.WriteStream;
  /** Stop waiting after this many ms (the tasks keep running). @default no limit */
  timeout?: number;
  /** Return when every message finished, the first one finished, or the first one failed. @default "ALL_COMPLETED" */
  returnWhen?: ReturnWhen;
  /** Stops waiting and cancels the tasks (see {@link AsyncResult.cancel}); rejects with the signal's reason. */
  signal?: AbortSignal;
}

const NOT_READY = "result not ready";

/** Option names of {@link AsyncResult.waitInteractive}. */
export const WAIT_INTERACTIVE_OPTIONS = ["interval", "stream", "timeout", "returnWhen", "signal"] as const;

/**
 * The result of a submission: `T` is the awaited value; `Scalar` tells whether it stands for
 * one message (metadata, stdout and stderr are then single values) or several (lists).
 */
export class AsyncResult<T = unknown, Scalar extends boolean = boolean> implements Promise<T> {
  private promise: Promise<T> | undefined;
  /** Signals whose abort already cancels these tasks (a wait loop passes the same one many times). */
  private readonly cancelledBy = new WeakSet<AbortSignal>();

  constructor(
    protected readonly owner: ResultOwner,
    protected readonly entries: readonly TaskEntry[],
    protected readonly shape: ResultShape,
  ) {
    if (shape.signal) this.cancelOn(shape.signal);
  }

  /** `Object.prototype.toString` tag; with `then`, `catch` and `finally` it makes a result usable wherever a Promise is expected. */
  get [Symbol.toStringTag](): string {
    return "AsyncResult";
  }

  /** Msg ids of the submitted messages, in submission order. */
  get msgIds(): string[] {
    return this.entries.map((e) => e.msgId);
  }

  /** Number of messages (or items, for maps). */
  get length(): number {
    return this.shape.flatten ? this.entries.reduce((n, e) => n + e.count, 0) : this.entries.length;
  }

  /** True when every message has a terminal state. */
  ready(): boolean {
    return this.entries.every((e) => e.settled);
  }

  /** True when ready and nothing failed. Throws if not ready, as IPython Parallel does. */
  successful(): boolean {
    if (!this.ready()) throw new Error("successful() called before the result is ready; await it or check ready() first");
    return this.entries.every((e) => e.metadata.status === "ok");
  }

  /** Messages (map: items) finished so far. */
  get progress(): number {
    return this.entries.reduce((n, e) => n + (e.settled ? (this.shape.flatten ? e.count : 1) : 0), 0);
  }

  /** Milliseconds from the first submission to now while running; once ready, {@link wallTime}. */
  get elapsed(): number {
    if (this.ready()) return this.wallTime;
    return Date.now() - Math.min(...this.entries.map((e) => e.metadata.submitted));
  }

  /**
   * Sum of the engines' compute times (completed − started of each message), in ms. Throws
   * TimeoutError("result not ready") before the result is ready, as IPython Parallel does.
   */
  get serialTime(): number {
    if (!this.ready()) throw new TimeoutError(NOT_READY);
    return this.entries.reduce((sum, e) => sum + ((e.metadata.completed ?? 0) - (e.metadata.started ?? e.metadata.completed ?? 0)), 0);
  }

  /**
   * From the first submission to the last result received by this client, in ms (both stamps
   * are the client's clock). Throws TimeoutError("result not ready") before the result is ready.
   */
  get wallTime(): number {
    if (!this.ready()) throw new TimeoutError(NOT_READY);
    const submitted = Math.min(...this.entries.map((e) => e.metadata.submitted));
    return Math.max(...this.entries.map((e) => e.metadata.received ?? submitted)) - submitted;
  }

  /** Per-message metadata (a single record for a scalar result). */
  get metadata(): PerMessage<Scalar, TaskMetadata> {
    return this.pick((e) => e.metadata);
  }

  /** Captured stdout, per message (a string for a scalar result). */
  get stdout(): PerMessage<Scalar, string> {
    return this.pick((e) => e.metadata.stdout);
  }

  /** Captured stderr, per message (a string for a scalar result). */
  get stderr(): PerMessage<Scalar, string> {
    return this.pick((e) => e.metadata.stderr);
  }

  /** Engine ids that ran (or run) each message. */
  get engineIds(): Array<number | undefined> {
    return this.entries.map((e) => e.metadata.engineId);
  }

  /**
   * Waits until ready or `timeout` ms; resolves to whether it is ready. Never throws task
   * errors. With a `signal`, aborting it cancels the tasks and rejects with its reason.
   */
  async wait(timeoutOrOptions?: number | WaitOptions): Promise<boolean> {
    const options: WaitOptions =
      typeof timeoutOrOptions === "object" && timeoutOrOptions !== null
        ? timeoutOrOptions
        : { ...(timeoutOrOptions === undefined ? {} : { timeout: timeoutOrOptions }) };
    checkOptions(options, ["timeout", "signal"], "wait");
    const { timeout, signal } = options;
    const all = this.whenCancelled(
      Promise.all(this.entries.map((e) => e.done)).then(() => true),
      signal,
    );
    if (timeout === undefined) return await all;
    validateTimeout(timeout);
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout)));
    try {
      return await Promise.race([all, expiry]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The value, waiting at most `timeout` ms (TimeoutError; the task is not cancelled). With a
   * `signal`, aborting it cancels the tasks and rejects with its reason.
   */
  async get(options: GetOptions = {}): Promise<T> {
    checkOptions(options, ["timeout", "returnExceptions", "returnWhen", "signal"], "get");
    checkBooleans(options, ["returnExceptions"], "get");
    const { timeout, signal } = options;
    if (timeout !== undefined) validateTimeout(timeout);
    const returnWhen = checkReturnWhen(options.returnWhen, "get");
    if (returnWhen === "FIRST_COMPLETED")
      throw new RangeError(
        "get: returnWhen FIRST_COMPLETED is not supported (a value needs every message); use wait(ar.split(), { returnWhen })",
      );
    if (returnWhen === "FIRST_EXCEPTION" && !options.returnExceptions) {
      const reached = this.whenReached("FIRST_EXCEPTION");
      if (!(await this.whenCancelled(reached.within(timeout ?? Infinity), signal))) throw this.notReadyAfter(timeout as number);
      const failed = this.entries.find((e) => e.settled && e.error !== undefined);
      if (failed && !this.ready()) throw failed.error;
    }
    if (timeout !== undefined && !(await this.wait({ timeout, ...(signal ? { signal } : {}) }))) {
      throw this.notReadyAfter(timeout);
    }
    if (options.returnExceptions) {
      await this.wait(signal ? { signal } : {});
      return this.collect(true);
    }
    return await this.whenCancelled(Promise.resolve(this), signal);
  }

  /**
   * Cancels what has not finished: aborts the messages still queued, then interrupts those
   * running (see {@link interrupt}). Each ends as TaskAborted or TaskInterrupted.
   */
  async cancel(): Promise<void> {
    if (this.ready()) return;
    await this.abort();
    if (!this.ready()) await this.interrupt();
  }

  /** Aborts the messages that are still queued. */
  async abort(): Promise<string[]> {
    return await this.owner.abort(this);
  }

  /**
   * Interrupts the messages that are running (SIGINT to their engines): a task waiting on
   * async work fails with TaskInterrupted and the engine goes on; an engine stuck in
   * synchronous code that cannot answer within 1 s is stopped (its task fails with EngineError).
   * Resolves with the engines signalled.
   */
  async interrupt(): Promise<number[]> {
    if (this.ready()) return [];
    return await this.owner.interrupt(this);
  }

  /** One AsyncResult per message; a one-message result is its own split, as in IPython Parallel. */
  split(): Array<AsyncResult<unknown, true>> {
    if (this.entries.length === 1) return [this as AsyncResult<unknown, true>];
    return this.entries.map((e) => new AsyncResult<unknown, true>(this.owner, [e], { scalar: true, ...this.mapShape() }));
  }

  /**
   * One result over the messages of several (the inverse of {@link split}), e.g. to gather
   * the `done` set of `wait()`. Map results join into an AsyncMapResult over all their items;
   * otherwise the value lists every message's value in order. One result joins to itself.
   */
  static join(...results: AsyncResult[]): AsyncResult<unknown[], false> {
    const first = results[0];
    if (first === undefined) throw new TypeError("AsyncResult.join needs at least one AsyncResult");
    if (!results.every((r) => r instanceof AsyncResult)) throw new TypeError("AsyncResult.join: every argument must be an AsyncResult");
    if (results.length === 1) return first as AsyncResult<unknown[], false>;
    if (!results.every((r) => r.owner === first.owner)) throw new TypeError("AsyncResult.join: the results belong to different clients");
    const entries = results.flatMap((r) => [...r.entries]);
    const label = first.shape.label;
    if (results.every((r) => r.shape.flatten)) {
      return new AsyncMapResult(first.owner, entries, {
        ...(label ? { label } : {}),
        ...(first.shape.items ? { items: first.shape.items } : {}),
      });
    }
    return new AsyncResult<unknown[], false>(first.owner, entries, { scalar: false, ...(label ? { label } : {}) });
  }

  /**
   * The results keyed by the engine that produced each one (a map's values are its chunks'
   * item lists). Throws when one engine ran two of the messages, as IPython Parallel does.
   */
  async getDict(options: { timeout?: number } = {}): Promise<Record<number, unknown>> {
    checkOptions(options, ["timeout"], "getDict");
    await this.get(options);
    const out: Record<number, unknown> = {};
    for (const e of this.entries) {
      const id = e.metadata.engineId as number;
      if (Object.hasOwn(out, id)) {
        const count = this.entries.filter((x) => x.metadata.engineId === id).length;
        throw new RangeError(`getDict: cannot build a dict, ${count} tasks ran on engine ${id}`);
      }
      out[id] = this.shape.flatten ? this.itemsOf(e) : e.value;
    }
    return out;
  }

  /**
   * Prints captured output as `[stdout:0] …` lines (the bare text for a one-engine result, as
   * IPython Parallel does); returns the text too. `groupby: "type"` (the default, as in IPython
   * Parallel) prints every engine's stdout, then every stderr; `"engine"` prints engine by engine.
   */
  displayOutputs(write: (text: string) => void = (t) => process.stdout.write(t), options: { groupby?: "type" | "engine" } = {}): string {
    checkOptions(options, ["groupby"], "displayOutputs");
    const groupby = options.groupby ?? "type";
    if (groupby !== "type" && groupby !== "engine")
      throw new RangeError(`displayOutputs: groupby must be "type" or "engine", got ${JSON.stringify(groupby)}`);
    const single = this.shape.scalar && this.entries.length === 1;
    const streams = ["stdout", "stderr"] as const;
    const order =
      groupby === "type"
        ? streams.flatMap((name) => this.entries.map((e) => [e, name] as const))
        : this.entries.flatMap((e) => streams.map((name) => [e, name] as const));
    let text = "";
    for (const [e, name] of order) {
      const out = e.metadata[name];
      if (!out) continue;
      const prefix = single ? "" : `[${name}:${e.metadata.engineId ?? "?"}] `;
      text +=
        out
          .replace(/\n$/, "")
          .split("\n")
          .map((line) => prefix + line)
          .join("\n") + "\n";
    }
    if (text) write(text);
    return text;
  }

  /**
   * Waits with a progress bar on stderr (a plain line per interval when stderr is not a TTY),
   * until `returnWhen` holds or `timeout` ms passed; resolves to whether it holds. While no
   * engine is registered it says so once: the tasks wait for engines to come.
   */
  async waitInteractive(options: WaitInteractiveOptions = {}): Promise<boolean> {
    checkOptions(options, WAIT_INTERACTIVE_OPTIONS, "waitInteractive");
    const interval = options.interval ?? 1000;
    validateTimeout(interval, "interval");
    if (options.timeout !== undefined) validateTimeout(options.timeout);
    const returnWhen = checkReturnWhen(options.returnWhen, "waitInteractive");
    const stream = options.stream ?? process.stderr;
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
    const reached = this.whenReached(returnWhen);
    let holds = reached.now();
    validateSignal(options.signal, "waitInteractive: option signal");
    if (options.signal) this.cancelOn(options.signal);
    const step = async (ms: number) => {
      holds = await raceAbort(reached.within(Math.max(0, Math.min(ms, deadline - Date.now()))), options.signal);
      return holds || Date.now() >= deadline;
    };
    let warned = false;
    const warnNoEngines = () => {
      if (warned || holds || this.owner.ids.length > 0) return;
      warned = true;
      stream.write(
        "no engines are registered yet: the tasks wait until engines register (start some, or await client.waitForEngines(n))\n",
      );
    };
    warnNoEngines();
    if (stream.isTTY) {
      const bar = this.owner.progressBar(stream, this.length, this.progress);
      try {
        while (!holds && !(await step(Math.min(interval, 100)))) bar.update(this.progress);
        bar.update(this.progress);
      } finally {
        bar.stop();
      }
      return holds;
    }
    while (!holds && !(await step(interval))) {
      warnNoEngines();
      stream.write(`${this.progress}/${this.length} tasks finished after ${(this.elapsed / 1000).toFixed(1)} s\n`);
    }
    stream.write(`${holds ? "done" : "still running"}: ${this.progress}/${this.length} tasks in ${(this.elapsed / 1000).toFixed(1)} s\n`);
    return holds;
  }

  /** A latch for `returnWhen`: whether it holds now, and a wait of at most `ms` for it. */
  private whenReached(returnWhen: ReturnWhen): { now: () => boolean; within: (ms: number) => Promise<boolean> } {
    const now = () =>
      returnWhen === "FIRST_COMPLETED"
        ? this.entries.some((e) => e.settled)
        : returnWhen === "FIRST_EXCEPTION"
          ? this.ready() || this.entries.some((e) => e.settled && e.error !== undefined)
          : this.ready();
    // One listener per message for the whole wait, however many intervals it lasts.
    const latch = new Promise<void>((resolve) => {
      for (const e of this.entries) e.onSettled(() => now() && resolve());
    });
    const within = async (ms: number) => {
      if (now()) return true;
      if (ms === Infinity) {
        await latch;
        return true;
      }
      let timer: NodeJS.Timeout | undefined;
      const expiry = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
      try {
        await Promise.race([latch, expiry]);
      } finally {
        clearTimeout(timer);
      }
      return now();
    };
    return { now, within };
  }

  /** Results as they become available, in submission order. */
  [Symbol.asyncIterator](): AsyncIterator<ItemOf<T, Scalar>> {
    return this.inOrder() as AsyncIterator<ItemOf<T, Scalar>>;
  }

  protected async *inOrder(): AsyncGenerator<unknown> {
    for (const e of this.entries) {
      await raceAbort(e.done, this.shape.signal);
      if (e.error) throw e.error;
      if (this.shape.flatten) yield* this.itemsOf(e);
      else yield e.value;
    }
  }

  /** The items a settled map message stands for. */
  protected itemsOf(e: TaskEntry): unknown[] {
    return this.shape.items ? this.shape.items(e.value) : (e.value as unknown[]);
  }

  /** Like Promise#then; with a `signal` (view flag), rejects with its reason once it aborts. */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.promise ??= raceAbort(
      Promise.all(this.entries.map((e) => e.done)).then(() => this.collect(false)),
      this.shape.signal,
    );
    return this.promise.then(onFulfilled, onRejected);
  }

  /** Like Promise#catch. */
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  /** Like Promise#finally. */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }

  /** The entries behind this result (for views and graphs). */
  get taskEntries(): readonly TaskEntry[] {
    return this.entries;
  }

  protected collect(returnExceptions: boolean): T {
    const failed = this.entries.filter((e) => e.error);
    if (!returnExceptions && failed.length > 0) {
      if (this.shape.scalar && this.entries.length === 1) throw failed[0]?.error;
      throw new CompositeError(
        failed.map((e) => e.error as Error),
        { summary: this.failureSummary(failed.length) },
      );
    }
    const values = this.shape.flatten
      ? this.entries.flatMap((e) => (e.error ? new Array<unknown>(e.count).fill(e.error) : this.itemsOf(e)))
      : this.entries.map((e) => e.error ?? e.value);
    const joined = this.shape.scalar && !this.shape.flatten ? values[0] : values;
    return (this.shape.join ? this.shape.join(joined) : joined) as T;
  }

  /** First line of a CompositeError: how many of what failed, and in which function. */
  private failureSummary(failures: number): string {
    const named = this.shape.label !== undefined && this.shape.label !== "anonymous" ? this.shape.label : undefined;
    const where = named ? ` in ${named}` : "";
    // Each failed chunk stops at its first failing item, which its error names.
    if (this.shape.flatten) return `map${named ? ` of ${named}` : ""}: ${failures} of ${this.length} items failed`;
    return `${failures} of ${this.entries.length} ${this.shape.unit ?? "tasks"} failed${where}`;
  }

  /** The parts of the shape a one-message split keeps. */
  private mapShape(): Partial<ResultShape> {
    return this.shape.flatten ? { flatten: true, ...(this.shape.items ? { items: this.shape.items } : {}) } : {};
  }

  private pick<V>(f: (e: TaskEntry) => V): PerMessage<Scalar, V> {
    return (this.shape.scalar && this.entries.length === 1 ? f(this.entries[0] as TaskEntry) : this.entries.map(f)) as PerMessage<
      Scalar,
      V
    >;
  }

  /** Cancels the tasks when `signal` aborts, until they have all finished. */
  private cancelOn(signal: AbortSignal): void {
    validateSignal(signal);
    if (this.ready() || this.cancelledBy.has(signal)) return;
    this.cancelledBy.add(signal);
    const off = onAbort(signal, () => void this.cancel().catch(() => undefined));
    void Promise.all(this.entries.map((e) => e.done)).then(off);
  }

  /** `promise`, or its rejection with the reason of `signal` once that aborts (the tasks cancelled). */
  private whenCancelled<V>(promise: Promise<V>, signal: AbortSignal | undefined): Promise<V> {
    if (!signal) return promise;
    this.cancelOn(signal);
    return raceAbort(promise, signal);
  }

  private notReadyAfter(timeout: number): TimeoutError {
    return new TimeoutError(
      `result ${this.describe()} not ready after ${timeout} ms (${this.progress}/${this.length} done); the task keeps running`,
    );
  }

  private describe(): string {
    const ids = this.msgIds;
    return ids.length === 1 ? (ids[0] as string) : `of ${ids.length} messages`;
  }
}

function validateTimeout(ms: number, name = "timeout"): void {
  if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms))
    throw new RangeError(`${name} must be a non-negative number of ms, got ${String(ms)}`);
}

/** A map's result: items flattened across chunks; iteration yields items. */
export class AsyncMapResult<T = unknown> extends AsyncResult<T[], false> {
  constructor(owner: ResultOwner, entries: readonly TaskEntry[], shape: Omit<ResultShape, "flatten" | "scalar"> & { ordered?: boolean }) {
    super(owner, entries, { ...shape, scalar: false, flatten: true });
    this.ordered = shape.ordered ?? true;
  }

  /** Whether iteration follows submission order (true) or completion order (false). */
  readonly ordered: boolean;

  override [Symbol.asyncIterator](): AsyncIterator<T> {
    return (this.ordered ? this.inOrder() : this.inCompletionOrder()) as AsyncIterator<T>;
  }

  private async *inCompletionOrder(): AsyncGenerator<T> {
    const pending = new Set(this.entries);
    while (pending.size > 0) {
      const next = await raceAbort(Promise.race([...pending].map((e) => e.done.then(() => e))), this.shape.signal);
      pending.delete(next);
      if (next.error) throw next.error;
      yield* this.itemsOf(next) as T[];
    }
  }
}
