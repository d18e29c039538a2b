/**
 * The scheme contract as a spec factory, in the manner of graphology's `specs(Graph,
 * implementation)`: `schemeSpecs(name, scheme, kind)` registers one suite for a scheduling
 * scheme, so every built-in scheme (and any new one) answers to the same tests. How a scheme
 * chooses among valid answers is tested beside the call.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Scheme } from "../../src/scheduler/schemes.js";

/** A repeatable random source in [0, 1) (Park–Miller). */
export function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
}

/** A random source a scheme must not call. */
export const neverRandom = (): number => {
  throw new Error("this scheme must not consult random()");
};

/**
 * Registers the contract's tests for `scheme`. A `"deterministic"` scheme decides from the
 * loads alone; a `"random"` one draws from the random source it is given.
 */
export function schemeSpecs(name: string, scheme: Scheme, kind: "deterministic" | "random"): void {
  describe(`scheme contract: ${name}`, () => {
    test("returns an integer index in range for any loads of 1 to 8 candidates", () => {
      const random = seeded(5);
      for (let n = 1; n <= 8; n++) {
        for (let trial = 0; trial < 25; trial++) {
          const loads = Array.from({ length: n }, () => Math.floor(random() * 5));
          const index = scheme(loads, random);
          assert.ok(Number.isInteger(index) && index >= 0 && index < n, `returned ${index} for loads ${loads}`);
        }
      }
    });

    test("takes the only candidate, idle or loaded", () => {
      assert.equal(scheme([4], seeded(1)), 0);
      assert.equal(scheme([0], seeded(1)), 0);
    });

    test("refuses no candidates and loads that are not finite numbers >= 0, naming the load", () => {
      const random = seeded(2);
      assert.throws(() => scheme([], random), { name: "RangeError", message: /at least one candidate/ });
      assert.throws(() => scheme([1, Number.NaN], random), /loads\[1\] must be a finite number >= 0, got NaN/);
      assert.throws(() => scheme([-1], random), /loads\[0\] must be a finite number >= 0, got -1/);
    });

    test("repeats its choices given the same random source", () => {
      const loads = [3, 0, 2, 0, 1, 4];
      const run = () => {
        const random = seeded(11);
        return Array.from({ length: 50 }, () => scheme(loads, random));
      };
      assert.deepEqual(run(), run());
    });

    if (kind === "deterministic") {
      test("decides without consulting the random source", () => {
        assert.equal(scheme([2, 1, 3], neverRandom), scheme([2, 1, 3], neverRandom));
      });
    } else {
      test("refuses a random source outside [0, 1)", () => {
        assert.throws(() => scheme([0, 0], () => 1), /random\(\) must return a number in \[0, 1\), got 1/);
        assert.throws(() => scheme([0, 0], () => Number.NaN), /got NaN/);
      });
    }
  });
}
