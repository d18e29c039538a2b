import assert from "node:assert/strict";
import { test } from "node:test";
import { ReadyQueue } from "../../src/scheduler/ready-queue.js";

type Task = { id: string; priority: number };

function drain(q: ReadyQueue<Task>): string[] {
  const order: string[] = [];
  for (let item = q.pop(); item !== undefined; item = q.pop()) order.push(item.id);
  return order;
}

/** A repeatable random source in [0, 1). */
function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
}

test("higher priority first, FIFO within a priority", () => {
  const q = new ReadyQueue<Task>();
  for (const [id, priority] of [
    ["a", 0],
    ["b", 5],
    ["c", 0],
    ["d", 5],
    ["e", -1],
    ["f", 0],
  ] as const)
    q.push({ id, priority });
  assert.equal(q.size, 6);
  assert.deepEqual(drain(q), ["b", "d", "a", "c", "f", "e"]);
  assert.equal(q.size, 0);
  assert.equal(q.pop(), undefined);
});

test("an empty queue pops and peeks undefined", () => {
  const q = new ReadyQueue<Task>();
  assert.equal(q.pop(), undefined);
  assert.equal(q.peek(), undefined);
  assert.equal(q.size, 0);
});

test("peek shows the next item without removing it", () => {
  const q = new ReadyQueue<Task>();
  q.push({ id: "low", priority: 1 });
  q.push({ id: "high", priority: 2 });
  assert.equal(q.peek()?.id, "high");
  assert.equal(q.size, 2);
  assert.equal(q.pop()?.id, "high");
  assert.equal(q.peek()?.id, "low");
});

test("remove takes an item out (lazily) and reports whether it was queued", () => {
  const q = new ReadyQueue<Task>();
  for (const id of ["a", "b", "c"]) q.push({ id, priority: 0 });
  assert.equal(q.remove("a"), true, "even the head can be removed");
  assert.equal(q.remove("a"), false, "twice is a no-op");
  assert.equal(q.remove("zzz"), false);
  assert.equal(q.has("a"), false);
  assert.equal(q.has("b"), true);
  assert.equal(q.size, 2);
  assert.equal(q.peek()?.id, "b", "peek skips the removed head");
  assert.deepEqual(drain(q), ["b", "c"]);
});

test("a removed id can be pushed again and takes a fresh place in line", () => {
  const q = new ReadyQueue<Task>();
  for (const id of ["a", "b", "c"]) q.push({ id, priority: 0 });
  q.remove("a");
  q.push({ id: "a", priority: 0 });
  assert.deepEqual(drain(q), ["b", "c", "a"]);
});

test("re-pushing a queued id replaces its entry, including its priority", () => {
  const q = new ReadyQueue<Task>();
  q.push({ id: "a", priority: 0 });
  q.push({ id: "b", priority: 0 });
  q.push({ id: "a", priority: 9 });
  assert.equal(q.size, 2);
  assert.deepEqual(drain(q), ["a", "b"]);
});

test("a popped item is gone: removing it afterwards reports false", () => {
  const q = new ReadyQueue<Task>();
  q.push({ id: "a", priority: 0 });
  assert.equal(q.pop()?.id, "a");
  assert.equal(q.remove("a"), false);
  assert.equal(q.size, 0);
});

test("infinite priorities order correctly; NaN is refused", () => {
  const q = new ReadyQueue<Task>();
  q.push({ id: "mid", priority: 0 });
  q.push({ id: "top", priority: Infinity });
  q.push({ id: "bottom", priority: -Infinity });
  assert.deepEqual(drain(q), ["top", "mid", "bottom"]);
  assert.throws(() => q.push({ id: "x", priority: Number.NaN }), { name: "TypeError", message: /priority of x must be a number, got NaN/ });
  assert.equal(q.size, 0, "a refused item is not queued");
});

test("matches a reference sort (priority desc, push order) under random pushes, pops and removals", () => {
  const random = seeded(42);
  const q = new ReadyQueue<Task>();
  let reference: Array<Task & { seq: number }> = [];
  let seq = 0;
  const popReference = () => {
    reference.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    return reference.shift();
  };
  for (let step = 0; step < 5000; step++) {
    const r = random();
    if (r < 0.5) {
      const item = { id: `t${seq}`, priority: Math.floor(random() * 5) };
      q.push(item);
      reference.push({ ...item, seq: seq++ });
    } else if (r < 0.8) {
      assert.equal(q.pop()?.id, popReference()?.id, `step ${step}`);
    } else if (reference.length > 0) {
      const victim = reference[Math.floor(random() * reference.length)]!;
      assert.equal(q.remove(victim.id), true);
      reference = reference.filter((t) => t.id !== victim.id);
    }
    assert.equal(q.size, reference.length, `size at step ${step}`);
  }
  const rest = drain(q);
  const expected: string[] = [];
  for (let t = popReference(); t !== undefined; t = popReference()) expected.push(t.id);
  assert.deepEqual(rest, expected);
});

test("removing most items keeps working (stale entries are compacted away)", () => {
  const q = new ReadyQueue<Task>();
  for (let i = 0; i < 10_000; i++) q.push({ id: String(i), priority: i % 3 });
  for (let i = 0; i < 10_000; i++) if (i % 100 !== 0) q.remove(String(i));
  assert.equal(q.size, 100);
  const order = drain(q).map(Number);
  const expected = Array.from({ length: 100 }, (_, k) => k * 100).sort((a, b) => (b % 3) - (a % 3) || a - b);
  assert.deepEqual(order, expected);
});

test("200k items drain in priority order, FIFO within a priority", () => {
  const q = new ReadyQueue<Task>();
  const n = 200_000;
  for (let i = 0; i < n; i++) q.push({ id: String(i), priority: (i * 7919) % 13 });
  let previous = { priority: Infinity, index: -1 };
  for (let item = q.pop(); item !== undefined; item = q.pop()) {
    const index = Number(item.id);
    assert.ok(item.priority < previous.priority || (item.priority === previous.priority && index > previous.index));
    previous = { priority: item.priority, index };
  }
  assert.equal(q.size, 0);
});

test("an item pushed back with its order keeps its place in line", () => {
  const q = new ReadyQueue<{ id: string; priority: number }>();
  q.push({ id: "first", priority: 0 });
  q.push({ id: "second", priority: 0 });
  const order = q.nextOrder() as number;
  const first = q.pop() as { id: string; priority: number };
  q.push({ id: "third", priority: 0 });
  q.push(first, order);
  assert.deepEqual([q.pop()?.id, q.pop()?.id, q.pop()?.id], ["first", "second", "third"]);
});
