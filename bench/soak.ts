/**
 * Soak: a long run of no-op tasks through the load-balanced view (1,000,000 by default) with a
 * bounded window in flight. Checks that no result is lost or duplicated and samples the
 * controller's memory twenty times: RSS, anonymous RSS (RSS less the mapped files: Node's binary
 * and libraries) from /proc, and its JavaScript heap, external and ArrayBuffer memory from the
 * controller itself (`controller-memory.ts`). RSS must stay flat once the bounded task database
 * is full. Also reports the controller's CPU time per task. Prints JSON, with the date and the
 * machine's load average.
 *
 *   npm run build && node dist/bench/soak.js [--tasks 1000000] [--window 2000] [--hwm 0|auto]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Cluster } from "../src/index.js";
import type { AsyncResult } from "../src/index.js";
import { cpuSeconds } from "./proc.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "1000000" },
    window: { type: "string", default: "2000" },
    hwm: { type: "string", default: "0" },
  },
});
const TASKS = Number(values.tasks);
const WINDOW = Number(values.window);

/** One field of /proc/<pid>/status, in MiB. */
function statusMiB(status: string, field: string): number {
  return Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-soak-"));
const memoryFile = path.join(dir, "controller-memory.json");
process.env.PARALLAX_SOAK_MEMORY_FILE = memoryFile;
const preload = fileURLToPath(new URL("./controller-memory.js", import.meta.url));
process.env.PARALLAX_NODE_ARGS = [process.env.PARALLAX_NODE_ARGS ?? "", "--import", preload].join(" ").trim();

type Sample = { tasks: number; rssMiB: number; anonMiB: number } & Partial<
  Record<"heapUsedMiB" | "heapTotalMiB" | "externalMiB" | "arrayBuffersMiB", number>
>;

/** The controller's memory now (its own figures are at most half a second old). */
function sample(tasks: number, pid: number): Sample {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  let own = {};
  try {
    own = JSON.parse(fs.readFileSync(memoryFile, "utf8")) as object;
  } catch {
    // Not written yet: RSS only.
  }
  return { tasks, rssMiB: statusMiB(status, "VmRSS"), anonMiB: statusMiB(status, "RssAnon"), ...own };
}

const startedAt = new Date().toISOString();
const loadBefore = os.loadavg()[0] as number;
const cluster = new Cluster({ n: 2, profileDir: dir, hwm: values.hwm === "auto" ? "auto" : Number(values.hwm) });
await cluster.start();
const rc = await cluster.connectClient();
await rc.waitForEngines(2);
const controllerPid = cluster.controller?.pid as number;
const lview = rc.loadBalancedView();
const noop = (i: number) => i;
const samples: Sample[] = [];
const seen = new Uint8Array(TASKS);
let wrong = 0;
const started = Date.now();
const controllerCpuBefore = cpuSeconds(controllerPid);
const inFlight: Array<[number, AsyncResult<unknown>]> = [];
const settle = async ([i, ar]: [number, AsyncResult<unknown>]) => {
  const value = await ar;
  if (value !== i || seen[i] === 1) wrong++;
  seen[i] = 1;
};
for (let i = 0; i < TASKS; i++) {
  inFlight.push([i, lview.apply(noop, i)]);
  if (inFlight.length >= WINDOW) await Promise.all(inFlight.splice(0, WINDOW / 2).map(settle));
  if (i % Math.max(1, Math.floor(TASKS / 20)) === 0) samples.push(sample(i, controllerPid));
}
await Promise.all(inFlight.splice(0).map(settle));
samples.push(sample(TASKS, controllerPid));
const controllerCpu = cpuSeconds(controllerPid) - controllerCpuBefore;
const loadAfter = os.loadavg()[0] as number;
const seconds = (Date.now() - started) / 1000;
const missing = seen.reduce((n, s) => n + (s === 1 ? 0 : 1), 0);
await rc.close();
await cluster.stop();
fs.rmSync(dir, { recursive: true, force: true });
const afterWarmup = samples.filter((s) => s.tasks >= Math.min(TASKS, 200_000));
const range = (key: keyof Sample) => {
  const values = afterWarmup.map((s) => s[key]).filter((v): v is number => v !== undefined);
  return values.length === 0 ? null : [Math.min(...values), Math.max(...values)];
};
process.stdout.write(
  `${JSON.stringify({
    system: "parallax",
    bench: "soak",
    date: startedAt,
    load_average: { before: loadBefore, after: loadAfter },
    metrics: {
      tasks: TASKS,
      seconds,
      tasks_per_s: Math.round(TASKS / seconds),
      // CPU seconds (every thread) the controller used per task, in µs: steadier than tasks/s on a shared machine.
      controller_cpu_us_per_task: Math.round((controllerCpu / TASKS) * 1e6),
      lost: missing,
      wrong_or_duplicated: wrong,
      controller_rss_min_after_warmup_mib: Math.min(...afterWarmup.map((s) => s.rssMiB)),
      controller_rss_max_after_warmup_mib: Math.max(...afterWarmup.map((s) => s.rssMiB)),
      // [min, max] from 200,000 tasks on.
      controller_anon_rss_after_warmup_mib: range("anonMiB"),
      controller_heap_total_after_warmup_mib: range("heapTotalMiB"),
      controller_heap_used_after_warmup_mib: range("heapUsedMiB"),
      controller_array_buffers_after_warmup_mib: range("arrayBuffersMiB"),
    },
    samples,
  })}\n`,
);
if (missing > 0 || wrong > 0) process.exitCode = 1;
