/**
 * What running user code costs on an engine, per task. In this process: a no-op call run the
 * way an engine runs it (decode, call, encode) inline, through the engine's task thread, and a
 * bare call under vm's breakOnSigint for comparison. Then on one engine: no-op tasks sent one
 * at a time (latency) and all at once (throughput), a no-op `execute`, and a long map
 * partition (cost per item). Prints one JSON line.
 *
 *   node --import tsx bench/engine-overhead.ts [--n 2000] [--items 200000]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import vm from "node:vm";
import { encodeCall } from "../src/client/encode.js";
import { Namespace } from "../src/engine/namespace.js";
import { TaskThread } from "../src/engine/task-thread.js";
import { Cluster } from "../src/index.js";
import { decodeValue, encodeValue } from "../src/protocol/serialize.js";
import { cpuSeconds } from "./proc.js";

const { values: args } = parseArgs({ options: { n: { type: "string", default: "2000" }, items: { type: "string", default: "200000" } } });
const N = Number(args.n);
const ITEMS = Number(args.items);
const noop = () => null;
const round = (x: number) => Number(x.toFixed(4));

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] as number;
}

async function timed(call: () => PromiseLike<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await call();
    samples.push(performance.now() - t);
  }
  return samples;
}

/**
 * Mean µs per call of `call` after a warm-up: wall time, and CPU time of the whole process
 * (every thread), which a busy machine disturbs much less.
 */
async function perCallUs(call: () => unknown): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < 200; i++) await call();
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < N; i++) await call();
  const used = process.cpuUsage(cpu);
  return { wall: round(((performance.now() - t) * 1000) / N), cpu: round((used.user + used.system) / N) };
}

function record(m: Record<string, number>, name: string, cost: { wall: number; cpu: number }): void {
  m[`${name}_us`] = cost.wall;
  m[`${name}_cpu_us`] = cost.cpu;
}

async function inProcess(m: Record<string, number>): Promise<void> {
  const { content, buffers } = encodeCall("call", noop, []);
  const ns = new Namespace(process.cwd());
  record(
    m,
    "inline_call",
    await perCallUs(async () => encodeValue(ns.invoke(await ns.resolveFunction(content.fn), decodeValue(buffers) as unknown[]))),
  );
  const thread = new TaskThread({ cwd: process.cwd(), seed: {} }, () => {});
  record(m, "thread_call", await perCallUs(() => thread.run(content, buffers, () => {})));
  const context = vm.createContext({ fn: noop });
  const script = new vm.Script("fn()");
  record(m, "break_on_sigint_call", await perCallUs(() => script.runInContext(context, { breakOnSigint: true })));
}

/** CPU time a process has used, in µs. */
const cpuMicros = (pid: number) => cpuSeconds(pid) * 1e6;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-bench-"));
const cluster = new Cluster({ n: 1, profileDir: dir });
try {
  await cluster.start();
  const rc = await cluster.connectClient();
  await rc.waitForEngines(1, { timeout: 30_000 });
  const e0 = rc.view(0);
  const lview = rc.loadBalancedView();
  const m: Record<string, number> = {};
  await inProcess(m);
  for (let i = 0; i < 200; i++) await e0.apply(noop);
  m.apply_latency_ms_median = round(median(await timed(() => e0.apply(noop))));
  m.execute_latency_ms_median = round(median(await timed(() => e0.execute("1"))));
  const enginePid = (await e0.apply(() => process.pid)) as number;
  const engineCpu = cpuMicros(enginePid);
  let t = performance.now();
  await Promise.all(Array.from({ length: N }, () => lview.apply(noop)));
  m.lb_noop_tasks_per_s = Math.round(N / ((performance.now() - t) / 1000));
  m.engine_cpu_us_per_noop_task = round((cpuMicros(enginePid) - engineCpu) / N);
  const items = Array.from({ length: ITEMS }, (_, i) => i);
  t = performance.now();
  await e0.map((x: number) => x + 1, items);
  m.map_item_us = round(((performance.now() - t) * 1000) / ITEMS);
  await rc.close();
  process.stdout.write(`${JSON.stringify({ bench: "engine-overhead", n: N, items: ITEMS, ...m })}\n`);
} finally {
  await cluster.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
// The task thread of the in-process measurement would keep this process alive.
process.exit(0);
