/**
 * Work the controller or an engine holds longer than the replay window (queued behind other
 * work, behind an engine busy in synchronous code, retried after a late engine death) still
 * runs: what reaches an engine is signed when it is sent, and senders a peer already knows are
 * checked by sequence number, not by date. The window is shortened to 2 s for these tests.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

const WINDOW_MS = 2000;
process.env.PARALLAX_REPLAY_WINDOW_MS = String(WINDOW_MS);
/** Longer than the window, by enough that no clock rounding can hide it. */
const HOLD_MS = WINDOW_MS + 1500;
const hold = () => new Promise((resolve) => setTimeout(resolve, HOLD_MS));

declare const engineId: number;

/** Resolves (on the engine) once `file` exists: a latch the test opens. */
const untilFile = (file: string) =>
  new Promise((resolve) => {
    const fs = require("node:fs") as typeof import("node:fs");
    const timer = setInterval(() => {
      if (fs.existsSync(file)) {
        clearInterval(timer);
        resolve(engineId);
      }
    }, 10);
  });

async function assertQueuesEmpty(t: TestCluster): Promise<void> {
  const status = await t.rc.queueStatus();
  for (const id of t.rc.ids) assert.deepEqual([status[id]?.queue, status[id]?.tasks], [0, 0], `engine ${id} still owes work`);
  assert.equal(status.unassigned, 0);
  await t.rc.debugValidate();
}

test("load-balanced tasks queued at the controller longer than the replay window still run", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    const gate = path.join(t.dir, "gate");
    const lview = t.rc.loadBalancedView();
    const blocker = lview.apply(untilFile, gate);
    const queued = lview.map(
      (x: number) => x * 2,
      Array.from({ length: 50 }, (_, i) => i),
    );
    await waitUntil("50 tasks queued at the controller", 10_000, async () => (await t.rc.queueStatus()).unassigned === 50);
    await hold();
    fs.writeFileSync(gate, "");
    assert.equal(await blocker.get({ timeout: 15_000 }), 0);
    assert.deepEqual(
      await queued.get({ timeout: 15_000 }),
      Array.from({ length: 50 }, (_, i) => i * 2),
    );
    await assertQueuesEmpty(t);
  } finally {
    await t.stop();
  }
});

test("tasks sent to an engine busy in synchronous code for longer than the window run when it is free", async () => {
  const t = await startTestCluster({ n: 1, hwm: 0 });
  try {
    const gate = path.join(t.dir, "gate");
    const spinning = path.join(t.dir, "spinning");
    const busy = t.rc.view(0).apply(
      (started: string, file: string) => {
        const fs = require("node:fs") as typeof import("node:fs");
        fs.writeFileSync(started, "");
        while (!fs.existsSync(file)) {
          /* the engine reads nothing meanwhile */
        }
        return "released";
      },
      spinning,
      gate,
    );
    await waitUntil("the engine to spin", 10_000, () => fs.existsSync(spinning));
    const direct = t.rc.view(0).apply(() => "direct");
    const balanced = t.rc.loadBalancedView().apply(() => "balanced");
    // Both are in the engine's socket (hwm 0 sends the load-balanced one at once).
    await waitUntil("both tasks sent to the engine", 10_000, async () => {
      const s = (await t.rc.queueStatus(0))[0];
      return s?.queue === 2 && s.tasks === 1;
    });
    await hold();
    fs.writeFileSync(gate, "");
    assert.equal(await busy.get({ timeout: 15_000 }), "released");
    assert.equal(await direct.get({ timeout: 15_000 }), "direct");
    assert.equal(await balanced.get({ timeout: 15_000 }), "balanced");
    await assertQueuesEmpty(t);
  } finally {
    await t.stop();
  }
});

test("a task whose engine is killed later than the window after submission is retried and runs", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 250 });
  try {
    const firstRun = path.join(t.dir, "first-run");
    const ar = t.rc
      .loadBalancedView()
      .with({ retries: 1 })
      .apply(async (file: string) => {
        const fs = require("node:fs") as typeof import("node:fs");
        if (!fs.existsSync(file)) {
          fs.writeFileSync(file, `${process.pid} ${engineId}`);
          await new Promise(() => {});
        }
        return engineId;
      }, firstRun);
    const started = await waitUntil("the first run to start", 10_000, () => fs.existsSync(firstRun) && fs.readFileSync(firstRun, "utf8"));
    const [pid, firstEngine] = String(started).split(" ").map(Number) as [number, number];
    await hold();
    process.kill(pid, "SIGKILL");
    assert.equal(await ar.get({ timeout: 15_000 }), 1 - firstEngine);
    await assertQueuesEmpty(t);
  } finally {
    await t.stop();
  }
});
