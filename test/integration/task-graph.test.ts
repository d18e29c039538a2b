import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ImpossibleDependency, TaskGraph } from "../../src/index.js";
import type { AsyncResult, TaskMetadata } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";

const sleeping = (ms: number) => new Promise<number>((r) => setTimeout(() => r(ms), ms));
const add = (x: number, y: number) => x + y;

/** A seeded pseudo-random generator, so a failing DAG can be reproduced. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

describe("task graphs on real engines", () => {
  let t: TestCluster;
  before(async () => {
    t = await startTestCluster({ n: 2 });
  });
  after(async () => t.stop());

  test("the delayed graph: sleeping(1), sleeping(2), add, in dependency order", async () => {
    const g = new TaskGraph();
    const x = g.task(sleeping, 100);
    const y = g.task(sleeping, 200);
    const z = g.task(add, x, y);
    const cleanup = g.task(() => "cleaned").after(z, { success: false, failure: true });
    const exported = g.export();
    assert.equal(exported.nodes.length, 4);
    assert.deepEqual(
      exported.edges.map((e) => [e.source, e.target, e.attributes?.kind]),
      [
        ["t0", "t2", "argument"],
        ["t1", "t2", "argument"],
        ["t2", "t3", "after"],
      ],
    );
    const results = await g.compute(t.rc.loadBalancedView());
    assert.equal(results.get(z), 300);
    assert.throws(() => results.get(cleanup), ImpossibleDependency, "cleanup only runs when z fails");
    const executed = results.export();
    const byKey = Object.fromEntries(executed.nodes.map((n) => [n.key, n.attributes]));
    assert.equal(byKey.t2?.state, "done");
    assert.equal(byKey.t3?.state, "impossible");
    assert.ok((byKey.t2?.started as number) >= Math.max(byKey.t0?.completed as number, byKey.t1?.completed as number));
    assert.equal(byKey.t2?.label, "add");
  });

  test("nodes from another graph are refused", () => {
    const g1 = new TaskGraph();
    const g2 = new TaskGraph();
    const a = g1.task(() => 1);
    assert.throws(() => g2.task(add, a, 1), /belongs to another TaskGraph/);
    assert.throws(() => g2.task(() => 1).after(a), /belongs to another TaskGraph/);
  });

  test("a random DAG of 300 tasks with after = predecessors runs in a valid order", async () => {
    const random = lcg(7);
    const lview = t.rc.loadBalancedView();
    const tasks: AsyncResult[] = [];
    const preds: number[][] = [];
    for (let i = 0; i < 300; i++) {
      const p = i === 0 ? [] : [...new Set(Array.from({ length: Math.floor(random() * 3) }, () => Math.floor(random() * i)))];
      preds.push(p);
      tasks.push(p.length ? lview.with({ after: p.map((j) => tasks[j] as AsyncResult) }).apply(() => 0) : lview.apply(() => 0));
    }
    await Promise.all(tasks);
    const meta = tasks.map((ar) => ar.metadata as TaskMetadata);
    preds.forEach((p, i) => {
      for (const j of p)
        assert.ok((meta[i]?.started as number) >= (meta[j]?.completed as number), `task ${i} started before its dependency ${j} completed`);
    });
    assert.equal(new Set(meta.map((m) => m.engineId)).size, 2, "both engines took part");
  });
});
