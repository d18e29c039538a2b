import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryTaskDatabase } from "../../src/controller/task-db.js";
import type { TaskRecord } from "../../src/scheduler/records.js";

function record(msgId: string, status?: "ok" | "error"): TaskRecord {
  return {
    msgId, client: "c", balanced: true, submitted: Date.now(), phase: status ? "done" : "queued",
    requestMetadata: {}, requestContent: {}, requestBuffers: [Buffer.alloc(10)],
    ...(status ? { reply: { content: { status }, metadata: {}, buffers: [] } } : {}),
  };
}

test("the memory database culls the oldest finished records past its bound, never unfinished ones", () => {
  const db = new MemoryTaskDatabase({ maxRecords: 3, maxBytes: 1 << 30 });
  db.add(record("pending"));
  db.add(record("a", "ok"));
  db.add(record("b", "error"));
  db.add(record("c", "ok"));
  db.add(record("d", "ok"));
  assert.deepEqual(db.history(), ["pending", "c", "d"]);
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
  assert.deepEqual(open.query({ phase: "queued" }).map((s) => s.msg_id), ["running"]);
});
