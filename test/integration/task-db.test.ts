import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { ResultCulled } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

declare const engineId: number;

test("SQLite: every request and result lands in a real file; dbQuery filters with operators", async () => {
  const t = await startTestCluster({ n: 2, db: "sqlite" });
  const file = path.join(t.dir, `tasks-${t.cluster.clusterId}.sqlite`);
  try {
    const lview = t.rc.loadBalancedView();
    const before = Date.now();
    const fits = [1, 2, 3].map((x) => lview.with({ label: `fit-${x}` }).apply((v: number) => v * 2, x));
    const other = lview.with({ label: "plot" }).apply(() => {
      throw new Error("no display");
    });
    await Promise.all(fits);
    await other.catch(() => {});
    assert.ok(fs.existsSync(file));
    const fitRows = await t.rc.dbQuery({ label: { $glob: "fit-*" }, status: "ok", completed: { $gte: before } }, ["label", "engine_id"]);
    assert.deepEqual(fitRows.map((r) => r.label).sort(), ["fit-1", "fit-2", "fit-3"]);
    assert.ok(fitRows.every((r) => [0, 1].includes(r.engine_id as number)));
    const failed = await t.rc.dbQuery({ status: { $ne: "ok" }, label: { $in: ["plot"] } });
    assert.equal(failed.length, 1);
    assert.equal((await t.rc.dbQuery({ started: { $exists: false } })).length, 0, "every task ran on an engine");
    await assert.rejects(t.rc.dbQuery({ nope: 1 }), /unknown field "nope"/);
    await assert.rejects(t.rc.dbQuery({ label: { $regex: "x" } }), /unknown operator \$regex/);
    assert.equal(await t.rc.getResult(fits[1]?.msgIds[0] as string), 4);
    assert.equal(await t.rc.purgeResults([fits[0]?.msgIds[0] as string]), 1);
  } finally {
    await t.stop().catch(() => {});
  }
});

test("SQLite rows survive the controller", async () => {
  const t = await startTestCluster({ n: 1, db: "sqlite" });
  const file = path.join(t.dir, `tasks-${t.cluster.clusterId}.sqlite`);
  const copy = `${file}.kept`;
  const ar = t.rc.view(0).apply(() => engineId + 40);
  assert.equal(await ar, 40);
  await t.rc.close();
  await t.cluster.stop();
  fs.copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  const row = db.prepare("SELECT status, engine_id, phase FROM tasks WHERE msg_id = ?").get(ar.msgIds[0]) as {
    status: string;
    engine_id: number;
    phase: string;
  };
  db.close();
  assert.deepEqual(row, { status: "ok", engine_id: 0, phase: "done" });
  fs.rmSync(t.dir, { recursive: true, force: true });
});

test("the memory database is bounded: culled results say so", async () => {
  const t = await startTestCluster({ n: 1, controllerArgs: ["--db-max-records", "5"] });
  try {
    const first = t.rc.view(0).apply(() => "old");
    await first;
    for (let i = 0; i < 10; i++) await t.rc.view(0).apply((x: number) => x, i);
    await assert.rejects(t.rc.getResult(first.msgIds[0] as string), (e: unknown) => {
      assert.ok(e instanceof ResultCulled);
      assert.match((e as Error).message, /culled from the hub's bounded task database/);
      return true;
    });
    assert.ok((await t.rc.hubHistory()).length <= 5);
  } finally {
    await t.stop();
  }
});

test("a task taking 3,000 futures as arguments runs under a database bound of 10; an input culled before it arrived is named", async () => {
  const t = await startTestCluster({ n: 2, controllerArgs: ["--db-max-records", "10"] });
  // Room for every input and the consumer at the controller at once (a smaller window would
  // hold the consumer back until inputs had finished, and perhaps been culled).
  const rc = await t.cluster.connectClient({ maxInFlight: 5000 });
  try {
    const lview = rc.loadBalancedView();
    const gate = path.join(t.dir, "gate");
    // Inputs wait for the gate, so that the consumer is at the controller before any of them finishes.
    const opened = lview.apply(
      (file: string) =>
        new Promise((resolve) => {
          const timer = setInterval(() => {
            if ((require("node:fs") as typeof import("node:fs")).existsSync(file)) {
              clearInterval(timer);
              resolve(true);
            }
          }, 10);
        }),
      gate,
    );
    const inputs = Array.from({ length: 3000 }, (_, i) => lview.with({ after: opened }).apply((x: number) => x, i));
    const total = lview.apply((...xs: number[]) => xs.reduce((a, b) => a + b, 0), ...inputs);
    await waitUntil("the inputs and their consumer at the controller", 60_000, async () => (await rc.queueStatus()).unassigned === 3001);
    fs.writeFileSync(gate, "");
    assert.equal(await total.get({ timeout: 120_000 }), (2999 * 3000) / 2);
    const history = await rc.hubHistory();
    assert.ok(history.length <= 10, `the bound applies once nothing needs the inputs (${history.length} records kept)`);
    // An input finished and culled before its consumer was submitted: a clear error, not a missing frame.
    await assert.rejects(
      lview.apply((x: number) => x, inputs[0] as NonNullable<(typeof inputs)[0]>),
      (e: unknown) => {
        assert.ok(e instanceof ResultCulled, String(e));
        assert.match((e as Error).message, /takes the result of .* culled .* \(raise --db-max-records, or use --db sqlite\)/);
        return true;
      },
    );
  } finally {
    await rc.close();
    await t.stop();
  }
});
