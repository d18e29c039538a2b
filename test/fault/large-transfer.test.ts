/**
 * Liveness under large messages: a 512 MiB push and pull while both cores are busy must not make
 * the controller, an engine or the client look dead. Hashing, copying and (de)serializing half a
 * gigabyte blocks a process for seconds on a loaded machine; heartbeats must survive it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { test } from "node:test";
import { startTestCluster } from "../helpers/cluster.js";

const MIB = 1024 * 1024;
const SIZE = 512 * MIB;

/** One busy-looping process per core, tied to this test process. */
function loadTheMachine(): ChildProcess[] {
  const burn =
    "setInterval(() => { try { process.kill(Number(process.env.OWNER), 0); } catch { process.exit(0); } }, 500); const spin = () => { const end = Date.now() + 50; while (Date.now() < end); setImmediate(spin); }; spin();";
  return [0, 1].map(() => spawn(process.execPath, ["-e", burn], { stdio: "ignore", env: { ...process.env, OWNER: String(process.pid) } }));
}

test("a 512 MiB push and pull on a loaded machine: no engine, controller or client is taken for dead", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 200 });
  const burners = loadTheMachine();
  const silences: string[] = [];
  t.rc.on("disconnected", () => silences.push("client lost the controller"));
  t.rc.on("unregistration", ({ id, reason }) => silences.push(`engine ${id} unregistered: ${reason ?? "no reason"}`));
  try {
    const pushed = new Uint8Array(SIZE).fill(3);
    pushed[SIZE - 1] = 9;
    // Small tasks on the other engine keep flowing while the big message is in transit.
    let small = 0;
    let moving = true;
    const ticker = (async () => {
      while (moving) small += (await t.rc.view(1).apply((i: number) => i + 1, small)) - small;
    })();
    const summary = await t.rc.view(0).apply((x: Uint8Array) => [x.length, x[0], x[x.length - 1]], pushed);
    assert.deepEqual(summary, [SIZE, 3, 9]);
    const pulled = await t.rc.view(0).apply((n: number) => new Uint8Array(n).fill(5), SIZE);
    assert.equal(pulled.length, SIZE);
    assert.equal(pulled[SIZE - 1], 5);
    moving = false;
    await ticker;
    assert.ok(small > 0, "small tasks ran beside the transfer");
    assert.deepEqual(silences, []);
    assert.deepEqual([...t.rc.ids].sort(), [0, 1]);
  } finally {
    for (const burner of burners) burner.kill("SIGKILL");
    await t.stop();
  }
});
