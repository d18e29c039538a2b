import assert from "node:assert/strict";
import { test } from "node:test";
import { leastload, lru, plainrandom, resolveScheme, schemes, twobin, weighted } from "../../src/scheduler/schemes.js";
import type { Scheme } from "../../src/scheduler/schemes.js";

/** A repeatable random source. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
}

test("leastload picks the least loaded engine and breaks ties toward the least recently used", () => {
  assert.equal(leastload([3, 1, 2]), 1);
  assert.equal(leastload([1, 0, 0]), 1, "first of the tied engines in LRU order");
  assert.equal(leastload([0, 0, 0]), 0);
});

test("lru always takes the least recently used engine", () => {
  assert.equal(lru([5, 0, 0]), 0);
});

test("plainrandom spreads over every engine", () => {
  const random = seeded(1);
  const seen = new Set(Array.from({ length: 200 }, () => plainrandom([0, 0, 0, 0], random)));
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
});

test("twobin keeps the less recently used of two random picks, favouring the front", () => {
  const random = seeded(2);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[twobin([0, 0, 0, 0], random)]!++;
  assert.ok(counts[0]! > counts[3]! * 3, `counts ${counts}`);
});

test("weighted favours lightly loaded engines", () => {
  const random = seeded(3);
  const counts = [0, 0];
  for (let i = 0; i < 4000; i++) counts[weighted([0, 9], random)]!++;
  assert.ok(counts[0]! > counts[1]! * 5, `counts ${counts}`);
});

test("conformance: every registered scheme returns a valid index, handles one candidate and refuses none", () => {
  for (const [name, scheme] of Object.entries(schemes) as Array<[string, Scheme]>) {
    const random = seeded(4);
    for (let n = 1; n <= 6; n++) {
      const loads = Array.from({ length: n }, (_, i) => (i * 7) % 3);
      const index = scheme(loads, random);
      assert.ok(Number.isInteger(index) && index >= 0 && index < n, `${name} returned ${index} for ${n} candidates`);
    }
    assert.equal(scheme([4], random), 0, `${name} with one candidate`);
    assert.throws(() => scheme([], random), /at least one candidate/, name);
  }
  for (const name of ["leastload", "lru"]) {
    assert.equal(schemes[name]!([2, 1, 3]), schemes[name]!([2, 1, 3]), `${name} is deterministic`);
  }
});

test("schemes resolve by name or as functions; unknown names list the valid ones", () => {
  assert.equal(resolveScheme("leastload"), leastload);
  const mine: Scheme = (loads) => loads.length - 1;
  assert.equal(resolveScheme(mine), mine);
  assert.throws(() => resolveScheme("fastest"), /unknown scheme "fastest" \(valid: leastload, lru, plainrandom, twobin, weighted/);
});
