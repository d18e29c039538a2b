/**
 * A controller that is paused (SIGSTOP) or busy is not dead: engines survive, clients keep
 * their outstanding results and get them once it runs again.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { alive, startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

/** Heartbeats in these tests; the controller declares engines dead after 4 (400 ms). */
const BEAT_MS = 100;
/** Long enough for 20 missed heartbeats, and well over the clients' 5. */
const PAUSE_MS = 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function enginePids(t: TestCluster): Promise<number[]> {
  return (await t.rc.view().apply(() => process.pid)) as number[];
}

/** Stops the controller until the client has noticed its silence and `PAUSE_MS` has passed. */
async function pauseController(t: TestCluster): Promise<void> {
  const pid = t.cluster.controller?.pid as number;
  const stoppedAt = Date.now();
  const noticed = once(t.rc, "disconnected");
  process.kill(pid, "SIGSTOP");
  try {
    await noticed;
    await sleep(PAUSE_MS - (Date.now() - stoppedAt));
  } finally {
    process.kill(pid, "SIGCONT");
  }
}

test("a controller stopped for 20 heartbeats with tasks in flight keeps its engines; every task finishes", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: BEAT_MS });
  try {
    const pids = await enginePids(t);
    const lost: number[] = [];
    t.rc.on("unregistration", ({ id }) => lost.push(id));
    const ar = t.rc.loadBalancedView().map(
      (x: number) => new Promise((resolve) => setTimeout(() => resolve(x * 2), 20)),
      Array.from({ length: 100 }, (_, i) => i),
    );
    await waitUntil("a first result", 10_000, () => ar.progress > 0);
    const reconnected = once(t.rc, "reconnected");
    await pauseController(t);
    await reconnected;
    assert.deepEqual(
      await ar,
      Array.from({ length: 100 }, (_, i) => i * 2),
    );
    assert.deepEqual(lost, [], "no engine was declared dead");
    assert.deepEqual(t.rc.ids, [0, 1]);
    assert.deepEqual(await enginePids(t), pids, "the same engine processes serve");
    for (const pid of pids) assert.ok(alive(pid));
    await t.rc.debugValidate();
  } finally {
    await t.stop();
  }
});

test("an idle controller stopped for 20 heartbeats keeps its engines", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: BEAT_MS });
  try {
    const pids = await enginePids(t);
    await pauseController(t);
    // Long enough after resuming for a controller that miscounted the pause to have dropped them.
    await once(t.rc, "reconnected");
    await sleep(BEAT_MS * 10);
    assert.deepEqual(t.rc.ids, [0, 1]);
    assert.deepEqual(await enginePids(t), pids);
    assert.deepEqual(await t.rc.loadBalancedView().map((x: number) => x + 1, [1, 2, 3]), [2, 3, 4]);
  } finally {
    await t.stop();
  }
});
