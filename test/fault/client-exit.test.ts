/**
 * A client that submits and leaves at once hands everything to the controller first, in its
 * own process (as a user's script does).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { startTestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

const run = promisify(execFile);
const fixture = path.join(import.meta.dirname, "../fixtures/submit-and-exit.ts");

test("a client process that submits 20,000 tasks, closes and exits at once hands every one to the controller", async () => {
  const t = await startTestCluster({ n: 2, controllerArgs: ["--db-max-records", "100000"] });
  try {
    const before = (await t.rc.hubHistory()).length;
    const { stdout } = await run(process.execPath, ["--import", "tsx", fixture, t.cluster.files.client, "20000", "exit"], {
      timeout: 110_000,
    });
    assert.match(stdout, /submitted 20000/);
    await waitUntil("20,000 requests at the controller", 30_000, async () => (await t.rc.hubHistory()).length - before === 20_000);
  } finally {
    await t.stop();
  }
});
