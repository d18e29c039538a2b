import assert from "node:assert/strict";
import { test } from "node:test";
import { Fifo } from "../../src/fifo.js";

test("a Fifo gives items back in the order pushed, across the compactions of its array", () => {
  const queue = new Fifo<number>();
  const model: number[] = [];
  let next = 0;
  // Pushes outrun shifts, then shifts drain it: the consumed front is dropped many times on the way.
  for (let step = 0; step < 30_000; step++) {
    const item = next++;
    queue.push(item);
    model.push(item);
    if (step % 2 === 0) assert.equal(queue.shift(), model.shift(), `step ${step}`);
    assert.equal(queue.size, model.length);
  }
  while (model.length > 0) assert.equal(queue.shift(), model.shift());
  assert.equal(queue.shift(), undefined);
  assert.equal(queue.size, 0);
});
