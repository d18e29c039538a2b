/**
 * The task database contract as a spec factory, in the manner of graphology's
 * `specs(Graph, implementation)`: `taskDbSpecs(name, open)` registers one suite of tests for an
 * implementation, so the memory and SQLite databases answer to the same tests and a new
 * backend starts from them. What only one backend does (the memory one's bounds, the SQLite
 * file) is tested beside the call.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import type { TaskDatabase } from "../../src/controller/task-db.js";
import type { RequestMetadata } from "../../src/protocol/contents.js";
import type { TaskRecord } from "../../src/scheduler/records.js";

/**
 * A load-balanced request submitted at `submitted` (ms) with one 10-byte frame: unfinished, or
 * already finished with `status` (as a restored or resubmitted record arrives).
 */
export function taskRecord(msgId: string, submitted: number, requestMetadata: RequestMetadata = {}, status?: "ok" | "error"): TaskRecord {
  const record: TaskRecord = {
    msgId,
    client: "c",
    balanced: true,
    submitted,
    phase: "queued",
    requestMetadata,
    requestContent: { op: "call", fn: { __parallax_can__: "source", src: "() => 1", name: "f" } },
    requestBuffers: [Buffer.from(`request-${msgId}`.padEnd(10, "."))],
  };
  if (status) finished(record, status, 0);
  return record;
}

function finished(record: TaskRecord, status: "ok" | "error", engineId: number): void {
  record.phase = "done";
  record.engineId = engineId;
  record.completed = record.submitted + 1;
  record.reply = { content: { status }, metadata: { stdout: `out-${record.msgId}` }, buffers: [Buffer.from(`value-${record.msgId}`)] };
}

/** Marks a record finished with `status`, as the hub does, and tells the database. */
export function finishTask(db: TaskDatabase, record: TaskRecord, status: "ok" | "error" = "ok", engineId = 0): void {
  finished(record, status, engineId);
  db.update(record);
}

/** Registers the contract's tests for the database that `open` makes (a new, empty one per test). */
export function taskDbSpecs(name: string, open: () => Promise<TaskDatabase>): void {
  describe(`TaskDatabase contract: ${name}`, () => {
    const opened: TaskDatabase[] = [];
    const fresh = async (): Promise<TaskDatabase> => {
      const db = await open();
      opened.push(db);
      return db;
    };
    afterEach(() => {
      for (const db of opened.splice(0)) db.close();
    });

    test("a record added is found by id with its request; an unknown id is neither found nor culled", async () => {
      const db = await fresh();
      db.add(taskRecord("a", 1, { label: "fit" }));
      const found = db.get("a");
      assert.equal(found?.msgId, "a");
      assert.equal(found?.phase, "queued");
      assert.equal(found?.requestMetadata.label, "fit");
      assert.deepEqual(found?.requestBuffers, [Buffer.from("request-a.")]);
      assert.equal(db.get("never"), undefined);
      assert.equal(db.wasCulled("never"), false);
      assert.equal(db.culledStatus("never"), undefined);
    });

    test("a finished record keeps its outcome, engine and value", async () => {
      const db = await fresh();
      const record = taskRecord("a", 1);
      db.add(record);
      finishTask(db, record, "error", 3);
      const found = db.get("a");
      assert.equal(found?.phase, "done");
      assert.equal(found?.engineId, 3);
      assert.equal(found?.reply?.content.status, "error");
      assert.deepEqual(found?.reply?.buffers, [Buffer.from("value-a")]);
      assert.equal(found?.reply?.metadata.stdout, "out-a");
    });

    test("history lists every id in submission order, finished or not", async () => {
      const db = await fresh();
      const records = ["x", "y", "z", "w"].map((id, i) => taskRecord(id, 10 + i));
      for (const record of records) db.add(record);
      finishTask(db, records[1] as TaskRecord);
      finishTask(db, records[3] as TaskRecord);
      assert.deepEqual(db.history(), ["x", "y", "z", "w"]);
    });

    test("purge removes finished records only (all, or the ids given) and counts them", async () => {
      const db = await fresh();
      const records = ["open", "done-1", "done-2", "done-3"].map((id, i) => taskRecord(id, i + 1));
      for (const record of records) db.add(record);
      for (const record of records.slice(1)) finishTask(db, record);
      assert.equal(db.purge(["done-1", "open", "unknown"]), 1, "an unfinished or unknown id is not purged");
      assert.deepEqual(db.history(), ["open", "done-2", "done-3"]);
      assert.equal(db.get("done-1"), undefined);
      assert.equal(db.purge("all"), 2);
      assert.deepEqual(db.history(), ["open"]);
      assert.equal(db.get("open")?.phase, "queued");
    });

    test("query returns the summaries a filter matches, oldest first", async () => {
      const db = await fresh();
      const records = [
        taskRecord("a", 1, { label: "fit-1" }),
        taskRecord("b", 2, { label: "plot" }),
        taskRecord("c", 3, { label: "fit-2" }),
      ];
      for (const record of records) db.add(record);
      finishTask(db, records[0] as TaskRecord, "ok", 0);
      finishTask(db, records[1] as TaskRecord, "error", 1);
      assert.deepEqual(
        db.query({}).map((s) => s.msg_id),
        ["a", "b", "c"],
      );
      assert.deepEqual(
        db.query({ phase: "queued" }).map((s) => s.msg_id),
        ["c"],
      );
      assert.deepEqual(
        db.query({ label: { $glob: "fit*" } }).map((s) => s.msg_id),
        ["a", "c"],
      );
      assert.deepEqual(
        db.query({ engine_id: { $in: [1] } }).map((s) => [s.msg_id, s.status]),
        [["b", "error"]],
      );
      const [summary] = db.query({ msg_id: "a" });
      assert.equal(summary?.stdout, "out-a");
      assert.equal(summary?.completed, 2);
    });
  });
}
