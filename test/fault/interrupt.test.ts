import assert from "node:assert/strict";
import { test } from "node:test";
import { EngineError, ExecutionTimeout, TaskInterrupted } from "../../src/index.js";
import fs from "node:fs";
import path from "node:path";
import { startTestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

declare const engineId: number;
const busy = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* spin */ }
  return "done";
};

test("execTimeout interrupts a running task, synchronous or async; the engine keeps its namespace", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    await t.rc.view(0).push({ keep: "me" });
    const lview = t.rc.loadBalancedView().with({ execTimeout: 300 });
    const started = Date.now();
    await assert.rejects(lview.apply(busy, 10_000), (e: unknown) => {
      assert.ok(e instanceof ExecutionTimeout);
      assert.match((e as Error).message, /ran longer than its execTimeout of 300 ms on engine 0/);
      return true;
    });
    assert.ok(Date.now() - started < 3000);
    await assert.rejects(lview.apply(() => new Promise((r) => setTimeout(r, 10_000))), ExecutionTimeout);
    assert.equal(await lview.apply(() => 1 + 1), 2, "a short task under the same limit runs");
    assert.equal(await t.rc.view(0).pull("keep"), "me");
    assert.deepEqual(t.rc.ids, [0]);
  } finally {
    await t.stop();
  }
});

test("SIGINT interrupts a task waiting on async work within 1 s; the next task runs normally", async () => {
  const t = await startTestCluster({ n: 2 });
  try {
    const ar = t.rc.view(1).apply(() => {
      console.log("started");
      return new Promise((r) => setTimeout(r, 30_000));
    });
    await waitUntil("the task to start", 10_000, () => String(ar.stdout).includes("started"));
    const sent = Date.now();
    assert.deepEqual(await ar.interrupt(), [1]);
    await assert.rejects(ar, TaskInterrupted);
    assert.ok(Date.now() - sent < 1000, `interrupted after ${Date.now() - sent} ms`);
    assert.equal(await t.rc.view(1).apply(() => engineId), 1);
    const viaClient = t.rc.view(0).apply(() => {
      console.log("started");
      return new Promise((r) => setTimeout(r, 30_000));
    });
    await waitUntil("the task to start", 10_000, () => String(viaClient.stdout).includes("started"));
    await t.rc.sendSignal("SIGINT", 0);
    await assert.rejects(viaClient, TaskInterrupted);
    assert.deepEqual(t.rc.ids, [0, 1]);
  } finally {
    await t.stop();
  }
});

test("SIGINT breaks synchronous code too: the task fails with TaskInterrupted and the engine keeps its namespace", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    await t.rc.view(0).push({ kept: "namespace" });
    const pid = (await t.rc.view(0).apply(() => process.pid)) as number;
    // A busy engine cannot stream output, so the task marks its start with a file.
    const marker = path.join(t.dir, "busy-started");
    const spin = (file: string, ms: number) => {
      (require("node:fs") as typeof import("node:fs")).writeFileSync(file, "");
      const end = Date.now() + ms;
      while (Date.now() < end) { /* spin */ }
      return "finished";
    };
    const ar = t.rc.view(0).apply(spin, marker, 60_000);
    await waitUntil("the busy task to start", 10_000, () => fs.existsSync(marker));
    const sent = Date.now();
    await t.rc.sendSignal("SIGINT");
    await assert.rejects(ar, TaskInterrupted);
    assert.ok(Date.now() - sent < 1000, `interrupted after ${Date.now() - sent} ms`);
    assert.equal(await t.rc.view(0).apply(() => process.pid), pid, "the same engine process");
    assert.equal(await t.rc.view(0).pull("kept"), "namespace");
  } finally {
    await t.stop();
  }
});

test("a function that returned quickly before and now hangs in synchronous code is stopped by its supervisor: EngineError", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    const marker = path.join(t.dir, "spin-started");
    const spin = (file: string, ms: number) => {
      if (ms > 0) (require("node:fs") as typeof import("node:fs")).writeFileSync(file, "");
      const end = Date.now() + ms;
      while (Date.now() < end) { /* spin */ }
      return "finished";
    };
    assert.equal(await t.rc.view(0).apply(spin, marker, 0), "finished", "a quick first call: later calls go direct");
    const ar = t.rc.view(0).apply(spin, marker, 60_000);
    await waitUntil("the busy task to start", 10_000, () => fs.existsSync(marker));
    const sent = Date.now();
    await t.rc.sendSignal("SIGINT");
    await assert.rejects(ar, (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.match((e as Error).message, /did not answer an interrupt within 1000 ms/);
      return true;
    });
    assert.ok(Date.now() - sent < 3000);
  } finally {
    await t.stop();
  }
});
