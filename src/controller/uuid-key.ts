/**
 * Msg ids in the lowercase UUID form clients make, as four 32-bit words: how the hub keeps
 * large sets of ids in typed arrays (16 bytes an id) instead of as strings in Maps (about 120
 * bytes an id, all of it on the JavaScript heap that the garbage collector walks).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Words per id. */
export const UUID_WORDS = 4;

/** Reads `id` into `key` (four words); false when it is not a lowercase UUID (`key` is then unchanged). */
export function parseUuid(id: string, key: Uint32Array): boolean {
  if (id.length !== 36 || !UUID.test(id)) return false;
  key[0] = parseInt(id.slice(0, 8), 16);
  key[1] = parseInt(id.slice(9, 13) + id.slice(14, 18), 16);
  key[2] = parseInt(id.slice(19, 23) + id.slice(24, 28), 16);
  key[3] = parseInt(id.slice(28, 36), 16);
  return true;
}

/**
 * A hash of the four words of the id at word offset `at` in `words`. All four are mixed, so ids
 * that are not random (a counter in the last digits) still spread over a table.
 */
export function uuidHash(words: Uint32Array, at: number): number {
  const a = words[at] as number;
  const b = words[at + 1] as number;
  const c = words[at + 2] as number;
  const d = words[at + 3] as number;
  let h = Math.imul(a ^ Math.imul(b, 0x85ebca6b), 0xcc9e2d51) ^ Math.imul(c ^ Math.imul(d, 0xc2b2ae35), 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}

/** Whether the id at word offset `at` in `words` equals `key`. */
export function sameUuid(words: Uint32Array, at: number, key: Uint32Array): boolean {
  return words[at] === key[0] && words[at + 1] === key[1] && words[at + 2] === key[2] && words[at + 3] === key[3];
}
