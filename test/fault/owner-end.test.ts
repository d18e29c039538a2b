/**
 * A cluster started by a program (not daemonized) stops when that program ends on its own, by
 * an uncaught error or by finishing its work; a daemonized one outlives it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { alive, ownedByTest } from "../helpers/cluster.js";
import { assertClusterGone, startOwner } from "../helpers/owner.js";

test("a program that ends with an uncaught error leaves no controller or engine behind", async () => {
  const owner = await startOwner("throw");
  assert.equal((await owner.exited).code, 1);
  assert.match(owner.stderr(), /an uncaught error in the program that started the cluster/);
  await assertClusterGone(owner.processes);
});

test("a program that simply finishes exits, and its cluster with it", async () => {
  const owner = await startOwner("return");
  assert.equal((await owner.exited).code, 0);
  await assertClusterGone(owner.processes);
});

test("a daemonized cluster outlives the program that started it", async () => {
  const { Cluster } = await import("../../src/index.js");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-owner-"));
  const script = `import { Cluster } from ${JSON.stringify(path.join(import.meta.dirname, "../../src/index.ts"))};
const c = await new Cluster({ n: 1, profileDir: ${JSON.stringify(dir)}, shutdownAtExit: false }).start();
console.log(c.clusterId);`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
    // This test's own pid watches the daemonized cluster, as the other tests' clusters are watched.
    env: { ...process.env, ...ownedByTest() },
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  assert.equal(await new Promise((resolve) => child.once("exit", resolve)), 0);
  const cluster = Cluster.fromFile({ profileDir: dir, clusterId: out.trim() });
  const rc = await cluster.connectClient();
  try {
    await rc.waitForEngines(1, { timeout: 20_000 });
    // Longer than the owner watch takes to notice a dead owner.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(alive(cluster.controller?.pid as number), true);
    assert.deepEqual(await rc.view().apply(() => "still here"), ["still here"]);
  } finally {
    await rc.close();
    await cluster.stop();
  }
});
