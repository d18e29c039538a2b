/**
 * Scheduling cost of large DAGs, in process: the real ledger, TaskScheduler, engine registry
 * and memory task database, with engines that answer at once, so only the controller's own
 * bookkeeping and scheduling is timed. Shows that 100,000 tasks cost about ten times what
 * 10,000 do (linear), and that 256 engines cost about what 2 do, printing JSON.
 *
 *   npm run build && node dist/bench/dag-scaling.js
 */
import { EngineRegistry } from "../src/controller/registry.js";
import { MemoryTaskDatabase } from "../src/controller/task-db.js";
import { Ledger } from "../src/scheduler/ledger.js";
import type { EngineRecord, TaskRecord } from "../src/scheduler/records.js";

/**
 * Submits a random DAG of `n` tasks (each after up to two earlier ones) to `engines` engines,
 * each taking `hwm` tasks at a time (0: all), then runs it; returns seconds.
 */
function run(n: number, engines = 2, hwm = 0, seed = 1): number {
  let s = seed;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const db = new MemoryTaskDatabase({ maxRecords: n + 10, maxBytes: Number.MAX_SAFE_INTEGER });
  const registry = new EngineRegistry();
  // What the hub would send: requests to engines; a failure here means the DAG is broken.
  const sent: Array<[TaskRecord, EngineRecord]> = [];
  const ledger = new Ledger(
    db,
    registry,
    { scheme: "leastload", hwm, impossibleGraceMs: 1000 },
    {
      dispatched: (record, engine) => sent.push([record, engine]),
      requeued: (record) => {
        throw new Error(`task ${record.msgId} was requeued`);
      },
      finished: (record) => {
        if (record.reply?.content.status !== "ok") throw new Error(`task ${record.msgId} failed: ${record.reply?.content.error?.evalue}`);
      },
    },
  );
  for (let i = 0; i < engines; i++) ledger.engineAdded(registry.register(Buffer.from(`e${i}`), { pid: 0, hostname: "bench", cwd: "/" }, 0));
  const ids: string[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const deps = i === 0 ? [] : [...new Set([Math.floor(random() * i), Math.floor(random() * i)])].map((j) => ids[j] as string);
    const msgId = `t${i}`;
    ids.push(msgId);
    const record: TaskRecord = {
      msgId,
      client: "c",
      balanced: true,
      submitted: Date.now(),
      phase: "queued",
      requestMetadata: deps.length ? { after: { ids: deps, all: true, success: true, failure: false } } : {},
      requestContent: { op: "clear" },
      requestBuffers: [],
    };
    ledger.open(record);
    ledger.submit(record);
  }
  // The whole graph is queued (most of it waiting on dependencies); engines now answer.
  for (let next = 0; next < sent.length; next++) {
    const [record, engine] = sent[next] as [TaskRecord, EngineRecord];
    ledger.answer(record, engine, { content: { status: "ok" }, metadata: {}, buffers: [] });
  }
  const seconds = (performance.now() - start) / 1000;
  if (ledger.scheduler.unassigned !== 0 || sent.length !== n) throw new Error(`${n - sent.length} tasks never ran`);
  return seconds;
}

run(2000);
const small = run(10_000);
const large = run(100_000);
// One task per engine at a time, as by default: placing a task must not cost more with more engines.
const few = run(20_000, 2, 1);
const many = run(20_000, 256, 1);
process.stdout.write(
  `${JSON.stringify({
    system: "parallax",
    bench: "dag-scaling",
    metrics: {
      dag_10k_s: Number(small.toFixed(3)),
      dag_100k_s: Number(large.toFixed(3)),
      dag_10k_tasks_per_s: Math.round(10_000 / small),
      dag_100k_tasks_per_s: Math.round(100_000 / large),
      ratio_100k_to_10k: Number((large / small).toFixed(2)),
      hwm1_20k_2_engines_s: Number(few.toFixed(3)),
      hwm1_20k_256_engines_s: Number(many.toFixed(3)),
      ratio_256_to_2_engines: Number((many / few).toFixed(2)),
    },
  })}\n`,
);
