/**
 * An executor in the manner of Python's `concurrent.futures`: `submit`, a lazy ordered `map`,
 * `shutdown`, and the free functions `asCompleted` and `wait` over AsyncResults (futures).
 */
import { TimeoutError } from "../errors.js";
import type { AsyncResult } from "./async-result.js";
import type { ClientPort } from "./client-port.js";
import { checkOptions, checkReturnWhen } from "../options.js";
import type { ReturnWhen } from "../options.js";

export type { ReturnWhen } from "../options.js";

/** What an executor needs of its view (a LoadBalancedView): one call at a time, and its client. */
export interface ExecutorView {
  readonly client: Pick<ClientPort, "ids" | "abort">;
  apply<R = unknown>(fn: unknown, ...args: unknown[]): AsyncResult<R>;
}

/** An executor over a view, usually a LoadBalancedView (`view.executor`, `rc.executor()`). */
export class Executor<V extends ExecutorView = ExecutorView> {
  private readonly futures = new Set<AsyncResult>();
  private closed = false;

  constructor(readonly view: V) {}

  /** Schedules `fn(...args)`; returns its future. */
  submit<R = unknown>(fn: unknown, ...args: unknown[]): AsyncResult<R> {
    if (this.closed) throw new Error("cannot submit to an executor after shutdown()");
    return this.track<R>(fn, args);
  }

  /**
   * Calls `fn` on items taken from the iterables in step (stopping at the shortest), lazily,
   * yielding results in order, with a bounded number of calls in flight. A map made before
   * `shutdown()` is work already submitted: it still runs when consumed afterwards.
   */
  map<R = unknown>(fn: unknown, ...iterables: Array<Iterable<unknown> | AsyncIterable<unknown>>): AsyncGenerator<R> {
    if (this.closed) throw new Error("cannot map on an executor after shutdown()");
    if (iterables.length === 0) throw new TypeError("executor.map needs at least one iterable");
    return this.mapLazily<R>(fn, iterables);
  }

  private async *mapLazily<R>(fn: unknown, iterables: Array<Iterable<unknown> | AsyncIterable<unknown>>): AsyncGenerator<R> {
    const zipped = zipAsync(iterables);
    const window: Array<AsyncResult<R>> = [];
    const max = 2 * Math.max(1, this.view.client.ids.length) * 4;
    for await (const args of zipped) {
      window.push(this.track<R>(fn, args));
      if (window.length >= max) yield await (window.shift() as AsyncResult<R>);
    }
    while (window.length > 0) yield await (window.shift() as AsyncResult<R>);
  }

  private track<R>(fn: unknown, args: unknown[]): AsyncResult<R> {
    const future = this.view.apply<R>(fn, ...args);
    this.futures.add(future);
    void future.wait().then(() => this.futures.delete(future));
    return future;
  }

  /** Refuses new work; with `wait` (default) resolves once submitted futures are done. With `cancelFutures`, aborts queued ones. */
  async shutdown(options: { wait?: boolean; cancelFutures?: boolean } = {}): Promise<void> {
    checkOptions(options, ["wait", "cancelFutures"], "shutdown");
    this.closed = true;
    if (options.cancelFutures && this.futures.size > 0) await this.view.client.abort([...this.futures]);
    if (options.wait ?? true) await Promise.all([...this.futures].map((f) => f.wait()));
  }

  /** `await using ex = rc.executor()` shuts it down. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
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
 */
export function asCompleted<T extends AsyncResult>(futures: Iterable<T>, options: { timeout?: number } = {}): AsyncIterableIterator<T> {
  checkOptions(options, ["timeout"], "asCompleted");
  const pending = new Set(futures);
  const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
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
export async function wait<T extends AsyncResult>(futures: Iterable<T>, options: { returnWhen?: ReturnWhen; timeout?: number } = {}): Promise<{ done: Set<T>; pending: Set<T> }> {
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
