// AbortSignal on submissions and waits, against real engines: a queued task is aborted, a
// running one interrupted, and the promise rejects with the signal's reason. Cluster and
// Executor are AsyncDisposable.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Cluster, TaskGraph, TaskInterrupted } from "../../src/index.js";
import type { AsyncResult } from "../../src/index.js";
import { alive, startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

/** Announces itself on stdout, then waits (asynchronously) for a long time. */
const hang = (tag: string) => {
  console.log(`started ${tag}`);
  return new Promise<string>((r) => setTimeout(() => r(tag), 60_000));
};

const started = (ar: AsyncResult, tag: string) =>
  waitUntil(`task ${tag} to start`, 15_000, () => String(ar.stdout).includes(`started ${tag}`));

/** Waits until the result's single message has a terminal state, and returns its error's name. */
async function endedAs(ar: AsyncResult): Promise<string | undefined> {
  await ar.wait({ timeout: 10_000 });
  assert.ok(ar.ready(), "the task ended");
  return [ar.metadata].flat()[0]?.errorName;
}

describe("AbortSignal", () => {
  let t: TestCluster;
  before(async () => {
    t = await startTestCluster({ n: 1 });
  });
  after(async () => t.stop());

  test("the signal flag: a running task is interrupted, a queued one aborted, both reject with the reason", async () => {
    const controller = new AbortController();
    const lview = t.rc.loadBalancedView().with({ signal: controller.signal });
    const running = lview.apply(hang, "a");
    const queued = lview.apply(hang, "b");
    await started(running, "a");
    const reason = new Error("user stopped it");
    controller.abort(reason);
    await assert.rejects(running, (e) => e === reason);
    await assert.rejects(queued, (e) => e === reason);
    assert.equal(await endedAs(running), "TaskInterrupted");
    assert.equal(await endedAs(queued), "TaskAborted");
    assert.equal(await t.rc.loadBalancedView().apply(() => "next"), "next", "the engine goes on");
  });

  test("an already aborted signal submits nothing", async () => {
    const before = t.rc.history.length;
    const signal = AbortSignal.abort(new Error("too late"));
    assert.throws(
      () =>
        t.rc
          .loadBalancedView()
          .with({ signal })
          .apply(() => 1),
      /too late/,
    );
    assert.throws(() => t.rc.view().map((x: number) => x, [1, 2], { signal }), /too late/);
    assert.equal(t.rc.history.length, before);
  });

  test("get, wait and waitInteractive take a signal: the wait rejects with its reason and the task is cancelled", async () => {
    for (const how of ["get", "wait", "waitInteractive"] as const) {
      const ar = t.rc.view(0).apply(hang, how);
      await started(ar, how);
      const controller = new AbortController();
      const waiting =
        how === "get"
          ? ar.get({ signal: controller.signal })
          : how === "wait"
            ? ar.wait({ signal: controller.signal })
            : ar.waitInteractive({ signal: controller.signal, interval: 50 });
      controller.abort(new Error(`stop ${how}`));
      await assert.rejects(waiting, new RegExp(`stop ${how}`));
      await assert.rejects(ar, TaskInterrupted);
    }
  });

  test("map with a trailing { signal } (direct and load-balanced) and imap with one", async () => {
    const controller = new AbortController();
    const dmap = t.rc.view().map(hang, ["d"], { signal: controller.signal });
    await started(dmap, "d");
    controller.abort(new Error("stop map"));
    await assert.rejects(dmap, /stop map/);
    assert.equal(await endedAs(dmap), "TaskInterrupted");

    const lcontroller = new AbortController();
    const lmap = t.rc.loadBalancedView().map(hang, ["l1", "l2"], { signal: lcontroller.signal });
    await started(lmap, "l1");
    lcontroller.abort(new Error("stop lmap"));
    await assert.rejects(lmap, /stop lmap/);
    await lmap.wait({ timeout: 10_000 });
    assert.deepEqual(
      [lmap.metadata].flat().map((m) => m.errorName),
      ["TaskInterrupted", "TaskAborted"],
    );

    const icontroller = new AbortController();
    function* naturals() {
      for (let i = 0; ; i++) yield i;
    }
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const v of t.rc
        .loadBalancedView()
        .imap((x: number) => x * 2, naturals(), { maxOutstanding: 2, signal: icontroller.signal })) {
        seen.push(v);
        if (seen.length === 5) icontroller.abort(new Error("stop imap"));
      }
    }, /stop imap/);
    assert.deepEqual(seen, [0, 2, 4, 6, 8]);
    await waitUntil(
      "nothing left queued",
      10_000,
      async () => (await t.rc.queueStatus()).unassigned === 0 && t.rc.outstandingIds.length === 0,
    );
  });

  test("executors: a signal for every submission, or a trailing { signal } for one map", async () => {
    const controller = new AbortController();
    const ex = t.rc.executor(undefined, { signal: controller.signal });
    const future = ex.submit(hang, "ex");
    await started(future, "ex");
    controller.abort(new Error("stop executor"));
    await assert.rejects(future, /stop executor/);
    assert.equal(await endedAs(future), "TaskInterrupted");

    const mcontroller = new AbortController();
    const results: string[] = [];
    await assert.rejects(async () => {
      for await (const v of t.rc.executor().map((s: string) => s, ["x", "y", "z"], { signal: mcontroller.signal })) {
        results.push(v);
        mcontroller.abort(new Error("stop executor map"));
      }
    }, /stop executor map/);
    assert.deepEqual(results, ["x"]);
  });

  test("waitForEngines and TaskGraph.compute reject with the reason", async () => {
    const controller = new AbortController();
    const waiting = t.rc.waitForEngines(5, { timeout: 60_000, signal: controller.signal });
    controller.abort(new Error("stop waiting for engines"));
    await assert.rejects(waiting, /stop waiting for engines/);

    const marker = path.join(t.dir, "graph-task-started");
    const g = new TaskGraph();
    const first = g.task((file: string) => {
      require("node:fs").writeFileSync(file, "");
      return new Promise<string>((r) => setTimeout(() => r(file), 60_000));
    }, marker);
    g.task((s: string) => s.length, first);
    const gcontroller = new AbortController();
    const lview = t.rc.loadBalancedView();
    const computing = g.compute(lview, { signal: gcontroller.signal });
    await waitUntil("the graph's first task to start", 15_000, () => fs.existsSync(marker));
    gcontroller.abort(new Error("stop graph"));
    await assert.rejects(computing, /stop graph/);
    await waitUntil("the graph's tasks to end", 10_000, async () => t.rc.outstandingIds.length === 0);
    assert.equal(await lview.apply(() => "after the graph"), "after the graph");
  });

  test("invalid signals are refused, naming the option", async () => {
    const ar = t.rc.view(0).apply(() => 1);
    await ar;
    assert.throws(() => t.rc.loadBalancedView().with({ signal: "stop" as unknown as AbortSignal }), /flag signal must be an AbortSignal/);
    await assert.rejects(ar.get({ signal: {} as AbortSignal }), /signal must be an AbortSignal/);
    await assert.rejects(
      t.rc.waitForEngines(1, { signal: 1 as unknown as AbortSignal }),
      /waitForEngines: option signal must be an AbortSignal/,
    );
    assert.throws(() => t.rc.view().map((x: number) => x, [1], { sgnal: 1 } as never), /map: unknown option "sgnal"/);
    assert.throws(
      () => t.rc.executor(undefined, { signal: null as unknown as AbortSignal }),
      /executor option signal must be an AbortSignal/,
    );
    await assert.rejects(
      new TaskGraph().compute(t.rc.loadBalancedView(), { signal: "x" as unknown as AbortSignal }),
      /compute: option signal must be an AbortSignal/,
    );
  });
});

test("await using: a Cluster stops at the end of its scope, an Executor shuts down", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-test-"));
  let pids: number[] = [];
  try {
    {
      await using cluster = await new Cluster({ n: 1, profileDir: dir }).start();
      await using rc = await cluster.connectClient();
      await rc.waitForEngines(1, { timeout: 30_000 });
      {
        await using ex = rc.executor();
        assert.equal(await ex.submit((x: number) => x + 1, 1), 2);
      }
      pids = [cluster.controller?.pid ?? 0, ...Object.values(cluster.engineSets).flatMap((s) => s.pids ?? [])];
      assert.ok(pids.length >= 2 && pids.every((p) => p > 0 && alive(p)));
    }
    await waitUntil("every process of the cluster to exit", 10_000, () => pids.every((p) => !alive(p)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
