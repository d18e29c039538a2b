import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { CulledIds } from "../../src/controller/culled-ids.js";

/** The same bounded map as a plain Map: the behaviour CulledIds must match. */
function reference(capacity: number) {
  const map = new Map<string, boolean>();
  return {
    map,
    set(id: string, ok: boolean): void {
      if (map.has(id)) {
        map.set(id, ok);
        return;
      }
      map.set(id, ok);
      if (map.size > capacity) map.delete(map.keys().next().value as string);
    },
  };
}

test("culled ids remember the newest `capacity` ids with their outcome and forget the oldest first", () => {
  const culled = new CulledIds(3);
  const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  culled.set(a, true);
  culled.set(b, false);
  culled.set(c, true);
  assert.deepEqual([culled.get(a), culled.get(b), culled.get(c), culled.get(d)], [true, false, true, undefined]);
  culled.set(d, false);
  assert.equal(culled.size, 3);
  assert.equal(culled.get(a), undefined, "the oldest is forgotten");
  assert.deepEqual([culled.get(b), culled.get(c), culled.get(d)], [false, true, false]);
  culled.set(b, true);
  assert.equal(culled.get(b), true, "an id set again has its outcome updated");
  assert.equal(culled.size, 3, "and is not counted twice");
});

test("culled ids match a bounded Map over 300,000 ids, among them ids that are not random and ids of other forms", () => {
  const capacity = 50_000;
  const culled = new CulledIds(capacity);
  const expected = reference(capacity);
  // Ids that differ only in their last digits crowd the same part of the index, which is where
  // removing entries from an open-addressed table goes wrong if it does.
  const counter = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
  const ids: string[] = [];
  for (let i = 0; i < 300_000; i++) {
    const id = i % 3 === 0 ? counter(i) : i % 1000 === 1 ? `task-${i}` : randomUUID();
    ids.push(id);
    const ok = i % 7 !== 0;
    culled.set(id, ok);
    expected.set(id, ok);
    // Now and then, an id seen before is culled again.
    if (i % 5000 === 4999) {
      const again = ids[i - 100] as string;
      culled.set(again, false);
      expected.set(again, false);
    }
  }
  assert.equal(culled.size, expected.map.size);
  for (const id of ids) assert.equal(culled.get(id), expected.map.get(id), id);
  for (let i = 0; i < 10_000; i++) assert.equal(culled.get(randomUUID()), undefined);
  assert.equal(culled.get("00000000-0000-0000-0000-000000000000"), undefined);
});

test("the all-zero UUID and an upper-case UUID are ids like any other", () => {
  const culled = new CulledIds(2);
  const zero = "00000000-0000-0000-0000-000000000000";
  const lower = randomUUID();
  culled.set(zero, true);
  culled.set(lower.toUpperCase(), false);
  assert.equal(culled.get(zero), true);
  assert.equal(culled.get(lower), undefined, "a different string is a different id");
  assert.equal(culled.get(lower.toUpperCase()), false);
  culled.set("x", true);
  assert.equal(culled.get(zero), undefined);
  assert.equal(culled.size, 2);
});

test("a capacity that is not a positive integer is refused by name", () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new CulledIds(bad), /capacity must be a positive integer/);
});
