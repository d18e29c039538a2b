/**
 * IPython Parallel's own expectations, translated: values and functions both ways, maps over
 * any iterable, result timing and shapes, labels, errors that point at their cause.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import {
  AsyncMapResult,
  AsyncResult,
  Cluster,
  CompositeError,
  RemoteError,
  SerializationError,
  TaskGraph,
  PxSession,
  TimeoutError,
  makePx,
  requireModules,
} from "../../src/index.js";
import type { TaskMetadata } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";

declare const engineId: number, querystring: { stringify(o: object): string }, nothere: unknown, sideEffect: number;
declare const holder: { b: number }, markerFile: string, fsx: { existsSync(p: string): boolean; writeFileSync(p: string, d: string): void };

/** A stream that records what is written to it (a non-TTY stderr). */
function recorder(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join("") };
}

describe("IPython Parallel conformance on 2 real engines", () => {
  let t: TestCluster;
  let dir: string;
  before(async () => {
    t = await startTestCluster({ n: 2 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-conf-"));
    await t.rc.view().requireModules({ fsx: "node:fs" });
  });
  after(async () => {
    await t.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("execute and run succeed when their completion value cannot be copied back", async () => {
    assert.deepEqual(await t.rc.view().execute("f = (x) => 2 * x"), [undefined, undefined]);
    assert.equal(await t.rc.view(0).execute("os2 = require('node:os')"), undefined);
    assert.deepEqual(await t.rc.view().apply(() => (globalThis as unknown as { f(x: number): number }).f(4)), [8, 8]);
    assert.equal(await t.rc.view(1).execute("21 * 2"), 42, "a value that can be copied still comes back");
  });

  test("functions come back from engines, rebuilt from their source", async () => {
    await t.rc.view().push({ g: (x: number) => 2 * x });
    const g = (await t.rc.view(0).pull("g")) as (x: number) => number;
    assert.equal(typeof g, "function");
    assert.equal(g(21), 42);
    const [a, b] = (await t.rc.view().pull(["g", "1 + 1"])) as [[(x: number) => number, number], unknown];
    assert.equal(a[0](5), 10);
    assert.equal(a[1], 2);
    assert.ok(Array.isArray(b));
    const made = (await t.rc.view(1).apply(() => ({ triple: (x: number) => 3 * x }))) as { triple(x: number): number };
    assert.equal(made.triple(3), 9, "functions nested in a result come back too");
    const lview = t.rc.loadBalancedView();
    const maker = lview.apply(() => ({ inc: (x: number) => x + 1 }));
    assert.equal(
      await lview.apply((m: { inc(x: number): number }) => m.inc(1), maker),
      2,
      "a result holding a function can be another task's argument",
    );
  });

  test("requireModules(...)(fn) binds the modules it checks for fn", async () => {
    const stringify = requireModules("node:querystring")((o: object) => querystring.stringify(o));
    assert.equal(await t.rc.loadBalancedView().apply(stringify, { a: 1, b: "x" }), "a=1&b=x");
    const aliased = requireModules({ qs: "node:querystring" })((o: object) =>
      (globalThis as unknown as { qs: typeof querystring }).qs.stringify(o),
    );
    assert.equal(await t.rc.loadBalancedView().apply(aliased, { c: 3 }), "c=3");
  });

  test("set and push accept dotted names: they set a property of an engine object", async () => {
    const dv = t.rc.view();
    await dv.set("holder", { b: 1, keep: true });
    await dv.set("holder.b", 0);
    assert.deepEqual(await dv.get("holder.b"), [0, 0]);
    assert.deepEqual(await dv.get("holder"), [
      { b: 0, keep: true },
      { b: 0, keep: true },
    ]);
    await dv.push({ "holder.c": 5 });
    assert.deepEqual(await t.rc.view(0).apply(() => (holder as unknown as { c: number }).c), 5);
    await assert.rejects(
      t.rc.view(0).set("missingObject.b", 1),
      (e: unknown) => e instanceof RemoteError && /missingObject/.test(e.message),
    );
    assert.throws(() => dv.set("a..b", 1), /not a valid variable name or dotted path/);
  });

  test("map reads any iterable: generators, Sets, iterators of arrays, on both views", async () => {
    function* gen() {
      yield 1;
      yield 2;
      yield 3;
    }
    const lview = t.rc.loadBalancedView();
    assert.deepEqual(await lview.map((x: number) => x * 2, gen()), [2, 4, 6]);
    assert.deepEqual(await lview.map((x: number) => x + 1, new Set([10, 20])), [11, 21]);
    assert.deepEqual(await t.rc.view().map((x: number) => x * x, [1, 2, 3].values()), [1, 4, 9]);
    assert.deepEqual(await t.rc.view().map((x: number, y: number) => x + y, new Set([1, 2, 3]), gen()), [2, 4, 6]);
    assert.throws(() => lview.map((x: number) => x, 42 as unknown as number[]), /every sequence must be iterable or array-like/);
    async function* agen() {
      yield 1;
    }
    assert.throws(() => lview.map((x: number) => x, agen() as unknown as number[]), /async iterable; use imap/);
  });

  test("imap: ordered false yields in completion order; returnExceptions yields errors; unknown options throw", async () => {
    const marker = path.join(dir, "imap-released");
    await t.rc.view().push({ markerFile: marker });
    // Item 0 finishes only once the client has been handed item 1 (the loop writes the marker),
    // so completion order is 1, 0 however the replies race; in submission order it would give up.
    const gated = async (x: number) => {
      const giveUp = Date.now() + 20_000;
      while (x === 0 && !fsx.existsSync(markerFile)) {
        if (Date.now() > giveUp) return -1;
        await new Promise((r) => setTimeout(r, 10));
      }
      return x;
    };
    const seen: number[] = [];
    for await (const v of t.rc.loadBalancedView().imap(gated, [0, 1], { ordered: false, maxOutstanding: 2 })) {
      seen.push(v);
      if (v === 1) fs.writeFileSync(marker, "x");
    }
    assert.deepEqual(seen, [1, 0]);

    const results: unknown[] = [];
    const failing = (x: number) => {
      if (x === 2) throw new RangeError("two");
      return x;
    };
    for await (const v of t.rc.loadBalancedView().imap(failing, [1, 2, 3], { returnExceptions: true })) results.push(v);
    assert.equal(results.length, 3);
    assert.deepEqual([results[0], results[2]], [1, 3]);
    assert.ok(results[1] instanceof RemoteError && results[1].ename === "RangeError");

    const bogus = t.rc.loadBalancedView().imap((x: number) => x, [1], { bogus: true } as never);
    await assert.rejects(bogus.next(), /imap: unknown option "bogus"/);
  });

  test("waitInteractive returnWhen FIRST_EXCEPTION returns at the first failure", async () => {
    const marker = path.join(dir, "fe-released");
    await t.rc.view().push({ markerFile: marker });
    const lview = t.rc.loadBalancedView();
    const slow = lview.apply(async () => {
      while (!fsx.existsSync(markerFile)) await new Promise((r) => setTimeout(r, 10));
      return "slow";
    });
    const failing = lview.apply(() => {
      throw new Error("first");
    });
    const both = AsyncResult.join(slow, failing);
    const out = recorder();
    assert.equal(await both.waitInteractive({ returnWhen: "FIRST_EXCEPTION", interval: 50, stream: out.stream }), true);
    assert.equal(slow.ready(), false, "returned before the slow task finished");
    await assert.rejects(both.get({ returnWhen: "FIRST_EXCEPTION" }), (e: unknown) => e instanceof RemoteError && e.evalue === "first");
    await assert.rejects(both.get({ returnWhen: "FIRST_COMPLETED" as "ALL_COMPLETED" }), /FIRST_COMPLETED is not supported/);
    assert.equal(slow.ready(), false, "get(FIRST_EXCEPTION) threw before the slow task finished");
    fs.writeFileSync(marker, "x");
    assert.equal(await slow, "slow");
    await assert.rejects(both.waitInteractive({ returnWhen: "SOMETIMES" as never }), /returnWhen must be/);
    await assert.rejects(both.waitInteractive({ bogus: 1 } as never), /unknown option "bogus"/);
    assert.equal(await lview.apply(() => 1).waitInteractive({ timeout: 10_000, stream: out.stream }), true);
  });

  test("gather yields items, not partitions", async () => {
    const dv = t.rc.view();
    await dv.scatter("part", [1, 2, 3, 4, 5]);
    const gathered = dv.gather<number>("part");
    assert.ok(gathered instanceof AsyncMapResult);
    const items: number[] = [];
    for await (const x of gathered) items.push(x);
    assert.deepEqual(items, [1, 2, 3, 4, 5]);
    assert.deepEqual(await dv.gather("part"), [1, 2, 3, 4, 5]);
  });

  test("an executor map made before shutdown() still runs when consumed afterwards", async () => {
    const ex = t.rc.executor();
    const mapped = ex.map((x: number) => x * 3, [1, 2, 3]);
    await ex.shutdown();
    const out: unknown[] = [];
    for await (const v of mapped) out.push(v);
    assert.deepEqual(out, [3, 6, 9]);
    assert.throws(() => ex.map((x: number) => x, [1]), /after shutdown/);
    await assert.rejects(ex.shutdown({ bogus: 1 } as never), /unknown option "bogus"/);
  });

  test("parallel(f) partitions; parallel(f).map maps element-wise, on both views", async () => {
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.deepEqual(await t.rc.loadBalancedView().with({ chunksize: 2 }).parallel(sum)([1, 2, 3, 4, 5]), [3, 7, 5]);
    assert.deepEqual(
      await t.rc
        .loadBalancedView()
        .parallel((x: number) => x * 10)
        .map([1, 2, 3]),
      [10, 20, 30],
    );
    assert.deepEqual(await t.rc.view().parallel(sum)([1, 2, 3, 4]), [3, 7]);
    assert.deepEqual(
      await t.rc
        .view()
        .parallel((x: number) => -x)
        .map([1, 2, 3]),
      [-1, -2, -3],
    );
    assert.throws(() => t.rc.view().parallel((a: number[], b: number[]) => a.concat(b))([1, 2], [1]), /equal length/);
  });

  test("wallTime and serialTime throw before ready; wallTime runs from first submitted to last received", async () => {
    const marker = path.join(dir, "timing-released");
    await t.rc.view().push({ markerFile: marker });
    const ar = t.rc.view().apply(async () => {
      while (!fsx.existsSync(markerFile)) await new Promise((r) => setTimeout(r, 10));
      return new Uint8Array(4 << 20);
    });
    assert.throws(
      () => ar.wallTime,
      (e: unknown) => e instanceof TimeoutError && e.message === "result not ready",
    );
    assert.throws(
      () => ar.serialTime,
      (e: unknown) => e instanceof TimeoutError && e.message === "result not ready",
    );
    fs.writeFileSync(marker, "x");
    await ar;
    const meta = ar.metadata as TaskMetadata[];
    const expected = Math.max(...meta.map((m) => m.received as number)) - Math.min(...meta.map((m) => m.submitted));
    assert.equal(ar.wallTime, expected);
    assert.equal(ar.elapsed, ar.wallTime);
    assert.equal(
      ar.serialTime,
      meta.reduce((s, m) => s + ((m.completed as number) - (m.started as number)), 0),
    );
  });

  test("getDict keys results by engine, and refuses when one engine ran two tasks", async () => {
    assert.deepEqual(
      await t.rc
        .view()
        .apply(() => engineId * 10)
        .getDict(),
      { 0: 0, 1: 10 },
    );
    assert.deepEqual(
      await t.rc
        .view(1)
        .apply(() => "one")
        .getDict(),
      { 1: "one" },
    );
    const twice = t.rc
      .loadBalancedView()
      .with({ targets: 0 })
      .map((x: number) => x, [1, 2]);
    await assert.rejects(twice.getDict(), /cannot build a dict, 2 tasks ran on engine 0/);
  });

  test("AsyncResult.join combines results; split of a one-message result is itself", async () => {
    const lview = t.rc.loadBalancedView();
    const a = lview.apply(() => "a");
    const b = lview.apply(() => "b");
    const joined = AsyncResult.join(a, b);
    assert.deepEqual(joined.msgIds, [...a.msgIds, ...b.msgIds]);
    assert.deepEqual(await joined, ["a", "b"]);
    assert.equal(AsyncResult.join(a), a);
    assert.deepEqual(a.split(), [a]);
    const maps = AsyncResult.join(
      lview.map((x: number) => x, [1, 2]),
      lview.map((x: number) => -x, [3]),
    );
    assert.ok(maps instanceof AsyncMapResult);
    assert.deepEqual(await maps, [1, 2, -3]);
    assert.throws(() => AsyncResult.join(), /at least one/);
  });

  test("CompositeError shows the first four failures, then how many more; map failures name the item and engine", async () => {
    const all = t.rc.loadBalancedView().map(
      (x: number) => {
        throw new Error(`bad ${x}`);
      },
      [0, 1, 2, 3, 4, 5],
    );
    await assert.rejects(all, (e: unknown) => {
      assert.ok(e instanceof CompositeError);
      assert.equal(e.errors.length, 6);
      const lines = e.message.split("\n");
      assert.match(lines[0] as string, /6 of 6 items failed/);
      assert.match(e.message, /\[item 0, engine \d\] Error: bad 0/);
      assert.match(e.message, /\[item 3, engine \d\] Error: bad 3/);
      assert.doesNotMatch(e.message, /bad 4/);
      assert.equal(lines.at(-1), ".... 2 more exceptions ...");
      return true;
    });
    const one = t.rc.view().map(
      (x: number) => {
        if (x === 5) throw new TypeError(`bad item ${x}`);
        return x;
      },
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    await assert.rejects(one, (e: unknown) => {
      assert.ok(e instanceof CompositeError);
      assert.match(e.message, /1 of 8 items failed/);
      assert.match(e.message, /\[item 5, engine 1\] TypeError: bad item 5/);
      assert.equal((e.errors[0] as RemoteError).item, 5);
      return true;
    });
  });

  test("remote stacks keep the user's frames only; thrown non-Errors keep their value", async () => {
    const lview = t.rc.loadBalancedView();
    await assert.rejects(
      lview.apply(function failsHere() {
        throw new Error("mine");
      }),
      (e: unknown) => {
        assert.ok(e instanceof RemoteError);
        assert.match(e.remoteStack, /^Error: mine/);
        assert.match(e.remoteStack, /failsHere/);
        assert.doesNotMatch(e.remoteStack, /src\/engine|node:internal|node:vm|parallax:invoke/);
        return true;
      },
    );
    await assert.rejects(
      lview.apply(() => {
        throw "boom";
      }),
      (e: unknown) => {
        assert.ok(e instanceof RemoteError);
        assert.equal(e.thrown, "boom");
        assert.equal(e.evalue, "boom");
        assert.match(e.message, /boom/);
        return true;
      },
    );
    await assert.rejects(
      lview.apply(() => {
        throw { code: 7, why: "plain" };
      }),
      (e: unknown) => {
        assert.ok(e instanceof RemoteError);
        assert.deepEqual(e.thrown, { code: 7, why: "plain" });
        return true;
      },
    );
  });

  test("free names are checked before the call, with advice for modules, values and pulls", async () => {
    const v = t.rc.view(0);
    // `path` is this test module's import: on the engine it is a module to load there.
    await assert.rejects(
      v.apply(() => path.join("a", "b")),
      (e: unknown) => {
        assert.ok(e instanceof RemoteError && e.ename === "ReferenceError");
        assert.match(e.evalue, /path is not defined on engine 0/);
        assert.match(e.evalue, /require\("node:path"\)/);
        assert.match(e.evalue, /requireModules\("node:path"\)/);
        assert.match(e.evalue, /fromModule/);
        assert.doesNotMatch(e.evalue, /push it/);
        return true;
      },
    );
    await v.execute("delete globalThis.sideEffect");
    await assert.rejects(
      v.apply(() => {
        (globalThis as unknown as { sideEffect: number }).sideEffect = 1;
        return nothere;
      }),
      (e: unknown) =>
        e instanceof RemoteError &&
        /nothere is not defined on engine 0.*push it first \(view\.push\(\{ nothere \}\)\) or pass it as an argument/.test(e.evalue),
    );
    assert.equal(await v.execute("typeof sideEffect"), "undefined", "the function did not start");
    await assert.rejects(v.pull("nothere"), (e: unknown) => {
      assert.ok(e instanceof RemoteError);
      assert.match(e.evalue, /nothere is not defined on engine 0: pull reads the engine's namespace/);
      assert.doesNotMatch(e.evalue, /pass it as an argument/);
      return true;
    });
    // Names used only under typeof, or inside try, are not required.
    assert.equal(await v.apply(() => typeof sideEffect), "undefined");
  });

  test("class instances with methods are refused at submit; plain data and data-only classes travel", async () => {
    class Point {
      constructor(readonly x: number) {}
      norm() {
        return Math.abs(this.x);
      }
    }
    class Data {
      x = 3;
    }
    assert.throws(
      () => t.rc.loadBalancedView().apply((p: Point) => p.norm(), new Point(2)),
      (e: unknown) => {
        assert.ok(e instanceof SerializationError);
        assert.match(e.message, /args\[0\] is an instance of Point, and its methods \(norm\) would not travel/);
        return true;
      },
    );
    assert.throws(() => t.rc.view().push({ p: new Point(1) }), /instance of Point/);
    assert.equal(await t.rc.loadBalancedView().apply((d: { x: number }) => d.x, new Data()), 3);
    assert.deepEqual(
      await t.rc.loadBalancedView().apply((d: Date, m: Map<string, number>) => [d.getTime(), m.get("k")], new Date(5), new Map([["k", 1]])),
      [5, 1],
    );
  });

  test("displayOutputs of a one-engine result prints the bare text", async () => {
    const one = t.rc.view(0).apply(() => console.log("hello"));
    await one;
    assert.equal(
      one.displayOutputs(() => {}),
      "hello\n",
    );
    const many = t.rc.view().apply(() => console.log(`hi ${engineId}`));
    await many;
    assert.equal(
      many.displayOutputs(() => {}),
      "[stdout:0] hi 0\n[stdout:1] hi 1\n",
    );
  });

  test("getResult accepts an AsyncResult; the client waits for all or some outstanding results", async () => {
    const ar = t.rc.loadBalancedView().apply(() => 7);
    assert.equal(await t.rc.getResult(ar), 7);
    assert.deepEqual(await t.rc.getResult([ar, ar.msgIds[0] as string]), [7, 7]);
    assert.throws(() => t.rc.getResult({} as never), /expected msg ids, history indices or AsyncResults/);
    const marker = path.join(dir, "wait-released");
    await t.rc.view().push({ markerFile: marker });
    const slow = t.rc.loadBalancedView().apply(async () => {
      while (!fsx.existsSync(markerFile)) await new Promise((r) => setTimeout(r, 10));
      return 1;
    });
    assert.equal(await t.rc.wait([slow], { timeout: 50 }), false);
    assert.equal(await t.rc.wait(undefined, { timeout: 50 }), false, "all outstanding results include the slow one");
    fs.writeFileSync(marker, "x");
    assert.equal(await t.rc.wait(), true);
    assert.equal(await t.rc.wait(["no-such-msg-id", 0]), true, "ids not outstanding count as done");
    assert.equal(await t.rc.waitInteractive(undefined, { stream: recorder().stream }), true);
    await assert.rejects(t.rc.wait(undefined, { timeot: 5 } as never), /unknown option "timeot"/);
  });

  test("DirectView label flag: with/setFlags, recorded by the hub, invalid flags leave the view unchanged", async () => {
    const dv = t.rc.view();
    const tagged = dv.with({ label: "tagged-dv" });
    const ar = tagged.apply(() => engineId);
    await ar;
    assert.deepEqual(
      (ar.metadata as TaskMetadata[]).map((m) => m.label),
      ["tagged-dv", "tagged-dv"],
    );
    const records = await t.rc.dbQuery({ label: "tagged-dv" }, ["label", "engine_id"]);
    assert.deepEqual(records.map((r) => r.engine_id).sort(), [0, 1]);
    assert.equal(dv.currentFlags.label, undefined, "with() leaves the original view alone");
    dv.setFlags({ label: "set-dv" });
    await dv.execute("1");
    assert.equal((await t.rc.dbQuery({ label: "set-dv" })).length, 2);
    assert.throws(() => dv.setFlags({ label: 5 as never }), /flag label must be a string/);
    assert.throws(() => dv.with({ lable: "x" } as never), /unknown option "lable"/);
    assert.equal(dv.currentFlags.label, "set-dv");
    assert.equal(dv.length, 2);
    assert.equal([...t.rc].length, 2);
  });

  test("defaults and lengths as in IPython Parallel: getResult() and resubmit() take the last task; len(view)", async () => {
    const last = t.rc.loadBalancedView().apply(() => "latest");
    await last;
    assert.equal(await t.rc.getResult(), "latest");
    const again = t.rc.resubmit();
    assert.equal(await again, "latest");
    assert.notEqual(again.msgIds[0], last.msgIds[0]);
    assert.equal(t.rc.loadBalancedView().length, 2);
    assert.equal(t.rc.loadBalancedView().with({ targets: [1] }).length, 1);
    assert.equal(t.rc.length, 2);
  });

  test("options of compute and startController are checked by name", async () => {
    await assert.rejects(
      new TaskGraph().compute(t.rc.loadBalancedView(), { returnExceptons: true } as never),
      /compute: unknown option "returnExceptons"/,
    );
    await assert.rejects(t.cluster.startController({ restor: true } as never), /startController: unknown option "restor"/);
  });

  test("boolean options of methods are checked, naming the method, the option and the value", async () => {
    const lview = t.rc.loadBalancedView();
    const cases: Array<[() => Promise<unknown> | unknown, RegExp]> = [
      [
        () => new TaskGraph().compute(lview, { returnExceptions: "yes" as never }),
        /compute: returnExceptions must be a boolean, got "yes"/,
      ],
      [() => t.cluster.startController({ restore: 1 as never }), /startController: restore must be a boolean, got 1/],
      [() => lview.apply(() => 1).get({ returnExceptions: "no" as never }), /get: returnExceptions must be a boolean, got "no"/],
      [() => t.rc.view().scatter("s", [1, 2], { flatten: "true" as never }), /scatter: flatten must be a boolean, got "true"/],
      [() => t.rc.executor().shutdown({ wait: 0 as never }), /shutdown: wait must be a boolean, got 0/],
      [() => t.rc.executor().shutdown({ cancelFutures: "all" as never }), /shutdown: cancelFutures must be a boolean, got "all"/],
      [() => t.rc.shutdown({ hub: "yes" as never }), /shutdown: hub must be a boolean, got "yes"/],
      [() => t.rc.shutdown({ targets: [0, -1] }), /shutdown: targets must be an engine id or a list of engine ids, got \[0,-1\]/],
      [() => t.rc.shutdown({ targets: "0" as never }), /shutdown: targets must be an engine id or a list of engine ids, got "0"/],
      [() => makePx(t.rc.view(), { quiet: "yes" as never }), /makePx: quiet must be a boolean, got "yes"/],
      [() => makePx(t.rc.view(), { display: 5 as never }), /makePx: display must be an object with write and inspect functions, got 5/],
      [() => makePx(t.rc.view(), { display: { write: "stdout" as never } }), /makePx: display.write must be a function, got "stdout"/],
      [() => makePx(t.rc.view(), { targets: 1.5 }), /targets: engine id must be an integer, got 1.5/],
      [() => makePx(t.rc.view(), { bogus: 1 } as never), /makePx: unknown option "bogus"/],
      [() => new PxSession(t.rc.view(), { block: "no" as never }), /PxSession: block must be a boolean, got "no"/],
      [() => new PxSession(t.rc.view(), { display: { inspect: 1 as never } }), /PxSession: display.inspect must be a function, got 1/],
    ];
    for (const [call, message] of cases) await assert.rejects(async () => await call(), message);
    assert.deepEqual(await t.rc.view().apply(() => 1), [1, 1], "nothing was shut down");
  });

  test("dbQuery $glob understands fnmatch classes", async () => {
    const lview = t.rc.loadBalancedView();
    await Promise.all(["ax", "bx", "cx", "*x", "?x"].map((label) => lview.with({ label: `glob-${label}` }).apply(() => 0)));
    const labels = async (glob: string) => (await t.rc.dbQuery({ label: { $glob: glob } }, ["label"])).map((r) => r.label).sort();
    assert.deepEqual(await labels("glob-[ab]x"), ["glob-ax", "glob-bx"]);
    assert.deepEqual(await labels("glob-[!ab]x"), ["glob-*x", "glob-?x", "glob-cx"]);
    assert.deepEqual(await labels("glob-[*]x"), ["glob-*x"]);
    assert.deepEqual(await labels("glob-[?]x"), ["glob-?x"]);
    assert.deepEqual(await labels("glob-?x"), ["glob-*x", "glob-?x", "glob-ax", "glob-bx", "glob-cx"]);
  });
});

describe("load-balanced work submitted before any engine registers", () => {
  test("warns once, says so in waitInteractive, and runs when an engine comes", async () => {
    const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-noeng-"));
    const cluster = new Cluster({ n: 1, profileDir });
    await cluster.startController();
    const rc = await cluster.connectClient();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => {
      if ((w as { code?: string }).code === "PARALLAX_NO_ENGINES") warnings.push(w);
    };
    process.on("warning", onWarning);
    try {
      const lview = rc.loadBalancedView();
      const a = lview.apply(() => "ran");
      const b = lview.apply(() => "ran too");
      await new Promise((r) => setImmediate(r));
      assert.equal(warnings.length, 1, "one warning for two submissions");
      assert.match(warnings[0]?.message ?? "", /no engines are registered/);
      const out = recorder();
      const waiting = AsyncResult.join(a, b).waitInteractive({ interval: 50, stream: out.stream });
      await cluster.startEngines(1);
      assert.equal(await waiting, true);
      assert.match(out.text(), /no engines are registered yet/);
      assert.deepEqual(await AsyncResult.join(a, b), ["ran", "ran too"]);
    } finally {
      process.off("warning", onWarning);
      await rc.close();
      await cluster.stop();
      fs.rmSync(profileDir, { recursive: true, force: true });
    }
  });
});
