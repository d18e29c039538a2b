/**
 * LoadBalancedView: tasks go to the controller's scheduler, which places each on an engine.
 * Flags (dependencies, timeouts, retries, chunking, memoization, priority) are validated
 * before they touch the view, so a bad value never sticks (IPython Parallel's flags do).
 */
import { Dependency } from "../graph/dependency.js";
import { chunkSequence, sequencesToArrays, toList } from "../graph/partition.js";
import { CAN_KEY } from "../protocol/canning.js";
import type { CannedResultRef, TaskFunction } from "../protocol/canning.js";
import type { DependencySpec, RequestMetadata } from "../protocol/contents.js";
import { newMsgId } from "../protocol/message.js";
import { memoKey } from "../protocol/memo-key.js";
import { abortable, validateSignal } from "../abort.js";
import { AsyncMapResult, AsyncResult } from "./async-result.js";
import type { AwaitableArgs } from "./async-result.js";
import type { ClientPort } from "./client-port.js";
import { splitMapOptions } from "./direct-view.js";
import type { MapOptions, SequencesOf } from "./direct-view.js";
import { Executor } from "./executor.js";
import type { ParallelFunction, Sequence } from "./direct-view.js";
import { encodeCall } from "./encode.js";
import { taskName } from "../protocol/task-name.js";
import { checkBooleans, checkOptions, fillDefaults } from "../options.js";
import { validateTargetSpec } from "./targets.js";
import { TaskEntry } from "./task-entry.js";
import type { TaskMetadata } from "./task-entry.js";

/** Something a dependency can name: a msg id, an AsyncResult, a Dependency, or a list of them. */
export type DependencyLike = string | AsyncResult | Dependency | ReadonlyArray<string | AsyncResult>;

/** Flags of a LoadBalancedView. */
export interface LoadBalancedFlags {
  /**
   * Engines the tasks may run on.
   * @default every registered engine
   */
  readonly targets?: number | number[] | undefined;
  /**
   * Run only after these tasks finished (anywhere).
   * @default no dependency
   */
  readonly after?: DependencyLike | undefined;
  /**
   * Run only where these tasks finished.
   * @default no dependency
   */
  readonly follow?: DependencyLike | undefined;
  /**
   * Longest time (ms) a task may wait in the scheduler before failing with TaskTimeout.
   * @default no limit
   */
  readonly timeout?: number | undefined;
  /**
   * Longest time (ms) a task may run before it is interrupted with ExecutionTimeout.
   * @default no limit
   */
  readonly execTimeout?: number | undefined;
  /**
   * How many times a failed task is re-run on another engine.
   * @default 0
   */
  readonly retries?: number;
  /**
   * Items per task in `map` (minimum 1).
   * @default 1
   */
  readonly chunksize?: number;
  /**
   * `map` iteration in submission order (true) or completion order (false).
   * @default true
   */
  readonly ordered?: boolean;
  /**
   * Memoize: the same function and arguments share one execution.
   * @default false
   */
  readonly pure?: boolean;
  /**
   * Higher runs first among runnable tasks.
   * @default 0
   */
  readonly priority?: number;
  /**
   * Label shown in metadata, graphs and the dashboard.
   * @default the function's name
   */
  readonly label?: string | undefined;
  /**
   * Aborting it aborts this view's queued tasks, interrupts the running ones and rejects their results with its reason.
   * @default none
   */
  readonly signal?: AbortSignal | undefined;
}

/** The flags that have a fixed default. */
type DefaultedFlag = "retries" | "chunksize" | "ordered" | "pure" | "priority";

/** Flags with their defaults in place: what a view reads. */
export type FilledLoadBalancedFlags = LoadBalancedFlags & Required<Pick<LoadBalancedFlags, DefaultedFlag>>;

/** The defaults of {@link LoadBalancedFlags}: the one place each is written. */
export const kDefaultLoadBalancedFlags: Readonly<Pick<FilledLoadBalancedFlags, DefaultedFlag>> = Object.freeze({
  retries: 0,
  chunksize: 1,
  ordered: true,
  pure: false,
  priority: 0,
});

const FLAG_NAMES = new Set([
  "targets",
  "after",
  "follow",
  "timeout",
  "execTimeout",
  "retries",
  "chunksize",
  "ordered",
  "pure",
  "priority",
  "label",
  "signal",
]);

function checkNumber(name: string, value: unknown, { integer = false, min = 0, allowZero = true } = {}): void {
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value)) throw new TypeError(`flag ${name} must be a number, got ${JSON.stringify(value)}`);
  if ((integer && !Number.isInteger(value)) || value < min || (!allowZero && value === 0)) {
    throw new RangeError(`flag ${name} must be ${integer ? "an integer" : "a number"} ${allowZero ? ">=" : ">"} ${min}, got ${value}`);
  }
}

function checkDependency(name: string, value: unknown): void {
  if (value === undefined || value === null || typeof value === "string" || value instanceof AsyncResult || value instanceof Dependency)
    return;
  if (Array.isArray(value) && value.every((v) => typeof v === "string" || v instanceof AsyncResult)) return;
  throw new TypeError(`flag ${name} must be a msg id, an AsyncResult, a Dependency or a list of them, got ${JSON.stringify(value)}`);
}

/** Validates flags; throws TypeError/RangeError naming the flag and the value. */
export function validateFlags(flags: Partial<LoadBalancedFlags>): void {
  if (flags === null || typeof flags !== "object") throw new TypeError("flags must be an object");
  for (const key of Object.keys(flags)) {
    if (!FLAG_NAMES.has(key)) throw new TypeError(`unknown flag ${JSON.stringify(key)} (valid: ${[...FLAG_NAMES].join(", ")})`);
  }
  checkNumber("timeout", flags.timeout, { allowZero: false });
  checkNumber("execTimeout", flags.execTimeout, { allowZero: false });
  checkNumber("retries", flags.retries, { integer: true });
  checkNumber("chunksize", flags.chunksize, { integer: true, min: 1 });
  checkNumber("priority", flags.priority, { integer: true, min: -Infinity });
  for (const name of ["ordered", "pure"] as const) {
    if (flags[name] !== undefined && typeof flags[name] !== "boolean")
      throw new TypeError(`flag ${name} must be a boolean, got ${JSON.stringify(flags[name])}`);
  }
  if (flags.label !== undefined && typeof flags.label !== "string")
    throw new TypeError(`flag label must be a string, got ${JSON.stringify(flags.label)}`);
  const targets = flags.targets;
  if (
    targets !== undefined &&
    !(Number.isInteger(targets) || (Array.isArray(targets) && targets.every((t) => Number.isInteger(t) && t >= 0)))
  ) {
    throw new TypeError(`flag targets must be an engine id or a list of engine ids, got ${JSON.stringify(targets)}`);
  }
  checkDependency("after", flags.after);
  checkDependency("follow", flags.follow);
  validateSignal(flags.signal, "flag signal");
}

/** Turns a dependency flag into its wire form. */
export function dependencySpec(value: DependencyLike | undefined): DependencySpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Dependency) return value.toJSON();
  const items = typeof value === "string" || value instanceof AsyncResult ? [value] : value;
  const ids = items.flatMap((v) => (typeof v === "string" ? [v] : v.msgIds));
  return ids.length === 0 ? undefined : { ids, all: true, success: true, failure: false };
}

/** A view whose tasks are placed by the scheduler. */
export class LoadBalancedView {
  private flags: FilledLoadBalancedFlags;

  constructor(
    readonly client: ClientPort,
    targets?: number | number[] | string,
    flags: LoadBalancedFlags = {},
  ) {
    if (targets !== undefined) validateTargetSpec(targets);
    const asTargets = typeof targets === "string" ? undefined : targets;
    validateFlags(flags);
    this.flags = fillDefaults(kDefaultLoadBalancedFlags, { ...flags, ...(asTargets === undefined ? {} : { targets: asTargets }) });
  }

  /** Number of engines this view may use (its `targets`, or every registered engine). */
  get length(): number {
    return this.flags.targets === undefined ? this.client.ids.length : [this.flags.targets].flat().length;
  }

  /** A copy of the current flags. */
  get currentFlags(): Readonly<LoadBalancedFlags> {
    return { ...this.flags };
  }

  /** A derived view with some flags changed; this view is unchanged. Throws on invalid flags. */
  with(flags: Partial<LoadBalancedFlags>): LoadBalancedView {
    validateFlags(flags);
    return new LoadBalancedView(this.client, undefined, { ...this.flags, ...flags });
  }

  /** Changes flags permanently. Throws on invalid flags, leaving the view unchanged. */
  setFlags(flags: Partial<LoadBalancedFlags>): this {
    validateFlags(flags);
    this.flags = fillDefaults(kDefaultLoadBalancedFlags, { ...this.flags, ...flags });
    return this;
  }

  /**
   * Submits `fn(...args)` as one task. AsyncResults among the arguments (where a value of their
   * type is expected) are awaited by the scheduler and replaced by their values.
   */
  apply<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: NoInfer<AwaitableArgs<A>>): AsyncResult<Awaited<R>, true> {
    this.flags.signal?.throwIfAborted();
    const entry = this.submitTask("call", fn, args, 1);
    return new AsyncResult<Awaited<R>, true>(this.client, [entry], { scalar: true, ...this.resultFlags() });
  }

  /**
   * Maps `fn` over the sequences (arrays or any iterables, read at once) in balanced chunks of
   * `chunksize` items (one task per chunk). A trailing `{ signal }` cancels the map when it
   * aborts (as the `signal` flag does).
   */
  map<A extends unknown[], R>(fn: TaskFunction<NoInfer<A>, R>, ...sequences: SequencesOf<A>): AsyncMapResult<Awaited<R>>;
  map<A extends unknown[], R>(
    fn: TaskFunction<NoInfer<A>, R>,
    ...sequencesAndOptions: [...SequencesOf<A>, MapOptions]
  ): AsyncMapResult<Awaited<R>>;
  map(fn: TaskFunction, ...rest: unknown[]): AsyncMapResult {
    const { sequences, options } = splitMapOptions(rest);
    if (options.signal) return this.with({ signal: options.signal }).map(fn, ...(sequences as []));
    if (sequences.length === 0) throw new TypeError("map needs at least one sequence");
    this.flags.signal?.throwIfAborted();
    const arrays = sequencesToArrays(sequences, "map");
    const length = Math.min(...arrays.map((a) => a.length));
    const columns = arrays.map((a) => chunkSequence(a.slice(0, length), this.flags.chunksize));
    let firstItem = 0;
    const entries = (columns[0] ?? []).map((chunk, i) => {
      const entry = this.submitTask(
        "map",
        fn,
        columns.map((c) => c[i] ?? []),
        chunk.length,
        firstItem,
      );
      firstItem += chunk.length;
      return entry;
    });
    return new AsyncMapResult(this.client, entries, {
      ordered: this.flags.ordered,
      ...this.resultFlags(),
      label: this.flags.label ?? taskName(fn, "anonymous"),
    });
  }

  /**
   * Lazy map over any (async) iterable, even an infinite one, with at most `maxOutstanding`
   * tasks in flight. Yields results in input order, or in completion order with
   * `ordered: false`; with `returnExceptions: true` a failed item yields its error instead of
   * ending the iteration. Aborting `signal` stops reading the iterable, cancels the tasks in
   * flight and throws its reason.
   */
  imap<T, R>(
    fn: TaskFunction<[NoInfer<T>], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options: ImapOptions & { returnExceptions: true },
  ): AsyncGenerator<Awaited<R> | Error>;
  imap<T, R>(
    fn: TaskFunction<[NoInfer<T>], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: ImapOptions,
  ): AsyncGenerator<Awaited<R>>;
  async *imap(
    fn: TaskFunction<[unknown]>,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    options: ImapOptions = {},
  ): AsyncGenerator<unknown> {
    checkOptions(options, ["maxOutstanding", "ordered", "returnExceptions", "signal"], "imap");
    const max = options.maxOutstanding ?? 2 * Math.max(1, this.client.ids.length);
    checkNumber("maxOutstanding", max, { integer: true, min: 1 });
    checkBooleans(options, ["ordered", "returnExceptions"], "imap");
    validateSignal(options.signal, "imap: option signal");
    if (iterable === null || typeof iterable !== "object" || !(Symbol.iterator in iterable || Symbol.asyncIterator in iterable)) {
      throw new TypeError(`imap: expected an iterable or async iterable, got ${iterable === null ? "null" : typeof iterable}`);
    }
    const view = options.signal ? this.with({ signal: options.signal }) : this;
    const ordered = options.ordered ?? true;
    const settle = async (ar: AsyncResult<unknown, true>): Promise<unknown> =>
      options.returnExceptions ? await ar.get({ returnExceptions: true }) : await ar;
    const window: Array<AsyncResult<unknown, true>> = [];
    // The next result to hand out: the oldest, or (unordered) the first of the window to finish.
    const next = async (): Promise<unknown> => {
      const index = ordered ? 0 : await firstDone(window);
      const [ar] = window.splice(index, 1);
      return await settle(ar as AsyncResult<unknown, true>);
    };
    for await (const item of abortable(iterable, view.flags.signal)) {
      window.push(view.apply(fn, item));
      if (window.length >= max) yield await next();
    }
    while (window.length > 0) yield await next();
  }

  /**
   * Wraps `fn` like `@parallel`: calling it with sequences of equal length submits `fn` on
   * balanced chunks of them (`chunksize` items each, default one) and concatenates the
   * outputs; `.map(...sequences)` calls `fn` on each element, as `map` does.
   */
  parallel<P extends unknown[], R>(fn: TaskFunction<P, R>): ParallelFunction<R, P> {
    const call = (...sequences: Sequence[]) => {
      if (sequences.length === 0) throw new TypeError("parallel: needs at least one sequence");
      const arrays = sequencesToArrays(sequences, "parallel");
      const lengths = arrays.map((a) => a.length);
      if (new Set(lengths).size > 1)
        throw new RangeError(
          `parallel: all sequences must have equal length, but have [${lengths.join(", ")}] (use .map to stop at the shortest)`,
        );
      const columns = arrays.map((a) => chunkSequence(a, this.flags.chunksize));
      const entries = (columns[0] ?? []).map((chunk, i) =>
        this.submitTask(
          "call",
          fn,
          columns.map((c) => c[i] ?? []),
          chunk.length,
        ),
      );
      return new AsyncMapResult(this.client, entries, {
        ordered: this.flags.ordered,
        ...this.resultFlags(),
        label: this.flags.label ?? taskName(fn, "anonymous"),
        items: toList,
      });
    };
    return Object.assign(call, {
      map: (...sequences: Sequence[]) => this.map(fn as TaskFunction, ...(sequences as [])),
    }) as ParallelFunction<R, P>;
  }

  /** Wraps `fn` so that calling it submits a task (`@remote` for load-balanced views). */
  remote<A extends unknown[], R>(fn: TaskFunction<A, R>): (...args: A) => AsyncResult<Awaited<R>, true> {
    return (...args: A) => this.apply(fn, ...(args as NoInfer<AwaitableArgs<A>>));
  }

  /** Aborts queued tasks of this client (`jobs` narrows it). */
  async abort(jobs?: string | AsyncResult | ReadonlyArray<string | AsyncResult>): Promise<string[]> {
    return await this.client.abort(jobs);
  }

  /** An executor over this view. */
  get executor(): Executor<LoadBalancedView> {
    return new Executor(this);
  }

  /** Result options that come from the flags. */
  private resultFlags(): { label?: string; signal?: AbortSignal } {
    return { ...(this.flags.label ? { label: this.flags.label } : {}), ...(this.flags.signal ? { signal: this.flags.signal } : {}) };
  }

  private submitTask(op: "call" | "map", fn: unknown, args: readonly unknown[], count: number, firstItem?: number): TaskEntry {
    this.client.assertUsable();
    this.assertTargetsKnown();
    this.client.warnIfNoEngines();
    const refs: string[] = [];
    const hook = (value: object): CannedResultRef | undefined => {
      if (!(value instanceof AsyncResult)) return undefined;
      if (value.msgIds.length !== 1) throw new TypeError("an AsyncResult used as an argument must stand for a single task");
      refs.push(value.msgIds[0] as string);
      return { [CAN_KEY]: "result", msgId: value.msgIds[0] as string };
    };
    const { content, buffers } = encodeCall(op, fn, args, hook);
    const metadata = this.requestMetadata(refs, content.fn && "src" in content.fn ? content.fn.src : JSON.stringify(content.fn), buffers);
    const entry = new TaskEntry(newMsgId(), {
      count,
      ...(firstItem === undefined ? {} : { firstItem }),
      label: this.flags.label ?? taskName(fn, "anonymous"),
      dependsOn: dependsOn(metadata),
    });
    this.client.submit([{ content, metadata, buffers, entry }]);
    return entry;
  }

  /** Targets that name no registered engine could never run: refuse at once, naming them. */
  private assertTargetsKnown(): void {
    if (this.flags.targets === undefined) return;
    const targets = [this.flags.targets].flat();
    const registered = this.client.ids;
    if (registered.length > 0 && !targets.some((id) => registered.includes(id))) {
      throw new RangeError(`flag targets names no registered engine: [${targets.join(", ")}] (registered: [${registered.join(", ")}])`);
    }
  }

  private requestMetadata(refs: string[], source: string, buffers: Buffer[]): RequestMetadata {
    const f = this.flags;
    const after = dependencySpec(f.after);
    const follow = dependencySpec(f.follow);
    return {
      ...(after ? { after } : {}),
      ...(follow ? { follow } : {}),
      ...(refs.length ? { argRefs: refs } : {}),
      // An infinite limit is no limit (JSON could not carry it anyway).
      ...(f.timeout !== undefined && Number.isFinite(f.timeout) ? { timeout: f.timeout } : {}),
      ...(f.execTimeout !== undefined && Number.isFinite(f.execTimeout) ? { execTimeout: f.execTimeout } : {}),
      ...(f.retries ? { retries: f.retries } : {}),
      ...(f.priority ? { priority: f.priority } : {}),
      ...(f.label !== undefined ? { label: f.label } : {}),
      ...(f.targets !== undefined ? { targets: [f.targets].flat() } : {}),
      ...(f.pure ? { pure: true, memoKey: memoKey(source, buffers) } : {}),
    };
  }
}

/** Options of {@link LoadBalancedView.imap}. */
export interface ImapOptions {
  /** Tasks in flight at most. @default twice the number of engines */
  maxOutstanding?: number;
  /** Yield in input order (true) or as tasks finish (false). @default true */
  ordered?: boolean;
  /** Yield a failed item's error instead of throwing it. @default false */
  returnExceptions?: boolean;
  /** Aborting it stops reading the iterable, cancels the tasks in flight and throws its reason. */
  signal?: AbortSignal;
}

/** Index of the first result of `window` to finish. */
async function firstDone(window: readonly AsyncResult[]): Promise<number> {
  return await Promise.race(window.map((ar, i) => ar.wait().then(() => i)));
}

function dependsOn(metadata: RequestMetadata): TaskMetadata["dependsOn"] {
  return [
    ...(metadata.argRefs ?? []).map((msgId) => ({ msgId, kind: "argument" as const })),
    ...(metadata.after?.ids ?? []).map((msgId) => ({ msgId, kind: "after" as const })),
    ...(metadata.follow?.ids ?? []).map((msgId) => ({ msgId, kind: "follow" as const })),
  ];
}
