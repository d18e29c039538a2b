/**
 * The executor, like Python's concurrent.futures: a lazy ordered map over an iterable, and
 * futures as they complete.
 */
import { Cluster, asCompleted } from "../src/index.js";

const sleeping = (ms: number, tag: string) => new Promise<string>((resolve) => setTimeout(() => resolve(`${tag} after ${ms} ms`), ms));

/** Maps over durations and tags; returns the ordered results and the completion order. */
export async function executorDemo() {
  await using rc = await Cluster.startAndConnect({ n: 2 });
  const ex = rc.executor();
  const ordered: string[] = [];
  for await (const r of ex.map(sleeping, [300, 100, 200], ["a", "b", "c"])) ordered.push(r);
  const futures = [ex.submit(sleeping, 200, "slow"), ex.submit(sleeping, 20, "fast")];
  const completed: string[] = [];
  for await (const done of asCompleted(futures)) completed.push(await done.get());
  await ex.shutdown();
  return { ordered, completed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await executorDemo());
}
