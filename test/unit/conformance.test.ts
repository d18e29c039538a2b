import assert from "node:assert/strict";
import vm from "node:vm";
import { test } from "node:test";
import { checkOptions } from "../../src/options.js";
import { globToRegExp } from "../../src/controller/db-query.js";
import { CompositeError, RemoteError, SerializationError } from "../../src/errors.js";
import { sequencesToArrays } from "../../src/graph/partition.js";
import { CAN_KEY, canFunction, canValue } from "../../src/protocol/canning.js";
import { freeNames } from "../../src/protocol/free-names.js";
import { TaskGraph } from "../../src/graph/task-graph.js";
import { visualize } from "../../viz/index.js";

const none = () => false;

test("free names: what a function reads without declaring", () => {
  assert.deepEqual(freeNames("(x) => x + y", none), ["y"]);
  assert.deepEqual(freeNames("function f(a, { b, c: [d] }, ...e) { var g = a + b + d + e.length; return f(g) }", none), []);
  assert.deepEqual(freeNames("(o) => o.prop + o[key] + ({ k: v, [w]: 1, short }).k", none), ["key", "short", "v", "w"]);
  assert.deepEqual(freeNames("() => typeof maybe === 'undefined' ? 0 : 1", none), []);
  assert.deepEqual(freeNames("() => { try { return Bun.version } catch { return fallback } }", none), ["fallback"]);
  assert.deepEqual(freeNames("() => { outer: for (;;) { break outer } class K { m() { return this } } return new K() }", none), []);
  assert.deepEqual(freeNames("function () { return arguments.length + undefinedThing }", none), ["undefinedThing"]);
  assert.deepEqual(
    freeNames("(x) => Math.max(x, limit)", (n) => n in globalThis),
    ["limit"],
  );
  assert.deepEqual(freeNames("async (u) => (await import(u)).default(os)", none), ["os"]);
  assert.equal(freeNames("not a function (", none), undefined);
});

test("canned functions carry their free names, without the sender's globals", () => {
  const canned = canFunction((x: number) => Math.round(x) + (globalThis as unknown as { k: number }).k);
  assert.equal(canned[CAN_KEY], "source");
  assert.equal(canned.free, undefined);
  const src = "(x) => x * factor + Math.PI";
  const fromSource = vm.runInNewContext(src) as Function;
  assert.deepEqual(canFunction(fromSource).free, ["factor"]);
});

test("$glob follows fnmatch: classes, negation, literal brackets and wildcards", () => {
  const cases: Array<[string, string, boolean]> = [
    ["[ab]x", "ax", true],
    ["[ab]x", "cx", false],
    ["[*]", "*", true],
    ["[*]", "a", false],
    ["[?]", "?", true],
    ["[?]", "z", false],
    ["a[!b]c", "abc", false],
    ["a[!b]c", "axc", true],
    ["[a-c]", "b", true],
    ["[]]", "]", true],
    ["fit*", "fit-1", true],
    ["[", "[", true],
    ["a.b", "axb", false],
    ["[^a]", "^", true],
    ["?", "\n", true],
  ];
  for (const [glob, value, expected] of cases)
    assert.equal(globToRegExp(glob).test(value), expected, `${glob} on ${JSON.stringify(value)}`);
});

test("CompositeError shows four failures then counts the rest, as IPython Parallel", () => {
  const errors = Array.from(
    { length: 7 },
    (_, i) => new RemoteError({ ename: "Error", evalue: `e${i}`, remoteStack: "", engineId: i % 2, item: i }),
  );
  const composite = new CompositeError(errors, { summary: "map of f: 7 of 9 items failed" });
  assert.deepEqual(composite.message.split("\n"), [
    "map of f: 7 of 9 items failed:",
    "  [item 0, engine 0] Error: e0",
    "  [item 1, engine 1] Error: e1",
    "  [item 2, engine 0] Error: e2",
    "  [item 3, engine 1] Error: e3",
    ".... 3 more exceptions ...",
  ]);
  assert.equal(composite.errors.length, 7);
  assert.equal(new CompositeError(errors.slice(0, 2)).message.split("\n").length, 3);
});

test("class instances with methods are refused when sending; data and built-ins pass", () => {
  class Counter {
    n = 0;
    inc() {
      return ++this.n;
    }
  }
  class Sub extends Counter {}
  class OnlyData {
    a = 1;
  }
  assert.throws(
    () => canValue({ c: new Counter() }, "args", undefined, { refuseInstances: true }),
    (e: unknown) => {
      assert.ok(e instanceof SerializationError);
      assert.match(e.message, /args\.c is an instance of Counter, and its methods \(inc\) would not travel/);
      return true;
    },
  );
  assert.throws(() => canValue([new Sub()], "args", undefined, { refuseInstances: true }), /args\[0\] is an instance of Sub/);
  for (const ok of [new OnlyData(), new Date(), new Map(), new Set(), /x/, new Error("e"), new Uint8Array(2)]) {
    assert.doesNotThrow(() => canValue([ok], "args", undefined, { refuseInstances: true }));
  }
  assert.doesNotThrow(() => canValue(new Counter(), "result"), "results are not refused");
  assert.doesNotThrow(
    () => canValue([Promise.resolve(1)], "args", undefined, { refuseInstances: true }),
    "left to serialization, which names promises",
  );
});

test("objects from another realm (engine results) are walked like plain objects", () => {
  const foreign = vm.runInNewContext("({ f: (x) => x + 1, list: [() => 2], m: new Map([['k', () => 3]]) })") as object;
  const { value, canned } = canValue(foreign, "result");
  assert.equal(canned, true);
  const v = value as { f: { [CAN_KEY]: string }; list: Array<{ [CAN_KEY]: string }>; m: Map<string, { [CAN_KEY]: string }> };
  assert.equal(v.f[CAN_KEY], "source");
  assert.equal(v.list[0]?.[CAN_KEY], "source");
  assert.equal(v.m.get("k")?.[CAN_KEY], "source");
});

test("options are checked by name; map sequences are read from any iterable", () => {
  assert.throws(() => checkOptions({ timout: 1 }, ["timeout"], "get"), /get: unknown option "timout" \(valid: timeout\)/);
  assert.throws(() => checkOptions(5, ["timeout"], "get"), /get: options must be an object, got number/);
  assert.doesNotThrow(() => checkOptions({ timeout: undefined }, ["timeout"], "get"));
  assert.deepEqual(sequencesToArrays([new Set([1, 2]), "ab", { length: 2, 0: "x", 1: "y" }, [1].values()], "map"), [
    [1, 2],
    ["a", "b"],
    ["x", "y"],
    [1],
  ]);
  assert.throws(() => sequencesToArrays([7], "map"), /every sequence must be iterable or array-like, got 7 \(number\) as sequence 0/);
});

test("visualize refuses options it does not know", async () => {
  const g = new TaskGraph();
  g.task((x: number) => x, 1);
  await assert.rejects(visualize(g, { fromat: "dot" } as never), /visualize: unknown option "fromat"/);
  assert.match(await visualize(g, { format: "dot", rankdir: "LR" }), /rankdir/);
});
