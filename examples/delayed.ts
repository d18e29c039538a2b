/**
 * A dask-style delayed graph: two sleeping tasks feed an add, and a sum over eight sleeping
 * tasks; TaskGraph submits them in dependency order through a LoadBalancedView.
 */
import { Cluster, TaskGraph } from "../src/index.js";

const sleeping = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms));
const add = (x: number, y: number) => x + y;
const sum = (...xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Builds the seeds' delayed graph. */
export function delayedGraph() {
  const g = new TaskGraph();
  const x = g.task(sleeping, 100);
  const y = g.task(sleeping, 200);
  const z = g.task(add, x, y);
  const parts = Array.from({ length: 8 }, (_, i) => g.task(sleeping, 10 * (i + 1)));
  const total = g.task(sum, ...parts);
  return { g, z, total };
}

/** Runs the graph on a local cluster; returns z and the total. */
export async function runDelayed() {
  await using rc = await Cluster.startAndConnect({ n: 2 });
  const { g, z, total } = delayedGraph();
  const results = await g.compute(rc.loadBalancedView());
  return { z: results.get(z), total: results.get(total), results };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { z, total } = await runDelayed();
  console.log(`add(sleeping(100), sleeping(200)) = ${z}; sum of eight sleeping tasks = ${total}`);
}
