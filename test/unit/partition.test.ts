import assert from "node:assert/strict";
import { test } from "node:test";
import { balancedChunks, chunkSequence, partition, partitionBounds, zipShortest } from "../../src/graph/partition.js";

test("scatter partitions follow IPython Parallel: 5 items on 4 engines gives [0,1],[2],[3],[4]", () => {
  assert.deepEqual(partition([0, 1, 2, 3, 4], 4), [[0, 1], [2], [3], [4]]);
  assert.deepEqual(partition([0, 1, 2, 3, 4, 5, 6], 2), [[0, 1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(partition([1], 3), [[1], [], []]);
  assert.deepEqual(partitionBounds(16, 4, 3), [12, 16]);
});

test("load-balanced chunks are balanced: 10 items with chunksize 3 gives 3, 3, 2, 2", () => {
  assert.deepEqual(balancedChunks(10, 3), [3, 3, 2, 2]);
  assert.deepEqual(balancedChunks(9, 3), [3, 3, 3]);
  assert.deepEqual(balancedChunks(0, 5), []);
  assert.deepEqual(chunkSequence([..."abcdefghij"], 3).map((c) => c.join("")), ["abc", "def", "gh", "ij"]);
});

test("map stops at the shortest sequence", () => {
  assert.deepEqual(zipShortest([[1, 2, 3], [4, 5]]), [[1, 4], [2, 5]]);
});

test("bad sizes are refused with the parameter and value named", () => {
  assert.throws(() => partition([1], 0), /q must be an integer >= 1, got 0/);
  assert.throws(() => balancedChunks(10, 0), /chunksize must be an integer >= 1, got 0/);
  assert.throws(() => partitionBounds(4, 2, 2), /p must be an integer in \[0, 2\), got 2/);
});
