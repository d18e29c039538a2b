/**
 * Renders the seeds' delayed graph (sleeping, add, and a sum over eight sleeping tasks) to
 * dag.svg, runs it, and renders the executed run to timeline.svg (and the executed DAG).
 *
 *   npm run build && node dist/examples/visualize.js [output folder]
 */
import path from "node:path";
import { Cluster, visualize } from "../src/index.js";
import { delayedGraph } from "./delayed.js";

/** Writes dag.svg, dag-executed.svg and timeline.svg into `dir`; returns their paths. */
export async function renderDelayed(dir: string): Promise<{ dag: string; executed: string; timeline: string }> {
  const { g } = delayedGraph();
  const files = { dag: path.join(dir, "dag.svg"), executed: path.join(dir, "dag-executed.svg"), timeline: path.join(dir, "timeline.svg") };
  await visualize(g, { filename: files.dag });
  await using rc = await Cluster.startAndConnect({ n: 2 });
  const results = await g.compute(rc.loadBalancedView());
  await visualize(results, { filename: files.executed });
  await visualize(results, { kind: "timeline", filename: files.timeline, arrows: true });
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await renderDelayed(process.argv[2] ?? "."));
}
