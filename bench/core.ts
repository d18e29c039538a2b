/**
 * Parallax's side of the anchor benchmarks: the same operations and metric names as
 * IPython Parallel's and dask's scripts, on a local cluster of 2 engines. Prints one JSON line.
 *
 *   npm run build && node dist/bench/core.js [--tasks 5000] [--hwm 1|auto] [--phases latency,throughput]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Cluster } from "../src/index.js";
import type { AsyncResult, Client } from "../src/index.js";
import { cpuSeconds, threadSleeps } from "./proc.js";

const { values: args } = parseArgs({
  options: {
    tasks: { type: "string", default: "5000" },
    "lat-n": { type: "string", default: "500" },
    chain: { type: "string", default: "500" },
    hwm: { type: "string", default: "1" },
    "push-mib": { type: "string", default: "1,16,128" },
    /** Which phases to run (comma-separated; all by default), for focused comparisons. */
    phases: { type: "string", default: "latency,throughput,push_pull,dependencies" },
  },
});
const TASKS = Number(args.tasks);
const HWM = args.hwm === "auto" ? "auto" : Number(args.hwm);
const LAT_N = Number(args["lat-n"]);
const CHAIN = Number(args.chain);
const MB = 1e6;
const PHASES = new Set(args.phases.split(","));

const noop = () => null;
/** `noop` taking the item a map passes. */
const noopItem = (_item: number) => null;
const now = () => performance.now() / 1000;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

function latStats(prefix: string, samples: number[], out: Record<string, number>): void {
  const ms = samples.map((s) => s * 1e3).sort((a, b) => a - b);
  const pick = (p: number) => ms[Math.max(0, Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1))] as number;
  out[`${prefix}_ms_median`] = round(pick(50), 4);
  out[`${prefix}_ms_p99`] = round(pick(99), 4);
  out[`${prefix}_ms_mean`] = round(ms.reduce((a, b) => a + b, 0) / ms.length, 4);
  out[`${prefix}_n`] = ms.length;
}

async function latency(rc: Client, m: Record<string, number>): Promise<void> {
  const e0 = rc.view(0);
  const lview = rc.loadBalancedView();
  for (let i = 0; i < 50; i++) await e0.apply(noop);
  latStats("latency_direct", await sampleLatency(() => e0.apply(noop)), m);
  latStats("latency_lb", await sampleLatency(() => lview.apply(noop)), m);
}

/** Seconds taken by each of LAT_N blocking calls. */
async function sampleLatency(call: () => PromiseLike<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < LAT_N; i++) {
    const t = now();
    await call();
    samples.push(now() - t);
  }
  return samples;
}

type Roles = { client: number; controller: number; engines: number };
const ROLES = ["client", "controller", "engines"] as const;

/** CPU seconds used so far by the client (this process), the controller and the engines. */
function cpuByRole(pids: { controller: number; engines: number[] }): Roles {
  const usage = process.cpuUsage();
  return {
    client: (usage.user + usage.system) / 1e6,
    controller: cpuSeconds(pids.controller),
    engines: pids.engines.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
  };
}

/** Thread sleeps (wake-ups to come) so far, by role (see {@link threadSleeps}). */
function sleepsByRole(pids: { controller: number; engines: number[] }): Roles {
  return {
    client: threadSleeps(process.pid),
    controller: threadSleeps(pids.controller),
    engines: pids.engines.reduce((sum, pid) => sum + threadSleeps(pid), 0),
  };
}

async function throughput(rc: Client, m: Record<string, number>, pids: { controller: number; engines: number[] }): Promise<void> {
  const lview = rc.loadBalancedView();
  const cpuBefore = cpuByRole(pids);
  const sleepsBefore = sleepsByRole(pids);
  let t = now();
  const ars: AsyncResult[] = [];
  for (let i = 0; i < TASKS; i++) ars.push(lview.apply(noop));
  const ts = now();
  await Promise.all(ars);
  const te = now();
  // Where the CPU of a load-balanced task goes: what bounds tasks/s once the cores are busy.
  const cpuAfter = cpuByRole(pids);
  const sleepsAfter = sleepsByRole(pids);
  for (const role of ROLES) {
    m[`lb_cpu_us_per_task_${role}`] = round(((cpuAfter[role] - cpuBefore[role]) * 1e6) / TASKS, 1);
    m[`lb_wakeups_per_task_${role}`] = round((sleepsAfter[role] - sleepsBefore[role]) / TASKS, 2);
  }
  m.lb_apply_async_tasks_per_s = round(TASKS / (te - t), 1);
  m.lb_apply_async_submit_per_s = round(TASKS / (ts - t), 1);
  m.lb_apply_async_total_s = round(te - t);
  for (const chunksize of [1, 100]) {
    t = now();
    const out = await lview.with({ chunksize }).map(
      noopItem,
      Array.from({ length: TASKS }, (_, i) => i),
    );
    if (out.length !== TASKS) throw new Error("map lost items");
    m[`map_chunk${chunksize}_items_per_s`] = round(TASKS / (now() - t), 1);
    m[`map_chunk${chunksize}_total_s`] = round(now() - t);
  }
  const dv = rc.view();
  const samples: number[] = [];
  t = now();
  for (let i = 0; i < 200; i++) {
    const s = now();
    await dv.apply(noop);
    samples.push(now() - s);
  }
  m.direct_all_apply_sync_per_s = round(200 / (now() - t), 1);
  latStats("direct_all_apply_sync", samples, m);
  t = now();
  await Promise.all(Array.from({ length: 1000 }, () => dv.apply(noop)));
  m.direct_all_apply_async_calls_per_s = round(1000 / (now() - t), 1);
  m.direct_all_apply_async_engine_tasks_per_s = round((1000 * rc.ids.length) / (now() - t), 1);
  t = now();
  await Promise.all(Array.from({ length: TASKS }, () => rc.view(0).apply(noop)));
  m.direct_one_apply_async_tasks_per_s = round(TASKS / (now() - t), 1);
}

async function pushPull(rc: Client, m: Record<string, number>): Promise<void> {
  const e0 = rc.view(0);
  for (const mib of args["push-mib"].split(",").filter(Boolean).map(Number)) {
    const bytes = mib * 1024 * 1024;
    const x = new Float64Array(bytes / 8).fill(1);
    const reps = mib <= 1 ? 20 : mib <= 16 ? 8 : 5;
    await e0.push({ x });
    const push: number[] = [];
    const pull: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t = now();
      await e0.push({ x });
      push.push(now() - t);
    }
    for (let i = 0; i < reps; i++) {
      const t = now();
      const y = (await e0.pull("x")) as Float64Array;
      pull.push(now() - t);
      if (y.byteLength !== bytes) throw new Error("pull returned the wrong size");
    }
    push.sort((a, b) => a - b);
    pull.sort((a, b) => a - b);
    m[`push_${mib}MiB_MBps`] = round(bytes / (push[push.length >> 1] as number) / MB, 1);
    m[`pull_${mib}MiB_MBps`] = round(bytes / (pull[pull.length >> 1] as number) / MB, 1);
    await e0.execute("delete globalThis.x");
  }
}

async function dependencies(rc: Client, m: Record<string, number>): Promise<void> {
  const lview = rc.loadBalancedView();
  let t = now();
  let prev: AsyncResult | undefined;
  const chain: AsyncResult[] = [];
  for (let i = 0; i < CHAIN; i++) {
    prev = (prev ? lview.with({ after: prev }) : lview).apply(noop);
    chain.push(prev);
  }
  const ts = now();
  await Promise.all(chain);
  m.chain_tasks_per_s = round(CHAIN / (now() - t), 1);
  m.chain_total_s = round(now() - t);
  m.chain_submit_s = round(ts - t);
  const started = chain.map((ar) => (ar.metadata as { started: number }).started);
  const inOrder = started.every((s, i) => i === 0 || s >= (started[i - 1] as number));
  t = now();
  const root = lview.apply(noop);
  const mids = Array.from({ length: 500 }, () => lview.with({ after: root }).apply(noop));
  const sink = lview.with({ after: mids }).apply(noop);
  const tf = now();
  await sink;
  m.fan_tasks_per_s = round(502 / (now() - t), 1);
  m.fan_total_s = round(now() - t);
  m.fan_submit_s = round(tf - t);
  if (!inOrder) throw new Error("chain tasks did not start in order");
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-bench-"));
  const m: Record<string, number> = {};
  const errors: Record<string, string> = {};
  const t0 = now();
  const cluster = new Cluster({ n: 2, profileDir: dir, hwm: HWM });
  await cluster.start();
  const t1 = now();
  const rc = await cluster.connectClient();
  const t2 = now();
  await rc.waitForEngines(2);
  const t3 = now();
  m.start_s = round(t3 - t0);
  m.start_launch_s = round(t1 - t0);
  m.start_connect_s = round(t2 - t1);
  m.start_register_wait_s = round(t3 - t2);
  const pids = {
    controller: cluster.controller?.pid as number,
    engines: await Promise.all(rc.ids.map(async (id) => (await rc.view(id).apply(() => process.pid)) as number)),
  };
  for (const [name, phase] of [
    ["latency", latency],
    ["throughput", throughput],
    ["push_pull", pushPull],
    ["dependencies", dependencies],
  ] as const) {
    if (!PHASES.has(name)) continue;
    try {
      await phase(rc, m, pids);
    } catch (error) {
      errors[name] = String(error);
    }
  }
  await rc.close();
  const ts = now();
  await cluster.stop();
  m.stop_s = round(now() - ts);
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ system: "parallax", config: { engines: 2, tasks: TASKS, hwm: HWM }, metrics: m, errors })}\n`);
}

await main();
