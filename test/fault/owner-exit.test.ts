/**
 * A cluster started by a program (not daemonized) stops when that program ends, however it
 * ends: the controller and engines watch the program and stop themselves, so nothing is left
 * even after SIGKILL.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { alive, ownedByTest } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

const OWNER = path.join(import.meta.dirname, "../fixtures/cluster-owner.ts");

interface OwnerProcesses {
  controller: number;
  engines: number[];
  supervisors: number[];
  clusterFile: string;
}

/** Runs the owner program until it has printed its cluster's processes. */
async function startOwner(mode: "wait" | "throw" | "return", attach = false) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-owner-"));
  const child = spawn(process.execPath, ["--import", "tsx", OWNER, mode, dir, ...(attach ? ["attach"] : [])], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const processes = await new Promise<OwnerProcesses>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0] as string) as OwnerProcesses);
    });
    void exited.then(({ code, signal }) => reject(new Error(`the owner program ended (${code ?? signal}) before starting its cluster: ${err}`)));
  });
  return { child, exited, processes, dir, stderr: () => err };
}

/** Waits until none of the cluster's processes is left, and its cluster file is gone. */
async function assertClusterGone(processes: OwnerProcesses): Promise<void> {
  const pids = [processes.controller, ...processes.engines, ...processes.supervisors];
  assert.ok(pids.every((pid) => Number.isInteger(pid) && pid > 0), JSON.stringify(processes));
  await waitUntil(`processes ${pids.join(", ")} to end`, 10_000, () => pids.every((pid) => !alive(pid)));
  await waitUntil("the cluster file to be removed", 5_000, () => !fs.existsSync(processes.clusterFile));
}

for (const signal of ["SIGKILL", "SIGINT", "SIGTERM"] as const) {
  test(`a program killed with ${signal} leaves no controller or engine behind`, async () => {
    // After SIGKILL, an engine set added by another process is stopped by its controller.
    const owner = await startOwner("wait", signal === "SIGKILL");
    if (signal === "SIGKILL") assert.equal(owner.processes.engines.length, 2);
    owner.child.kill(signal);
    assert.equal((await owner.exited).signal, signal);
    await assertClusterGone(owner.processes);
  });
}

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
    rc.close();
    await cluster.stop();
  }
});
