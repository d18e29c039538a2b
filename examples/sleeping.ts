/**
 * The `sleeping` tasks: the same work through a DirectView map (one contiguous partition per
 * engine) and a LoadBalancedView map (one task per item, placed as engines free up). With
 * uneven durations, load balancing finishes sooner.
 */
import { Cluster } from "../src/index.js";

/** Sleeps `ms` milliseconds on the engine and returns it. */
export const sleeping = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms));

/** Runs both maps over the same durations; returns their wall times in ms. */
export async function compareMaps(durations: number[] = [400, 400, 400, 400, 50, 50, 50, 50]) {
  await using rc = await Cluster.startAndConnect({ n: 2 });
  const direct = rc.view().map(sleeping, durations);
  await direct;
  const balanced = rc.loadBalancedView().map(sleeping, durations);
  await balanced;
  return { direct: direct.wallTime, balanced: balanced.wallTime, directValues: await direct, balancedValues: await balanced };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { direct, balanced } = await compareMaps();
  console.log(`DirectView map: ${direct} ms, LoadBalancedView map: ${balanced} ms`);
}
