/**
 * Every msg id the hub has ever accepted a request under, kept for the life of the controller
 * so that no id runs twice, even after its record was purged or culled. Ids in the lowercase
 * UUID form clients make are stored as their 16 bytes in an open-addressed table: 16 bytes per
 * slot at a load between 3/8 and 3/4, so 21 to 43 bytes per id (a Set of strings costs about
 * 120). Any other id goes to a plain Set. Exact: no false positives.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WORDS = 4;
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
    if (id.length !== 36 || !UUID.test(id)) return false;
    const key = this.key;
    key[0] = parseInt(id.slice(0, 8), 16);
    key[1] = parseInt(id.slice(9, 13) + id.slice(14, 18), 16);
    key[2] = parseInt(id.slice(19, 23) + id.slice(24, 28), 16);
    key[3] = parseInt(id.slice(28, 36), 16);
    return true;
  }

  /**
   * The slot holding `key`, or the empty slot where it belongs (linear probing). All four
   * words are mixed, so ids that are not random (a counter in the last digits) still spread.
   */
  private find(table: Uint32Array, slots: number): number {
    const [a, b, c, d] = this.key as unknown as [number, number, number, number];
    let h = Math.imul(a ^ Math.imul(b, 0x85ebca6b), 0xcc9e2d51) ^ Math.imul(c ^ Math.imul(d, 0xc2b2ae35), 0x1b873593);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    const mask = slots - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const at = slot * WORDS;
      if (table[at] === a && table[at + 1] === b && table[at + 2] === c && table[at + 3] === d) return slot;
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
