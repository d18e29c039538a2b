/**
 * A cluster started by a program (not daemonized) stops when that program is killed, by any
 * signal: the controller and engines watch the program and stop themselves, so nothing is left
 * even after SIGKILL.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClusterGone, startOwner } from "../helpers/owner.js";

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
