import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { EngineError } from "../../src/index.js";
import type { Hwm } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

declare const engineId: number;

test("kill -9 of an engine fails its outstanding direct tasks with EngineError within 1 s, and its id leaves rc.ids", async () => {
  const t = await startTestCluster({ n: 2 });
  try {
    const pid = (await t.rc.view(1).apply(() => process.pid)) as number;
    const left = new Promise<{ id: number }>((resolve) => t.rc.once("unregistration", resolve));
    const running = t.rc.view(1).apply(() => new Promise(() => {}));
    const queued = t.rc.view(1).apply(() => 1);
    // Both requests are at the hub (it handles this client's messages in order) before the kill.
    assert.equal((await t.rc.queueStatus(1))[1]?.queue, 2);
    const killedAt = Date.now();
    process.kill(pid, "SIGKILL");
    for (const ar of [running, queued]) {
      await assert.rejects(ar, (error: unknown) => {
        assert.ok(error instanceof EngineError);
        assert.equal(error.engineId, 1);
        assert.match(error.message, /engine 1 exited \(signal SIGKILL\)/);
        return true;
      });
    }
    const elapsed = Date.now() - killedAt;
    assert.ok(elapsed < 1000, `EngineError after ${elapsed} ms`);
    assert.equal((await left).id, 1);
    assert.deepEqual(t.rc.ids, [0]);
    assert.equal(await t.rc.view(0).apply(() => "still here"), "still here");
    assert.throws(() => t.rc.view(1).apply(() => 1), /engine 1 is not registered \(registered: \[0\]\)/);
  } finally {
    await t.stop();
  }
});

for (const hwm of [4, "auto"] satisfies Hwm[]) {
  test(`kill -9 of an engine holding prefetched tasks (hwm ${hwm}): the task it ran fails, those it had not started run on another engine`, async () => {
    const t = await startTestCluster({ n: 1, hwm });
    try {
      const lview = t.rc.loadBalancedView();
      // Short tasks first, so that adaptive prefetch learns that this engine's tasks are short (its first
      // task also started the thread that runs them, which took far longer).
      const warmUp = Array.from({ length: 30 }, (_, i) => i);
      assert.deepEqual(await lview.map((x: number) => x, warmUp).get({ timeout: 20_000 }), warmUp);
      const pid = (await t.rc.view(0).apply(() => process.pid)) as number;
      const started = path.join(t.dir, "started");
      const running = lview.apply((file: string) => {
        (require("node:fs") as typeof fs).writeFileSync(file, "");
        return new Promise(() => {});
      }, started);
      const prefetched = [1, 2, 3].map((x) => lview.apply((n: number) => [n, engineId], x));
      await waitUntil("the first task started", 20_000, () => fs.existsSync(started));
      await waitUntil("the engine holds all four", 20_000, async () => (await t.rc.queueStatus(0))[0]?.tasks === 4);
      await t.cluster.startEngines(1);
      await t.rc.waitForEngines(2, { timeout: 30_000 });
      process.kill(pid, "SIGKILL");
      await assert.rejects(running, (error: unknown) => {
        assert.ok(error instanceof EngineError, String(error));
        assert.match(error.message, /engine 0 exited \(signal SIGKILL\) while running task/);
        return true;
      });
      assert.deepEqual(await Promise.all(prefetched.map((ar) => ar.get({ timeout: 20_000 }))), [
        [1, 1],
        [2, 1],
        [3, 1],
      ]);
      assert.equal((await t.rc.queueStatus()).unassigned, 0);
      await t.rc.debugValidate();
    } finally {
      await t.stop();
    }
  });
}

test("engine ids count from 0 and are never reused", async () => {
  const t = await startTestCluster({ n: 2 });
  try {
    const [set] = Object.keys(t.cluster.engineSets);
    await t.cluster.stopEngines(set);
    while (t.rc.ids.length > 0) await new Promise((r) => t.rc.once("unregistration", r));
    await t.cluster.startEngines(2);
    assert.deepEqual(await t.rc.waitForEngines(2, { timeout: 20_000 }), [2, 3]);
  } finally {
    await t.stop();
  }
});

test("a CPU-bound task longer than several heartbeats does not make its engine look dead", async () => {
  const t = await startTestCluster({ n: 1, heartbeatInterval: 100 });
  try {
    const lost: number[] = [];
    t.rc.on("unregistration", ({ id }) => lost.push(id));
    const value = await t.rc.view(0).apply((ms: number) => {
      const end = Date.now() + ms;
      let spins = 0;
      while (Date.now() < end) spins++;
      return spins > 0;
    }, 1500);
    assert.equal(value, true);
    assert.deepEqual(lost, []);
    assert.deepEqual(t.rc.ids, [0]);
  } finally {
    await t.stop();
  }
});

test("a poison task that kills engines stops after its retries with EngineError instead of killing them all", async () => {
  const t = await startTestCluster({ n: 3 });
  try {
    const poison = t.rc
      .loadBalancedView()
      .with({ retries: 1 })
      .apply(() => process.exit(7));
    await assert.rejects(poison, (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.match((error as Error).message, /exited \(code 7\)/);
      return true;
    });
    while (t.rc.ids.length > 1) await new Promise((r) => t.rc.once("unregistration", r));
    assert.equal(t.rc.ids.length, 1, "two engines died (first try and one retry), the third survives");
    assert.equal(await t.rc.loadBalancedView().apply(() => "survivor"), "survivor");
  } finally {
    await t.stop();
  }
});

/** Waits until the client sees exactly `n` engines. */
async function engineCount(rc: Awaited<ReturnType<typeof startTestCluster>>["rc"], n: number): Promise<void> {
  while (rc.ids.length !== n) await new Promise((r) => setTimeout(r, 20));
}

test("a poison pill that kills every engine fails with its EngineError after the grace period; so does work submitted while no engine is left", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 200 });
  try {
    const lview = t.rc.loadBalancedView();
    const poison = lview.with({ retries: 3 }).apply(() => process.exit(1));
    await assert.rejects(poison, (error: unknown) => {
      assert.ok(error instanceof EngineError, String(error));
      assert.match((error as Error).message, /engine \d exited \(code 1\)/);
      return true;
    });
    await engineCount(t.rc, 0);
    const later = lview.apply(() => "never runs");
    const status = await t.rc.queueStatus();
    assert.equal(status.unassigned, 1);
    assert.match(
      status.waiting ?? "",
      /^no engine is registered since .* \(engine \d exited \(code 1\)\): tasks fail with EngineError 1000 ms after they could last run unless an engine registers$/,
    );
    await assert.rejects(later, (error: unknown) => {
      assert.ok(error instanceof EngineError, String(error));
      assert.match(
        (error as Error).message,
        /no engine to run task .*: every engine is gone \(last: engine \d exited \(code 1\)\) and none registered within 1000 ms/,
      );
      return true;
    });
    assert.equal((await t.rc.queueStatus()).unassigned, 0);
  } finally {
    await t.stop();
  }
});

test("with restartDeadEngines a poison pill stops after its retries instead of crash-looping, and the replacements take new work", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 200, restartDeadEngines: true });
  try {
    const registered: number[] = [];
    t.rc.on("registration", ({ id }) => registered.push(id));
    const poison = t.rc
      .loadBalancedView()
      .with({ retries: 3 })
      .apply(() => process.exit(1));
    await assert.rejects(poison, (error: unknown) => {
      assert.ok(error instanceof EngineError, String(error));
      return true;
    });
    await engineCount(t.rc, 2);
    assert.equal(await t.rc.loadBalancedView().apply(() => "fine"), "fine");
    // At most four tries (one plus three retries; fewer when the replacements were slower than
    // the grace period) killed as many engines, and each was replaced once, under a new id.
    assert.ok(registered.length >= 2 && registered.length <= 4, `replacements: ${registered}`);
    assert.deepEqual(
      registered.sort((a, b) => a - b),
      registered.map((_, i) => i + 2),
    );
    assert.equal(await t.rc.loadBalancedView().apply(() => "still fine"), "still fine");
    assert.ok(registered.length <= 4, "no engine died after the task failed");
  } finally {
    await t.stop();
  }
});

test("load-balanced work submitted before any engine registered waits for one, and queueStatus says so", async () => {
  const t = await startTestCluster({ n: 0, heartbeatInterval: 200 });
  try {
    const early = t.rc.loadBalancedView().apply(() => "ran once an engine came");
    const status = await t.rc.queueStatus();
    assert.equal(status.unassigned, 1);
    assert.match(status.waiting ?? "", /no engine has registered yet: tasks wait for one/);
    // Longer than the grace period: waiting for the first engine is not a failure.
    await new Promise((r) => setTimeout(r, 1500));
    await t.cluster.startEngines(1);
    assert.equal(await early, "ran once an engine came");
  } finally {
    await t.stop();
  }
});
