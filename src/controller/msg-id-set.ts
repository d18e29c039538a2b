/**
 * Every msg id the hub has ever accepted a request under, kept for the life of the controller
 * so that no id runs twice, even after its record was purged or culled. Ids in the lowercase
 * UUID form clients make are stored as their 16 bytes in an open-addressed table: 16 bytes per
 * slot at a load between 3/8 and 3/4, so 21 to 43 bytes per id (a Set of strings costs about
 * 120). Any other id goes to a plain Set. Exact: no false positives.
 */
import { UUID_WORDS as WORDS, parseUuid, sameUuid, uuidHash } from "./uuid-key.js";

const INITIAL_SLOTS = 1024;
const MAX_LOAD = 0.75;

/** A grow-only set of msg ids. */
export class MsgIdSet {
  private slots = INITIAL_SLOTS;
  private table = new Uint32Array(INITIAL_SLOTS * WORDS);
  private packed = 0;
  /** The all-zero UUID, which the table uses to mark an empty slot. */
  private hasZero = false;
  private readonly others = new Set<string>();
  /** The id being looked up, as four words. */
  private readonly key = new Uint32Array(WORDS);

  /** Number of ids held. */
  get size(): number {
    return this.packed + (this.hasZero ? 1 : 0) + this.others.size;
  }

  /** Whether `id` was added before. */
  has(id: string): boolean {
    if (!this.parse(id)) return this.others.has(id);
    if (isEmpty(this.key, 0)) return this.hasZero;
    return !isEmpty(this.table, this.find(this.table, this.slots));
  }

  /** Adds `id`; returns false when it was already there. */
  add(id: string): boolean {
    if (!this.parse(id)) {
      if (this.others.has(id)) return false;
      this.others.add(id);
      return true;
    }
    if (isEmpty(this.key, 0)) {
      const added = !this.hasZero;
      this.hasZero = true;
      return added;
    }
    const slot = this.find(this.table, this.slots);
    if (!isEmpty(this.table, slot)) return false;
    this.table.set(this.key, slot * WORDS);
    this.packed++;
    if (this.packed > this.slots * MAX_LOAD) this.grow();
    return true;
  }

  /** Reads a lowercase UUID into `key`; false for any other form. */
  private parse(id: string): boolean {
    return parseUuid(id, this.key);
  }

  /** The slot holding `key`, or the empty slot where it belongs (linear probing). */
  private find(table: Uint32Array, slots: number): number {
    const mask = slots - 1;
    for (let slot = uuidHash(this.key, 0) & mask; ; slot = (slot + 1) & mask) {
      if (sameUuid(table, slot * WORDS, this.key)) return slot;
      if (isEmpty(table, slot)) return slot;
    }
  }

  private grow(): void {
    const old = this.table;
    const oldSlots = this.slots;
    this.slots *= 2;
    this.table = new Uint32Array(this.slots * WORDS);
    for (let slot = 0; slot < oldSlots; slot++) {
      if (isEmpty(old, slot)) continue;
      this.key.set(old.subarray(slot * WORDS, (slot + 1) * WORDS));
      this.table.set(this.key, this.find(this.table, this.slots) * WORDS);
    }
  }
}

/** Whether the four words of `slot` are all zero (an empty slot). */
function isEmpty(table: Uint32Array, slot: number): boolean {
  const at = slot * WORDS;
  return ((table[at] as number) | (table[at + 1] as number) | (table[at + 2] as number) | (table[at + 3] as number)) === 0;
}
