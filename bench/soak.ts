/**
 * Soak: a long run of no-op tasks through the load-balanced view (1,000,000 by default) with a
 * bounded window in flight. Checks that no result is lost or duplicated and samples the
 * controller's RSS, which must stay flat once the bounded task database is full. Prints JSON.
 *
 *   npm run build && node dist/bench/soak.js [--tasks 1000000] [--window 2000] [--hwm 0|auto]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Cluster } from "../src/index.js";
import type { AsyncResult } from "../src/index.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "1000000" },
    window: { type: "string", default: "2000" },
    hwm: { type: "string", default: "0" },
  },
});
const TASKS = Number(values.tasks);
const WINDOW = Number(values.window);

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-soak-"));
const cluster = new Cluster({ n: 2, profileDir: dir, hwm: values.hwm === "auto" ? "auto" : Number(values.hwm) });
await cluster.start();
const rc = await cluster.connectClient();
await rc.waitForEngines(2);
const controllerPid = cluster.controller?.pid as number;
const lview = rc.loadBalancedView();
const noop = (i: number) => i;
const samples: Array<{ tasks: number; rssMiB: number }> = [];
const seen = new Uint8Array(TASKS);
let wrong = 0;
const started = Date.now();
const inFlight: Array<[number, AsyncResult<unknown>]> = [];
const settle = async ([i, ar]: [number, AsyncResult<unknown>]) => {
  const value = await ar;
  if (value !== i || seen[i] === 1) wrong++;
  seen[i] = 1;
};
for (let i = 0; i < TASKS; i++) {
  inFlight.push([i, lview.apply(noop, i)]);
  if (inFlight.length >= WINDOW) await Promise.all(inFlight.splice(0, WINDOW / 2).map(settle));
  if (i % Math.max(1, Math.floor(TASKS / 20)) === 0) samples.push({ tasks: i, rssMiB: rssMiB(controllerPid) });
}
await Promise.all(inFlight.splice(0).map(settle));
samples.push({ tasks: TASKS, rssMiB: rssMiB(controllerPid) });
const seconds = (Date.now() - started) / 1000;
const missing = seen.reduce((n, s) => n + (s === 1 ? 0 : 1), 0);
await rc.close();
await cluster.stop();
fs.rmSync(dir, { recursive: true, force: true });
const afterWarmup = samples.filter((s) => s.tasks >= Math.min(TASKS, 200_000));
process.stdout.write(
  `${JSON.stringify({
    system: "parallax",
    bench: "soak",
    metrics: {
      tasks: TASKS,
      seconds,
      tasks_per_s: Math.round(TASKS / seconds),
      lost: missing,
      wrong_or_duplicated: wrong,
      controller_rss_min_after_warmup_mib: Math.min(...afterWarmup.map((s) => s.rssMiB)),
      controller_rss_max_after_warmup_mib: Math.max(...afterWarmup.map((s) => s.rssMiB)),
    },
    samples,
  })}\n`,
);
if (missing > 0 || wrong > 0) process.exitCode = 1;
