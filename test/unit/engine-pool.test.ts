/**
 * The engine index against the schemes it stands in for: after every step of a random history
 * (engines joining, leaving, used, loads changing with and without use), its picks equal what
 * `leastload` and `lru` choose from the full list of free engines in LRU order. With adaptive
 * capacities, each engine's capacity also changes at random.
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

for (const [hwm, adaptive] of [
  [0, false],
  [1, false],
  [3, false],
  [1, true],
] as const) {
  test(`with hwm ${hwm}${adaptive ? ", capacities that change and refills in batches" : ""}, the index picks what leastload and lru pick over 20,000 random steps`, () => {
    const pool = new EnginePool(hwm, adaptive);
    const random = generator(hwm + 7 + (adaptive ? 100 : 0));
    // The model: engines in LRU order and their loads, as the scheduler kept them before the index.
    let order: number[] = [];
    const loads = new Map<number, number>();
    const capacities = new Map<number, number>();
    const capacity = (e: number) => capacities.get(e) ?? (hwm === 0 ? Infinity : hwm);
    /** Refills in batches: engines that reached their capacity, until they are down to half of it. */
    const full = new Set<number>();
    const settle = (e: number) => {
      if (!adaptive) return;
      const load = loads.get(e) as number;
      if (load >= capacity(e)) full.add(e);
      else if (load <= capacity(e) / 2) full.delete(e);
    };
    let nextId = 0;
    const use = (id: number) => {
      order = [...order.filter((e) => e !== id), id];
      pool.touch(id);
    };
    for (let step = 0; step < 20_000; step++) {
      const id = order[random(Math.max(order.length, 1))];
      const op = order.length < 2 ? 0 : random(adaptive ? 11 : 10);
      if (op === 0 && order.length < 40) {
        const fresh = nextId++;
        const load = random(3);
        order.push(fresh);
        loads.set(fresh, load);
        settle(fresh);
        pool.add(fresh, load);
      } else if (op === 1 && id !== undefined) {
        order = order.filter((e) => e !== id);
        loads.delete(id);
        full.delete(id);
        capacities.delete(id);
        pool.remove(id);
      } else if (op <= 5 && id !== undefined) {
        // A task sent or answered: the engine is used and its load moves by one.
        const load = Math.max(0, (loads.get(id) ?? 0) + (random(2) === 0 ? 1 : -1));
        use(id);
        loads.set(id, load);
        settle(id);
        pool.setLoad(id, load);
      } else if (op <= 8 && id !== undefined) {
        use(id);
      } else if (op === 10 && id !== undefined) {
        // An engine's recent run time moved its capacity (with the use that answered it).
        const next = 1 + random(5);
        use(id);
        capacities.set(id, next);
        settle(id);
        pool.setCapacity(id, next);
      } else if (id !== undefined) {
        // A task adopted on restore: the load changes, the LRU order does not.
        const load = (loads.get(id) ?? 0) + 1;
        loads.set(id, load);
        settle(id);
        pool.setLoad(id, load);
      }
      const free = order.filter((e) => (loads.get(e) as number) < capacity(e) && !full.has(e));
      const expected =
        free.length === 0
          ? [undefined, undefined]
          : [free[leastload(free.map((e) => loads.get(e) as number))], free[lru(free.map(() => 0))]];
      assert.deepEqual([pool.leastLoaded(), pool.leastRecent()], expected, `step ${step}`);
      assert.equal(pool.freeCount, free.length);
      for (const e of order) assert.equal(pool.isFree(e), free.includes(e), `step ${step}: engine ${e} free`);
      assert.deepEqual([...pool.ids()], order);
    }
  });
}
