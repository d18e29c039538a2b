/**
 * Flow control between clients and the controller: a bounded window of tasks in flight per
 * client, and many clients at once all get every result.
 * Clients run in their own processes where that is the point.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { TaskAborted } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";

const run = promisify(execFile);
const fixture = (name: string) => path.join(import.meta.dirname, "../fixtures", name);
const tsx = (script: string, args: string[]) => run(process.execPath, ["--import", "tsx", fixture(script), ...args], { timeout: 110_000 });

test("a client keeps at most maxInFlight tasks at the controller; the rest wait in order, and abort reaches them", async () => {
  const t = await startTestCluster({ n: 2 });
  const rc = await t.cluster.connectClient({ maxInFlight: 4 });
  try {
    const started = performance.now();
    const slow = (i: number) => new Promise((resolve) => setTimeout(() => resolve(i), 100));
    const ar = rc.loadBalancedView().map(
      slow,
      Array.from({ length: 40 }, (_, i) => i),
    );
    const held = rc.loadBalancedView().apply(slow, -1);
    let most = 0;
    while (!ar.ready()) {
      const status = await t.rc.queueStatus();
      const atController = status.unassigned + (status[0]?.tasks ?? 0) + (status[1]?.tasks ?? 0);
      most = Math.max(most, atController);
      assert.ok(atController <= 4, `${atController} tasks at the controller`);
    }
    assert.ok(most >= 2, `the window was used (at most ${most} seen)`);
    assert.deepEqual(
      await ar,
      Array.from({ length: 40 }, (_, i) => i),
    );
    assert.ok(performance.now() - started > 900, "40 tasks of 100 ms, 4 at a time on 2 engines");
    assert.equal(await held, -1);
    // A task still waiting in the window is aborted without reaching the controller.
    const blockers = [1, 2, 3, 4].map(() => rc.loadBalancedView().apply(slow, 0));
    const waiting = rc.loadBalancedView().apply(slow, 5);
    assert.deepEqual(await rc.abort(waiting), [...waiting.msgIds]);
    await assert.rejects(waiting, TaskAborted);
    await Promise.all(blockers);
    assert.equal((await t.rc.hubHistory()).includes(waiting.msgIds[0] as string), false);
    await t.rc.debugValidate();
  } finally {
    await rc.close();
    await t.stop();
  }
});

test("20 clients in 4 processes submitting at once all get every result", async () => {
  const t = await startTestCluster({ n: 2 });
  try {
    const outputs = await Promise.all([1, 2, 3, 4].map(() => tsx("many-clients.ts", [t.cluster.files.client, "5", "200", "50"])));
    for (const { stdout } of outputs) assert.deepEqual(JSON.parse(stdout), { received: 1000, wrong: 0 });
    await t.rc.debugValidate();
  } finally {
    await t.stop();
  }
});
