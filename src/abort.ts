/**
 * AbortSignal plumbing shared by results, views and waits: validation and racing a promise
 * against a signal without leaving listeners behind.
 */

/** Throws a TypeError naming `what` unless `signal` is undefined or an AbortSignal. */
export function validateSignal(signal: unknown, what = "signal"): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${what} must be an AbortSignal (new AbortController().signal), got ${signal === null ? "null" : typeof signal}`);
  }
}

const listeners = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `listener` once when `signal` aborts (at once if it has); returns the unsubscriber.
 * One DOM listener per signal serves them all: a signal shared by thousands of tasks would
 * otherwise trip Node's listener-leak warning.
 */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  if (signal.aborted) {
    listener();
    return () => undefined;
  }
  let set = listeners.get(signal);
  if (!set) {
    const fresh = new Set<() => void>();
    signal.addEventListener(
      "abort",
      () => {
        for (const l of [...fresh]) l();
        fresh.clear();
      },
      { once: true },
    );
    listeners.set(signal, fresh);
    set = fresh;
  }
  set.add(listener);
  return () => void set.delete(listener);
}

/** Settles as `promise` does, or rejects with the signal's reason as soon as it aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    // What `promise` settles to no longer matters, a failure included.
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const off = onAbort(signal, () => reject(signal.reason as Error));
    promise.then(
      (value) => {
        off();
        resolve(value);
      },
      (error: unknown) => {
        off();
        reject(error as Error);
      },
    );
  });
}

/**
 * Iterates an (async) iterable, throwing the signal's reason as soon as it aborts, also while
 * waiting for the next item; the source is closed when iteration stops early.
 */
export async function* abortable<T>(source: Iterable<T> | AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  const iterator: Iterator<T> | AsyncIterator<T> =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  let done = false;
  try {
    for (;;) {
      const step = await raceAbort(Promise.resolve(iterator.next()), signal);
      if (step.done) {
        done = true;
        return;
      }
      yield step.value;
    }
  } finally {
    // Not awaited: an async source may be stuck producing the item the abort interrupted.
    if (!done) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
