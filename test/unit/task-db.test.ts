/**
 * Task databases: both backends run the shared contract (test/specs/task-db.ts); then what
 * only one of them does, the memory database's bounds and the SQLite database's file.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { SqliteTaskDatabase } from "../../src/controller/sqlite-db.js";
import { MemoryTaskDatabase } from "../../src/controller/task-db.js";
import type { RequestMetadata } from "../../src/protocol/contents.js";
import type { TaskRecord } from "../../src/scheduler/records.js";
import { finishTask, taskDbSpecs, taskRecord } from "../specs/task-db.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-task-db-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const sqliteFile = () => path.join(dir, `tasks-${files++}.sqlite`);

taskDbSpecs("memory", async () => new MemoryTaskDatabase());
taskDbSpecs("sqlite", async () => await SqliteTaskDatabase.open(sqliteFile(), { clusterId: "spec", restore: false }));

test("SQLite: finished records and purges are in the file, read again by the next controller of the cluster", async () => {
  const file = sqliteFile();
  const db = await SqliteTaskDatabase.open(file, { clusterId: "kept", restore: false });
  const records = ["a", "b", "c"].map((id, i) => taskRecord(id, i + 1));
  for (const record of records) db.add(record);
  finishTask(db, records[0] as TaskRecord, "ok", 2);
  finishTask(db, records[1] as TaskRecord, "error");
  assert.equal(db.purge(["b"]), 1);
  db.close();
  const again = await SqliteTaskDatabase.open(file, { clusterId: "kept", restore: true });
  try {
    assert.deepEqual(again.history(), ["a", "c"]);
    assert.equal(again.get("a")?.reply?.content.status, "ok");
    assert.equal(again.get("a")?.engineId, 2);
    assert.deepEqual(again.get("a")?.reply?.buffers, [Buffer.from("value-a")]);
    assert.deepEqual(
      again.restoreUnfinished().map((r) => r.msgId),
      ["c"],
    );
  } finally {
    again.close();
  }
  await assert.rejects(SqliteTaskDatabase.open(file, { clusterId: "other", restore: false }), { name: "ConfigurationError" });
});

/** A memory record submitted now: unfinished, or finished with `status`. */
let submitted = 0;
function record(msgId: string, status?: "ok" | "error", requestMetadata: RequestMetadata = {}): TaskRecord {
  return taskRecord(msgId, ++submitted, requestMetadata, status);
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

test("the byte bound culls too", () => {
  const db = new MemoryTaskDatabase({ maxRecords: 100, maxBytes: 600 });
  for (const id of ["x", "y", "z"]) db.add(record(id, "ok"));
  assert.ok(db.history().length < 3, "bytes forced a cull");
  assert.ok(db.wasCulled("x"), "the oldest went first");
});

test("100,000 unfinished records do not count against the bound: finished ones are culled oldest finished first, none unfinished", () => {
  const db = new MemoryTaskDatabase({ maxRecords: 10, maxBytes: 1 << 30 });
  const open = Array.from({ length: 100_000 }, (_, i) => record(`open-${i}`));
  for (const task of open) db.add(task);
  // Finished in the reverse of submission order: culling follows the order of finishing.
  for (let i = 99_999; i >= 99_980; i--) finishTask(db, open[i] as TaskRecord);
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
  finishTask(db, input);
  assert.equal(db.get("input")?.reply?.buffers.length, 1, "kept with its value");
  assert.equal(db.purge(["input"]), 0, "not purged while needed");
  finishTask(db, users[0] as TaskRecord);
  finishTask(db, users[1] as TaskRecord);
  assert.ok(db.get("input"), "one dependent is still unfinished");
  finishTask(db, users[2] as TaskRecord);
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
  for (const input of inputs) finishTask(db, input);
  assert.ok(
    inputs.every((r) => db.get(r.msgId)),
    "every input is still there",
  );
  for (const consumer of consumers.slice(0, 5_000)) finishTask(db, consumer);
  // Inputs 1..5,000 have no unfinished user left; 0 and 5,001..9,999 still do.
  assert.ok(db.get("in-0") && db.get("in-5001") && db.get("in-9999"));
  assert.equal(db.get("in-2"), undefined);
  for (const consumer of consumers.slice(5_000)) finishTask(db, consumer);
  assert.equal(db.history().length, 5);
});
