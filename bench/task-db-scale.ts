/**
 * Cost of many unfinished tasks. In process: adding 10k…100k unfinished records to the memory
 * task database (default bounds), and the marginal cost of one more record and one more
 * scheduler submission on top of them. Against a real cluster: submission throughput while
 * 100,000 load-balanced tasks wait at the controller behind a task that holds the only engine,
 * and the controller's RSS. Prints one JSON line.
 *
 *   npm run build && node dist/bench/task-db-scale.js [--queued 100000] [--extra 10000]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { MemoryTaskDatabase } from "../src/controller/task-db.js";
import { Cluster } from "../src/index.js";
import { EngineRegistry } from "../src/controller/registry.js";
import type { TaskRecord } from "../src/scheduler/records.js";
import { Ledger } from "../src/scheduler/ledger.js";

const { values } = parseArgs({
  options: {
    queued: { type: "string", default: "100000" },
    extra: { type: "string", default: "10000" },
  },
});
const QUEUED = Number(values.queued);
const EXTRA = Number(values.extra);
const SIZES = [10_000, 20_000, 40_000, 80_000, 100_000];
/** Records added on top of each size to measure the marginal cost. */
const MARGIN = 1000;

function unfinished(msgId: string): TaskRecord {
  return {
    msgId,
    client: "c",
    balanced: true,
    submitted: 0,
    phase: "queued",
    requestMetadata: {},
    requestContent: { op: "clear" },
    requestBuffers: [],
  };
}

/** Milliseconds to add `n` unfinished records, and microseconds per record for `MARGIN` more. */
function dbAdd(n: number): { records: number; add_all_ms: number; marginal_us_per_record: number } {
  const db = new MemoryTaskDatabase();
  let start = performance.now();
  for (let i = 0; i < n; i++) db.add(unfinished(`t${i}`));
  const all = performance.now() - start;
  start = performance.now();
  for (let i = 0; i < MARGIN; i++) db.add(unfinished(`m${i}`));
  const margin = performance.now() - start;
  return { records: n, add_all_ms: Math.round(all), marginal_us_per_record: Number(((margin * 1000) / MARGIN).toFixed(2)) };
}

/** Microseconds per submission (database + scheduler) once `n` tasks wait behind a full engine. */
function schedulerSubmit(n: number): { queued: number; marginal_us_per_submission: number } {
  const db = new MemoryTaskDatabase();
  const registry = new EngineRegistry();
  const ledger = new Ledger(
    db,
    registry,
    { scheme: "leastload", hwm: 1, impossibleGraceMs: 1000 },
    { dispatched() {}, requeued() {}, finished() {} },
  );
  ledger.engineAdded(registry.register(Buffer.from("e0"), { pid: 0, hostname: "bench", cwd: "/" }));
  const submit = (id: string) => {
    const record = unfinished(id);
    ledger.open(record);
    ledger.submit(record);
  };
  for (let i = 0; i < n; i++) submit(`t${i}`);
  const start = performance.now();
  for (let i = 0; i < MARGIN; i++) submit(`m${i}`);
  ledger.tick(Date.now());
  const us = ((performance.now() - start) * 1000) / MARGIN;
  const unassigned = ledger.scheduler.unassigned;
  if (unassigned !== n + MARGIN - 1) throw new Error(`expected ${n + MARGIN - 1} unassigned, got ${unassigned}`);
  return { queued: n, marginal_us_per_submission: Number(us.toFixed(2)) };
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** Real processes: the rate at which the controller takes tasks while QUEUED others wait. */
async function clusterThroughput(): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-db-scale-"));
  const cluster = new Cluster({ n: 1, profileDir: dir });
  try {
    await cluster.start();
    const rc = await cluster.connectClient({ maxInFlight: QUEUED + EXTRA + 10 });
    await rc.waitForEngines(1);
    const pid = cluster.controller?.pid as number;
    const gate = path.join(dir, "gate");
    const lview = rc.loadBalancedView();
    const holder = lview.apply(
      (file: string) =>
        new Promise((resolve) => {
          const timer = setInterval(() => {
            if ((require("node:fs") as typeof import("node:fs")).existsSync(file)) {
              clearInterval(timer);
              resolve(true);
            }
          }, 20);
        }),
      gate,
    );
    // The query waits behind the submissions at the controller; a busy controller may take longer
    // than the query's own timeout to reach it, which is no failure here.
    const unassigned = () =>
      rc.queueStatus().then(
        (s) => s.unassigned,
        () => 0,
      );
    const waitUnassigned = async (n: number) => {
      while ((await unassigned()) < n) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    let start = performance.now();
    const queued = lview.map(
      (x: number) => x,
      Array.from({ length: QUEUED }, (_, i) => i),
    );
    await waitUnassigned(QUEUED);
    const first = (performance.now() - start) / 1000;
    const rssQueued = rssMiB(pid);
    start = performance.now();
    const extra = lview.map(
      (x: number) => x,
      Array.from({ length: EXTRA }, (_, i) => i),
    );
    await waitUnassigned(QUEUED + EXTRA);
    const more = (performance.now() - start) / 1000;
    fs.writeFileSync(gate, "");
    start = performance.now();
    await Promise.all([holder, queued, extra]);
    const drain = (performance.now() - start) / 1000;
    await rc.close();
    return {
      queued: QUEUED,
      submit_queued_per_s: Math.round(QUEUED / first),
      extra: EXTRA,
      submit_extra_per_s_with_queued_waiting: Math.round(EXTRA / more),
      controller_rss_mib_with_queued_waiting: rssQueued,
      drain_tasks_per_s: Math.round((QUEUED + EXTRA) / drain),
    };
  } finally {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const inProcess = { db_add_unfinished: SIZES.map(dbAdd), scheduler_submit: SIZES.map(schedulerSubmit) };
process.stderr.write(`${JSON.stringify(inProcess)}\n`);
const metrics = { ...inProcess, cluster: await clusterThroughput() };
process.stdout.write(`${JSON.stringify({ system: "parallax", bench: "task-db-scale", metrics })}\n`);
