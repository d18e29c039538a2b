/**
 * Runs IPython Parallel's and dask's anchor benchmarks, raw zeromq.js between two Node processes
 * (the wire's limit) and Parallax's own benchmarks, one after another in one run on this
 * machine, and prints one JSON document with every metric, Parallax's ratio to each anchor
 * (higher is better for Parallax: rates are ours/theirs, times are theirs/ours) and each target
 * of the fast path, met or not.
 *
 *   npm run bench   (node dist/bench/compare.js [--anchors ../shared/anchors] [--only ipp,dask,zmq] [--engines 64])
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const { values } = parseArgs({
  options: {
    anchors: { type: "string", default: path.resolve(root, "../shared/anchors") },
    only: { type: "string", default: "ipp,dask,zmq" },
    engines: { type: "string", default: "64" },
  },
});

/** Metrics compared, and whether larger is better. */
const METRICS: Record<string, "higher" | "lower"> = {
  start_s: "lower",
  latency_direct_ms_median: "lower",
  latency_lb_ms_median: "lower",
  lb_apply_async_tasks_per_s: "higher",
  map_chunk1_items_per_s: "higher",
  map_chunk100_items_per_s: "higher",
  direct_all_apply_sync_per_s: "higher",
  direct_one_apply_async_tasks_per_s: "higher",
  push_1MiB_MBps: "higher",
  push_16MiB_MBps: "higher",
  push_128MiB_MBps: "higher",
  pull_1MiB_MBps: "higher",
  pull_16MiB_MBps: "higher",
  pull_128MiB_MBps: "higher",
  chain_tasks_per_s: "higher",
  fan_tasks_per_s: "higher",
  stop_s: "lower",
};

/**
 * Task rates measured again with `hwm: "auto"` (suffixed `_hwm_auto`), each checked against the
 * same target, and where the CPU and the wake-ups of a load-balanced task go with prefetch.
 */
const PREFETCH_METRICS = [
  "throughput_many_vs_2",
  ...["client", "controller", "engines"].flatMap((role) => [`lb_cpu_us_per_task_${role}`, `lb_wakeups_per_task_${role}`]),
  "lb_apply_async_tasks_per_s",
  "latency_lb_ms_median",
  "map_chunk1_items_per_s",
  "map_chunk100_items_per_s",
  "chain_tasks_per_s",
  "fan_tasks_per_s",
];

/** The fast path's targets: metric, bound, and whether the bound is a floor or a ceiling. */
const TARGETS: Array<[string, "min" | "max", number]> = [
  ["lb_apply_async_tasks_per_s", "min", 20_000],
  ["latency_lb_ms_median", "max", 0.5],
  ["latency_direct_ms_median", "max", 0.4],
  ["map_chunk1_items_per_s", "min", 15_000],
  ["map_chunk100_items_per_s", "min", 1_000_000],
  ["chain_tasks_per_s", "min", 3_000],
  ["fan_tasks_per_s", "min", 10_000],
  ["push_16MiB_MBps", "min", 1_000],
  ["push_128MiB_MBps", "min", 1_000],
  ["start_vs_bare_node", "max", 1.5],
  ["throughput_many_vs_2", "min", 0.9],
  ["memory_per_engine_MB", "max", 60],
];

function runJson(command: string, args: string[], cwd: string): { metrics: Record<string, number> } {
  const out = execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    timeout: 900_000,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const line = out
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .at(-1);
  if (!line) throw new Error(`${command} ${args.join(" ")} printed no JSON`);
  return JSON.parse(line) as { metrics: Record<string, number> };
}

/**
 * The raw zeromq.js anchor reads `node_modules/zeromq` beside itself: run a copy of it in a
 * temporary folder whose node_modules is ours (the anchors folder is read-only).
 */
function zmqAnchorDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-zmq-anchor-"));
  fs.copyFileSync(path.join(values.anchors, "zmq/bench.js"), path.join(dir, "bench.js"));
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/** How to run each anchor; the raw zeromq.js script finds the zeromq package in ours. */
const anchors: Record<string, () => { metrics: Record<string, number> }> = {
  ipp: () => runJson("/usr/bin/python3", [path.join(values.anchors, "ipp_bench.py"), "--push-mib", "1,16,128"], values.anchors),
  dask: () => runJson("/usr/bin/python3", [path.join(values.anchors, "dask_bench.py"), "--push-mib", "1,16,128"], values.anchors),
  zmq: () => runJson(process.execPath, ["bench.js"], zmqAnchorDir()),
};
const results: Record<string, Record<string, number>> = {};
const errors: Record<string, string> = {};
if (!fs.existsSync(values.anchors))
  throw new Error(`no anchor scripts at ${values.anchors}: pass --anchors <folder with ipp_bench.py, dask_bench.py, zmq/bench.js>`);
for (const name of values.only.split(",").filter(Boolean)) {
  const run = anchors[name];
  if (!run) throw new Error(`unknown anchor ${name} (known: ${Object.keys(anchors).join(", ")})`);
  try {
    results[name] = run().metrics;
  } catch (error) {
    errors[name] = String(error).slice(0, 300);
  }
}
results.parallax = runJson(process.execPath, [path.join(here, "core.js"), "--push-mib", "1,16,128"], root).metrics;
// The same task rates with adaptive prefetch (`hwm: "auto"`); the anchors' figures are at their default hwm 1.
const prefetch = runJson(
  process.execPath,
  [path.join(here, "core.js"), "--hwm", "auto", "--phases", "latency,throughput,dependencies"],
  root,
);
for (const metric of PREFETCH_METRICS) {
  const value = prefetch.metrics[metric];
  if (value !== undefined) results.parallax[`${metric}_hwm_auto`] = value;
}
const scale = runJson(process.execPath, [path.join(here, "scale.js"), "--engines", values.engines], root).metrics;
const scaleAuto = runJson(process.execPath, [path.join(here, "scale.js"), "--engines", values.engines, "--hwm", "auto"], root).metrics;
Object.assign(results.parallax, scale, {
  throughput_many_vs_2: scale[`throughput_${values.engines}_vs_2`],
  throughput_many_vs_2_hwm_auto: scaleAuto[`throughput_${values.engines}_vs_2`],
});

const ratios: Record<string, Record<string, number>> = {};
for (const anchor of Object.keys(results).filter((n) => n !== "parallax" && n !== "zmq")) {
  ratios[`parallax_vs_${anchor}`] = {};
  for (const [metric, better] of Object.entries(METRICS)) {
    const ours = results.parallax?.[metric];
    const theirs = results[anchor]?.[metric];
    if (typeof ours !== "number" || typeof theirs !== "number" || ours === 0 || theirs === 0) continue;
    (ratios[`parallax_vs_${anchor}`] as Record<string, number>)[metric] = Number(
      (better === "higher" ? ours / theirs : theirs / ours).toFixed(2),
    );
  }
}
// The wire's limit: raw zeromq.js between two Node processes, against the same operations.
const zmq = results.zmq;
if (zmq) {
  ratios.parallax_vs_raw_zmq = {
    latency_direct_ms_median: Number(((zmq.latency_small_ms_median ?? 0) / (results.parallax.latency_direct_ms_median ?? 1)).toFixed(3)),
    lb_apply_async_tasks_per_s: Number(
      ((results.parallax.lb_apply_async_tasks_per_s ?? 0) / (zmq.echo_small_roundtrips_per_s ?? 1)).toFixed(3),
    ),
    push_1MiB_MBps: Number(((results.parallax.push_1MiB_MBps ?? 0) / (zmq.oneway_1MiB_MBps ?? 1)).toFixed(3)),
  };
}
const targets = [
  ...TARGETS,
  ...TARGETS.filter(([metric]) => PREFETCH_METRICS.includes(metric)).map(
    ([metric, kind, bound]) => [`${metric}_hwm_auto`, kind, bound] as const,
  ),
].map(([metric, kind, bound]) => {
  const value = results.parallax?.[metric];
  const met = typeof value === "number" && (kind === "min" ? value >= bound : value <= bound);
  return { metric, target: `${kind === "min" ? ">=" : "<="} ${bound}`, value: value ?? null, met };
});
const report = {
  date: new Date().toISOString(),
  machine: { cpus: os.availableParallelism(), loadavg: os.loadavg(), node: process.version },
  results,
  ratios,
  targets,
  errors,
};
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results/latest.json"), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report)}\n`);
