import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  Client,
  Dependency,
  ImpossibleDependency,
  InvalidDependency,
  RemoteError,
  TaskAborted,
  TaskTimeout,
  UnmetDependency,
  asCompleted,
  depend,
  requireModules,
  wait,
} from "../../src/index.js";
import type { AsyncResult, Future, TaskMetadata } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";

declare const engineId: number;
const meta = (ar: AsyncResult) => ar.metadata as TaskMetadata;
const hold = (ms: number) => new Promise((r) => setTimeout(() => r(engineId), ms));

describe("LoadBalancedView on 2 real engines", () => {
  let t: TestCluster;
  before(async () => {
    t = await startTestCluster({ n: 2, heartbeatInterval: 200 });
  });
  after(async () => t.stop());

  test("apply returns a scalar and says which engine ran it", async () => {
    const ar = t.rc.loadBalancedView().apply((x: number) => x * 2, 21);
    assert.equal(await ar, 42);
    assert.ok([0, 1].includes(meta(ar).engineId as number));
    assert.equal(meta(ar).status, "ok");
  });

  test("map makes balanced chunks, keeps order, and spreads over both engines", async () => {
    const lview = t.rc.loadBalancedView().with({ chunksize: 3 });
    const ar = lview.map(
      (x: number) => x * 10,
      Array.from({ length: 10 }, (_, i) => i),
    );
    assert.equal(ar.msgIds.length, 4);
    assert.deepEqual(
      ar.taskEntries.map((e) => e.count),
      [3, 3, 2, 2],
    );
    assert.deepEqual(await ar, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    const engines = new Set((ar.metadata as TaskMetadata[]).map((m) => m.engineId));
    assert.equal(engines.size, 2);
  });

  test("ordered: false iterates in completion order", async () => {
    const ar = t.rc
      .loadBalancedView()
      .with({ ordered: false })
      .map((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), [300, 10]);
    const seen: unknown[] = [];
    for await (const v of ar) seen.push(v);
    assert.deepEqual(seen, [10, 300]);
  });

  test("imap consumes an infinite iterable with bounded work in flight", async () => {
    function* naturals() {
      for (let i = 0; ; i++) yield i;
    }
    const out: number[] = [];
    for await (const v of t.rc.loadBalancedView().imap((x: number) => x * x, naturals(), { maxOutstanding: 4 })) {
      out.push(v);
      if (out.length === 10) break;
    }
    assert.deepEqual(out, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
  });

  test("invalid flags throw synchronously, name the flag and value, and leave the view unchanged", () => {
    const lview = t.rc.loadBalancedView().with({ retries: 1 });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ retries: -1 }, /flag retries must be an integer >= 0, got -1/],
      [{ timeout: 0 }, /flag timeout must be a number > 0, got 0/],
      [{ execTimeout: "1s" }, /flag execTimeout must be a number, got "1s"/],
      [{ chunksize: 0 }, /flag chunksize/],
      [{ priority: 1.5 }, /flag priority must be an integer/],
      [{ ordered: "yes" }, /flag ordered must be a boolean/],
      [{ pure: 1 }, /flag pure must be a boolean/],
      [{ label: 3 }, /flag label must be a string/],
      [{ targets: "0" }, /flag targets must be an engine id/],
      [{ after: 42 }, /flag after must be a msg id/],
      [{ follow: {} }, /flag follow must be a msg id/],
      [{ bogus: true }, /unknown flag "bogus"/],
    ];
    for (const [flags, message] of cases) {
      assert.throws(() => lview.with(flags as never), message);
      assert.throws(() => lview.setFlags(flags as never), message);
    }
    assert.deepEqual(lview.currentFlags.retries, 1);
    assert.equal(lview.currentFlags.timeout, undefined);
  });

  test("after: a task starts only once its dependencies completed", async () => {
    const lview = t.rc.loadBalancedView();
    const a = lview.apply(hold, 200);
    const b = lview.with({ after: a }).apply(() => "b");
    assert.equal(await b, "b");
    assert.ok((meta(b).started as number) >= (meta(a).completed as number));
    assert.deepEqual(meta(b).dependsOn, [{ msgId: a.msgIds[0], kind: "after" }]);
  });

  test("after and futures: load-balanced tasks wait for a direct-view task and run once it finished", async () => {
    const go = path.join(os.tmpdir(), `parallax-go-${process.pid}-${Date.now()}`);
    const gate = (file: string) =>
      new Promise<string>((resolve) => {
        const fsm = require("node:fs") as typeof import("node:fs");
        const poll = setInterval(() => {
          if (!fsm.existsSync(file)) return;
          clearInterval(poll);
          resolve("direct");
        }, 10);
      });
    try {
      const direct = t.rc.view(0).apply(gate, go);
      const lview = t.rc.loadBalancedView();
      const dependent = lview.with({ after: direct }).apply(() => "after the direct task");
      const consumer = lview.apply((s: string) => `${s}, passed on`, direct);
      // The controller reads one client's messages in order: both wait for the direct task now.
      assert.equal((await t.rc.queueStatus()).unassigned, 2);
      fs.writeFileSync(go, "");
      assert.equal(await direct, "direct");
      assert.equal(await dependent.get({ timeout: 20_000 }), "after the direct task");
      assert.equal(await consumer.get({ timeout: 20_000 }), "direct, passed on");
      assert.ok((meta(dependent).started as number) >= (meta(direct).completed as number));
    } finally {
      fs.rmSync(go, { force: true });
    }
  });

  test("follow: a task runs on the engine where its dependency ran", async () => {
    const lview = t.rc.loadBalancedView();
    for (let i = 0; i < 3; i++) {
      const a = lview.apply(() => engineId);
      const where = await a;
      const b = lview.with({ follow: a }).apply(() => engineId);
      assert.equal(await b, where);
    }
  });

  test("a dependency on an unknown msg id fails at once with InvalidDependency", async () => {
    await assert.rejects(
      t.rc
        .loadBalancedView()
        .with({ after: "no-such-task" })
        .apply(() => 1),
      (e: unknown) => {
        assert.ok(e instanceof InvalidDependency);
        assert.match(e.message, /depends on no-such-task, which the scheduler never saw/);
        return true;
      },
    );
  });

  test("a failed dependency makes dependents impossible, cascading down the graph", async () => {
    const lview = t.rc.loadBalancedView();
    const a = lview.apply(() => {
      throw new Error("upstream broke");
    });
    const b = lview.with({ after: a }).apply(() => "b");
    const c = lview.with({ after: b }).apply(() => "c");
    const cleanup = lview.with({ after: new Dependency([a], { success: false, failure: true }) }).apply(() => "cleanup ran");
    await assert.rejects(a, RemoteError);
    for (const ar of [b, c]) await assert.rejects(ar, ImpossibleDependency);
    assert.equal(await cleanup, "cleanup ran");
  });

  test("a task waiting longer than its timeout fails with TaskTimeout", async () => {
    const lview = t.rc.loadBalancedView();
    const blockers = [lview.apply(hold, 1500), lview.apply(hold, 1500)];
    const late = lview.with({ timeout: 200 }).apply(() => "never");
    await assert.rejects(late, TaskTimeout);
    await Promise.all(blockers);
  });

  test("retries re-run a failed task on a different engine", async () => {
    const ar = t.rc
      .loadBalancedView()
      .with({ retries: 1 })
      .apply(() => {
        if ((globalThis as unknown as { failedHere?: boolean }).failedHere === undefined && engineId === 0) throw new Error("flaky");
        return engineId;
      });
    const value = await ar;
    assert.equal(meta(ar).engineId, value);
  });

  test("when every engine rejected a task, it fails with its last error instead of waiting forever", async () => {
    const ar = t.rc
      .loadBalancedView()
      .with({ retries: 5 })
      .apply(() => {
        throw new Error(`always fails on ${engineId}`);
      });
    await assert.rejects(ar, /always fails on/);
  });

  test("throwing UnmetDependency sends the task to another engine", async () => {
    const ar = t.rc.loadBalancedView().apply(() => {
      if (engineId === 0) throw new UnmetDependency();
      return engineId;
    });
    assert.equal(await ar, 1);
  });

  test("depend() and requireModules() run their check on the engine first", async () => {
    const onlyOne = depend((wanted: number) => engineId === wanted, 1)(() => engineId);
    for (let i = 0; i < 3; i++) assert.equal(await t.rc.loadBalancedView().apply(onlyOne), 1);
    const withOs = requireModules("node:os")(() => "has os");
    assert.equal(await t.rc.loadBalancedView().apply(withOs), "has os");
    const impossible = requireModules("parallax-module-that-does-not-exist")(() => 1);
    await assert.rejects(t.rc.loadBalancedView().apply(impossible), /is not met on engine|no engine can run/);
  });

  test("pure tasks are memoized: the same function and arguments run once", async () => {
    await t.rc.view().push({ runs: 0 });
    const counted = (x: number) => {
      (globalThis as unknown as { runs: number }).runs++;
      return x + 1;
    };
    const lview = t.rc.loadBalancedView().with({ pure: true });
    const first = lview.apply(counted, 1);
    const second = lview.apply(counted, 1);
    const other = lview.apply(counted, 2);
    assert.deepEqual([await first, await second, await other], [2, 2, 3]);
    const runs = (await t.rc.view().pull("runs")) as number[];
    assert.equal(
      runs.reduce((a, b) => a + b, 0),
      2,
      "the duplicate shared the first execution",
    );
  });

  test("priority: higher first among runnable tasks, FIFO within a priority", async () => {
    const lview = t.rc.loadBalancedView().with({ targets: [0] });
    const blocker = lview.apply(hold, 300);
    const low = lview.with({ priority: 0 }).apply(() => Date.now());
    const high = lview.with({ priority: 5 }).apply(() => Date.now());
    const high2 = lview.with({ priority: 5 }).apply(() => Date.now());
    await Promise.all([blocker, low, high, high2]);
    assert.ok((meta(high).started as number) <= (meta(high2).started as number));
    assert.ok((meta(high2).completed as number) <= (meta(low).started as number) + 1);
    assert.deepEqual([meta(blocker).engineId, meta(low).engineId, meta(high).engineId], [0, 0, 0]);
  });

  test("AsyncResults as arguments become dependencies and are replaced by their values", async () => {
    const lview = t.rc.loadBalancedView();
    const x = lview.apply(async () => {
      await new Promise((r) => setTimeout(r, 100));
      return 1;
    });
    const y = lview.apply(() => 2);
    const z = lview.apply((a: number, b: number) => a + b, x, y);
    assert.equal(await z, 3);
    assert.ok((meta(z).started as number) >= (meta(x).completed as number));
    const bad = lview.apply(() => {
      throw new TypeError("no value");
    });
    const dependent = lview.apply((v: number) => v, bad);
    await assert.rejects(dependent, (e: unknown) => {
      assert.ok(e instanceof ImpossibleDependency);
      assert.match(String((e as Error).cause), /TypeError: no value/);
      return true;
    });
  });

  test("returnExceptions gives one entry per input item", async () => {
    const ar = t.rc
      .loadBalancedView()
      .with({ chunksize: 2 })
      .map(
        (x: number) => {
          if (x === 3) throw new Error("three");
          return x;
        },
        [0, 1, 2, 3, 4],
      );
    const values = (await ar.get({ returnExceptions: true })) as unknown[];
    assert.equal(values.length, 5);
    assert.deepEqual(values.slice(0, 2), [0, 1]);
    assert.ok(values[2] instanceof RemoteError && values[3] instanceof RemoteError);
    assert.equal(values[4], 4);
  });

  test("executor: submit, lazy ordered map, asCompleted and wait", async () => {
    const ex = t.rc.executor();
    const fut = ex.submit((a: number, b: number) => a + b, 1, 2);
    assert.equal(await fut, 3);
    const out: unknown[] = [];
    for await (const r of ex.map(
      (ms: number, tag: string) => new Promise((res) => setTimeout(() => res(tag), ms)),
      [50, 10, 30],
      ["a", "b", "c"],
    ))
      out.push(r);
    assert.deepEqual(out, ["a", "b", "c"]);
    const slow = ex.submit(hold, 300);
    const fast = ex.submit(() => "fast");
    const order: Future[] = [];
    for await (const done of asCompleted([slow, fast])) order.push(done);
    assert.deepEqual(order, [fast, slow]);
    const s2 = ex.submit(hold, 400);
    const f2 = ex.submit(() => 1);
    const { done, pending } = await wait([s2, f2], { returnWhen: "FIRST_COMPLETED" });
    assert.ok(done.has(f2));
    assert.ok(pending.has(s2));
    await ex.shutdown();
    assert.throws(() => ex.submit(() => 1), /after shutdown/);
    assert.equal(s2.ready(), true, "shutdown waited for submitted futures");
    await assert.rejects(wait([f2], { returnWhen: "SOMETIMES" as never }), /returnWhen must be/);
  });

  test("abort of queued load-balanced tasks, queueStatus and hub queries", async () => {
    const lview = t.rc.loadBalancedView();
    const blockers = [lview.apply(hold, 400), lview.apply(hold, 400)];
    const queued = lview.apply(() => "queued");
    const status = await t.rc.queueStatus();
    assert.equal(status.unassigned, 1);
    await queued.abort();
    await assert.rejects(queued, TaskAborted);
    await Promise.all(blockers);
    const done = lview.apply(() => "stored");
    await done;
    const second = await Client.connect({ connectionFile: t.cluster.files.client });
    try {
      const fetched = second.getResult(done.msgIds[0] as string);
      assert.equal(await fetched, "stored");
      assert.equal((fetched.metadata as TaskMetadata).engineId, meta(done).engineId);
      assert.ok((await second.hubHistory()).includes(done.msgIds[0] as string));
      const running = lview.apply(hold, 300);
      // The hub handles one client's messages in order: once this answers, it knows the task.
      await t.rc.queueStatus();
      assert.equal(
        await second.getResult(running.msgIds[0] as string),
        await running,
        "a running task's result is fetched once it is done",
      );
      const again = second.resubmit(done.msgIds[0] as string);
      assert.equal(await again, "stored");
      assert.notEqual(again.msgIds[0], done.msgIds[0]);
    } finally {
      await second.close();
    }
  });
});
