/**
 * The dashboard's aggregation at scale: a hub (not listening) with 64 engines and 100,000
 * tasks going through the hub's own events. What the page receives stays bounded, and the
 * counts are exact. Also the graph's layered, wrapping layout.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DashboardModel, GRAPH_TASK_NODES, STREAM_PUSH } from "../../src/controller/dashboard-model.js";
import { Hub } from "../../src/controller/hub.js";
import type { TaskRecord } from "../../src/scheduler/records.js";
import { layeredLayout } from "../../viz/dashboard-layout.js";

const ENGINES = 64;
const TASKS = 100_000;
const FUNCTIONS = ["load", "clean", "fit", "score", "report"];

function newHub(): Hub {
  return new Hub({
    ip: "127.0.0.1",
    key: "k".repeat(64),
    heartbeatInterval: 1000,
    missedBeats: 3,
    maxMessageBytes: 1 << 30,
    scheduler: { scheme: "leastload", hwm: 1, impossibleGraceMs: 5000 },
  });
}

function record(i: number, previous: string | undefined): TaskRecord {
  return {
    msgId: `task-${i}`,
    client: "c",
    balanced: true,
    submitted: Date.now(),
    phase: "queued",
    requestMetadata: previous && i % 5 !== 0 ? { argRefs: [previous] } : {},
    requestContent: { op: "call", fn: { __parallax_can__: "source", src: "", name: FUNCTIONS[i % FUNCTIONS.length] ?? "f" } },
    requestBuffers: [],
  };
}

test("64 engines and 100,000 tasks: the feed stays bounded and its counts are exact", () => {
  const hub = newHub();
  const model = new DashboardModel(hub);
  try {
    const engines = Array.from({ length: ENGINES }, (_, i) =>
      hub.registry.register(Buffer.from(`engine-${i}`), { pid: 1000 + i, hostname: "node", cwd: "/" }),
    );
    let previous: string | undefined;
    const unfinished = TASKS / 10;
    for (let i = 0; i < TASKS; i++) {
      const r = record(i, previous);
      previous = r.msgId;
      hub.db.add(r);
      hub.emit("task-added", r.msgId);
      const engine = engines[i % ENGINES]!;
      // The last tenth stays unfinished: half on engines, half waiting.
      if (i >= TASKS - unfinished / 2) continue;
      r.engineId = engine.id;
      r.phase = "running";
      engine.balanced.add(r.msgId);
      hub.emit("task-dispatched", r.msgId, engine.id);
      if (i >= TASKS - unfinished) continue;
      engine.balanced.delete(r.msgId);
      const failed = i % 100 === 7;
      r.phase = "done";
      r.started = Date.now() - 5;
      r.completed = Date.now();
      r.reply = {
        content: failed
          ? {
              status: "error",
              error: { ename: "ValueError", evalue: "x".repeat(10_000), remoteStack: "at f".repeat(5_000), origin: "user" },
            }
          : { status: "ok" },
        metadata: { started: r.started, completed: r.completed },
        buffers: [],
      };
      hub.db.update(r);
      hub.emit("task-done", r.msgId, r);
    }
    model.tick();
    const state = model.state();
    const bytes = JSON.stringify(state).length;
    assert.ok(bytes < 120_000, `the state event is ${bytes} bytes`);
    const stream = model.streamSince(0);
    assert.equal(stream.entries.length, STREAM_PUSH, "one push carries at most STREAM_PUSH bars");
    assert.ok(JSON.stringify(stream.entries).length < 200_000);
    assert.equal(model.streamSince(stream.seq).entries.length, 0, "nothing new since the last push");
    assert.equal(stream.entries.at(-1)?.[1], `task-${TASKS - unfinished - 1}`, "the newest bars win");

    assert.equal(state.engines.length, ENGINES);
    assert.deepEqual(state.functions, FUNCTIONS);
    const sum = (key: "total" | "done" | "erred" | "running" | "queued" | "waiting") => state.progress.reduce((n, p) => n + p[key], 0);
    const failures = Array.from({ length: TASKS - unfinished }, (_, i) => i).filter((i) => i % 100 === 7).length;
    assert.equal(sum("total"), TASKS);
    assert.equal(sum("erred"), failures);
    assert.equal(sum("done"), TASKS - unfinished - failures);
    assert.equal(sum("running"), ENGINES, "each engine runs its oldest task");
    assert.equal(sum("queued"), unfinished / 2 - ENGINES);
    assert.equal(sum("waiting"), unfinished / 2);
    assert.equal(
      state.engines.reduce((n, e) => n + e.done + e.failed, 0),
      TASKS - unfinished,
    );
    assert.equal(state.controller.submitted, TASKS);
    assert.equal(state.controller.finished, TASKS - unfinished);
    assert.ok(state.errors.length <= 25 && state.errors.every((e) => e.evalue.length <= 301), "errors are few and clipped");
    assert.equal(state.graph.mode, "groups");
    assert.ok(state.graph.nodes.length <= FUNCTIONS.length && state.graph.nodes.length <= GRAPH_TASK_NODES);
  } finally {
    model.close();
  }
});

test("a requeued task waits again, and a lost engine's tasks go back to waiting", () => {
  const hub = newHub();
  const model = new DashboardModel(hub);
  try {
    const engine = hub.registry.register(Buffer.from("e0"), { pid: 1, hostname: "h", cwd: "/" });
    const r = record(0, undefined);
    hub.db.add(r);
    hub.emit("task-added", r.msgId);
    engine.balanced.add(r.msgId);
    hub.emit("task-dispatched", r.msgId, engine.id);
    assert.equal(model.state().progress[0]?.running, 1);
    engine.balanced.delete(r.msgId);
    hub.emit("task-requeued", r.msgId);
    assert.deepEqual([model.state().progress[0]?.running, model.state().progress[0]?.waiting], [0, 1]);
    engine.balanced.add(r.msgId);
    hub.emit("task-dispatched", r.msgId, engine.id);
    hub.registry.remove(engine.id);
    hub.emit("unregistration", engine, "engine 0 exited (signal SIGKILL)");
    const state = model.state();
    assert.deepEqual([state.progress[0]?.running, state.progress[0]?.waiting], [0, 1]);
    assert.equal(model.view(r.msgId)?.attempts, 2);
    assert.deepEqual(
      state.engines.map((e) => [e.id, e.state, e.reason]),
      [[0, "dead", "engine 0 exited (signal SIGKILL)"]],
    );
  } finally {
    model.close();
  }
});

test("the graph layout layers by dependency and wraps wide layers", () => {
  const chain = layeredLayout(
    4,
    [
      [0, 1],
      [1, 2],
      [2, 3],
    ],
    10,
  );
  assert.deepEqual(
    chain.nodes.map((n) => n.y),
    [0, 1, 2, 3],
  );
  assert.equal(chain.columns, 1);

  const independent = layeredLayout(95, [], 10);
  assert.equal(independent.rows, 10, "95 independent tasks wrap into 10 rows of 10");
  assert.equal(independent.columns, 10);
  assert.ok(independent.nodes.every((n) => n.x >= 0 && n.x < 10));
  assert.equal(new Set(independent.nodes.map((n) => `${n.x},${n.y}`)).size, 95, "no two share a place");

  // A diamond, and a reduction of many inputs: the reduction goes below every wrapped input row.
  const diamond = layeredLayout(
    4,
    [
      [0, 1],
      [0, 2],
      [1, 3],
      [2, 3],
    ],
    10,
  );
  assert.deepEqual(
    diamond.nodes.map((n) => n.layer),
    [0, 1, 1, 2],
  );
  const reduce = layeredLayout(
    26,
    Array.from({ length: 25 }, (_, i) => [i, 25] as const),
    10,
  );
  assert.equal(reduce.nodes[25]?.y, 3);

  // Tasks with no dependency go below the pipeline instead of pushing it down.
  const mixed = layeredLayout(5, [[1, 2]], 10);
  assert.deepEqual(
    mixed.nodes.map((n) => n.y),
    [2, 0, 1, 2, 2],
  );

  // Groups of tasks may depend on each other both ways: the layout still ends.
  const cycle = layeredLayout(
    3,
    [
      [0, 1],
      [1, 2],
      [2, 1],
    ],
    10,
  );
  assert.equal(cycle.nodes.length, 3);
  assert.ok(cycle.nodes.every((n) => n !== undefined));
});
