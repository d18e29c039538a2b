/**
 * Flow control at scale: a 200,000-item load-balanced map with chunksize 1 (its rate over time
 * and the controller's peak RSS), then 100 clients submitting at once (results lost, wrong or
 * duplicated). Clients keep at most `maxInFlight` tasks at the controller. Prints one JSON line.
 *
 *   npm run build && node dist/bench/flow-control.js [--items 200000] [--clients 100] [--tasks 500]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client, Cluster } from "../src/index.js";

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "200000" },
    clients: { type: "string", default: "100" },
    tasks: { type: "string", default: "500" },
  },
});
const ITEMS = Number(values.items);
const CLIENTS = Number(values.clients);
const TASKS = Number(values.tasks);

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** Samples the controller's RSS until stopped; returns the peak. */
function rssSampler(pid: number): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 200);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMiB(pid));
    },
  };
}

/** The big map: items per second in each tenth of the run, and the controller's peak RSS. */
async function bigMap(rc: Client, controllerPid: number): Promise<Record<string, unknown>> {
  const rss = rssSampler(controllerPid);
  const started = performance.now();
  const ar = rc
    .loadBalancedView()
    .with({ chunksize: 1 })
    .map(
      (x: number) => x + 1,
      Array.from({ length: ITEMS }, (_, i) => i),
    );
  const tenths: number[] = [];
  let mark = started;
  const sample = (done: number) => {
    while (done >= ((tenths.length + 1) * ITEMS) / 10) {
      const now = performance.now();
      tenths.push(Math.round(ITEMS / 10 / ((now - mark) / 1000)));
      mark = now;
    }
  };
  // Progress walks every entry: sampled once a second, so that the bench measures Parallax.
  const progress = setInterval(() => sample(ar.progress), 1000);
  const out = (await ar) as number[];
  clearInterval(progress);
  sample(ITEMS);
  const seconds = (performance.now() - started) / 1000;
  const wrong = out.filter((v, i) => v !== i + 1).length;
  return {
    items: ITEMS,
    seconds: Number(seconds.toFixed(1)),
    items_per_s: Math.round(ITEMS / seconds),
    items_per_s_by_tenth: tenths,
    wrong,
    controller_peak_rss_mib: rss.stop(),
  };
}

/** Many clients submitting at once: every result must come back exactly once, right. */
async function manyClients(file: string, controllerPid: number): Promise<Record<string, unknown>> {
  const rss = rssSampler(controllerPid);
  const started = performance.now();
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => Client.connect({ connectionFile: file })));
  const counts = { received: 0, lost: 0, wrong: 0, failedClients: 0 };
  const tasks = Array.from({ length: TASKS }, (_, i) => i);
  await Promise.all(
    clients.map(async (rc, c) => {
      try {
        const out = (await rc.loadBalancedView().map(
          (x: number, k: number) => x * 1000 + k,
          tasks,
          tasks.map(() => c),
        )) as number[];
        counts.received += out.length;
        counts.wrong += out.filter((v, i) => v !== i * 1000 + c).length;
        counts.lost += TASKS - out.length;
      } catch {
        counts.failedClients++;
        counts.lost += TASKS;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((rc) => rc.close()));
  return {
    clients: CLIENTS,
    tasks_each: TASKS,
    seconds: Number(seconds.toFixed(1)),
    tasks_per_s: Math.round((CLIENTS * TASKS) / seconds),
    received: counts.received,
    lost: counts.lost,
    wrong_or_duplicated: counts.wrong,
    failed_clients: counts.failedClients,
    controller_peak_rss_mib: rss.stop(),
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-flow-"));
const cluster = new Cluster({ n: 2, profileDir: dir });
try {
  await cluster.start();
  const rc = await cluster.connectClient();
  await rc.waitForEngines(2);
  const controllerPid = cluster.controller?.pid as number;
  const idleRss = rssMiB(controllerPid);
  const map = await bigMap(rc, controllerPid);
  const many = await manyClients(cluster.files.client, controllerPid);
  await rc.close();
  process.stdout.write(
    `${JSON.stringify({ system: "parallax", bench: "flow-control", metrics: { controller_idle_rss_mib: idleRss, map, many_clients: many } })}\n`,
  );
  if (map.wrong !== 0 || many.lost !== 0 || many.wrong_or_duplicated !== 0) process.exitCode = 1;
} finally {
  await cluster.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
