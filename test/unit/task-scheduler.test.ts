/**
 * The real TaskScheduler and memory task database at scale, driven in process: the port below
 * does what the hub does with a dispatched or failed task (records it on the engine, completes
 * the record), so only the scheduler's decisions are observed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EngineRegistry } from "../../src/controller/registry.js";
import { MemoryTaskDatabase } from "../../src/controller/task-db.js";
import type { RemoteErrorInfo } from "../../src/errors.js";
import type { RequestMetadata } from "../../src/protocol/contents.js";
import type { EngineRecord, TaskRecord } from "../../src/scheduler/records.js";
import { TaskScheduler } from "../../src/scheduler/task-scheduler.js";
import type { SchedulerPort } from "../../src/scheduler/task-scheduler.js";

/** A scheduler over a real memory database, with the hub's bookkeeping of dispatch and failure. */
function harness(options: { hwm?: number; graceMs?: number; maxRecords?: number } = {}) {
  const db = new MemoryTaskDatabase({ maxRecords: options.maxRecords ?? 1_000_000, maxBytes: Number.MAX_SAFE_INTEGER });
  const failures = new Map<string, string>();
  const port: SchedulerPort = {
    db,
    dispatch(record, e) {
      record.engineId = e.id;
      record.phase = "running";
      e.balanced.add(record.msgId);
    },
    fail(record, error: RemoteErrorInfo & { code?: string }) {
      for (const e of engines) e.balanced.delete(record.msgId);
      failures.set(record.msgId, error.code ?? error.ename);
      finish(record, "error");
    },
    answerWithResult() {},
  };
  const scheduler = new TaskScheduler(port, { scheme: "leastload", hwm: options.hwm ?? 1, impossibleGraceMs: options.graceMs ?? 1000 });
  const registry = new EngineRegistry();
  const engines = [0, 1].map((i) => registry.register(Buffer.from(`engine-${i}`), { pid: 0, hostname: "test", cwd: "/" }));
  for (const e of engines) scheduler.engineAdded(e);
  function finish(record: TaskRecord, status: "ok" | "error"): void {
    record.phase = "done";
    record.reply = { content: { status }, metadata: {}, buffers: [] };
    db.update(record);
    scheduler.onFinished(record);
  }
  function submit(msgId: string, requestMetadata: RequestMetadata = {}): TaskRecord {
    const record: TaskRecord = {
      msgId,
      client: "c",
      balanced: true,
      submitted: Date.now(),
      phase: "queued",
      requestMetadata,
      requestContent: {},
      requestBuffers: [],
    };
    db.add(record);
    scheduler.submit(record);
    return record;
  }
  /** The engine answers its task successfully. */
  function answer(record: TaskRecord): void {
    const e = engines[record.engineId as number] as EngineRecord;
    e.balanced.delete(record.msgId);
    assert.equal(scheduler.onReply(record, e, { status: "ok" }, {}), true);
    finish(record, "ok");
  }
  return { db, scheduler, engines, failures, submit, answer };
}

test("100,000 queued tasks: the unassigned count is exact, and ticks fail only the tasks whose queue timeout passed", () => {
  const h = harness();
  const start = Date.now();
  const records = Array.from({ length: 100_000 }, (_, i) => h.submit(`t${i}`, i % 1000 === 999 ? { timeout: 50 } : {}));
  assert.equal(h.scheduler.unassigned, 100_000 - 2, "two tasks run (hwm 1 on 2 engines)");
  h.scheduler.tick(start + 10);
  assert.equal(h.failures.size, 0);
  h.scheduler.tick(Date.now() + 1000);
  assert.equal(h.failures.size, 100, "every 1,000th task had a 50 ms timeout");
  assert.ok([...h.failures.values()].every((code) => code === "TASK_TIMEOUT"));
  assert.equal(h.scheduler.unassigned, 100_000 - 100 - 2);
  // Running tasks go on; answering them lets the next in line run.
  const running = records.filter((r) => r.phase === "running");
  assert.equal(running.length, 2);
  for (const r of running) h.answer(r);
  assert.equal(h.scheduler.unassigned, 100_000 - 100 - 4);
  assert.deepEqual(h.scheduler.violations(), []);
});

test("a task sent back to the queue after its engine died times out there; one running past its timeout does not", () => {
  const h = harness();
  const start = Date.now();
  const first = h.submit("first", { timeout: 100, retries: 1 });
  const second = h.submit("second", { timeout: 100 });
  assert.deepEqual([first.phase, second.phase], ["running", "running"]);
  h.scheduler.tick(start + 500);
  assert.equal(h.failures.size, 0, "running tasks are past their timeout but not waiting");
  const dead = h.engines[first.engineId as number] as EngineRecord;
  h.scheduler.engineRemoved(dead, "engine died");
  // Back in the queue, but the other engine is busy with `second` (hwm 1).
  assert.equal(first.phase, "queued");
  h.scheduler.tick(Date.now() + 500);
  assert.equal(h.failures.get("first"), "TASK_TIMEOUT");
  assert.equal(h.failures.has("second"), false);
  assert.deepEqual(h.scheduler.violations(), []);
});

test("of 10,000 queued tasks, only those no live engine may take are failed after the grace period", () => {
  const h = harness({ graceMs: 60_000, hwm: 0 });
  for (let i = 0; i < 10_000; i++) h.submit(`t${i}`, i % 100 === 0 ? { targets: [7] } : {});
  assert.equal(h.scheduler.unassigned, 100, "every other task was sent (hwm 0)");
  h.scheduler.tick(Date.now());
  assert.equal(h.failures.size, 0, "within the grace period");
  h.scheduler.tick(Date.now() + 120_000);
  assert.equal(h.failures.size, 100);
  assert.ok([...h.failures.values()].every((code) => code === "IMPOSSIBLE_DEPENDENCY"));
  assert.equal(h.scheduler.unassigned, 0);
});

test("a task with 10,000 futures as arguments runs with every input kept, under a database bound of 10", () => {
  const h = harness({ maxRecords: 10, hwm: 0 });
  const inputs = Array.from({ length: 10_000 }, (_, i) => h.submit(`in${i}`));
  const consumer = h.submit("sum", { argRefs: inputs.map((r) => r.msgId) });
  assert.equal(consumer.phase, "queued");
  for (const input of inputs) h.answer(input);
  assert.equal(consumer.phase, "running", "dispatched once every input succeeded");
  assert.ok(
    inputs.every((r) => h.db.get(r.msgId)?.reply?.content.status === "ok"),
    "the inputs it needs are all still there",
  );
  h.answer(consumer);
  assert.equal(h.db.history().length, 10, "once it finished, the bound applies again");
});
