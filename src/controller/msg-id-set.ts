/**
 * Every msg id the hub has ever accepted a request under, kept for the life of the controller
 * so that no id runs twice, even after its record was purged or culled. Ids in the lowercase
 * UUID form clients make are stored as their 16 bytes, spread by hash over {@link BUCKETS}
 * sorted arrays that each grow by a quarter when full: about 18 bytes per id once there are
 * many (a Set of strings costs about 120, an open-addressed table that doubles 21 to 43), and
 * the set grows in small steps: no large block is copied and freed as it grows, which would
 * also lead the C allocator to keep more freed memory for itself. Any other id goes to a plain
 * Set. Exact: no false positives.
 */
import { UUID_WORDS as WORDS, parseUuid, uuidHash } from "./uuid-key.js";

/** Buckets (a power of two): about 250 ids each at 1,000,000 ids, so an insertion moves a few KB at most. */
const BUCKET_BITS = 12;
const BUCKETS = 1 << BUCKET_BITS;
const EMPTY = new Uint32Array(0);

/** A grow-only set of msg ids. */
export class MsgIdSet {
  /** Per bucket, its ids in ascending order (word by word), then room to grow. */
  private readonly buckets: Uint32Array[] = Array.from({ length: BUCKETS }, () => EMPTY);
  /** Ids held per bucket. */
  private readonly counts = new Uint32Array(BUCKETS);
  private packed = 0;
  private readonly others = new Set<string>();
  /** The id being looked up, as four words. */
  private readonly key = new Uint32Array(WORDS);

  /** Number of ids held. */
  get size(): number {
    return this.packed + this.others.size;
  }

  /** Whether `id` was added before. */
  has(id: string): boolean {
    if (!parseUuid(id, this.key)) return this.others.has(id);
    return this.search(this.bucketOf()) >= 0;
  }

  /** Adds `id`; returns false when it was already there. */
  add(id: string): boolean {
    if (!parseUuid(id, this.key)) {
      if (this.others.has(id)) return false;
      this.others.add(id);
      return true;
    }
    const bucket = this.bucketOf();
    const found = this.search(bucket);
    if (found >= 0) return false;
    this.insert(bucket, -found - 1);
    this.packed++;
    return true;
  }

  private bucketOf(): number {
    return uuidHash(this.key, 0) >>> (32 - BUCKET_BITS);
  }

  /** Position of `key` in `bucket`, or -(the position where it belongs) - 1. */
  private search(bucket: number): number {
    const ids = this.buckets[bucket] as Uint32Array;
    let low = 0;
    let high = (this.counts[bucket] as number) - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = this.compare(ids, middle * WORDS);
      if (order === 0) return middle;
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return -low - 1;
  }

  /** The order of the id at word offset `at` in `ids` against `key`: negative when it comes first. */
  private compare(ids: Uint32Array, at: number): number {
    for (let word = 0; word < WORDS; word++) {
      const difference = (ids[at + word] as number) - (this.key[word] as number);
      if (difference !== 0) return difference;
    }
    return 0;
  }

  /** Inserts `key` at `position` of `bucket`, growing it by a quarter when full. */
  private insert(bucket: number, position: number): void {
    const count = this.counts[bucket] as number;
    let ids = this.buckets[bucket] as Uint32Array;
    if ((count + 1) * WORDS > ids.length) {
      const grown = new Uint32Array((count + 4 + (count >>> 2)) * WORDS);
      grown.set(ids.subarray(0, count * WORDS));
      this.buckets[bucket] = ids = grown;
    }
    ids.copyWithin((position + 1) * WORDS, position * WORDS, count * WORDS);
    ids.set(this.key, position * WORDS);
    this.counts[bucket] = count + 1;
  }
}
