/**
 * The engine index against the schemes it stands in for: after every step of a random history
 * (engines joining, leaving, used, loads changing with and without use), its picks equal what
 * `leastload` and `lru` choose from the full list of free engines in LRU order.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EnginePool } from "../../src/scheduler/engine-pool.js";
import { leastload, lru } from "../../src/scheduler/schemes.js";

/** A seeded generator, so a failure can be replayed. */
function generator(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 16807) % 2147483647;
    return s % n;
  };
}

for (const hwm of [0, 1, 3]) {
  test(`with hwm ${hwm}, the index picks what leastload and lru pick over 20,000 random steps`, () => {
    const pool = new EnginePool(hwm);
    const random = generator(hwm + 7);
    // The model: engines in LRU order and their loads, as the scheduler kept them before the index.
    let order: number[] = [];
    const loads = new Map<number, number>();
    let nextId = 0;
    const use = (id: number) => {
      order = [...order.filter((e) => e !== id), id];
      pool.touch(id);
    };
    for (let step = 0; step < 20_000; step++) {
      const id = order[random(Math.max(order.length, 1))];
      const op = order.length < 2 ? 0 : random(10);
      if (op === 0 && order.length < 40) {
        const fresh = nextId++;
        const load = random(3);
        order.push(fresh);
        loads.set(fresh, load);
        pool.add(fresh, load);
      } else if (op === 1 && id !== undefined) {
        order = order.filter((e) => e !== id);
        loads.delete(id);
        pool.remove(id);
      } else if (op <= 5 && id !== undefined) {
        // A task sent or answered: the engine is used and its load moves by one.
        const load = Math.max(0, (loads.get(id) ?? 0) + (random(2) === 0 ? 1 : -1));
        use(id);
        loads.set(id, load);
        pool.setLoad(id, load);
      } else if (op <= 8 && id !== undefined) {
        use(id);
      } else if (id !== undefined) {
        // A task adopted on restore: the load changes, the LRU order does not.
        const load = (loads.get(id) ?? 0) + 1;
        loads.set(id, load);
        pool.setLoad(id, load);
      }
      const free = order.filter((e) => hwm === 0 || (loads.get(e) as number) < hwm);
      const expected =
        free.length === 0
          ? [undefined, undefined]
          : [free[leastload(free.map((e) => loads.get(e) as number))], free[lru(free.map(() => 0))]];
      assert.deepEqual([pool.leastLoaded(), pool.leastRecent()], expected, `step ${step}`);
      assert.equal(pool.freeCount, hwm === 0 ? (order.length > 0 ? Infinity : 0) : free.length);
      assert.deepEqual([...pool.ids()], order);
    }
  });
}
