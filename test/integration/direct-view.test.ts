import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { AsyncResult, CompositeError, RemoteError, TaskAborted, TimeoutError, fromModule } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";

declare const engineId: number, os: { hostname(): string }, _: { chunk: unknown }, runMarker: string;

describe("DirectView on 4 real engines", () => {
  let t: TestCluster;
  before(async () => {
    t = await startTestCluster({ n: 4 });
  });
  after(async () => t.stop());

  test("apply: a list in target order on many engines, a scalar on one", async () => {
    const mul = (x: number, y: number) => x * y;
    assert.deepEqual(await t.rc.view().apply(mul, 5, 6), [30, 30, 30, 30]);
    assert.equal(await t.rc.view(2).apply(() => engineId), 2);
    assert.deepEqual(await t.rc.view([3, 1]).apply(() => engineId), [3, 1]);
    assert.deepEqual(await t.rc.view("::2").apply(() => engineId), [0, 2]);
    assert.deepEqual(await t.rc.view(":-1").apply(() => engineId), [0, 1, 2]);
    assert.deepEqual(await t.rc.view("0:2").apply(() => engineId), [0, 1]);
  });

  test("Node's globals are in the namespace, loaded when first read, and user code may replace them", async () => {
    const v = t.rc.view(3);
    const fetchLoaded = () => (process as unknown as { moduleLoadList: string[] }).moduleLoadList.some((name) => name.includes("undici"));
    // Reading Headers loads Node's fetch implementation; a namespace does so only when used.
    assert.equal(await v.apply(fetchLoaded), false);
    assert.deepEqual(
      await v.apply(() => [new Headers({ a: "1" }).get("a"), typeof fetch, new URL("http://h/p").pathname, typeof crypto.randomUUID]),
      ["1", "function", "/p", "function"],
    );
    assert.equal(await v.apply(fetchLoaded), true);
    await v.execute("fetch = () => 'own fetch'; URL = 42");
    assert.deepEqual(await v.apply(() => [(fetch as unknown as () => string)(), URL as unknown]), ["own fetch", 42]);
    await t.rc.clear(3);
    assert.equal(await v.apply(() => typeof URL), "function", "a cleared namespace has Node's globals again");
  });

  test("every function form travels: arrow, function, async, method shorthand, tsx's __name", async () => {
    const v = t.rc.view(0);
    function named(x: number) {
      return x + 1;
    }
    const obj = {
      shorthand(x: number) {
        return x * 10;
      },
      async asyncMethod(x: number) {
        return x - 1;
      },
    };
    const withInner = (x: number) => {
      const inner = (y: number) => y * 2;
      return inner(x);
    };
    assert.equal(await v.apply(named, 1), 2);
    assert.equal(await v.apply(obj.shorthand, 2), 20);
    assert.equal(await v.apply(obj.asyncMethod, 2), 1);
    assert.equal(
      await v.apply(async (x: number) => {
        await new Promise((r) => setTimeout(r, 5));
        return x;
      }, 7),
      7,
    );
    assert.equal(await v.apply(withInner, 4), 8);
  });

  test("push, pull (names and expressions), get/set and execute share one persistent namespace", async () => {
    const dv = t.rc.view();
    await dv.push({ a: 1.032, b: 3453 });
    await dv.execute("c = a + b");
    assert.deepEqual(await t.rc.view(1).pull(["a", "b"]), [1.032, 3453]);
    assert.equal(await t.rc.view(1).pull("c"), 1.032 + 3453);
    assert.equal(await t.rc.view(1).pull("a * 2"), 2.064);
    await dv.set("remoteA", [1, 2]);
    assert.deepEqual(await dv.get("remoteA"), [
      [1, 2],
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    await dv.execute("const kept = 41; function incr(x) { return x + 1 }");
    assert.deepEqual(await dv.apply(() => incr(kept)), [42, 42, 42, 42]);
    assert.deepEqual(await dv.execute("engineId * 2"), [0, 2, 4, 6]);
  });

  test("execute supports top-level await", async () => {
    assert.equal(await t.rc.view(0).execute("await new Promise((r) => setTimeout(() => r(5), 5))"), 5);
  });

  test("run executes a local file's code in every namespace", async () => {
    await t.rc.view().run(path.join(import.meta.dirname, "../fixtures/now.js"));
    assert.deepEqual(await t.rc.view().apply(() => runMarker), ["ran:0", "ran:1", "ran:2", "ran:3"]);
  });

  test("scatter and gather use IPython Parallel's contiguous partitions", async () => {
    const dv = t.rc.view();
    await dv.scatter("part", [0, 1, 2, 3, 4]);
    assert.deepEqual(await dv.pull("part"), [[0, 1], [2], [3], [4]]);
    assert.deepEqual(await dv.gather("part"), [0, 1, 2, 3, 4]);
    await dv.scatter(
      "x",
      Array.from({ length: 16 }, (_, i) => i),
    );
    assert.deepEqual(await dv.apply(() => (globalThis as unknown as { x: number[] }).x.length), [4, 4, 4, 4]);
  });

  test("map runs one task per engine on its partition, in order, stopping at the shortest sequence", async () => {
    const ar = t.rc.view().map(
      (x: number) => x ** 2,
      Array.from({ length: 7 }, (_, i) => i),
    );
    assert.equal(ar.msgIds.length, 4);
    assert.deepEqual(await ar, [0, 1, 4, 9, 16, 25, 36]);
    assert.deepEqual(await t.rc.view().map((x: number, y: number) => x + y, [1, 2, 3, 4, 5], [10, 20, 30]), [11, 22, 33]);
    const placed = t.rc.view().map(() => engineId, [0, 1, 2, 3, 4]);
    assert.deepEqual(await placed, [0, 0, 1, 2, 3]);
  });

  test("remote and parallel wrap functions", async () => {
    const getpid = t.rc.view().remote(() => process.pid);
    const pids = (await getpid()) as number[];
    assert.equal(new Set(pids).size, 4, "four distinct engine processes");
    const pmul = t.rc.view().parallel((x: number[], y: number[]) => x.map((v, i) => v * (y[i] as number)));
    const A = [1, 2, 3, 4, 5, 6];
    assert.deepEqual(await pmul(A, A), [1, 4, 9, 16, 25, 36]);
  });

  test("requireModules binds modules in every namespace", async () => {
    const bound = await t.rc.view().requireModules("node:os", { _: "node:path" });
    assert.deepEqual(bound, [
      ["os", "_"],
      ["os", "_"],
      ["os", "_"],
      ["os", "_"],
    ]);
    assert.equal(typeof (await t.rc.view(0).apply(() => os.hostname())), "string");
    assert.equal(await t.rc.view(0).apply(() => (_ as unknown as { basename(p: string): string }).basename("/a/b.txt")), "b.txt");
  });

  test("fromModule names a function by module; functions nested in pushed values travel", async () => {
    const fixture = path.join(import.meta.dirname, "../fixtures/tasks.mjs");
    assert.equal(await t.rc.view(0).apply(fromModule(fixture), 4), 12);
    const info = (await t.rc.view(1).apply(fromModule(fixture, "hostInfo"), "x")) as { tag: string; pid: number };
    assert.equal(info.tag, "x");
    await t.rc.view().push({ helpers: { square: (x: number) => x * x } });
    assert.deepEqual(
      await t.rc.view().apply(() => (globalThis as unknown as { helpers: { square(x: number): number } }).helpers.square(3)),
      [9, 9, 9, 9],
    );
    assert.equal(
      await t.rc.view(0).apply(
        (f: (x: number) => number) => f(5),
        (x: number) => x + 100,
      ),
      105,
    );
  });

  test("each distinct source is compiled once per engine", async () => {
    const f = (x: number) => x + 1;
    await t.rc.view(3).apply(() => 0);
    const before = (await t.rc
      .view(3)
      .apply(() => (globalThis as unknown as { __parallax_stats__(): { compiled: number } }).__parallax_stats__().compiled)) as number;
    for (let i = 0; i < 5; i++) await t.rc.view(3).apply(f, i);
    const after = (await t.rc
      .view(3)
      .apply(() => (globalThis as unknown as { __parallax_stats__(): { compiled: number } }).__parallax_stats__().compiled)) as number;
    assert.equal(after - before, 1, "f is compiled once for five calls; the probe's own source was cached");
  });

  test("a free variable fails with a RemoteError that names it and says to push or pass it", async () => {
    await assert.rejects(
      t.rc.view(0).apply(() => notDefinedAnywhere),
      (error: unknown) => {
        assert.ok(error instanceof RemoteError);
        assert.equal(error.ename, "ReferenceError");
        assert.equal(error.engineId, 0);
        assert.match(error.evalue, /notDefinedAnywhere is not defined on engine 0/);
        assert.match(error.evalue, /push it first .* or pass it as an argument/);
        assert.match(error.remoteStack, /ReferenceError/);
        assert.equal(error.code, "REMOTE_ERROR");
        return true;
      },
    );
  });

  test("failures on several engines raise a CompositeError with one error per engine", async () => {
    await assert.rejects(
      t.rc.view([0, 2]).apply(() => {
        throw new TypeError(`bad ${engineId}`);
      }),
      (error: unknown) => {
        assert.ok(error instanceof CompositeError);
        assert.equal(error.errors.length, 2);
        assert.deepEqual(
          error.errors.map((e) => (e as RemoteError).engineId),
          [0, 2],
        );
        assert.equal((error.errors[0] as RemoteError).ename, "TypeError");
        return true;
      },
    );
  });

  test("AsyncResult: get with timeout does not cancel; metadata, timing, output and iteration", async () => {
    const ar = t.rc.view([0, 1]).apply(async (ms: number) => {
      console.log(`start ${engineId}`);
      process.stderr.write("warn\n");
      await new Promise((r) => setTimeout(r, ms));
      return engineId;
    }, 300);
    assert.equal(ar.ready(), false);
    await assert.rejects(ar.get({ timeout: 20 }), TimeoutError);
    assert.deepEqual(await ar.get({ timeout: 10_000 }), [0, 1], "the task kept running after the timeout");
    assert.equal(ar.ready(), true);
    assert.equal(ar.successful(), true);
    assert.equal(ar.progress, 2);
    assert.equal(ar.length, 2);
    assert.ok(ar.elapsed >= 300);
    assert.ok(ar.serialTime >= 550 && ar.serialTime < 2000, `serialTime ${ar.serialTime}`);
    assert.ok(ar.wallTime >= 300);
    const metadata = ar.metadata as Array<{
      engineId: number;
      status: string;
      submitted: number;
      started: number;
      completed: number;
      received: number;
    }>;
    assert.deepEqual(
      metadata.map((m) => m.engineId),
      [0, 1],
    );
    for (const m of metadata) {
      assert.equal(m.status, "ok");
      assert.ok(m.submitted <= m.started && m.started <= m.completed && m.completed <= m.received);
    }
    assert.deepEqual(ar.stdout, ["start 0\n", "start 1\n"]);
    assert.deepEqual(ar.stderr, ["warn\n", "warn\n"]);
    let printed = "";
    ar.displayOutputs((text) => (printed += text), { groupby: "engine" });
    assert.equal(printed, "[stdout:0] start 0\n[stderr:0] warn\n[stdout:1] start 1\n[stderr:1] warn\n");
    assert.equal(
      ar.displayOutputs(() => {}),
      "[stdout:0] start 0\n[stdout:1] start 1\n[stderr:0] warn\n[stderr:1] warn\n",
      "by type, as IPython Parallel",
    );
    assert.throws(() => ar.displayOutputs(() => {}, { groupby: "order" as never }), /groupby must be "type" or "engine"/);
    const seen: unknown[] = [];
    for await (const value of ar) seen.push(value);
    assert.deepEqual(seen, [0, 1]);
    const parts = ar.split();
    assert.equal(parts.length, 2);
    assert.ok(parts[1] instanceof AsyncResult);
    assert.equal(await parts[1], 1);
    assert.equal(await ar.wait(10), true);
  });

  test("waitInteractive prints progress lines when stderr is not a TTY", async () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WriteStream;
    const ar = t.rc.view().apply(async () => new Promise((r) => setTimeout(r, 150)));
    await ar.waitInteractive({ interval: 50, stream });
    assert.match(lines.at(-1) ?? "", /^done: 4\/4 tasks in/);
    assert.ok(lines.length >= 2);
  });

  test("abort turns queued tasks into TaskAborted, the running one completes, queueStatus counts them", async () => {
    const v = t.rc.view(1);
    const running = v.apply(async () => new Promise((r) => setTimeout(() => r("finished"), 400)));
    const queued = [v.apply(() => 1), v.apply(() => 2)];
    const status = await t.rc.queueStatus(1);
    assert.equal(status[1]?.queue, 3);
    await v.abort(queued);
    for (const ar of queued) await assert.rejects(ar, TaskAborted);
    assert.equal(await running, "finished");
    assert.equal((queued[0]?.metadata as { status: string }).status, "aborted");
    const after = await v.queueStatus();
    assert.equal(after[1]?.queue, 0);
  });

  test("clear resets the namespace", async () => {
    const v = t.rc.view(2);
    await v.push({ temp: 1 });
    await v.clear();
    assert.equal(await v.apply(() => typeof (globalThis as unknown as { temp?: number }).temp), "undefined");
  });

  test("bad input is refused at once with the value named", () => {
    assert.throws(() => t.rc.view(9).apply(() => 1), /engine 9 is not registered \(registered: \[0, 1, 2, 3\]\)/);
    assert.throws(() => t.rc.view("x:y"), /"x:y" is neither "all" nor a slice/);
    assert.throws(() => t.rc.view().push({ "bad name": 1 }), /"bad name" is not a valid variable name/);
    assert.throws(() => t.rc.view().apply((_o: object) => 1, { s: Symbol("s") }), /args\[0\]\.s cannot be sent to an engine/);
    // @ts-expect-error: JavaScript callers get a clear error for what the types refuse
    assert.throws(() => t.rc.view().apply(42), /must be a function or fromModule/);
    assert.throws(() => t.rc.view().pull([]), /expected a name/);
    const future = t.rc.loadBalancedView().apply(() => 1);
    assert.throws(
      () => t.rc.view(0).apply((x: unknown) => x, future),
      (e: unknown) => e instanceof TypeError && /AsyncResults cannot be arguments of a DirectView call/.test((e as Error).message),
    );
  });
});

declare const incr: (x: number) => number, kept: number, notDefinedAnywhere: unknown;

describe("waitInteractive on a terminal", () => {
  test("draws a cli-progress bar that reaches every task", async () => {
    const { startTestCluster: start } = await import("../helpers/cluster.js");
    const t = await start({ n: 1 });
    try {
      let drawn = "";
      const tty = {
        isTTY: true,
        columns: 80,
        write: (s: string) => ((drawn += s), true),
        cursorTo: () => true,
        clearLine: () => true,
        moveCursor: () => true,
        clearScreenDown: () => true,
        on: () => tty,
        removeListener: () => tty,
      } as unknown as NodeJS.WriteStream;
      const ar = t.rc.view(0).map((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), [100, 100, 100]);
      await ar.waitInteractive({ interval: 50, stream: tty });
      assert.equal(ar.ready(), true);
      assert.match(drawn, /3\/3 tasks/);
    } finally {
      await t.stop();
    }
  });
});
