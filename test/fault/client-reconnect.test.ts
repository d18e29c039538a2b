/**
 * A client outlives its controller's restart: it keeps its results and goes on with the
 * controller that replaces the dead one (--restore on the same ports) instead of failing.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { startTestCluster } from "../helpers/cluster.js";

test("a client rides out its controller's kill -9 and restore: a request sent meanwhile is answered by the restored controller", async () => {
  const t = await startTestCluster({ n: 2, db: "sqlite", heartbeatInterval: 200 });
  try {
    const queued = t.rc.loadBalancedView().map((x: number) => x * 3, [1, 2, 3, 4]);
    assert.deepEqual(await queued, [3, 6, 9, 12]);
    const started = once(t.rc, "disconnected");
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    await started;
    // Submitted while the controller is gone: held by the socket until a controller listens again.
    const later = t.rc.loadBalancedView().apply((x: number) => x + 1, 41);
    const reconnected = once(t.rc, "reconnected");
    await t.cluster.startController({ restore: true });
    await reconnected;
    assert.equal(await later, 42);
    assert.deepEqual(await t.rc.waitForEngines(2, { timeout: 20_000 }), [0, 1]);
    assert.deepEqual(await t.rc.loadBalancedView().map((x: number) => x - 1, [1, 2]), [0, 1]);
  } finally {
    await t.stop();
  }
});
