/**
 * Scheduling cost of large DAGs, in process: the real TaskScheduler and memory task database
 * with engines that answer at once, so only the scheduler's own work is timed. Shows that
 * 100,000 tasks cost about ten times what 10,000 do (linear), printing JSON.
 *
 *   npm run build && node dist/bench/dag-scaling.js
 */
import { EngineRegistry } from "../src/controller/registry.js";
import { MemoryTaskDatabase } from "../src/controller/task-db.js";
import type { EngineRecord, TaskRecord } from "../src/scheduler/records.js";
import type { RemoteErrorInfo } from "../src/errors.js";
import { TaskScheduler } from "../src/scheduler/task-scheduler.js";
import type { SchedulerPort } from "../src/scheduler/task-scheduler.js";

/** Engines registered as the hub registers them, without processes behind them. */
function engines(n: number): EngineRecord[] {
  const registry = new EngineRegistry();
  return Array.from({ length: n }, (_, i) => registry.register(Buffer.from(`e${i}`), { pid: 0, hostname: "bench", cwd: "/" }, 0));
}

/** Submits a random DAG of `n` tasks (each after up to two earlier ones), then runs it; returns seconds. */
function run(n: number, seed = 1): number {
  let s = seed;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const db = new MemoryTaskDatabase({ maxRecords: n + 10, maxBytes: Number.MAX_SAFE_INTEGER });
  const inFlight: Array<[TaskRecord, EngineRecord]> = [];
  const port: SchedulerPort = {
    db,
    dispatch(record, e) {
      record.engineId = e.id;
      record.phase = "running";
      e.balanced.add(record.msgId);
      inFlight.push([record, e]);
    },
    fail(record, error: RemoteErrorInfo) {
      throw new Error(`task ${record.msgId} failed: ${error.evalue}`);
    },
    answerWithResult() {},
  };
  const scheduler = new TaskScheduler(port, { scheme: "leastload", hwm: 0, impossibleGraceMs: 1000 });
  const pool = engines(2);
  for (const e of pool) scheduler.engineAdded(e);
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
      requestContent: {},
      requestBuffers: [],
    };
    db.add(record);
    scheduler.submit(record);
  }
  // The whole graph is queued (most of it waiting on dependencies); engines now answer.
  for (let next = 0; next < inFlight.length; next++) {
    const [done, e] = inFlight[next] as [TaskRecord, EngineRecord];
    e.balanced.delete(done.msgId);
    scheduler.onReply(done, e, { status: "ok" }, {});
    done.phase = "done";
    done.reply = { content: { status: "ok" }, metadata: {}, buffers: [] };
    db.update(done);
    scheduler.onFinished(done);
  }
  const seconds = (performance.now() - start) / 1000;
  if (scheduler.unassigned !== 0) throw new Error("tasks left unassigned");
  return seconds;
}

run(2000);
const small = run(10_000);
const large = run(100_000);
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
    },
  })}\n`,
);
