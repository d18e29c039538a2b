/**
 * Partitioning rules shared by scatter, DirectView.map, `@parallel` and load-balanced chunking.
 * They follow IPython Parallel exactly, because users rely on which engine gets which items.
 * Pure: no I/O.
 */

/** Anything that can be cut into contiguous pieces: arrays, typed arrays, Buffers, strings. */
export interface Sliceable<S> {
  readonly length: number;
  slice(start?: number, end?: number): S;
}

/** Throws unless `value` is an integer >= `min`; the message names the parameter and the value. */
function assertInteger(name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}

function assertSliceable(name: string, value: unknown): void {
  const ok =
    typeof value === "string" ||
    (typeof value === "object" &&
      value !== null &&
      typeof (value as Sliceable<unknown>).slice === "function" &&
      typeof (value as Sliceable<unknown>).length === "number");
  if (!ok) throw new TypeError(`${name} must be an array, typed array or string, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return `${JSON.stringify(value)} (string)`;
  if (value === null || typeof value !== "object") return `${String(value)} (${value === null ? "null" : typeof value})`;
  return value.constructor?.name ?? "object";
}

/**
 * Bounds `[low, high)` of part `p` of `q` over `n` items, by IPython Parallel's
 * `Map.getPartition`: the first `n % q` parts get one extra item, so 5 items on 4 engines
 * give [0,1], [2], [3], [4].
 */
export function partitionBounds(n: number, q: number, p: number): [number, number] {
  assertInteger("n", n, 0);
  assertInteger("q", q, 1);
  assertInteger("p", p, 0);
  if (p >= q) throw new RangeError(`p must be an integer in [0, ${q}), got ${p}`);
  const base = Math.floor(n / q);
  const remainder = n % q;
  if (p < remainder) {
    const low = p * (base + 1);
    return [low, low + base + 1];
  }
  const low = p * base + remainder;
  return [low, low + base];
}

/**
 * Splits `seq` into `q` contiguous parts, in order; some are empty when there are fewer items
 * than parts. Works on arrays (giving arrays), typed arrays, Buffers and strings (giving pieces
 * of the same type).
 */
export function partition<T>(seq: readonly T[], q: number): T[][];
export function partition<S extends Sliceable<S>>(seq: S, q: number): S[];
export function partition(seq: Sliceable<unknown>, q: number): unknown[] {
  assertSliceable("seq", seq);
  assertInteger("q", q, 1);
  return Array.from({ length: q }, (_, p) => {
    const [low, high] = partitionBounds(seq.length, q, p);
    return seq.slice(low, high);
  });
}

/**
 * Sizes of the chunks a load-balanced map makes of `n` items: `ceil(n / chunksize)` chunks as
 * even as possible (IPython Parallel partitions the sequence into that many parts), so 10 items
 * with chunksize 3 give 3, 3, 2, 2 rather than 3, 3, 3, 1.
 */
export function balancedChunks(n: number, chunksize: number): number[] {
  assertInteger("n", n, 0);
  assertInteger("chunksize", chunksize, 1);
  const count = Math.ceil(n / chunksize);
  return Array.from({ length: count }, (_, p) => {
    const [low, high] = partitionBounds(n, count, p);
    return high - low;
  });
}

/** Splits `seq` into the balanced chunks of {@link balancedChunks}, in order. */
export function chunkSequence<T>(seq: readonly T[], chunksize: number): T[][];
export function chunkSequence<S extends Sliceable<S>>(seq: S, chunksize: number): S[];
export function chunkSequence(seq: Sliceable<unknown>, chunksize: number): unknown[] {
  assertSliceable("seq", seq);
  const out: unknown[] = [];
  let start = 0;
  for (const size of balancedChunks(seq.length, chunksize)) {
    out.push(seq.slice(start, start + size));
    start += size;
  }
  return out;
}

/**
 * Zips sequences into argument tuples, stopping at the shortest, as `map` does (IPython
 * Parallel truncates despite a docstring that says "padded with None"). No sequences give [].
 */
export function zipShortest<T>(seqs: ReadonlyArray<ArrayLike<T>>): T[][] {
  if (!Array.isArray(seqs)) throw new TypeError(`seqs must be an array of sequences, got ${describe(seqs)}`);
  seqs.forEach((s, i) => {
    if (typeof s !== "string" && (typeof s !== "object" || s === null || typeof s.length !== "number")) {
      throw new TypeError(`seqs[${i}] must be an array-like sequence, got ${describe(s)}`);
    }
  });
  if (seqs.length === 0) return [];
  // reduce rather than Math.min(...): many sequences would overflow the argument stack.
  const length = seqs.reduce((min, s) => Math.min(min, s.length), Infinity);
  return Array.from({ length }, (_, i) => seqs.map((s) => s[i] as T));
}

/**
 * The items of each sequence of a map, as arrays: arrays as they are; other iterables
 * (generators, Sets, `Map#values()`, strings) and array-likes are read into arrays, as Python's
 * `map` reads any iterable. Async iterables are refused with a pointer to `imap`, which streams.
 */
export function sequencesToArrays(sequences: readonly unknown[], what: string): unknown[][] {
  return sequences.map((s, i) => {
    if (Array.isArray(s)) return s;
    if (typeof s === "string") return Array.from(s);
    if (typeof s === "object" && s !== null) {
      if (Symbol.iterator in s) return Array.from(s as Iterable<unknown>);
      if (typeof (s as ArrayLike<unknown>).length === "number") return Array.from(s as ArrayLike<unknown>);
      if (Symbol.asyncIterator in s) throw new TypeError(`${what}: sequence ${i} is an async iterable; use imap, which streams it`);
    }
    throw new TypeError(`${what}: every sequence must be iterable or array-like, got ${describe(s)} as sequence ${i}`);
  });
}

/** The items one engine's part stands for when parts are joined: a list, a typed array's values, or one value. */
export function toList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<unknown>);
  return [value];
}
