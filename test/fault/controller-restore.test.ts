import assert from "node:assert/strict";
import { test } from "node:test";
import { Client } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";

declare const engineId: number;

test("a controller restarted with restore re-adopts running engines with their ids and namespaces; SQLite results survive", async () => {
  const t = await startTestCluster({ n: 2, db: "sqlite", heartbeatInterval: 200 });
  try {
    await t.rc.view().push({ remembered: "still here" });
    const before = t.rc.view(1).apply(() => engineId * 100);
    assert.equal(await before, 100);
    const enginePids = (await t.rc.view().apply(() => process.pid)) as number[];
    t.rc.close();
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    await t.cluster.startController({ restore: true });
    const rc = await Client.connect({ connectionFile: t.cluster.files.client });
    try {
      assert.deepEqual(await rc.waitForEngines(2, { timeout: 20_000 }), [0, 1]);
      assert.deepEqual(await rc.view().apply(() => process.pid), enginePids, "the same engine processes");
      assert.deepEqual(await rc.view().pull("remembered"), ["still here", "still here"]);
      assert.equal(await rc.getResult(before.msgIds[0] as string), 100, "a result from before the crash");
      const stored = await rc.dbQuery({ status: "ok" }, ["status"]);
      assert.ok(stored.some((r) => r.msg_id === before.msgIds[0]), "dbQuery sees the records written before the crash");
      const again = rc.resubmit(before.msgIds[0] as string);
      assert.equal(await again, 100);
      const [old] = await rc.dbQuery({ msg_id: before.msgIds[0] }, ["resubmitted"]);
      assert.equal(old?.resubmitted, again.msgIds[0], "the old record points to its resubmission");
      await t.cluster.startEngines(1);
      assert.deepEqual(await rc.waitForEngines(3, { timeout: 20_000 }), [0, 1, 2], "a new engine does not get an old id");
    } finally {
      rc.close();
    }
  } finally {
    await t.stop();
  }
});
