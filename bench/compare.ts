/**
 * Runs IPython Parallel's and dask's anchor benchmarks and Parallax's, one after another in one
 * run on this machine, and prints one JSON document with every metric and Parallax's ratio to
 * each anchor (higher is better for Parallax: rates are ours/theirs, times are theirs/ours).
 *
 *   npm run build && node dist/bench/compare.js [--anchors ../shared/anchors] [--only ipp,dask]
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const { values } = parseArgs({
  options: {
    anchors: { type: "string", default: path.resolve(root, "../shared/anchors") },
    only: { type: "string", default: "ipp,dask" },
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
  pull_1MiB_MBps: "higher",
  pull_16MiB_MBps: "higher",
  chain_tasks_per_s: "higher",
  fan_tasks_per_s: "higher",
  stop_s: "lower",
};

function runJson(command: string, args: string[], cwd: string): { metrics: Record<string, number> } {
  const out = execFileSync(command, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 900_000, stdio: ["ignore", "pipe", "ignore"] });
  const line = out.trim().split("\n").filter((l) => l.startsWith("{")).at(-1);
  if (!line) throw new Error(`${command} ${args.join(" ")} printed no JSON`);
  return JSON.parse(line) as { metrics: Record<string, number> };
}

const anchors: Record<string, string> = { ipp: "ipp_bench.py", dask: "dask_bench.py" };
const results: Record<string, Record<string, number>> = {};
const errors: Record<string, string> = {};
for (const name of values.only.split(",").filter(Boolean)) {
  const script = anchors[name];
  if (!script) throw new Error(`unknown anchor ${name}`);
  try {
    results[name] = runJson("/usr/bin/python3", [path.join(values.anchors, script), "--push-mib", "1,16"], values.anchors).metrics;
  } catch (error) {
    errors[name] = String(error).slice(0, 300);
  }
}
results.parallax = runJson(process.execPath, [path.join(here, "core.js"), "--push-mib", "1,16"], root).metrics;

const ratios: Record<string, Record<string, number>> = {};
for (const anchor of Object.keys(results).filter((n) => n !== "parallax")) {
  ratios[`parallax_vs_${anchor}`] = {};
  for (const [metric, better] of Object.entries(METRICS)) {
    const ours = results.parallax?.[metric];
    const theirs = results[anchor]?.[metric];
    if (typeof ours !== "number" || typeof theirs !== "number" || ours === 0 || theirs === 0) continue;
    (ratios[`parallax_vs_${anchor}`] as Record<string, number>)[metric] = Number((better === "higher" ? ours / theirs : theirs / ours).toFixed(2));
  }
}
const report = { date: new Date().toISOString(), machine: { cpus: (await import("node:os")).availableParallelism(), node: process.version }, results, ratios, errors };
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true });
fs.writeFileSync(path.join(root, "bench/results/latest.json"), `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report)}\n`);
