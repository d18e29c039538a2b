/**
 * The scheduler's policy, on plain data: the real ledger, TaskScheduler, engine registry and
 * memory task database, with no sockets and no processes. Engines are registry entries; what the
 * hub would send is collected from the ledger's sink, and engines answer by calling the ledger.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EngineRegistry } from "../../src/controller/registry.js";
import { MemoryTaskDatabase } from "../../src/controller/task-db.js";
import { toWire, UnmetDependency } from "../../src/errors.js";
import type { DependencySpec, ReplyContent, RequestMetadata } from "../../src/protocol/contents.js";
import { Ledger } from "../../src/scheduler/ledger.js";
import { MAX_PREFETCH, parseHwm, PREFETCH_BUDGET_MS, prefetchCapacity } from "../../src/scheduler/task-scheduler.js";
import type { Hwm } from "../../src/scheduler/task-scheduler.js";
import type { EngineRecord, TaskRecord } from "../../src/scheduler/records.js";
import type { Scheme } from "../../src/scheduler/schemes.js";

interface HarnessOptions {
  hwm?: Hwm;
  graceMs?: number;
  maxRecords?: number;
  engines?: number;
  scheme?: string | Scheme;
}

/** A ledger and scheduler over a real memory database and registry; effects are recorded. */
function harness(options: HarnessOptions = {}) {
  const db = new MemoryTaskDatabase({ maxRecords: options.maxRecords ?? 1_000_000, maxBytes: Number.MAX_SAFE_INTEGER });
  const registry = new EngineRegistry();
  /** Every dispatch, in order: [msg id, engine id]. */
  const sent: Array<[string, number]> = [];
  const requeued: string[] = [];
  /** Finished tasks in order, with their status. */
  const finished: Array<[string, string]> = [];
  /** Failed tasks: msg id → error code. */
  const failures = new Map<string, string>();
  const ledger = new Ledger(
    db,
    registry,
    { scheme: options.scheme ?? "leastload", hwm: options.hwm ?? 1, impossibleGraceMs: options.graceMs ?? 1000 },
    {
      dispatched: (record, engine) => sent.push([record.msgId, engine.id]),
      requeued: (record) => requeued.push(record.msgId),
      finished: (record) => {
        const content = record.reply?.content as ReplyContent;
        finished.push([record.msgId, content.status]);
        if (content.status !== "ok") failures.set(record.msgId, content.error?.code ?? content.error?.ename ?? "?");
      },
    },
  );
  const engines: EngineRecord[] = [];
  function addEngine(): EngineRecord {
    const engine = registry.register(Buffer.from(`engine-${engines.length}`), { pid: 0, hostname: "test", cwd: "/" });
    engines.push(engine);
    ledger.engineAdded(engine);
    return engine;
  }
  for (let i = 0; i < (options.engines ?? 2); i++) addEngine();
  function submit(msgId: string, requestMetadata: RequestMetadata = {}): TaskRecord {
    const record = request(msgId, requestMetadata);
    ledger.open(record);
    ledger.submit(record);
    return record;
  }
  /** The engine the task runs on answers it (successfully unless told otherwise). */
  function answer(record: TaskRecord, content: ReplyContent = { status: "ok" }, unmet = false): void {
    assert.equal(record.phase, "running", `task ${record.msgId} runs`);
    const engine = registry.get(record.engineId as number) as EngineRecord;
    ledger.answer(record, engine, { content, metadata: unmet ? { unmet } : {}, buffers: [] });
  }
  /** The engine answers the task successfully, saying it ran for `runMs`. */
  function answerAfter(record: TaskRecord, runMs: number): void {
    const engine = registry.get(record.engineId as number) as EngineRecord;
    ledger.answer(record, engine, { content: { status: "ok" }, metadata: { started: 1_000, completed: 1_000 + runMs }, buffers: [] });
  }
  function fail(record: TaskRecord, unmet = false): void {
    const error = unmet
      ? toWire(new UnmetDependency("not here"), "engine")
      : { ename: "Error", evalue: "boom", remoteStack: "", origin: "user" as const };
    answer(record, { status: "error", error }, unmet);
  }
  /** The engine's process exited (`silent`: it missed its heartbeats instead, and may still run). */
  function kill(engine: EngineRecord, silent = false): void {
    registry.remove(engine.id);
    ledger.engineLost(engine, `engine ${engine.id} died`, silent ? "silent" : "exited");
  }
  /** Where each task was sent, in order. */
  function sentTo(msgId: string): number[] {
    return sent.filter(([id]) => id === msgId).map(([, engine]) => engine);
  }
  function valid(): void {
    assert.deepEqual(ledger.violations(registry.all()), []);
  }
  return {
    db,
    ledger,
    scheduler: ledger.scheduler,
    engines,
    sent,
    requeued,
    finished,
    failures,
    addEngine,
    submit,
    answer,
    answerAfter,
    fail,
    kill,
    sentTo,
    valid,
  };
}

/** A request as the hub records it: direct when its metadata names an engine. */
function request(msgId: string, requestMetadata: RequestMetadata): TaskRecord {
  return {
    msgId,
    client: "c",
    balanced: requestMetadata.engine === undefined,
    submitted: Date.now(),
    phase: "queued",
    requestMetadata,
    requestContent: { op: "clear" },
    requestBuffers: [],
  };
}

function after(ids: string[], flags: Partial<Omit<DependencySpec, "ids">> = {}): DependencySpec {
  return { ids, all: flags.all ?? true, success: flags.success ?? true, failure: flags.failure ?? false };
}

// ---- scale ----

test("100,000 queued tasks: the unassigned count is exact, and ticks fail only the tasks whose queue timeout passed", () => {
  const h = harness();
  const start = Date.now();
  const records = Array.from({ length: 100_000 }, (_, i) => h.submit(`t${i}`, i % 1000 === 999 ? { timeout: 50 } : {}));
  assert.equal(h.scheduler.unassigned, 100_000 - 2, "two tasks run (hwm 1 on 2 engines)");
  h.ledger.tick(start + 10);
  assert.equal(h.failures.size, 0);
  h.ledger.tick(Date.now() + 1000);
  assert.equal(h.failures.size, 100, "every 1,000th task had a 50 ms timeout");
  assert.ok([...h.failures.values()].every((code) => code === "TASK_TIMEOUT"));
  assert.equal(h.scheduler.unassigned, 100_000 - 100 - 2);
  // Running tasks go on; answering them lets the next in line run.
  const running = records.filter((r) => r.phase === "running");
  assert.equal(running.length, 2);
  for (const r of running) h.answer(r);
  assert.equal(h.scheduler.unassigned, 100_000 - 100 - 4);
  h.valid();
});

test("of 10,000 queued tasks, only those no live engine may take are failed after the grace period", () => {
  const h = harness({ graceMs: 60_000, hwm: 0 });
  for (let i = 0; i < 10_000; i++) h.submit(`t${i}`, i % 100 === 0 ? { targets: [7] } : {});
  assert.equal(h.scheduler.unassigned, 100, "every other task was sent (hwm 0)");
  h.ledger.tick(Date.now());
  assert.equal(h.failures.size, 0, "within the grace period");
  h.ledger.tick(Date.now() + 120_000);
  assert.equal(h.failures.size, 100);
  assert.ok([...h.failures.values()].every((code) => code === "IMPOSSIBLE_DEPENDENCY"));
  assert.equal(h.scheduler.unassigned, 0);
  h.valid();
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

test("a failure cascades down a chain of 20,000 dependents, each failing once, without deep recursion", () => {
  const h = harness({ hwm: 0 });
  const head = h.submit("c0");
  for (let i = 1; i < 20_000; i++) h.submit(`c${i}`, { after: after([`c${i - 1}`]) });
  h.fail(head);
  assert.equal(h.failures.size, 20_000);
  assert.equal(h.failures.get("c19999"), "IMPOSSIBLE_DEPENDENCY");
  assert.equal(h.finished.length, 20_000, "each task finished exactly once");
  assert.equal(h.scheduler.unassigned, 0);
  h.valid();
});

// ---- dependencies ----

test("after: a task waits for its dependencies and runs once they all succeeded", () => {
  const h = harness({ hwm: 0 });
  const a = h.submit("a");
  const b = h.submit("b");
  const c = h.submit("c", { after: after(["a", "b"]) });
  assert.equal(c.phase, "queued");
  h.answer(a);
  assert.equal(c.phase, "queued", "one of two dependencies is not enough");
  h.answer(b);
  assert.equal(c.phase, "running");
  h.valid();
});

test("after with all: false runs after the first success; a failed dependency makes success-only dependents impossible", () => {
  const h = harness({ hwm: 0 });
  const a = h.submit("a");
  const b = h.submit("b");
  const any = h.submit("any", { after: after(["a", "b"], { all: false }) });
  const strict = h.submit("strict", { after: after(["a", "b"]) });
  h.fail(a);
  assert.equal(any.phase, "queued", "one failure does not spoil an any-of dependency while another may succeed");
  assert.equal(h.failures.get("strict"), "IMPOSSIBLE_DEPENDENCY");
  assert.match(h.db.get("strict")?.reply?.content.error?.remoteStack ?? "", /boom/, "the upstream error travels as the cause");
  h.answer(b);
  assert.equal(any.phase, "running");
  assert.equal(strict.phase, "done");
  h.valid();
});

test("success and failure flags: failure-only dependents run after a failure, and become impossible after a success", () => {
  const h = harness({ hwm: 0 });
  const ok = h.submit("ok");
  const bad = h.submit("bad");
  const onFailure = h.submit("on-failure", { after: after(["bad"], { success: false, failure: true }) });
  const onSuccessOnly = h.submit("cleanup", { after: after(["ok"], { success: false, failure: true }) });
  const either = h.submit("either", { after: after(["ok", "bad"], { success: true, failure: true }) });
  h.fail(bad);
  assert.equal(onFailure.phase, "running");
  h.answer(ok);
  assert.equal(h.failures.get("cleanup"), "IMPOSSIBLE_DEPENDENCY");
  assert.equal(onSuccessOnly.phase, "done");
  assert.equal(either.phase, "running");
  h.valid();
});

test("dependencies on finished tasks are counted at submission; invalid ones fail at once", () => {
  const h = harness({ hwm: 0 });
  const a = h.submit("a");
  h.fail(a);
  h.submit("late", { after: after(["a"]) });
  assert.equal(h.failures.get("late"), "IMPOSSIBLE_DEPENDENCY", "a dependency that already failed");
  h.submit("self", { after: after(["self"]) });
  assert.equal(h.failures.get("self"), "INVALID_DEPENDENCY");
  h.submit("unknown", { after: after(["never-submitted"]) });
  assert.equal(h.failures.get("unknown"), "INVALID_DEPENDENCY");
  h.valid();
});

test("follow: a task runs on the engine where its dependencies ran", () => {
  const h = harness({ hwm: 0 });
  const a = h.submit("a");
  const engine = a.engineId as number;
  h.answer(a);
  for (let i = 0; i < 5; i++) h.submit(`f${i}`, { follow: after(["a"]) });
  for (let i = 0; i < 5; i++) assert.deepEqual(h.sentTo(`f${i}`), [engine]);
  h.valid();
});

test("follow across two engines cannot be met: the task fails after the grace period", () => {
  const h = harness({ hwm: 0, graceMs: 1000 });
  const a = h.submit("a");
  const b = h.submit("b");
  assert.notEqual(a.engineId, b.engineId);
  h.answer(a);
  h.answer(b);
  const both = h.submit("both", { follow: after(["a", "b"]) });
  assert.equal(both.phase, "queued");
  h.ledger.tick(Date.now() + 5000);
  assert.equal(h.failures.get("both"), "IMPOSSIBLE_DEPENDENCY");
  h.valid();
});

// ---- retries, blacklists ----

test("retries: a failed task runs again on another engine until its retries are used up", () => {
  const h = harness({ engines: 3 });
  const t = h.submit("t", { retries: 2 });
  h.fail(t);
  h.fail(t);
  h.fail(t);
  assert.deepEqual(h.requeued, ["t", "t"]);
  assert.equal(new Set(h.sentTo("t")).size, 3, "each attempt on an engine it had not failed on");
  assert.equal(h.failures.get("t"), "Error", "the last error is the task's outcome");
  h.valid();
});

test("UnmetDependency blacklists the engine; when every engine refused, the task fails after the grace period", () => {
  const h = harness({ engines: 2, graceMs: 1000 });
  const t = h.submit("t");
  const first = t.engineId as number;
  h.fail(t, true);
  assert.equal(t.phase, "running", "tried elsewhere");
  assert.notEqual(t.engineId, first);
  h.fail(t, true);
  assert.equal(t.phase, "queued", "no engine left that may take it");
  h.ledger.tick(Date.now());
  assert.equal(t.phase, "queued", "within the grace period");
  h.ledger.tick(Date.now() + 5000);
  assert.equal(h.failures.get("t"), "UNMET_DEPENDENCY", "the engines' own error is the outcome");
  h.valid();
});

test("a task every engine refused runs on an engine that registers within the grace period", () => {
  const h = harness({ engines: 1, graceMs: 60_000 });
  const t = h.submit("t");
  h.fail(t, true);
  assert.equal(t.phase, "queued");
  const fresh = h.addEngine();
  assert.equal(t.engineId, fresh.id);
  assert.equal(t.phase, "running");
  h.valid();
});

// ---- placement ----

test("priorities: higher first, FIFO within a priority", () => {
  const h = harness({ engines: 1 });
  const blocker = h.submit("blocker");
  h.submit("low", { priority: -1 });
  h.submit("mid-1");
  h.submit("high", { priority: 5 });
  h.submit("mid-2");
  const order: string[] = [];
  let running: TaskRecord | undefined = blocker;
  while (running) {
    h.answer(running);
    const next = h.sent.at(-1)?.[0];
    running = next && next !== running.msgId ? h.db.get(next) : undefined;
    if (running) order.push(running.msgId);
  }
  assert.deepEqual(order, ["high", "mid-1", "mid-2", "low"]);
  h.valid();
});

test("hwm bounds the tasks on each engine; hwm 0 sends everything at once", () => {
  const bounded = harness({ engines: 2, hwm: 2 });
  for (let i = 0; i < 10; i++) bounded.submit(`t${i}`);
  assert.deepEqual(
    bounded.engines.map((e) => e.balanced.size),
    [2, 2],
  );
  assert.equal(bounded.scheduler.unassigned, 6);
  const open = harness({ engines: 2, hwm: 0 });
  for (let i = 0; i < 10; i++) open.submit(`t${i}`);
  assert.equal(open.scheduler.unassigned, 0);
  assert.deepEqual(
    open.engines.map((e) => e.balanced.size),
    [5, 5],
    "leastload spreads them evenly",
  );
  bounded.valid();
  open.valid();
});

test("targets restrict the engines a task may run on", () => {
  const h = harness({ engines: 3, hwm: 0 });
  for (let i = 0; i < 6; i++) h.submit(`t${i}`, { targets: [2] });
  assert.equal(h.engines[2]?.balanced.size, 6);
  h.valid();
});

test("schemes: lru takes the least recently used engine whatever its load; a user scheme out of range falls back to it", () => {
  const lru = harness({ engines: 3, hwm: 0, scheme: "lru" });
  for (let i = 0; i < 6; i++) lru.submit(`t${i}`);
  assert.deepEqual(
    lru.sent.map(([, engine]) => engine),
    [0, 1, 2, 0, 1, 2],
  );
  const loads: number[][] = [];
  const wild = harness({
    engines: 3,
    hwm: 0,
    scheme: (l) => {
      loads.push([...l]);
      return 99;
    },
  });
  for (let i = 0; i < 3; i++) wild.submit(`t${i}`);
  assert.deepEqual(
    wild.sent.map(([, engine]) => engine),
    [0, 1, 2],
  );
  assert.deepEqual(loads, [
    [0, 0, 0],
    [0, 0, 1],
    [0, 1, 1],
  ]);
  lru.valid();
  wild.valid();
});

// ---- engines that die, timeouts, aborts, memoization ----

test("an engine that dies: the oldest task it held may have run, so it runs elsewhere only with retries; the rest move", () => {
  const h = harness({ engines: 1, hwm: 0 });
  const victim = h.engines[0] as EngineRecord;
  const started = h.submit("started", { retries: 1 });
  h.submit("queued");
  const pinned = h.submit("pinned", { targets: [victim.id] });
  h.submit("queued-2");
  const spare = h.addEngine();
  assert.equal(victim.balanced.size, 4, "every task was sent to the first engine");
  h.kill(victim);
  for (const id of ["started", "queued", "queued-2"]) assert.deepEqual(h.sentTo(id), [victim.id, spare.id], id);
  assert.equal(h.failures.get("pinned"), "ENGINE_ERROR", "a task only the dead engine may run fails at once");
  assert.match(String(pinned.reply?.content.error?.evalue), /before task pinned started/);
  assert.ok(victim.balanced.has("pinned"), "the dead engine's sets still say what it held");
  h.valid();
  // The moved tasks kept their retries: `queued` has none, `started` used its one.
  const [queued, startedAgain] = [h.db.get("queued") as TaskRecord, started];
  h.kill(spare);
  assert.equal(h.failures.get("started"), "ENGINE_ERROR", "it may have run twice: no retry is left");
  assert.match(String(startedAgain.reply?.content.error?.evalue), /while running task started/);
  assert.equal(queued.phase, "queued", "not started on the second engine either: it waits for an engine");
  h.valid();
});

test("an engine declared dead for its silence may still be running: every task it held counts as started", () => {
  const h = harness({ engines: 1, hwm: 0 });
  const silent = h.engines[0] as EngineRecord;
  h.submit("running");
  h.submit("prefetched", { retries: 1 });
  const spare = h.addEngine();
  h.kill(silent, true);
  assert.equal(h.failures.get("running"), "ENGINE_ERROR");
  assert.deepEqual(h.sentTo("prefetched"), [silent.id, spare.id], "retried, using its retry");
  h.kill(spare);
  assert.equal(h.failures.get("prefetched"), "ENGINE_ERROR", "no retry was left");
  h.valid();
});

test("an engine that dies with a direct task ahead of its load-balanced ones: only the direct task may have run", () => {
  const h = harness({ engines: 1, hwm: 0 });
  const engine = h.engines[0] as EngineRecord;
  const direct = request("direct", { engine: engine.id });
  h.ledger.open(direct);
  h.ledger.sendDirect(direct, engine);
  const directBehind = request("direct-2", { engine: engine.id });
  h.submit("balanced");
  h.ledger.open(directBehind);
  h.ledger.sendDirect(directBehind, engine);
  const spare = h.addEngine();
  h.kill(engine);
  assert.deepEqual(h.sentTo("balanced"), [engine.id, spare.id]);
  assert.equal(h.failures.get("direct"), "ENGINE_ERROR");
  assert.match(String(direct.reply?.content.error?.evalue), /while running task direct/);
  assert.match(String(directBehind.reply?.content.error?.evalue), /before task direct-2 started/);
  assert.equal(h.failures.size, 2);
  h.valid();
});

test("an engine adopted by a restored controller that dies: every task it held then may have run; later ones move", () => {
  const h = harness({ engines: 1, hwm: 0 });
  const engine = h.engines[0] as EngineRecord;
  for (const id of ["adopted-1", "adopted-2"]) {
    const record = request(id, {});
    h.ledger.open(record);
    h.ledger.adopt(record, engine);
  }
  h.submit("later");
  const spare = h.addEngine();
  h.kill(engine);
  assert.deepEqual([h.failures.get("adopted-1"), h.failures.get("adopted-2")], ["ENGINE_ERROR", "ENGINE_ERROR"]);
  assert.deepEqual(h.sentTo("later"), [engine.id, spare.id]);
  h.valid();
});

test("hwm auto: an engine prefetches as many tasks as fit the budget at its recent run time, refilled in batches, and one at a time for long tasks", () => {
  const h = harness({ engines: 1, hwm: "auto" });
  const engine = h.engines[0] as EngineRecord;
  for (let i = 0; i < 100; i++) h.submit(`t${i}`);
  assert.equal(engine.balanced.size, 1, "an engine whose run time is unknown takes one task");
  /** The engine answers the task it was sent first (it runs them in order). */
  const answerOldest = (runMs: number) => h.answerAfter(h.db.get([...engine.balanced][0] as string) as TaskRecord, runMs);
  answerOldest(0);
  assert.equal(engine.balanced.size, MAX_PREFETCH, "no-op tasks: as many as allowed");
  // Refills in batches: a full engine gets nothing until it is down to half, then is topped up at once.
  const sends = h.sent.length;
  for (let i = 0; i < MAX_PREFETCH / 2 - 1; i++) answerOldest(0);
  assert.deepEqual([engine.balanced.size, h.sent.length], [MAX_PREFETCH / 2 + 1, sends], "not refilled above half");
  answerOldest(0);
  assert.deepEqual([engine.balanced.size, h.sent.length], [MAX_PREFETCH, sends + MAX_PREFETCH / 2], "topped up in one call");
  // Long tasks: the estimate rises, and the engine is not refilled until it holds one task at a time.
  const held: number[] = [];
  for (let i = 0; i < 40; i++) {
    answerOldest(PREFETCH_BUDGET_MS * 4);
    held.push(engine.balanced.size);
  }
  assert.deepEqual(
    held,
    held.map((_, i) => Math.max(1, MAX_PREFETCH - 1 - i)),
  );
  h.valid();
});

test("prefetch capacity and hwm spellings", () => {
  assert.equal(prefetchCapacity(0), MAX_PREFETCH);
  assert.equal(prefetchCapacity(PREFETCH_BUDGET_MS / 4), 5);
  assert.equal(prefetchCapacity(PREFETCH_BUDGET_MS), 2);
  assert.equal(prefetchCapacity(PREFETCH_BUDGET_MS * 1.01), 1);
  assert.equal(prefetchCapacity(60_000), 1);
  assert.deepEqual(["auto", "0", "8", " 3"].map(parseHwm), ["auto", 0, 8, 3]);
  for (const bad of ["", "-1", "1.5", "Auto", "x"]) assert.equal(parseHwm(bad), undefined, bad);
});

test("a task sent back to the queue after its engine died times out there; one running past its timeout does not", () => {
  const h = harness();
  const start = Date.now();
  const first = h.submit("first", { timeout: 100, retries: 1 });
  const second = h.submit("second", { timeout: 100 });
  assert.deepEqual([first.phase, second.phase], ["running", "running"]);
  h.ledger.tick(start + 500);
  assert.equal(h.failures.size, 0, "running tasks are past their timeout but not waiting");
  h.kill(h.engines[first.engineId as number] as EngineRecord);
  // Back in the queue, but the other engine is busy with `second` (hwm 1).
  assert.equal(first.phase, "queued");
  h.ledger.tick(Date.now() + 500);
  assert.equal(h.failures.get("first"), "TASK_TIMEOUT");
  assert.equal(h.failures.has("second"), false);
  h.valid();
});

test("with every engine gone, queued work fails with EngineError after the grace period unless an engine registers", () => {
  const h = harness({ engines: 1, graceMs: 1000 });
  const running = h.submit("running");
  const queued = h.submit("queued");
  h.kill(h.engines[0] as EngineRecord);
  assert.equal(h.failures.get("running"), "ENGINE_ERROR");
  assert.match(h.scheduler.waitingReason() ?? "", /no engine is registered/);
  h.ledger.tick(Date.now() + 5000);
  assert.equal(h.failures.get("queued"), "ENGINE_ERROR");
  assert.equal(running.phase, "done");
  assert.equal(queued.phase, "done");
  h.valid();
});

test("abort fails queued tasks (and, through them, their dependents) and leaves running ones", () => {
  const h = harness({ engines: 1 });
  const running = h.submit("running");
  h.submit("queued");
  h.submit("dependent", { after: after(["queued"]) });
  assert.deepEqual(h.ledger.abort(["running", "queued"]), ["queued"]);
  assert.equal(h.failures.get("queued"), "TASK_ABORTED");
  assert.equal(h.db.get("queued")?.reply?.content.status, "aborted");
  assert.equal(h.failures.get("dependent"), "IMPOSSIBLE_DEPENDENCY");
  assert.equal(running.phase, "running");
  h.valid();
});

test("pure tasks with one memo key run once: later ones share the first result, or its failure", () => {
  const h = harness({ engines: 1, hwm: 0 });
  const first = h.submit("first", { pure: true, memoKey: "k" });
  const follower = h.submit("follower", { pure: true, memoKey: "k" });
  assert.deepEqual(h.sentTo("follower"), [], "waits for the first");
  h.answer(first);
  assert.equal(follower.phase, "done");
  assert.equal(follower.reply?.metadata.fromHub, true);
  h.submit("late", { pure: true, memoKey: "k" });
  assert.deepEqual(h.sentTo("late"), [], "answered from the stored result");
  assert.equal(h.db.get("late")?.reply?.content.status, "ok");
  const bad = h.submit("bad", { pure: true, memoKey: "b" });
  h.submit("bad-follower", { pure: true, memoKey: "b" });
  h.fail(bad);
  assert.equal(h.failures.get("bad-follower"), "Error");
  assert.equal(h.sent.length, 2, "only the first of each key ran");
  h.valid();
});

test("a task depending on a direct task waits for it and runs once it finished", () => {
  const h = harness({ hwm: 0 });
  const engine = h.engines[0] as EngineRecord;
  const direct = request("direct", { engine: engine.id });
  h.ledger.open(direct);
  h.ledger.sendDirect(direct, engine);
  assert.ok(engine.direct.has("direct"));
  const dependent = h.submit("dependent", { after: after(["direct"]) });
  assert.equal(dependent.phase, "queued");
  h.answer(direct);
  assert.equal(engine.completed, 1);
  assert.equal(dependent.phase, "running");
  h.valid();
});

test("500 engines: leastload fills the least loaded, least recently used engines first; blacklisted tasks go elsewhere", () => {
  const h = harness({ engines: 500, hwm: 3 });
  for (let i = 0; i < 1000; i++) h.submit(`t${i}`);
  assert.ok(
    h.engines.every((e) => e.balanced.size === 2),
    "two rounds over every engine",
  );
  assert.deepEqual(
    h.sent.slice(0, 500).map(([, engine]) => engine),
    h.engines.map((e) => e.id),
  );
  const first = h.db.get("t0") as TaskRecord;
  h.fail(first, true);
  assert.equal(first.phase, "running");
  assert.notEqual(first.engineId, h.sentTo("t0")[0], "not on the engine that refused it");
  h.valid();
});
