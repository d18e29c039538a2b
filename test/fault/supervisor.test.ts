/**
 * One supervisor watches every engine of a set: one engine's death, replacement or interrupt
 * touches that engine only; the supervisor's death takes its engines with it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { EngineError, TaskInterrupted } from "../../src/index.js";
import { alive, startTestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

declare const engineId: number;

const sleepForever = () => {
  console.log("started");
  return new Promise(() => {});
};

/** The supervisor of the cluster's only engine set. */
function supervisorOf(t: Awaited<ReturnType<typeof startTestCluster>>): number {
  const sets = Object.values(t.cluster.engineSets);
  assert.equal(sets.length, 1);
  assert.equal(sets[0]?.pids.length, 1, "one supervisor process for the whole set");
  return sets[0]?.pids[0] as number;
}

test("a set of 3 engines runs under one supervisor; killing one engine reports that engine only", async () => {
  const t = await startTestCluster({ n: 3, heartbeatInterval: 200 });
  try {
    const supervisor = supervisorOf(t);
    const pids = (await t.rc.view().apply(() => process.pid)) as number[];
    assert.equal(new Set([...pids, supervisor]).size, 4, "each engine is a process of its own");
    const running = [0, 1, 2].map((id) => t.rc.view(id).apply(sleepForever));
    await waitUntil("the tasks to start", 10_000, () => running.every((ar) => String(ar.stdout).includes("started")));
    const gone = new Promise<number>((resolve) => t.rc.on("unregistration", (event: { id: number }) => resolve(event.id)));
    process.kill(pids[1] as number, "SIGKILL");
    await assert.rejects(
      running[1] as Promise<unknown>,
      (e: unknown) => e instanceof EngineError && /engine 1 exited \(signal SIGKILL\)/.test(String(e)),
    );
    assert.equal(await gone, 1);
    assert.deepEqual(t.rc.ids, [0, 2]);
    assert.ok(alive(supervisor), "the supervisor watches on");
    assert.ok(alive(pids[0] as number) && alive(pids[2] as number), "the other engines run on");
    assert.deepEqual(await t.rc.sendSignal("SIGINT", [0, 2]), [0, 2]);
    for (const ar of [running[0], running[2]]) await assert.rejects(ar as Promise<unknown>, TaskInterrupted);
    assert.equal(await t.rc.view(2).apply(() => engineId), 2);
    // Each engine has its own log, where the supervisor also says what happened to it.
    const logs = () =>
      [0, 1, 2].map((index) => fs.readFileSync(path.join(t.dir, "log", `engine-${t.cluster.clusterId}-0-${index}.log`), "utf8"));
    await waitUntil("the supervisor to log the death", 10_000, () =>
      logs().some((text) => text.includes("supervisor: engine 1 exited (signal SIGKILL)")),
    );
    assert.deepEqual(
      logs()
        .map((text) => [/INFO {2}engine \d: registered/.test(text), /exited/.test(text)])
        .filter(([, exited]) => exited),
      [[true, true]],
      "one engine log tells of that engine's death, and only it",
    );
  } finally {
    await t.stop();
  }
});

test("restartDeadEngines: the supervisor replaces a killed engine, which registers with a new id; the others are untouched", async () => {
  const t = await startTestCluster({ n: 2, restartDeadEngines: true });
  try {
    const supervisor = supervisorOf(t);
    const [pid0, pid1] = (await t.rc.view().apply(() => process.pid)) as number[];
    await t.rc.view(0).execute("globalThis.kept = 'namespace of engine 0'");
    const registered = new Promise<{ id: number }>((resolve) => t.rc.on("registration", resolve));
    process.kill(pid1 as number, "SIGKILL");
    assert.equal((await registered).id, 2);
    await t.rc.waitForEngines(2);
    assert.deepEqual(t.rc.ids, [0, 2]);
    assert.equal(await t.rc.view(2).apply(() => "replacement works"), "replacement works");
    assert.equal(await t.rc.view(0).apply(() => (globalThis as { kept?: string }).kept), "namespace of engine 0");
    assert.equal(await t.rc.view(0).apply(() => process.pid), pid0);
    assert.ok(alive(supervisor));
  } finally {
    await t.stop();
  }
});

test("killing the supervisor stops its engines: the hub declares them dead and no process is left", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 200 });
  try {
    const supervisor = supervisorOf(t);
    const pids = (await t.rc.view().apply(() => process.pid)) as number[];
    const running = t.rc.view(0).apply(sleepForever);
    await waitUntil("the task to start", 10_000, () => String(running.stdout).includes("started"));
    // The supervisor alone, not its process group: its engines must notice by themselves.
    process.kill(supervisor, "SIGKILL");
    await waitUntil("the engines to exit", 10_000, () => pids.every((pid) => !alive(pid)));
    await assert.rejects(running, EngineError);
    await waitUntil("the hub to forget both engines", 10_000, () => t.rc.ids.length === 0);
  } finally {
    await t.stop();
  }
});

test("an interrupt reaches one engine of the set: its task fails with TaskInterrupted, its namespace stays, the other task runs on", async () => {
  const t = await startTestCluster({ n: 2 });
  try {
    await t.rc.view(1).execute("globalThis.kept = 41");
    const other = t.rc.view(0).apply(() => {
      console.log("started");
      return new Promise((resolve) => setTimeout(() => resolve("finished"), 1500));
    });
    const target = t.rc.view(1).apply(sleepForever);
    await waitUntil("the tasks to start", 10_000, () => [other, target].every((ar) => String(ar.stdout).includes("started")));
    assert.deepEqual(await t.rc.sendSignal("SIGINT", 1), [1]);
    await assert.rejects(target, TaskInterrupted);
    assert.equal(await other, "finished");
    assert.equal(await t.rc.view(1).apply(() => (globalThis as { kept?: number }).kept! + 1), 42);
    assert.deepEqual(t.rc.ids, [0, 1]);
  } finally {
    await t.stop();
  }
});

test("one beat a heartbeat vouches for the whole set: a stopped engine is declared dead while the others live on; a stopped supervisor loses them all", async () => {
  const t = await startTestCluster({ n: 3, heartbeatInterval: 200 });
  try {
    const supervisor = supervisorOf(t);
    const pids = (await t.rc.view().apply(() => process.pid)) as number[];
    const lost: Array<{ id: number; reason?: string }> = [];
    t.rc.on("unregistration", (event: { id: number; reason?: string }) => lost.push(event));
    // Engines 0 and 2 sent their last message before engine 1 was stopped: were their beats not
    // counted, they would be declared dead first.
    process.kill(pids[1] as number, "SIGSTOP");
    await waitUntil("engine 1 to be declared dead", 10_000, () => lost.length > 0);
    assert.deepEqual(lost, [{ id: 1, reason: "engine 1 missed 3 heartbeats" }]);
    assert.deepEqual(t.rc.ids, [0, 2]);
    assert.deepEqual(await t.rc.view([0, 2]).apply(() => engineId), [0, 2]);
    // The supervisor stopped, nothing beats for its engines, alive as they are.
    process.kill(supervisor, "SIGSTOP");
    await waitUntil("engines 0 and 2 to be declared dead", 10_000, () => lost.length === 3);
    assert.deepEqual(
      lost.slice(1).sort((a, b) => a.id - b.id),
      [0, 2].map((id) => ({ id, reason: `engine ${id} missed 3 heartbeats` })),
    );
    assert.ok(alive(pids[0] as number) && alive(pids[2] as number), "declared dead by their silence, not by an exit");
    // Resumed, the supervisor hears that its engines were forgotten, and they leave.
    process.kill(supervisor, "SIGCONT");
    process.kill(pids[1] as number, "SIGCONT");
    await waitUntil("every engine to exit", 10_000, () => pids.every((pid) => !alive(pid)));
    assert.deepEqual(t.rc.ids, []);
  } finally {
    await t.stop();
  }
});

test("engines run without V8's memory reducer, unless the cluster's Node flags turn it back on", async () => {
  // The engine process's command line (a task runs in a thread, whose execArgv leaves V8's flags out).
  const flagsOf = async (t: Awaited<ReturnType<typeof startTestCluster>>) =>
    (
      (await t.rc
        .view()
        .apply(() => process.getBuiltinModule("node:fs").readFileSync("/proc/self/cmdline", "utf8").split("\0"))) as string[][]
    )[0] as string[];
  const off = await startTestCluster({ n: 1 });
  try {
    assert.ok((await flagsOf(off)).includes("--no-memory-reducer"));
    // The flag is V8's, which a task thread refuses: it must not be passed on to the thread.
    const log = fs.readFileSync(path.join(off.dir, "log", `engine-${off.cluster.clusterId}-0-0.log`), "utf8");
    assert.doesNotMatch(log, /invalid execArgv/);
  } finally {
    await off.stop();
  }
  const before = process.env.PARALLAX_NODE_ARGS;
  process.env.PARALLAX_NODE_ARGS = "--memory-reducer";
  const on = await startTestCluster({ n: 1 });
  try {
    const flags = await flagsOf(on);
    // V8 takes the last of contradicting flags.
    assert.ok(flags.lastIndexOf("--memory-reducer") > flags.indexOf("--no-memory-reducer"), flags.join(" "));
  } finally {
    if (before === undefined) delete process.env.PARALLAX_NODE_ARGS;
    else process.env.PARALLAX_NODE_ARGS = before;
    await on.stop();
  }
});
