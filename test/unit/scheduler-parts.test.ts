import assert from "node:assert/strict";
import { test } from "node:test";
import { memoKey } from "../../src/scheduler/memo.js";
import { ReadyQueue } from "../../src/scheduler/ready-queue.js";

test("ready queue: higher priority first, FIFO within a priority, lazy removal", () => {
  const q = new ReadyQueue<{ id: string; priority: number }>();
  for (const [id, priority] of [["a", 0], ["b", 5], ["c", 0], ["d", 5], ["e", -1]] as const) q.push({ id, priority });
  assert.equal(q.remove("c"), true);
  assert.equal(q.size, 4);
  const order: string[] = [];
  for (let item = q.pop(); item; item = q.pop()) order.push(item.id);
  assert.deepEqual(order, ["b", "d", "a", "e"]);
  assert.equal(q.pop(), undefined);
});

test("ready queue stays ordered over many items", () => {
  const q = new ReadyQueue<{ id: string; priority: number }>();
  for (let i = 0; i < 1000; i++) q.push({ id: String(i), priority: i % 7 });
  let last = { priority: Infinity, seq: -1 };
  for (let item = q.pop(); item; item = q.pop()) {
    const seq = Number(item.id);
    assert.ok(item.priority < last.priority || (item.priority === last.priority && seq > last.seq));
    last = { priority: item.priority, seq };
  }
});

test("memo keys: same source and argument bytes match; any difference, including frame splits, does not", () => {
  const a = memoKey("(x) => x", [Buffer.from("ab"), Buffer.from("c")]);
  assert.equal(a, memoKey("(x) => x", [Buffer.from("ab"), Buffer.from("c")]));
  assert.notEqual(a, memoKey("(x) => x", [Buffer.from("a"), Buffer.from("bc")]));
  assert.notEqual(a, memoKey("(y) => y", [Buffer.from("ab"), Buffer.from("c")]));
  assert.match(a, /^[0-9a-f]{64}$/);
});
