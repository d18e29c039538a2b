/**
 * Many engines on one host: how long 64 engines take to start compared with 64 bare Node
 * processes started the same way in the same run, load-balanced throughput with 64 engines
 * against 2, and the memory each engine costs (its process plus its share of the supervisor
 * that watches its set, RSS): idle once registered, and after the throughput run, when every
 * engine has started the thread that runs its tasks.
 * Start is also measured in CPU seconds (every process the cluster started, against the bare
 * processes), which a busy shared machine disturbs far less than the wall clock. Prints one
 * JSON line (bench/results/scale.json keeps the newest).
 *
 *   npm run build && node dist/bench/scale.js [--engines 64] [--tasks 5000] [--hwm 1|auto]
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Cluster } from "../src/index.js";
import type { AsyncResult } from "../src/index.js";
import { cpuSeconds } from "./proc.js";

const { values: args } = parseArgs({
  options: {
    engines: { type: "string", default: "64" },
    tasks: { type: "string", default: "5000" },
    /** The controller's hwm: a number, or auto. */
    hwm: { type: "string", default: "1" },
  },
});
const HWM = args.hwm === "auto" ? "auto" : Number(args.hwm);
const ENGINES = Number(args.engines);
const TASKS = Number(args.tasks);
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const seconds = () => performance.now() / 1000;

/**
 * Seconds until `n` bare Node processes have each started and said so. Each runs in a session
 * of its own, as engines do: Linux's autogroup scheduler shares the CPU between sessions, so on
 * a busy machine processes in one session would start far slower than the engines.
 */
async function bareNodeStart(n: number): Promise<{ elapsed: number; cpu: number }> {
  const t = seconds();
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ["-e", "process.stdout.write('up\\n'); setInterval(() => {}, 1000)"], {
      stdio: ["ignore", "pipe", "ignore"],
      detached: true,
    }),
  );
  await Promise.all(children.map((child) => new Promise((resolve) => child.stdout.once("data", resolve))));
  const elapsed = seconds() - t;
  // CPU time is what a busy shared machine disturbs least: it says what starting costs.
  const cpu = children.reduce((sum, child) => sum + cpuSeconds(child.pid as number), 0);
  for (const child of children) child.kill("SIGKILL");
  return { elapsed, cpu };
}

/** Resident memory of a process in bytes, from /proc (0 when it is gone). */
function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Pids of the processes whose command line mentions `needle` and runs one of `entries`. */
function processesOf(needle: string, ...entries: string[]): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (cmdline.includes(needle) && entries.some((entry) => cmdline.includes(entry))) pids.push(Number(name));
    } catch {
      // The process ended while being listed.
    }
  }
  return pids;
}

/** CPU seconds so far of each role of the cluster in `dir` and of this process (the client). */
function cpuByRole(dir: string): { client: number; controller: number; supervisors: number; engines: number } {
  const usage = process.cpuUsage();
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuSeconds(pid), 0);
  return {
    client: (usage.user + usage.system) / 1e6,
    controller: sum(processesOf(dir, "controller/main")),
    supervisors: sum(processesOf(dir, "engine/main")),
    engines: sum(processesOf(dir, "engine/child")),
  };
}

/** Load-balanced no-op tasks per second on a cluster of `engines`, with the start time and memory. */
async function clusterRun(engines: number): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-scale-"));
  const m: Record<string, number> = {};
  const t = seconds();
  const cluster = new Cluster({ n: engines, profileDir: dir, hwm: HWM });
  try {
    await cluster.start();
    const rc = await cluster.connectClient();
    await rc.waitForEngines(engines, { timeout: 300_000 });
    m.start_s = round(seconds() - t);
    // Everything the cluster started: controller, supervisors, engines.
    m.start_cpu_s = round(
      processesOf(dir, "engine/main", "engine/child", "controller/main").reduce((sum, pid) => sum + cpuSeconds(pid), 0),
    );
    // Supervisors run engine/main; the engines they start run engine/child and name the same connection file.
    const engineMemory = () => {
      const processes = processesOf(dir, "engine/main", "engine/child");
      m.engine_processes = processes.length;
      return round(processes.reduce((sum, pid) => sum + rssBytes(pid), 0) / engines / 1e6, 1);
    };
    m.memory_per_engine_MB = engineMemory();
    const controller = processesOf(dir, "controller/main");
    m.controller_rss_MB = round(controller.reduce((sum, pid) => sum + rssBytes(pid), 0) / 1e6, 1);
    const lview = rc.loadBalancedView();
    await Promise.all(Array.from({ length: engines * 4 }, () => lview.apply(() => null)));
    const cpuBefore = cpuByRole(dir);
    const started = seconds();
    const results: AsyncResult[] = [];
    for (let i = 0; i < TASKS; i++) results.push(lview.apply(() => null));
    await Promise.all(results);
    m.lb_tasks_per_s = round(TASKS / (seconds() - started), 1);
    const cpuAfter = cpuByRole(dir);
    for (const role of Object.keys(cpuAfter) as Array<keyof typeof cpuAfter>)
      m[`lb_cpu_us_per_task_${role}`] = round(((cpuAfter[role] - cpuBefore[role]) * 1e6) / TASKS, 1);
    m.memory_per_engine_after_tasks_MB = engineMemory();
    await rc.close();
  } finally {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return m;
}

/** A run's CPU per task by role, named for its number of engines. */
function cpuPerTask(run: Record<string, number>, suffix: string): Record<string, number> {
  const prefix = "lb_cpu_us_per_task_";
  return Object.fromEntries(
    Object.entries(run)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [`${key}_${suffix}`, value]),
  );
}

const bare = await bareNodeStart(ENGINES);
const many = await clusterRun(ENGINES);
const two = await clusterRun(2);
const metrics = {
  [`bare_node_start_${ENGINES}_s`]: round(bare.elapsed),
  [`start_${ENGINES}_engines_s`]: many.start_s as number,
  start_vs_bare_node: round((many.start_s as number) / bare.elapsed, 2),
  [`bare_node_start_cpu_${ENGINES}_s`]: round(bare.cpu),
  [`start_cpu_${ENGINES}_engines_s`]: many.start_cpu_s as number,
  start_cpu_vs_bare_node: round((many.start_cpu_s as number) / bare.cpu, 2),
  [`lb_tasks_per_s_${ENGINES}_engines`]: many.lb_tasks_per_s as number,
  lb_tasks_per_s_2_engines: two.lb_tasks_per_s as number,
  [`throughput_${ENGINES}_vs_2`]: round((many.lb_tasks_per_s as number) / (two.lb_tasks_per_s as number), 2),
  memory_per_engine_MB: many.memory_per_engine_MB as number,
  memory_per_engine_after_tasks_MB: many.memory_per_engine_after_tasks_MB as number,
  processes_per_engine: round((many.engine_processes as number) / ENGINES, 3),
  [`controller_rss_${ENGINES}_engines_MB`]: many.controller_rss_MB as number,
  ...cpuPerTask(many, `${ENGINES}_engines`),
  ...cpuPerTask(two, "2_engines"),
};
const machine = { cpus: os.availableParallelism(), loadavg: os.loadavg(), node: process.version };
process.stdout.write(
  `${JSON.stringify({ system: "parallax", date: new Date().toISOString(), machine, config: { engines: ENGINES, tasks: TASKS, hwm: HWM }, metrics })}\n`,
);
