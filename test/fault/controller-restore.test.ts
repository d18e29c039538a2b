import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { Client, EngineError } from "../../src/index.js";
import type { AsyncResult } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";

declare const engineId: number;

test("a controller restarted with restore re-adopts running engines with their ids and namespaces; SQLite results survive", async () => {
  const t = await startTestCluster({ n: 2, db: "sqlite", heartbeatInterval: 200 });
  try {
    await t.rc.view().push({ remembered: "still here" });
    const before = t.rc.view(1).apply(() => engineId * 100);
    assert.equal(await before, 100);
    const enginePids = (await t.rc.view().apply(() => process.pid)) as number[];
    await t.rc.close();
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    await t.cluster.startController({ restore: true });
    const rc = await Client.connect({ connectionFile: t.cluster.files.client });
    try {
      assert.deepEqual(await rc.waitForEngines(2, { timeout: 20_000 }), [0, 1]);
      assert.deepEqual(await rc.view().apply(() => process.pid), enginePids, "the same engine processes");
      assert.deepEqual(await rc.view().pull("remembered"), ["still here", "still here"]);
      assert.equal(await rc.getResult(before.msgIds[0] as string), 100, "a result from before the crash");
      const stored = await rc.dbQuery({ status: "ok" }, ["status"]);
      assert.ok(
        stored.some((r) => r.msg_id === before.msgIds[0]),
        "dbQuery sees the records written before the crash",
      );
      const again = rc.resubmit(before.msgIds[0] as string);
      assert.equal(await again, 100);
      const [old] = await rc.dbQuery({ msg_id: before.msgIds[0] }, ["resubmitted"]);
      assert.equal(old?.resubmitted, again.msgIds[0], "the old record points to its resubmission");
      await t.cluster.startEngines(1);
      assert.deepEqual(await rc.waitForEngines(3, { timeout: 20_000 }), [0, 1, 2], "a new engine does not get an old id");
    } finally {
      await rc.close();
    }
  } finally {
    await t.stop();
  }
});

/** Waits until `file` exists (a task on an engine wrote it). */
async function fileAppears(file: string): Promise<void> {
  while (!fs.existsSync(file)) await new Promise((r) => setTimeout(r, 10));
}

test("restore runs again what was queued or running, keeps results finished while the controller was down, and answers every id", async () => {
  const t = await startTestCluster({ n: 2, db: "sqlite", heartbeatInterval: 200 });
  const runs = path.join(t.dir, "runs.log");
  const go = path.join(t.dir, "go");
  try {
    const pid1 = (await t.rc.view(1).apply(() => process.pid)) as number;
    const lview = t.rc.loadBalancedView();
    const items = Array.from({ length: 300 }, (_, i) => i);
    const balanced = items.map((i) =>
      lview.apply(
        (x: number, file: string) =>
          new Promise((resolve) => {
            (require("node:fs") as typeof import("node:fs")).appendFileSync(file, `lb ${x}\n`);
            setTimeout(() => resolve(x * 2), 2);
          }),
        i,
        runs,
      ),
    );
    const last = balanced.at(-1) as AsyncResult;
    const dependent = lview.with({ after: last }).apply(() => "after the last one");
    let finished = 0;
    for (const ar of balanced)
      ar.then(
        () => finished++,
        () => {},
      );
    while (finished < 50) await new Promise((r) => setTimeout(r, 10));
    // Engine 0 runs a task that finishes while the controller is down; engine 1 holds two that
    // are lost with it.
    const gate = (name: string, file: string, goFile: string, started: string) =>
      new Promise((resolve) => {
        const fsm = require("node:fs") as typeof import("node:fs");
        fsm.writeFileSync(started, "");
        const poll = setInterval(() => {
          if (!fsm.existsSync(goFile)) return;
          clearInterval(poll);
          fsm.appendFileSync(file, `${name}\n`);
          fsm.writeFileSync(`${started}.done`, "");
          resolve(name);
        }, 10);
      });
    const slow = t.rc.view(0).apply(gate, "slow", runs, go, path.join(t.dir, "slow"));
    const doomed = t.rc.view(1).apply(gate, "doomed", runs, go, path.join(t.dir, "doomed"));
    const doomedQueued = t.rc.view(1).apply(() => "never");
    await Promise.all([fileAppears(path.join(t.dir, "slow")), fileAppears(path.join(t.dir, "doomed"))]);
    await t.rc.close();
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    // Engine 1 only: its supervisor also watches engine 0, which lives on.
    process.kill(pid1, "SIGKILL");
    fs.writeFileSync(go, "");
    await fileAppears(path.join(t.dir, "slow.done"));
    await t.cluster.startController({ restore: true });
    const rc = await Client.connect({ connectionFile: t.cluster.files.client });
    try {
      assert.equal(await rc.getResult(slow.msgIds[0] as string), "slow", "the reply sent while the controller was down");
      for (const ar of [doomed, doomedQueued]) {
        await assert.rejects(rc.getResult(ar.msgIds[0] as string), (error: unknown) => {
          assert.ok(error instanceof EngineError, String(error));
          assert.match((error as Error).message, /engine 1 did not come back after the controller was restored/);
          return true;
        });
      }
      const values = await Promise.all(balanced.map((ar) => rc.getResult(ar.msgIds[0] as string)));
      assert.deepEqual(
        values,
        items.map((i) => i * 2),
      );
      assert.equal(await rc.getResult(dependent.msgIds[0] as string), "after the last one");
      const lines = fs.readFileSync(runs, "utf8").trim().split("\n");
      assert.equal(lines.filter((l) => l === "slow").length, 1, "the finished task did not run again");
      const counts = new Map<string, number>();
      for (const line of lines.filter((l) => l.startsWith("lb "))) counts.set(line, (counts.get(line) ?? 0) + 1);
      assert.equal(counts.size, 300, "every load-balanced task ran");
      // Only a task engine 1 was running when it died may have run twice.
      assert.ok([...counts.values()].filter((n) => n > 1).length <= 1, "tasks held by a live engine ran once");
      await assert.rejects(rc.getResult("no-such-task"), /the hub has no task no-such-task/);
      assert.equal(await rc.loadBalancedView().apply(() => "new work"), "new work");
      await rc.debugValidate();
    } finally {
      await rc.close();
    }
  } finally {
    await t.stop();
  }
});

test("a client that stays connected through kill -9 and --restore gets every outstanding result, also of requests the dead controller never read", async () => {
  const t = await startTestCluster({ n: 2, db: "sqlite", heartbeatInterval: 200 });
  try {
    const lview = t.rc.loadBalancedView();
    const task = (x: number) => new Promise((resolve) => setTimeout(() => resolve(x + 1), 5));
    const before = Array.from({ length: 200 }, (_, i) => lview.apply(task, i));
    // Killed while requests are still on their way (some never read), and more sent while it is down.
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    const during = Array.from({ length: 20 }, (_, i) => lview.apply(task, 1000 + i));
    await t.cluster.startController({ restore: true });
    assert.deepEqual(
      await Promise.all(before),
      before.map((_, i) => i + 1),
    );
    assert.deepEqual(
      await Promise.all(during),
      during.map((_, i) => 1001 + i),
    );
    assert.equal(await t.rc.view(1).apply(() => "direct after restore"), "direct after restore");
    await t.rc.debugValidate();
  } finally {
    await t.stop();
  }
});

test("a direct request to an engine that has not registered again with a restored controller waits for it, and fails clearly past the bound", async () => {
  // Restore windows of 3 liveness limits: 3 × 500 ms × (3 + 1) = 6 s.
  const t = await startTestCluster({ n: 2, db: "sqlite", heartbeatInterval: 500 });
  const pid1 = (await t.rc.view(1).apply(() => process.pid)) as number;
  try {
    // A stopped engine's supervisor does not beat for it, so it registers again only once continued.
    process.kill(pid1, "SIGSTOP");
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    await t.cluster.startController({ restore: true });
    const waiting = t.rc.view(1).apply(() => `engine ${engineId} after the restore`);
    // The controller reads one client's messages in order: it holds the request now.
    await t.rc.queueStatus();
    process.kill(pid1, "SIGCONT");
    assert.equal(await waiting, "engine 1 after the restore");

    process.kill(pid1, "SIGSTOP");
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    await t.cluster.startController({ restore: true });
    const started = Date.now();
    await assert.rejects(
      t.rc.view(1).apply(() => "never"),
      (error: unknown) => {
        assert.ok(error instanceof EngineError, String(error));
        assert.match((error as Error).message, /engine 1 did not register again within 6000 ms after the controller was restored/);
        return true;
      },
    );
    assert.ok(Date.now() - started >= 5_000, "it waited for the engine");
    const back = new Promise<void>((resolve) => t.rc.on("registration", ({ id }) => id === 1 && resolve()));
    process.kill(pid1, "SIGCONT");
    await back;
    assert.equal(await t.rc.view(1).apply(() => engineId), 1, "the engine is adopted once it comes back");
  } finally {
    try {
      process.kill(pid1, "SIGCONT");
    } catch {
      // Already gone.
    }
    await t.stop();
  }
});
