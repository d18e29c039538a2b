/**
 * Soak at real scale: the workloads that lost or hung work before. Each scenario reports how
 * many results were lost (never settled by the deadline: hung), wrong or duplicated, and the
 * controller's peak RSS. Prints one JSON line; exits non-zero when anything was lost.
 *
 *   npm run build && node dist/bench/scale-soak.js [--scenario all|backlog|unfinished|map|clients|stall|restore]
 *     [--backlog-seconds 600] [--unfinished 100000] [--map-items 200000] [--clients 100] [--client-tasks 500]
 *     [--stall-seconds 20] [--restore-rounds 100]
 *
 * - backlog: a queue that takes `--backlog-seconds` to drain on 2 engines, so most tasks wait
 *   far longer than a minute before they run.
 * - unfinished: `--unfinished` tasks submitted at once, all outstanding together.
 * - map: one load-balanced map of `--map-items` items with chunksize 1, its rate in each tenth
 *   of the run (a falling rate means a cost that grows with the backlog) and the controller's
 *   RSS, which the clients' send window must keep bounded.
 * - clients: `--clients` clients connect and each submits `--client-tasks` tasks at once.
 * - stall: the controller is stopped (SIGSTOP) for `--stall-seconds` with tasks in flight, then
 *   continued; every engine must still be there and every result must arrive.
 * - restore: `--restore-rounds` rounds of a mixed workload (queued, running, dependent, memoized,
 *   futures as arguments) during which the controller is killed (SIGKILL) at a random moment
 *   and restored from its SQLite database.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client, Cluster } from "../src/index.js";
import type { AsyncResult } from "../src/index.js";

const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "all" },
    "backlog-seconds": { type: "string", default: "600" },
    unfinished: { type: "string", default: "100000" },
    "map-items": { type: "string", default: "200000" },
    clients: { type: "string", default: "100" },
    "client-tasks": { type: "string", default: "500" },
    "stall-seconds": { type: "string", default: "20" },
    "restore-rounds": { type: "string", default: "100" },
  },
});

/** What one scenario found. */
interface Outcome {
  tasks: number;
  seconds: number;
  lost: number;
  wrong_or_duplicated: number;
  errors: number;
  controller_peak_rss_mb: number;
  [extra: string]: number | number[];
}

/** A map's results still missing after its progress stood still this long are counted as hung. */
const STALLED_MS = 120_000;

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** Samples the controller's RSS every 200 ms; `stop()` returns the peak. */
function rssSampler(cluster: Cluster): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(cluster.controller?.pid))), 200);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMb(cluster.controller?.pid));
    },
  };
}

/**
 * Tracks results that must each be `expected[i]`: counts how often each settles and how, and
 * after `deadlineMs` counts the ones that never did.
 */
class Ledger {
  private readonly settled: Uint8Array;
  wrong = 0;
  errors = 0;
  constructor(readonly size: number) {
    this.settled = new Uint8Array(size);
  }
  track(index: number, result: PromiseLike<unknown>, expected: unknown): void {
    result.then(
      (value) => {
        if (this.settled[index] === 1 || value !== expected) this.wrong++;
        this.settled[index] = 1;
      },
      () => {
        if (this.settled[index] === 1) this.wrong++;
        this.settled[index] = 1;
        this.errors++;
      },
    );
  }
  async settle(deadlineMs: number): Promise<number> {
    const deadline = Date.now() + deadlineMs;
    while (this.unsettled() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    return this.unsettled();
  }
  private unsettled(): number {
    return this.settled.reduce((n, s) => n + (s === 1 ? 0 : 1), 0);
  }
}

/** What a scenario reports once its results settled (or the deadline passed). */
function outcome(ledger: Ledger, started: number, lost: number, peakRssMb: number, extra: Record<string, number> = {}): Outcome {
  return {
    tasks: ledger.size,
    seconds: (Date.now() - started) / 1000,
    lost,
    wrong_or_duplicated: ledger.wrong,
    errors: ledger.errors,
    controller_peak_rss_mb: peakRssMb,
    ...extra,
  };
}

async function withCluster<T>(
  options: ConstructorParameters<typeof Cluster>[0],
  body: (cluster: Cluster, rc: Client) => Promise<T>,
): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-scale-soak-"));
  const cluster = new Cluster({ n: 2, profileDir: dir, ...options });
  await cluster.start();
  const rc = await cluster.connectClient();
  try {
    await rc.waitForEngines(options?.n ?? 2);
    return await body(cluster, rc);
  } finally {
    await rc.close();
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** 2 engines, tasks of 50 ms, enough of them that the queue takes `seconds` to drain. */
async function backlog(seconds: number): Promise<Outcome> {
  return withCluster({}, async (cluster, rc) => {
    const tasks = Math.round((seconds * 1000 * 2) / 50);
    const ledger = new Ledger(tasks);
    const rss = rssSampler(cluster);
    const started = Date.now();
    const lview = rc.loadBalancedView();
    const work = (i: number) => {
      const end = Date.now() + 50;
      while (Date.now() < end);
      return i;
    };
    for (let i = 0; i < tasks; i++) ledger.track(i, lview.apply(work, i), i);
    const lost = await ledger.settle(seconds * 1000 * 3 + 120_000);
    return outcome(ledger, started, lost, rss.stop());
  });
}

/** `count` no-op tasks submitted at once. */
async function unfinished(count: number): Promise<Outcome> {
  return withCluster({}, async (cluster, rc) => {
    const ledger = new Ledger(count);
    const rss = rssSampler(cluster);
    const started = Date.now();
    const lview = rc.loadBalancedView();
    for (let i = 0; i < count; i++)
      ledger.track(
        i,
        lview.apply((x: number) => x, i),
        i,
      );
    const submitted = (Date.now() - started) / 1000;
    const lost = await ledger.settle(600_000);
    return outcome(ledger, started, lost, rss.stop(), { submit_seconds: submitted });
  });
}

/**
 * Waits until `ar` is ready, or until its progress stood still for STALLED_MS; samples its rate
 * (items per second) in each tenth of `items`.
 */
async function watchMap(ar: AsyncResult<unknown[]>, items: number): Promise<{ byTenth: number[] }> {
  const byTenth: number[] = [];
  // When the last tenth ended, and the previous sample: a tenth's end is interpolated between samples.
  let tenthEnded = Date.now();
  let before = { at: tenthEnded, done: 0 };
  let movedAt = tenthEnded;
  // One wait for the whole run: each wait() subscribes to every message's completion.
  const finished = ar.wait().then(() => true);
  for (;;) {
    const ready = await Promise.race([finished, new Promise<false>((resolve) => setTimeout(() => resolve(false), 1_000))]);
    const sample = { at: Date.now(), done: ready ? items : ar.progress };
    if (sample.done > before.done) movedAt = sample.at;
    for (
      let end = ((byTenth.length + 1) * items) / 10;
      byTenth.length < 10 && sample.done >= end;
      end = ((byTenth.length + 1) * items) / 10
    ) {
      const at = before.at + ((end - before.done) / (sample.done - before.done)) * (sample.at - before.at);
      byTenth.push(Math.round(items / 10 / Math.max((at - tenthEnded) / 1000, 0.001)));
      tenthEnded = at;
    }
    before = sample;
    if (ready || sample.at - movedAt > STALLED_MS) return { byTenth };
  }
}

/** Counts a settled map's results: each item must be `expected(i)`; errors stand in for failed items. */
function countItems(
  values: unknown[] | undefined,
  items: number,
  expected: (i: number) => unknown,
): { lost: number; wrong: number; errors: number } {
  if (values === undefined) return { lost: items, wrong: 0, errors: 0 };
  const errors = values.filter((v) => v instanceof Error).length;
  const wrong = values.filter((v, i) => !(v instanceof Error) && v !== expected(i)).length;
  return { lost: items - values.length, wrong, errors };
}

/** One map of `items` no-op items with chunksize 1, submitted at once. */
async function bigMap(items: number): Promise<Outcome> {
  return withCluster({}, async (cluster, rc) => {
    const rss = rssSampler(cluster);
    const started = Date.now();
    const ar = rc
      .loadBalancedView()
      .with({ chunksize: 1 })
      .map(
        (x: number) => x + 1,
        Array.from({ length: items }, (_, i) => i),
      );
    const submitSeconds = (Date.now() - started) / 1000;
    const { byTenth } = await watchMap(ar, items);
    const values = ar.ready() ? await ar.get({ returnExceptions: true }) : undefined;
    const seconds = (Date.now() - started) / 1000;
    const counted = countItems(values, items, (i) => i + 1);
    return {
      tasks: items,
      seconds,
      lost: counted.lost,
      wrong_or_duplicated: counted.wrong,
      errors: counted.errors,
      controller_peak_rss_mb: rss.stop(),
      submit_seconds: submitSeconds,
      items_per_s: Math.round(items / seconds),
      items_per_s_by_tenth: byTenth,
    };
  });
}

/** `clients` clients connect at once and each submits `tasks` tasks at once. */
async function manyClients(clients: number, tasks: number): Promise<Outcome> {
  return withCluster({}, async (cluster) => {
    const rss = rssSampler(cluster);
    const started = Date.now();
    const connected = await Promise.all(Array.from({ length: clients }, () => Client.connect({ connectionFile: cluster.files.client })));
    const totals = { lost: 0, wrong: 0, errors: 0 };
    const inputs = Array.from({ length: tasks }, (_, i) => i);
    try {
      await Promise.all(
        connected.map(async (client, c) => {
          const ar = client.loadBalancedView().map(
            (x: number, k: number) => x * 1000 + k,
            inputs,
            inputs.map(() => c),
          );
          await watchMap(ar, tasks);
          const values = ar.ready() ? await ar.get({ returnExceptions: true }) : undefined;
          const counted = countItems(values, tasks, (i) => i * 1000 + c);
          totals.lost += counted.lost;
          totals.wrong += counted.wrong;
          totals.errors += counted.errors;
        }),
      );
    } finally {
      await Promise.all(connected.map((client) => client.close()));
    }
    const seconds = (Date.now() - started) / 1000;
    return {
      tasks: clients * tasks,
      seconds,
      lost: totals.lost,
      wrong_or_duplicated: totals.wrong,
      errors: totals.errors,
      controller_peak_rss_mb: rss.stop(),
      clients,
      tasks_per_s: Math.round((clients * tasks) / seconds),
    };
  });
}

/** Tasks of 20 ms in flight while the controller is stopped for `seconds`. */
async function stall(seconds: number): Promise<Outcome> {
  return withCluster({}, async (cluster, rc) => {
    const tasks = 2_000;
    const ledger = new Ledger(tasks);
    const rss = rssSampler(cluster);
    const started = Date.now();
    const lview = rc.loadBalancedView();
    const work = (i: number) => {
      const end = Date.now() + 20;
      while (Date.now() < end);
      return i;
    };
    for (let i = 0; i < tasks; i++) ledger.track(i, lview.apply(work, i), i);
    const pid = cluster.controller?.pid as number;
    await new Promise((r) => setTimeout(r, 2_000));
    process.kill(pid, "SIGSTOP");
    await new Promise((r) => setTimeout(r, seconds * 1000));
    process.kill(pid, "SIGCONT");
    const lost = await ledger.settle(120_000);
    return outcome(ledger, started, lost, rss.stop(), { engines_after: rc.ids.length });
  });
}

/** One round of a mixed workload; the controller is killed at a random moment and restored. */
async function restoreRound(cluster: Cluster, rc: Client, round: number): Promise<{ ledger: Ledger; tasks: number }> {
  const lview = rc.loadBalancedView();
  const results: Array<[AsyncResult<unknown>, unknown]> = [];
  const sleepy = (i: number, ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(i), ms));
  const add = (a: number, b: number) => a + b;
  const inputs: Array<AsyncResult<number>> = [];
  for (let i = 0; i < 40; i++) {
    const ar = lview.apply(sleepy, i, 5 + (i % 7) * 10);
    inputs.push(ar);
    results.push([ar, i]);
  }
  let previous = inputs[0] as AsyncResult<number>;
  for (let i = 0; i < 10; i++) {
    previous = lview.with({ after: previous }).apply((x: number) => x, i);
    results.push([previous, i]);
  }
  for (let i = 0; i < 10; i++) results.push([lview.with({ pure: true }).apply(add, round, i % 3), round + (i % 3)]);
  for (let i = 0; i < 10; i++)
    results.push([lview.apply(add, inputs[i] as AsyncResult<number>, inputs[i + 1] as AsyncResult<number>), 2 * i + 1]);
  const ledger = new Ledger(results.length);
  results.forEach(([ar, expected], i) => ledger.track(i, ar, expected));
  await new Promise((r) => setTimeout(r, Math.random() * 300));
  process.kill(cluster.controller?.pid as number, "SIGKILL");
  await cluster.startController({ restore: true });
  return { ledger, tasks: results.length };
}

async function restore(rounds: number): Promise<Outcome> {
  return withCluster({ db: "sqlite" }, async (cluster, rc) => {
    let tasks = 0;
    let lost = 0;
    let wrong = 0;
    let errors = 0;
    let peak = 0;
    const started = Date.now();
    for (let round = 0; round < rounds; round++) {
      const { ledger, tasks: n } = await restoreRound(cluster, rc, round);
      tasks += n;
      lost += await ledger.settle(60_000);
      wrong += ledger.wrong;
      errors += ledger.errors;
      peak = Math.max(peak, rssMb(cluster.controller?.pid));
    }
    return {
      tasks,
      seconds: (Date.now() - started) / 1000,
      lost,
      wrong_or_duplicated: wrong,
      errors,
      controller_peak_rss_mb: peak,
      rounds,
    };
  });
}

const scenarios: Record<string, () => Promise<Outcome>> = {
  backlog: () => backlog(Number(values["backlog-seconds"])),
  unfinished: () => unfinished(Number(values.unfinished)),
  map: () => bigMap(Number(values["map-items"])),
  clients: () => manyClients(Number(values.clients), Number(values["client-tasks"])),
  stall: () => stall(Number(values["stall-seconds"])),
  restore: () => restore(Number(values["restore-rounds"])),
};
const chosen = values.scenario === "all" ? Object.keys(scenarios) : values.scenario.split(",");
const report: Record<string, Outcome | { failed: string }> = {};
for (const name of chosen) {
  const run = scenarios[name];
  if (!run) throw new Error(`unknown scenario ${name} (known: ${Object.keys(scenarios).join(", ")}, all)`);
  try {
    report[name] = await run();
  } catch (error) {
    report[name] = { failed: String(error) };
  }
}
process.stdout.write(`${JSON.stringify({ system: "parallax", bench: "scale-soak", scenarios: report })}\n`);
// Every task of every scenario is valid work: an error is a result lost to its client.
const bad = Object.values(report).some((o) => "failed" in o || o.lost > 0 || o.wrong_or_duplicated > 0 || o.errors > 0);
if (bad) process.exitCode = 1;
