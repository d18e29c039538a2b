/**
 * AsyncResult: a PromiseLike over one or more submitted messages, with IPython Parallel's
 * inspection API (ready, progress, timings, metadata, captured output) and async iteration.
 */
import cliProgress from "cli-progress";
import { CompositeError, TimeoutError } from "../errors.js";
import type { TaskEntry, TaskMetadata } from "./task-entry.js";

/** What a result needs from its client (kept narrow to avoid an import cycle). */
export interface ResultOwner {
  abort(jobs: AsyncResult): Promise<string[]>;
  interrupt(jobs: AsyncResult): Promise<number[]>;
}

/** How entries combine into the awaited value. */
export interface ResultShape {
  /** One integer target: the value itself rather than a list. */
  scalar: boolean;
  /** Map results: concatenate chunk results into one list of items. */
  flatten?: boolean;
  /** Post-processing of the joined value (gather concatenation, `parallel` joins…). */
  join?: (value: unknown) => unknown;
  label?: string;
}

/** Options of {@link AsyncResult.get}. */
export interface GetOptions {
  /** Milliseconds to wait; on expiry a TimeoutError is thrown and the task keeps running. */
  timeout?: number;
  /** Return errors in place of values (one entry per input item) instead of throwing. */
  returnExceptions?: boolean;
}

/** The result of a submission. */
export class AsyncResult<T = unknown> implements PromiseLike<T> {
  private promise: Promise<T> | undefined;

  constructor(protected readonly owner: ResultOwner, protected readonly entries: readonly TaskEntry[], protected readonly shape: ResultShape) {}

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

  /** Milliseconds from the first submission to the last result (or to now while running). */
  get elapsed(): number {
    const start = Math.min(...this.entries.map((e) => e.metadata.submitted));
    const end = this.ready() ? Math.max(...this.entries.map((e) => e.metadata.received ?? Date.now())) : Date.now();
    return end - start;
  }

  /** Sum of the engines' compute times, in ms. */
  get serialTime(): number {
    return this.entries.reduce((sum, e) => sum + ((e.metadata.completed ?? 0) - (e.metadata.started ?? e.metadata.completed ?? 0)), 0);
  }

  /** From the first submission to the last completion on an engine, in ms. */
  get wallTime(): number {
    const done = this.entries.filter((e) => e.metadata.completed !== undefined);
    if (done.length === 0) return 0;
    return Math.max(...done.map((e) => e.metadata.completed as number)) - Math.min(...this.entries.map((e) => e.metadata.submitted));
  }

  /** Per-message metadata (a single record for a scalar result). */
  get metadata(): TaskMetadata | TaskMetadata[] {
    return this.pick((e) => e.metadata);
  }

  /** Captured stdout, per message (a string for a scalar result). */
  get stdout(): string | string[] {
    return this.pick((e) => e.metadata.stdout);
  }

  /** Captured stderr, per message (a string for a scalar result). */
  get stderr(): string | string[] {
    return this.pick((e) => e.metadata.stderr);
  }

  /** Engine ids that ran (or run) each message. */
  get engineIds(): Array<number | undefined> {
    return this.entries.map((e) => e.metadata.engineId);
  }

  /** Waits until ready or `timeout` ms; resolves to whether it is ready. Never throws task errors. */
  async wait(timeout?: number): Promise<boolean> {
    const all = Promise.all(this.entries.map((e) => e.done)).then(() => true);
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

  /** The value, waiting at most `timeout` ms (TimeoutError; the task is not cancelled). */
  async get(options: GetOptions = {}): Promise<T> {
    if (options.timeout !== undefined && !(await this.wait(options.timeout))) {
      throw new TimeoutError(`result ${this.describe()} not ready after ${options.timeout} ms (${this.progress}/${this.length} done); the task keeps running`);
    }
    if (options.returnExceptions) {
      await this.wait();
      return this.collect(true);
    }
    return await this;
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

  /** One AsyncResult per message. */
  split(): AsyncResult[] {
    return this.entries.map((e) => new AsyncResult(this.owner, [e], { scalar: true, ...(this.shape.flatten ? { flatten: true } : {}) }));
  }

  /** Prints captured output as `[stdout:0] …` lines; returns the text too. */
  displayOutputs(write: (text: string) => void = (t) => process.stdout.write(t)): string {
    let text = "";
    for (const e of this.entries) {
      for (const name of ["stdout", "stderr"] as const) {
        const out = e.metadata[name];
        if (!out) continue;
        const prefix = `[${name}:${e.metadata.engineId ?? "?"}] `;
        text += out.replace(/\n$/, "").split("\n").map((line) => prefix + line).join("\n") + "\n";
      }
    }
    if (text) write(text);
    return text;
  }

  /** Waits with a progress bar on stderr (a plain line per interval when stderr is not a TTY). */
  async waitInteractive(options: { interval?: number; stream?: NodeJS.WriteStream } = {}): Promise<void> {
    const interval = options.interval ?? 1000;
    validateTimeout(interval, "interval");
    const stream = options.stream ?? process.stderr;
    if (stream.isTTY) {
      const bar = new cliProgress.SingleBar({ stream, format: "{bar} {value}/{total} tasks | {duration}s", hideCursor: true }, cliProgress.Presets.shades_classic);
      bar.start(this.length, this.progress);
      while (!(await this.wait(Math.min(interval, 100)))) bar.update(this.progress);
      bar.update(this.progress);
      bar.stop();
      return;
    }
    while (!(await this.wait(interval))) stream.write(`${this.progress}/${this.length} tasks finished after ${(this.elapsed / 1000).toFixed(1)} s\n`);
    stream.write(`done: ${this.progress}/${this.length} tasks in ${(this.elapsed / 1000).toFixed(1)} s\n`);
  }

  /** Results as they become available, in submission order. */
  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return this.inOrder();
  }

  protected async *inOrder(): AsyncGenerator<unknown> {
    for (const e of this.entries) {
      await e.done;
      if (e.error) throw e.error;
      if (this.shape.flatten) yield* e.value as unknown[];
      else yield e.value;
    }
  }

  then<R1 = T, R2 = never>(onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null, onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    this.promise ??= Promise.all(this.entries.map((e) => e.done)).then(() => this.collect(false));
    return this.promise.then(onFulfilled, onRejected);
  }

  /** Like Promise#catch. */
  catch<R = never>(onRejected: (reason: unknown) => R | PromiseLike<R>): Promise<T | R> {
    return this.then(undefined, onRejected);
  }

  /** Like Promise#finally. */
  finally(onFinally: () => void): Promise<T> {
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
      throw new CompositeError(failed.map((e) => e.error as Error));
    }
    const values = this.shape.flatten
      ? this.entries.flatMap((e) => (e.error ? new Array<unknown>(e.count).fill(e.error) : (e.value as unknown[])))
      : this.entries.map((e) => e.error ?? e.value);
    const joined = this.shape.scalar && !this.shape.flatten ? values[0] : values;
    return (this.shape.join ? this.shape.join(joined) : joined) as T;
  }

  private pick<V>(f: (e: TaskEntry) => V): V | V[] {
    return this.shape.scalar && this.entries.length === 1 ? f(this.entries[0] as TaskEntry) : this.entries.map(f);
  }

  private describe(): string {
    const ids = this.msgIds;
    return ids.length === 1 ? (ids[0] as string) : `of ${ids.length} messages`;
  }
}

function validateTimeout(ms: number, name = "timeout"): void {
  if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`${name} must be a non-negative number of ms, got ${String(ms)}`);
}

/** A map's result: items flattened across chunks; iteration yields items. */
export class AsyncMapResult<T = unknown> extends AsyncResult<T[]> {
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
      const next = await Promise.race([...pending].map((e) => e.done.then(() => e)));
      pending.delete(next);
      if (next.error) throw next.error;
      yield* next.value as T[];
    }
  }
}
