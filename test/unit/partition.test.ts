import assert from "node:assert/strict";
import { test } from "node:test";
import { balancedChunks, chunkSequence, partition, partitionBounds, zipShortest } from "../../src/graph/partition.js";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test("partitionBounds follows Map.getPartition: the first n % q parts get one extra item", () => {
  assert.deepEqual(
    [0, 1, 2, 3].map((p) => partitionBounds(5, 4, p)),
    [
      [0, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((p) => partitionBounds(16, 4, p)),
    [
      [0, 4],
      [4, 8],
      [8, 12],
      [12, 16],
    ],
  );
  assert.deepEqual(
    [0, 1, 2, 3].map((p) => partitionBounds(2, 4, p)),
    [
      [0, 1],
      [1, 2],
      [2, 2],
      [2, 2],
    ],
  );
  assert.deepEqual(partitionBounds(0, 3, 2), [0, 0]);
});

test("partitionBounds covers 0..n contiguously with part sizes differing by at most one", () => {
  for (let n = 0; n <= 40; n++) {
    for (let q = 1; q <= 12; q++) {
      const bounds = range(q).map((p) => partitionBounds(n, q, p));
      assert.equal(bounds[0]?.[0], 0, `n=${n} q=${q} starts at 0`);
      assert.equal(bounds.at(-1)?.[1], n, `n=${n} q=${q} ends at n`);
      bounds.forEach(([, high], p) => p + 1 < q && assert.equal(high, bounds[p + 1]?.[0], `n=${n} q=${q} part ${p} is contiguous`));
      const sizes = bounds.map(([low, high]) => high - low);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n} q=${q} sizes ${sizes}`);
      assert.deepEqual(
        [...sizes].sort((a, b) => b - a),
        sizes,
        `n=${n} q=${q}: larger parts come first`,
      );
    }
  }
});

test("partition splits like scatter: 5 items on 4 engines gives [0,1],[2],[3],[4]", () => {
  assert.deepEqual(partition([0, 1, 2, 3, 4], 4), [[0, 1], [2], [3], [4]]);
  assert.deepEqual(partition(range(7), 2), [
    [0, 1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(partition(["a", "b"], 4), [["a"], ["b"], [], []]);
  assert.deepEqual(partition([], 3), [[], [], []]);
  assert.deepEqual(partition([9], 1), [[9]]);
});

test("partition keeps the type of typed arrays and strings", () => {
  const parts = partition(new Float64Array([1, 2, 3, 4, 5]), 2);
  assert.ok(parts.every((p) => p instanceof Float64Array));
  assert.deepEqual(
    parts.map((p) => [...p]),
    [
      [1, 2, 3],
      [4, 5],
    ],
  );
  assert.deepEqual(partition("abcdefg", 3), ["abc", "de", "fg"]);
});

test("partition does not alias the input array", () => {
  const input = [1, 2, 3, 4];
  const parts = partition(input, 2);
  parts[0]?.push(99);
  assert.deepEqual(input, [1, 2, 3, 4]);
});

test("load-balanced chunks are balanced: 10 items with chunksize 3 gives 3, 3, 2, 2", () => {
  assert.deepEqual(balancedChunks(10, 3), [3, 3, 2, 2]);
  assert.deepEqual(balancedChunks(9, 3), [3, 3, 3]);
  assert.deepEqual(balancedChunks(7, 1), [1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(balancedChunks(4, 10), [4]);
  assert.deepEqual(balancedChunks(0, 5), []);
});

test("balancedChunks: ceil(n / chunksize) chunks, none larger than chunksize, summing to n", () => {
  for (let n = 0; n <= 50; n++) {
    for (let chunksize = 1; chunksize <= 9; chunksize++) {
      const sizes = balancedChunks(n, chunksize);
      assert.equal(sizes.length, Math.ceil(n / chunksize), `n=${n} chunksize=${chunksize}`);
      assert.equal(
        sizes.reduce((a, b) => a + b, 0),
        n,
      );
      assert.ok(
        sizes.every((s) => s >= 1 && s <= chunksize),
        `n=${n} chunksize=${chunksize}: ${sizes}`,
      );
    }
  }
});

test("chunkSequence cuts arrays and strings into the balanced chunks, in order", () => {
  assert.deepEqual(
    chunkSequence([..."abcdefghij"], 3).map((c) => c.join("")),
    ["abc", "def", "gh", "ij"],
  );
  assert.deepEqual(chunkSequence("abcdefghij", 3), ["abc", "def", "gh", "ij"]);
  assert.deepEqual(chunkSequence(range(5), 5), [[0, 1, 2, 3, 4]]);
  assert.deepEqual(chunkSequence([], 2), []);
});

test("zipShortest stops at the shortest sequence, as map does", () => {
  assert.deepEqual(
    zipShortest([
      [1, 2, 3],
      [4, 5],
    ]),
    [
      [1, 4],
      [2, 5],
    ],
  );
  assert.deepEqual(
    zipShortest([
      [1, 2],
      [3, 4, 5, 6],
    ]),
    [
      [1, 3],
      [2, 4],
    ],
  );
  assert.deepEqual(zipShortest([[1, 2, 3]]), [[1], [2], [3]]);
  assert.deepEqual(zipShortest([[1, 2], []]), []);
  assert.deepEqual(zipShortest([]), []);
  assert.deepEqual(zipShortest<number | string>([new Int8Array([7, 8]), "xyz"]), [
    [7, "x"],
    [8, "y"],
  ]);
});

test("bad sizes are refused with the parameter and value named", () => {
  assert.throws(() => partition([1], 0), { name: "RangeError", message: /q must be an integer >= 1, got 0/ });
  assert.throws(() => partition([1], 1.5), { name: "RangeError", message: /q must be an integer >= 1, got 1.5/ });
  assert.throws(() => partition([1], "2" as never), { name: "TypeError", message: /q must be a number, got "2" \(string\)/ });
  assert.throws(() => partition(42 as never, 2), { name: "TypeError", message: /seq must be an array, typed array or string, got 42/ });
  assert.throws(() => balancedChunks(10, 0), { name: "RangeError", message: /chunksize must be an integer >= 1, got 0/ });
  assert.throws(() => balancedChunks(10, 2.5), { name: "RangeError", message: /chunksize must be an integer >= 1, got 2.5/ });
  assert.throws(() => balancedChunks(-1, 2), { name: "RangeError", message: /n must be an integer >= 0, got -1/ });
  assert.throws(() => chunkSequence([1, 2], NaN), { name: "RangeError", message: /chunksize must be an integer >= 1, got NaN/ });
  assert.throws(() => partitionBounds(4, 2, 2), { name: "RangeError", message: /p must be an integer in \[0, 2\), got 2/ });
  assert.throws(() => partitionBounds(4, 2, -1), { name: "RangeError", message: /p must be an integer >= 0, got -1/ });
  assert.throws(() => zipShortest([[1], 5 as never]), { name: "TypeError", message: /seqs\[1\] must be an array-like sequence, got 5/ });
});
