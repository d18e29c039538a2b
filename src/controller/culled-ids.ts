/**
 * The ids of the most recently culled task records, with whether each task succeeded, so that
 * the memory database can say "culled" rather than "unknown" and a dependent task still learns
 * how its culled dependency ended. Bounded: past `capacity`, the oldest id is forgotten.
 *
 * A Map of 200,000 id strings held about 17 MB of the controller's JavaScript heap, which the
 * garbage collector walks and which V8 lets grow up to several times its live size between
 * collections. Here ids in the lowercase UUID form clients make sit in typed arrays, outside
 * that heap: a ring of 16-byte keys in culling order and an open-addressed index of ring
 * positions (linear probing at a load of at most 1/2, entries removed by backward shift), 25 to
 * 33 bytes an id. Ids of any other form go to a small Map beside it. Exact: no false positives.
 */
import { UUID_WORDS as WORDS, parseUuid, sameUuid, uuidHash } from "./uuid-key.js";

/** What a ring position holds. */
const FAILED = 0;
const OK = 1;
/** An id of another form, kept in {@link CulledIds.others}. */
const OTHER = 2;

/** A bounded, first-in first-out map of culled msg ids to their outcome. */
export class CulledIds {
  /** Keys by ring position (UUID ids only). */
  private readonly keys: Uint32Array;
  /** {@link OK}, {@link FAILED} or {@link OTHER}, by ring position. */
  private readonly kinds: Uint8Array;
  /** Ring position + 1 of the UUID id whose hash leads here; 0 for an empty slot. */
  private readonly index: Uint32Array;
  private readonly mask: number;
  /** Ring position of the oldest id. */
  private oldest = 0;
  private count = 0;
  /** Ids of other forms, with their outcome. */
  private readonly others = new Map<string, boolean>();
  /** Ring position → id, for the ids of other forms. */
  private readonly otherAt = new Map<number, string>();
  /** The id being looked up, as four words. */
  private readonly key = new Uint32Array(WORDS);

  /**
   * @param capacity how many ids are remembered (a positive integer).
   * @throws RangeError when `capacity` is not a positive safe integer.
   */
  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity <= 0) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.keys = new Uint32Array(capacity * WORDS);
    this.kinds = new Uint8Array(capacity);
    let slots = 8;
    while (slots < capacity * 2) slots *= 2;
    this.index = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  /** Number of ids remembered. */
  get size(): number {
    return this.count;
  }

  /** Whether the task `id` succeeded, or `undefined` when the id is not remembered. */
  get(id: string): boolean | undefined {
    if (!parseUuid(id, this.key)) return this.others.get(id);
    const position = this.index[this.find()] as number;
    return position === 0 ? undefined : this.kinds[position - 1] === OK;
  }

  /** Remembers `id` as the newest, forgetting the oldest when full; an id already there only has its outcome updated. */
  set(id: string, ok: boolean): void {
    if (!parseUuid(id, this.key)) {
      if (!this.others.has(id)) this.otherAt.set(this.push(OTHER), id);
      this.others.set(id, ok);
      return;
    }
    const slot = this.find();
    const found = this.index[slot] as number;
    if (found !== 0) {
      this.kinds[found - 1] = ok ? OK : FAILED;
      return;
    }
    const position = this.push(ok ? OK : FAILED);
    this.keys.set(this.key, position * WORDS);
    // Forgetting the oldest may have moved entries of the index: look for the place again.
    this.index[this.find()] = position + 1;
  }

  /** The index slot of `key`, or the empty slot where it belongs. */
  private find(): number {
    for (let slot = uuidHash(this.key, 0) & this.mask; ; slot = (slot + 1) & this.mask) {
      const position = this.index[slot] as number;
      if (position === 0 || sameUuid(this.keys, (position - 1) * WORDS, this.key)) return slot;
    }
  }

  /** Takes the ring position after the newest for an entry of `kind`, forgetting the oldest when full. */
  private push(kind: number): number {
    if (this.count === this.capacity) this.forgetOldest();
    const position = (this.oldest + this.count) % this.capacity;
    this.kinds[position] = kind;
    this.count++;
    return position;
  }

  private forgetOldest(): void {
    const position = this.oldest;
    this.oldest = (this.oldest + 1) % this.capacity;
    this.count--;
    if (this.kinds[position] === OTHER) {
      this.others.delete(this.otherAt.get(position) as string);
      this.otherAt.delete(position);
      return;
    }
    this.removeFromIndex(position);
  }

  /** Removes ring position `position` from the index, shifting back the entries probed past it. */
  private removeFromIndex(position: number): void {
    const mask = this.mask;
    let hole = uuidHash(this.keys, position * WORDS) & mask;
    while (this.index[hole] !== position + 1) hole = (hole + 1) & mask;
    for (let slot = (hole + 1) & mask; this.index[slot] !== 0; slot = (slot + 1) & mask) {
      const entry = this.index[slot] as number;
      const home = uuidHash(this.keys, (entry - 1) * WORDS) & mask;
      // The entry stays when its home lies cyclically in (hole, slot]; otherwise the hole would
      // break its probe sequence, so it moves into the hole.
      const stays = hole <= slot ? home > hole && home <= slot : home > hole || home <= slot;
      if (stays) continue;
      this.index[hole] = entry;
      hole = slot;
    }
    this.index[hole] = 0;
  }
}
