import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveTargets, sliceIds, validateTargetSpec } from "../../src/client/targets.js";

const ids = [0, 1, 2, 3];

test("slice strings follow Python's semantics over the registered ids", () => {
  assert.deepEqual(sliceIds(ids, "0:2"), [0, 1]);
  assert.deepEqual(sliceIds(ids, "::2"), [0, 2]);
  assert.deepEqual(sliceIds(ids, ":-1"), [0, 1, 2]);
  assert.deepEqual(sliceIds(ids, "::-1"), [3, 2, 1, 0]);
  assert.deepEqual(sliceIds([2, 5, 7], "1:"), [5, 7]);
});

test("a single integer target is scalar, lists and slices are not", () => {
  assert.deepEqual(resolveTargets(1, ids), { ids: [1], scalar: true });
  assert.deepEqual(resolveTargets([1, 3], ids), { ids: [1, 3], scalar: false });
  assert.deepEqual(resolveTargets("all", ids), { ids, scalar: false });
});

test("unknown engine ids and bad specs are refused with the value named", () => {
  assert.throws(() => resolveTargets(7, ids), /engine 7 is not registered \(registered: \[0, 1, 2, 3\]\)/);
  assert.throws(() => validateTargetSpec("1-2"), /"1-2" is neither "all" nor a slice/);
  assert.throws(() => validateTargetSpec(1.5), /must be an integer, got 1.5/);
  assert.throws(() => sliceIds(ids, "::0"), /step cannot be zero/);
});
