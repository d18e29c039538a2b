/**
 * The main walkthrough: start a local cluster, estimate π with a load-balanced Monte Carlo
 * map over 100 chunks, watch progress, and compare serial and wall time.
 *
 *   npm run demo            (after npm install, which builds)
 */
import os from "node:os";
import { Cluster } from "../src/index.js";

/** Counts random points of the unit square that fall inside the quarter circle. */
function sample(n: number): number {
  let inside = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.random();
    const y = Math.random();
    if (x * x + y * y <= 1) inside++;
  }
  return inside;
}

/** Runs the estimate on `engines` engines; returns the estimate and the timings. */
export async function estimatePi(engines = Math.max(2, os.availableParallelism()), chunks = 100, perChunk = 200_000) {
  await using rc = await Cluster.startAndConnect({ n: engines });
  const lview = rc.loadBalancedView();
  const ar = lview.map(sample, new Array<number>(chunks).fill(perChunk));
  await ar.waitInteractive({ interval: 500 });
  const counts = await ar;
  const pi = (4 * counts.reduce((a, b) => a + b, 0)) / (chunks * perChunk);
  const used = new Set(ar.metadata.map((m) => m.engineId));
  return { pi, engines: rc.ids.length, enginesUsed: used.size, elapsedMs: ar.elapsed, serialMs: ar.serialTime, wallMs: ar.wallTime };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await estimatePi();
  console.log(`π ≈ ${result.pi.toFixed(5)} from ${result.engines} engines (${result.enginesUsed} did work)`);
  console.log(
    `elapsed ${result.elapsedMs} ms, serial time ${result.serialMs} ms, speedup ${(result.serialMs / result.wallMs).toFixed(2)}×`,
  );
}
