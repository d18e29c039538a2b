/**
 * Partitioning rules shared by scatter, DirectView.map and load-balanced chunking. Pure.
 */

function assertCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}

/**
 * Bounds `[low, high)` of part `p` of `q` over `n` items: IPython Parallel's rule, where the
 * first `n % q` parts get one extra item (5 items on 4 engines: [0,1],[2],[3],[4]).
 */
export function partitionBounds(n: number, q: number, p: number): [number, number] {
  assertCount("n", n, 0);
  assertCount("q", q, 1);
  if (!Number.isInteger(p) || p < 0 || p >= q) throw new RangeError(`p must be an integer in [0, ${q}), got ${p}`);
  const base = Math.floor(n / q);
  const remainder = n % q;
  const low = p < remainder ? p * (base + 1) : p * base + remainder;
  const high = low + base + (p < remainder ? 1 : 0);
  return [low, high];
}

/** Splits `seq` into `q` contiguous parts (some empty when there are fewer items than parts). */
export function partition<T>(seq: readonly T[], q: number): T[][] {
  assertCount("q", q, 1);
  return Array.from({ length: q }, (_, p) => {
    const [low, high] = partitionBounds(seq.length, q, p);
    return seq.slice(low, high);
  });
}

/**
 * Sizes of load-balanced chunks: `ceil(n / chunksize)` chunks as even as possible
 * (10 items with chunksize 3 gives 3, 3, 2, 2).
 */
export function balancedChunks(n: number, chunksize: number): number[] {
  assertCount("n", n, 0);
  assertCount("chunksize", chunksize, 1);
  const count = Math.ceil(n / chunksize);
  return Array.from({ length: count }, (_, p) => {
    const [low, high] = partitionBounds(n, count, p);
    return high - low;
  });
}

/** Splits `seq` into balanced chunks of at most `chunksize` items. */
export function chunkSequence<T>(seq: readonly T[], chunksize: number): T[][] {
  const out: T[][] = [];
  let start = 0;
  for (const size of balancedChunks(seq.length, chunksize)) {
    out.push(seq.slice(start, start + size));
    start += size;
  }
  return out;
}

/** Zips sequences, stopping at the shortest (as `map` does). */
export function zipShortest<T>(seqs: ReadonlyArray<readonly T[]>): T[][] {
  if (seqs.length === 0) return [];
  const length = Math.min(...seqs.map((s) => s.length));
  return Array.from({ length }, (_, i) => seqs.map((s) => s[i] as T));
}
