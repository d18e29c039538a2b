/**
 * An executor in the manner of Python's `concurrent.futures`: `submit`, a lazy ordered `map`,
 * `shutdown`, and the free functions `asCompleted` and `wait` over AsyncResults (futures).
 */
import { TimeoutError } from "../errors.js";
import type { TaskFunction } from "../protocol/canning.js";
import { abortable, validateSignal } from "../abort.js";
import type { AsyncResult, AwaitableArgs, Future } from "./async-result.js";
import type { ClientPort } from "./client-port.js";
import { checkBooleans, checkOptions, checkReturnWhen } from "../options.js";
import type { ReturnWhen } from "../options.js";

export type { ReturnWhen } from "../options.js";
import type { MapOptions } from "./direct-view.js";

/** One (async) iterable per parameter of a mapped function, each of that parameter's type. */
export type IterablesOf<A extends readonly unknown[]> = { [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> };

/** Options of an executor. */
export interface ExecutorOptions {
  /** Aborting it cancels every task the executor submitted and rejects their futures with its reason. */
  signal?: AbortSignal;
}

/** What an executor needs of its view (a LoadBalancedView): one call at a time, its client, and a derived view with a signal. */
export interface ExecutorView {
  readonly client: Pick<ClientPort, "ids" | "abort">;
  apply<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: NoInfer<AwaitableArgs<A>>): AsyncResult<Awaited<R>, true>;
  with(flags: { signal?: AbortSignal }): ExecutorView;
}

/** An executor over a view, usually a LoadBalancedView (`view.executor`, `rc.executor()`). */
export class Executor<V extends ExecutorView = ExecutorView> implements AsyncDisposable {
  private readonly futures = new Set<AsyncResult>();
  private closed = false;

  /** Where submissions go: the view, with the executor's signal when it has one. */
  private readonly target: ExecutorView;
  /** The executor's signal, if it has one. */
  readonly signal: AbortSignal | undefined;

  constructor(
    readonly view: V,
    options: ExecutorOptions = {},
  ) {
    validateSignal(options.signal, "executor option signal");
    this.target = options.signal ? view.with({ signal: options.signal }) : view;
    this.signal = options.signal;
  }

  /** Schedules `fn(...args)`; returns its future. Futures among the arguments are awaited first. */
  submit<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: NoInfer<AwaitableArgs<A>>): AsyncResult<Awaited<R>, true> {
    if (this.closed) throw new Error("cannot submit to an executor after shutdown()");
    return this.track(this.target.apply(fn, ...args));
  }

  /**
   * Calls `fn` on items taken from the iterables in step (stopping at the shortest), lazily,
   * yielding results in order, with a bounded number of calls in flight. A map made before
   * `shutdown()` is work already submitted: it still runs when consumed afterwards. A trailing
   * `{ signal }` stops reading the iterables, cancels the calls in flight and throws its reason.
   */
  map<A extends unknown[], R>(fn: TaskFunction<NoInfer<A>, R>, ...iterables: IterablesOf<A>): AsyncGenerator<Awaited<R>>;
  map<A extends unknown[], R>(
    fn: TaskFunction<NoInfer<A>, R>,
    ...iterablesAndOptions: [...IterablesOf<A>, MapOptions]
  ): AsyncGenerator<Awaited<R>>;
  map(fn: TaskFunction, ...rest: unknown[]): AsyncGenerator<unknown> {
    if (this.closed) throw new Error("cannot map on an executor after shutdown()");
    const { iterables, signal: mapSignal } = splitIterables(rest);
    if (iterables.length === 0) throw new TypeError("executor.map needs at least one iterable");
    const signal = mapSignal && this.signal ? AbortSignal.any([this.signal, mapSignal]) : (mapSignal ?? this.signal);
    const target = mapSignal ? this.view.with({ signal: signal as AbortSignal }) : this.target;
    return this.mapLazily(fn, iterables, target, signal);
  }

  private async *mapLazily(
    fn: TaskFunction,
    iterables: Array<Iterable<unknown> | AsyncIterable<unknown>>,
    target: ExecutorView,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<unknown> {
    const window: AsyncResult[] = [];
    const max = 2 * Math.max(1, this.view.client.ids.length) * 4;
    for await (const args of abortable(zipAsync(iterables), signal)) {
      window.push(this.track(target.apply(fn, ...(args as never[]))));
      if (window.length >= max) yield await (window.shift() as AsyncResult);
    }
    while (window.length > 0) yield await (window.shift() as AsyncResult);
  }

  private track<T>(future: AsyncResult<T, true>): AsyncResult<T, true> {
    this.futures.add(future);
    void future.wait().then(() => this.futures.delete(future));
    return future;
  }

  /** Refuses new work; with `wait` (default) resolves once submitted futures are done. With `cancelFutures`, aborts queued ones. */
  async shutdown(options: { wait?: boolean; cancelFutures?: boolean } = {}): Promise<void> {
    checkOptions(options, ["wait", "cancelFutures"], "shutdown");
    checkBooleans(options, ["wait", "cancelFutures"], "shutdown");
    this.closed = true;
    if (options.cancelFutures && this.futures.size > 0) await this.view.client.abort([...this.futures]);
    if (options.wait ?? true) await Promise.all([...this.futures].map((f) => f.wait()));
  }

  /** `await using ex = rc.executor()` shuts it down. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/** Separates a trailing `{ signal }` from the iterables (an options object is not iterable). */
function splitIterables(rest: readonly unknown[]): {
  iterables: Array<Iterable<unknown> | AsyncIterable<unknown>>;
  signal: AbortSignal | undefined;
} {
  const last = rest.at(-1);
  const isIterable = (v: unknown) => v !== null && typeof v === "object" && (Symbol.iterator in v || Symbol.asyncIterator in v);
  if (last === undefined || typeof last === "string" || isIterable(last))
    return { iterables: rest as Array<Iterable<unknown>>, signal: undefined };
  if (last === null || typeof last !== "object" || Object.keys(last).some((key) => key !== "signal")) {
    throw new TypeError(
      `executor.map: expected iterables and an optional trailing { signal }, got ${last === null ? "null" : typeof last}`,
    );
  }
  const { signal } = last as MapOptions;
  validateSignal(signal, "executor.map: option signal");
  return { iterables: rest.slice(0, -1) as Array<Iterable<unknown>>, signal };
}

async function* zipAsync(iterables: Array<Iterable<unknown> | AsyncIterable<unknown>>): AsyncGenerator<unknown[]> {
  const iterators = iterables.map((it) =>
    Symbol.asyncIterator in it ? (it as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (it as Iterable<unknown>)[Symbol.iterator](),
  );
  try {
    for (;;) {
      const steps = await Promise.all(iterators.map((it) => it.next()));
      if (steps.some((s) => s.done)) return;
      yield steps.map((s) => s.value);
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}

/**
 * Yields futures as they complete (each one resolved or rejected). A hand-written iterator,
 * because an async generator would await each yielded future and hand out its value instead.
 * They are typed as {@link Future}s (no `then`), since `for await` would otherwise be typed as
 * handing out values: read each with `get()`.
 */
export function asCompleted<T, S extends boolean>(
  futures: Iterable<AsyncResult<T, S>>,
  options: { timeout?: number } = {},
): AsyncIterableIterator<Future<T, S>> {
  checkOptions(options, ["timeout"], "asCompleted");
  const pending = new Set(futures);
  const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
  const iterator: AsyncIterableIterator<Future<T, S>> = {
    async next(): Promise<IteratorResult<Future<T, S>>> {
      if (pending.size === 0) return { done: true, value: undefined };
      const next = await raceDone([...pending], deadline - Date.now());
      if (next === undefined) throw new TimeoutError(`${pending.size} future(s) did not complete within ${options.timeout} ms`);
      pending.delete(next.future);
      return { done: false, value: next.future };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** Waits for futures; returns the done and pending sets, like `concurrent.futures.wait`. */
export async function wait<T extends AsyncResult>(
  futures: Iterable<T>,
  options: { returnWhen?: ReturnWhen; timeout?: number } = {},
): Promise<{ done: Set<T>; pending: Set<T> }> {
  checkOptions(options, ["returnWhen", "timeout"], "wait");
  const returnWhen = checkReturnWhen(options.returnWhen, "wait");
  const done = new Set<T>();
  const pending = new Set(futures);
  for (const f of pending) if (f.ready()) done.add(f);
  for (const f of done) pending.delete(f);
  const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
  const satisfied = () =>
    pending.size === 0 ||
    (returnWhen === "FIRST_COMPLETED" && done.size > 0) ||
    (returnWhen === "FIRST_EXCEPTION" && [...done].some((f) => !f.successful()));
  while (!satisfied()) {
    const next = await raceDone([...pending], deadline - Date.now());
    if (next === undefined) break;
    pending.delete(next.future);
    done.add(next.future);
  }
  return { done, pending };
}

/** The first future to finish, boxed: an async function returning a thenable would adopt its value. */
async function raceDone<T extends AsyncResult>(futures: T[], remainingMs: number): Promise<{ future: T } | undefined> {
  if (remainingMs <= 0) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const expiry = Number.isFinite(remainingMs)
    ? new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), remainingMs)))
    : new Promise<undefined>(() => {});
  const boxed = futures.map((future) => future.wait().then(() => ({ future })));
  try {
    return await Promise.race([...boxed, expiry]);
  } finally {
    clearTimeout(timer);
  }
}
