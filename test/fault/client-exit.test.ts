/**
 * A client that submits and leaves at once hands everything to the controller first, in its
 * own process (as a user's script does); a client whose controller is gone does not keep its
 * process alive.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { startTestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

const run = promisify(execFile);
const fixture = path.join(import.meta.dirname, "../fixtures/submit-and-exit.ts");
const stopWithoutClose = path.join(import.meta.dirname, "../fixtures/stop-without-close.ts");

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

test("a script that stops its cluster without closing its client still exits: the lost controller's socket is closed", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-stop-without-close-"));
  try {
    // Before, the client's socket stayed open and the script never ended: execFile's timeout fails the test.
    const { stdout } = await run(process.execPath, ["--import", "tsx", stopWithoutClose, dir], { timeout: 60_000 });
    assert.match(stdout, /result 42/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
