import assert from "node:assert/strict";
import { test } from "node:test";
import {
  builtinSchemes,
  leastload,
  lru,
  plainrandom,
  registerScheme,
  resolveScheme,
  schemes,
  twobin,
  weighted,
} from "../../src/scheduler/schemes.js";
import type { Scheme } from "../../src/scheduler/schemes.js";
import { neverRandom, schemeSpecs, seeded } from "../specs/scheme.js";

/** Which built-in schemes draw from the random source. */
const RANDOM_SCHEMES = new Set(["plainrandom", "twobin", "weighted"]);
for (const [name, scheme] of Object.entries(builtinSchemes))
  schemeSpecs(name, scheme, RANDOM_SCHEMES.has(name) ? "random" : "deterministic");

/** A random source that returns the given values in turn. */
function scripted(...values: number[]): () => number {
  let i = 0;
  return () => {
    const value = values[i++];
    if (value === undefined) throw new Error("scripted random ran out of values");
    return value;
  };
}

/** How often each index is chosen over `draws` calls. */
function frequencies(scheme: Scheme, loads: number[], draws: number, seed: number): number[] {
  const random = seeded(seed);
  const counts = loads.map(() => 0);
  for (let i = 0; i < draws; i++) counts[scheme(loads, random)]! += 1;
  return counts.map((c) => c / draws);
}

function assertNear(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual.toFixed(3)} is not within ${tolerance} of ${expected.toFixed(3)}`);
}

test("leastload picks the least loaded engine and breaks ties toward the least recently used", () => {
  assert.equal(leastload([3, 1, 2]), 1);
  assert.equal(leastload([1, 0, 0]), 1, "first of the tied engines in LRU order");
  assert.equal(leastload([0, 0, 0]), 0);
  assert.equal(leastload([5, 4, 3, 2, 1]), 4);
  assert.equal(leastload([2, 7, 2], neverRandom), 0, "no randomness involved");
});

test("lru always takes the least recently used engine, whatever the loads", () => {
  assert.equal(lru([5, 0, 0], neverRandom), 0);
  assert.equal(lru([0]), 0);
});

test("plainrandom maps random() uniformly onto the indices, ignoring loads", () => {
  assert.equal(plainrandom([9, 0, 0], scripted(0)), 0);
  assert.equal(plainrandom([0, 0, 9], scripted(0.99)), 2, "the heavily loaded engine can be chosen");
  assert.equal(plainrandom([0, 0, 0], scripted(0.5)), 1);
  assert.equal(plainrandom([0, 0, 0], scripted(1 - Number.EPSILON / 2)), 2, "never past the last index");
  for (const share of frequencies(plainrandom, [0, 0, 0, 0], 8000, 1)) assertNear(share, 0.25, 0.03, "uniform share");
});

test("twobin takes the lower (less recently used) of two uniform draws, ignoring loads", () => {
  assert.equal(twobin([0, 0, 0, 0], scripted(0.9, 0.1)), 0);
  assert.equal(twobin([0, 0, 0, 0], scripted(0.6, 0.7)), 2);
  assert.equal(twobin([0, 9, 9, 0], scripted(0.3, 0.5)), 1, "loads play no part");
  // P(min of two uniform draws over 4 = i) = ((4-i)² - (3-i)²) / 16 = 7/16, 5/16, 3/16, 1/16.
  const shares = frequencies(twobin, [0, 0, 0, 0], 8000, 2);
  [7, 5, 3, 1].forEach((k, i) => assertNear(shares[i]!, k / 16, 0.03, `index ${i}`));
});

test("weighted draws two indices by weight 1/(1e-6 + load) and keeps the less loaded, first draw on ties", () => {
  // loads [0, 1]: weights ≈ [1e6, 1], so nearly all of [0, 1) maps to index 0.
  assert.equal(weighted([0, 1], scripted(0.5, 0.5)), 0);
  assert.equal(weighted([0, 1], scripted(0.9999999, 0.9999999)), 1, "both draws in the light engine's tiny slice");
  assert.equal(weighted([0, 1], scripted(0.9999999, 0.1)), 0, "the heavier weight wins");
  // Equal loads: equal weights; a tie keeps the first draw.
  assert.equal(weighted([2, 2], scripted(0.7, 0.2)), 1);
  assert.equal(weighted([2, 2], scripted(0.2, 0.7)), 0);
  // loads [1, 3]: weights ≈ [1, 1/3], P(draw 0) = 3/4, P(result 0) = 1 - (1/4)² = 15/16.
  assertNear(frequencies(weighted, [1, 3], 8000, 3)[0]!, 15 / 16, 0.02, "share of the lighter engine");
  // An idle engine against a loaded one: the loaded one is practically never chosen.
  assert.equal(frequencies(weighted, [0, 9], 4000, 4)[1], 0);
});

test("schemes resolve by name or as functions; unknown names list the valid ones", () => {
  assert.equal(resolveScheme("leastload"), leastload);
  assert.equal(resolveScheme("weighted"), weighted);
  const mine: Scheme = (loads) => loads.length - 1;
  assert.equal(resolveScheme(mine), mine);
  assert.throws(() => resolveScheme("fastest"), {
    name: "RangeError",
    message: /unknown scheme "fastest" \(valid: leastload, lru, plainrandom, twobin, weighted/,
  });
  assert.throws(() => resolveScheme("toString"), /unknown scheme "toString"/, "inherited properties are not schemes");
  assert.deepEqual(Object.keys(builtinSchemes), ["leastload", "lru", "plainrandom", "twobin", "weighted"]);
});

test("registerScheme adds user schemes but cannot replace a built-in one", () => {
  const last: Scheme = (loads) => loads.length - 1;
  try {
    registerScheme("./last.js", last);
    assert.equal(resolveScheme("./last.js"), last);
    assert.equal(resolveScheme("./last.js")([0, 0, 0]), 2);
    const other: Scheme = () => 0;
    registerScheme("./last.js", other);
    assert.equal(resolveScheme("./last.js"), other, "a user scheme can be re-registered");
  } finally {
    delete schemes["./last.js"];
  }
  assert.throws(() => registerScheme("leastload", last), { name: "RangeError", message: /"leastload" is built in/ });
  assert.equal(resolveScheme("leastload"), leastload);
  assert.throws(() => registerScheme("x", 42 as never), { name: "TypeError", message: /scheme "x" must be a function/ });
  assert.throws(() => registerScheme("", last), { name: "TypeError", message: /non-empty string/ });
});
