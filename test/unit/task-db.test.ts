import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryTaskDatabase } from "../../src/controller/task-db.js";
import type { RequestMetadata } from "../../src/protocol/contents.js";
import type { TaskRecord } from "../../src/scheduler/records.js";

function record(msgId: string, status?: "ok" | "error", requestMetadata: RequestMetadata = {}): TaskRecord {
  return {
    msgId,
    client: "c",
    balanced: true,
    submitted: Date.now(),
    phase: status ? "done" : "queued",
    requestMetadata,
    requestContent: {},
    requestBuffers: [Buffer.alloc(10)],
    ...(status ? { reply: { content: { status }, metadata: {}, buffers: [] } } : {}),
  };
}

test("the memory database culls the oldest finished records past its bound (which counts finished ones only), never unfinished ones", () => {
  const db = new MemoryTaskDatabase({ maxRecords: 3, maxBytes: 1 << 30 });
  db.add(record("pending"));
  db.add(record("a", "ok"));
  db.add(record("b", "error"));
  db.add(record("c", "ok"));
  db.add(record("d", "ok"));
  assert.deepEqual(db.history(), ["pending", "b", "c", "d"]);
  assert.equal(db.wasCulled("a"), true);
  assert.equal(db.wasCulled("never"), false);
});

test("culled records keep their outcome, so dependencies on them stay exact", () => {
  const db = new MemoryTaskDatabase({ maxRecords: 1, maxBytes: 1 << 30 });
  db.add(record("ok", "ok"));
  db.add(record("failed", "error"));
  db.add(record("last", "ok"));
  assert.equal(db.culledStatus("ok"), "ok");
  assert.equal(db.culledStatus("failed"), "failed");
  assert.equal(db.culledStatus("unknown"), undefined);
});

test("the byte bound culls too; purge removes only finished records; queries filter summaries", () => {
  const db = new MemoryTaskDatabase({ maxRecords: 100, maxBytes: 600 });
  for (const id of ["x", "y", "z"]) db.add(record(id, "ok"));
  assert.ok(db.history().length < 3, "bytes forced a cull");
  const open = new MemoryTaskDatabase();
  open.add(record("running"));
  open.add(record("done", "ok"));
  assert.equal(open.purge("all"), 1);
  assert.deepEqual(open.history(), ["running"]);
  assert.deepEqual(
    open.query({ phase: "queued" }).map((s) => s.msg_id),
    ["running"],
  );
});

/** Marks an unfinished record finished, as the hub does. */
function finish(db: MemoryTaskDatabase, task: TaskRecord, status: "ok" | "error" = "ok"): void {
  task.phase = "done";
  task.reply = { content: { status }, metadata: {}, buffers: [Buffer.alloc(10)] };
  db.update(task);
}

test("100,000 unfinished records do not count against the bound: finished ones are culled oldest finished first, none unfinished", () => {
  const db = new MemoryTaskDatabase({ maxRecords: 10, maxBytes: 1 << 30 });
  const open = Array.from({ length: 100_000 }, (_, i) => record(`open-${i}`));
  for (const task of open) db.add(task);
  // Finished in the reverse of submission order: culling follows the order of finishing.
  for (let i = 99_999; i >= 99_980; i--) finish(db, open[i] as TaskRecord);
  const history = db.history();
  assert.equal(history.length, 100_000 - 10);
  for (let i = 99_999; i >= 99_990; i--) assert.equal(db.wasCulled(`open-${i}`), true, `open-${i} finished first`);
  for (let i = 99_989; i >= 99_980; i--) assert.equal(db.get(`open-${i}`)?.phase, "done");
  assert.equal(db.get("open-0")?.phase, "queued");
});

test("a finished record that unfinished tasks depend on (argument, after, follow) is kept until they all finish", () => {
  const db = new MemoryTaskDatabase({ maxRecords: 0, maxBytes: 1 << 30 });
  const input = record("input");
  db.add(input);
  const dependency = { ids: ["input"], all: true, success: true, failure: false };
  const users = [
    record("by-argument", undefined, { argRefs: ["input"] }),
    record("by-after", undefined, { after: dependency }),
    record("by-follow", undefined, { follow: dependency }),
  ];
  for (const user of users) db.add(user);
  finish(db, input);
  assert.equal(db.get("input")?.reply?.buffers.length, 1, "kept with its value");
  assert.equal(db.purge(["input"]), 0, "not purged while needed");
  finish(db, users[0] as TaskRecord);
  finish(db, users[1] as TaskRecord);
  assert.ok(db.get("input"), "one dependent is still unfinished");
  finish(db, users[2] as TaskRecord);
  assert.equal(db.get("input"), undefined);
  assert.equal(db.culledStatus("input"), "ok");
  assert.deepEqual(db.history(), [], "the bound of 0 keeps nothing once nothing depends on it");
});

test("10,000 unfinished tasks sharing 10,000 finished inputs under a bound of 5 keep every input until each task finishes", () => {
  const db = new MemoryTaskDatabase({ maxRecords: 5, maxBytes: 1 << 30 });
  const inputs = Array.from({ length: 10_000 }, (_, i) => record(`in-${i}`));
  for (const input of inputs) db.add(input);
  const refs = inputs.map((r) => r.msgId);
  const consumers = Array.from({ length: 10_000 }, (_, i) =>
    record(`use-${i}`, undefined, { argRefs: [refs[i] as string, refs[(i + 1) % refs.length] as string] }),
  );
  for (const consumer of consumers) db.add(consumer);
  for (const input of inputs) finish(db, input);
  assert.ok(
    inputs.every((r) => db.get(r.msgId)),
    "every input is still there",
  );
  for (const consumer of consumers.slice(0, 5_000)) finish(db, consumer);
  // Inputs 1..5,000 have no unfinished user left; 0 and 5,001..9,999 still do.
  assert.ok(db.get("in-0") && db.get("in-5001") && db.get("in-9999"));
  assert.equal(db.get("in-2"), undefined);
  for (const consumer of consumers.slice(5_000)) finish(db, consumer);
  assert.equal(db.history().length, 5);
});
