import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import type { TaskMetadata } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";

declare const engineId: number;

for (const scheme of ["leastload", "lru", "weighted", "plainrandom", "twobin"]) {
  test(`scheme ${scheme} places load-balanced work on real engines`, async () => {
    const t = await startTestCluster({ n: 2, scheme, hwm: 0 });
    try {
      const ar = t.rc.loadBalancedView().map(
        () => engineId,
        Array.from({ length: 40 }, (_, i) => i),
      );
      const values = (await ar) as number[];
      assert.equal(values.length, 40);
      assert.deepEqual(
        values,
        (ar.metadata as TaskMetadata[]).map((m) => m.engineId),
        "each item reports the engine the metadata names",
      );
    } finally {
      await t.stop();
    }
  });
}

test("a user scheme from a module is registered with the controller", async () => {
  const t = await startTestCluster({ n: 2, scheme: path.join(import.meta.dirname, "../fixtures/last-engine-scheme.mjs") });
  try {
    const lview = t.rc.loadBalancedView();
    const placements: number[] = [];
    for (let i = 0; i < 6; i++) placements.push((await lview.apply(() => engineId)) as number);
    // The most recently used engine is taken every time: the same engine throughout.
    assert.equal(new Set(placements.slice(1)).size, 1, `placements ${placements}`);
  } finally {
    await t.stop();
  }
});
