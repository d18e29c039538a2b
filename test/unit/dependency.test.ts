import assert from "node:assert/strict";
import { test } from "node:test";
import { Dependency } from "../../src/graph/dependency.js";
import type { DependencyOptions } from "../../src/graph/dependency.js";

type Outcome = "P" | "S" | "F"; // pending, succeeded, failed

/** The finished sets for ids whose outcomes are given in order. */
function sets(ids: readonly string[], outcomes: readonly Outcome[]): [Set<string>, Set<string>] {
  const completed = new Set<string>();
  const failed = new Set<string>();
  ids.forEach((id, i) => {
    if (outcomes[i] === "S") completed.add(id);
    if (outcomes[i] === "F") failed.add(id);
  });
  return [completed, failed];
}

/** "M" met, "U" unreachable, "-" neither (still waiting). */
function verdict(dep: Dependency, completed: Set<string>, failed: Set<string>): string {
  const met = dep.met(completed, failed);
  const unreachable = dep.unreachable(completed, failed);
  assert.ok(!(met && unreachable), "never both met and unreachable");
  return met ? "M" : unreachable ? "U" : "-";
}

const OPTION_SETS: Array<Required<DependencyOptions>> = [
  { all: true, success: true, failure: false },
  { all: false, success: true, failure: false },
  { all: true, success: false, failure: true },
  { all: false, success: false, failure: true },
  { all: true, success: true, failure: true },
  { all: false, success: true, failure: true },
];

test("truth table over two ids: every all/any × success/failure combination and every outcome pair", () => {
  const pairs: Array<[Outcome, Outcome]> = [
    ["P", "P"],
    ["P", "S"],
    ["P", "F"],
    ["S", "P"],
    ["S", "S"],
    ["S", "F"],
    ["F", "P"],
    ["F", "S"],
    ["F", "F"],
  ];
  // Columns follow `pairs`: PP PS PF SP SS SF FP FS FF.
  const expected: Record<string, string> = {
    "all success": "--U-MUUUU", // any failure spoils it; needs both to succeed
    "any success": "-M-MMM-MU", // one success is enough; spoiled only when both failed
    "all failure": "-U-UUU-UM", // "cleanup only if everything failed"
    "any failure": "--M-UMMMM", // "cleanup on failure": one failure is enough
    "all success failure": "----MM-MM", // "run after regardless": waits for both
    "any success failure": "-MMMMMMMM", // runs after the first to finish
  };
  for (const options of OPTION_SETS) {
    const name = [options.all ? "all" : "any", options.success ? "success" : "", options.failure ? "failure" : ""]
      .filter(Boolean)
      .join(" ");
    const dep = new Dependency(["a", "b"], options);
    const actual = pairs.map((pair) => verdict(dep, ...sets(["a", "b"], pair))).join("");
    assert.equal(actual, expected[name], name);
  }
});

test("truth table over one id: all and any agree", () => {
  const expected = ["-MU", "-MU", "-UM", "-UM", "-MM", "-MM"]; // columns: pending, succeeded, failed
  OPTION_SETS.forEach((options, row) => {
    const dep = new Dependency(["a"], options);
    const actual = (["P", "S", "F"] as const).map((o) => verdict(dep, ...sets(["a"], [o]))).join("");
    assert.equal(actual, expected[row], JSON.stringify(options));
  });
});

test("IPython Parallel's own cases: mixed outcomes with success only are unmet and unreachable with all, met with any", () => {
  const [completed, failed] = sets(["a", "b", "c", "d"], ["S", "S", "F", "F"]);
  const all = new Dependency(["a", "b", "c", "d"]);
  assert.equal(all.met(completed, failed), false);
  assert.equal(all.unreachable(completed, failed), true);
  const any = new Dependency(["a", "b", "c", "d"], { all: false });
  assert.equal(any.met(completed, failed), true);
  assert.equal(any.unreachable(completed, failed), false);
});

test("over three ids, once every id has finished exactly one of met and unreachable holds", () => {
  const outcomes: Outcome[] = ["P", "S", "F"];
  for (const options of OPTION_SETS) {
    const dep = new Dependency(["a", "b", "c"], options);
    for (const x of outcomes)
      for (const y of outcomes)
        for (const z of outcomes) {
          const [completed, failed] = sets(["a", "b", "c"], [x, y, z]);
          const v = verdict(dep, completed, failed);
          if (![x, y, z].includes("P")) assert.notEqual(v, "-", `${JSON.stringify(options)} ${x}${y}${z} is decided`);
        }
  }
});

test("an empty dependency is always met and never unreachable, whatever its options", () => {
  for (const options of OPTION_SETS) {
    const dep = new Dependency([], options);
    assert.equal(dep.size, 0);
    assert.equal(dep.met(new Set(), new Set()), true);
    assert.equal(dep.unreachable(new Set(["x"]), new Set(["y"])), false);
  }
  assert.equal(new Dependency().met(new Set(), new Set()), true);
});

test("finished tasks outside the dependency do not affect it", () => {
  const dep = new Dependency(["a"]);
  assert.equal(verdict(dep, new Set(["b", "c"]), new Set(["d"])), "-");
  assert.equal(verdict(dep, new Set(["a", "b"]), new Set(["d"])), "M");
});

test("defaults are all, success only", () => {
  const dep = new Dependency(["a"]);
  assert.deepEqual([dep.all, dep.success, dep.failure], [true, true, false]);
});

test("AsyncResult-like objects are flattened to their msg ids; duplicates collapse in first-seen order", () => {
  const dep = new Dependency(["a", { msgIds: ["b", "c"] }, "a", { msgIds: ["c", "d"] }]);
  assert.deepEqual(dep.ids, ["a", "b", "c", "d"]);
  assert.equal(dep.size, 4);
  assert.ok(Object.isFrozen(dep.ids));
});

test("a bare msg id or AsyncResult is one dependency, and any iterable of them works", () => {
  assert.deepEqual(new Dependency("abc").ids, ["abc"], "a string is not split into characters");
  assert.deepEqual(new Dependency({ msgIds: ["m1", "m2"] }).ids, ["m1", "m2"]);
  assert.deepEqual(new Dependency(new Set(["x", "y"])).ids, ["x", "y"]);
  function* ids() {
    yield "g1";
    yield { msgIds: ["g2"] };
  }
  assert.deepEqual(new Dependency(ids()).ids, ["g1", "g2"]);
});

test("toJSON and fromJSON round-trip; fromJSON fills in defaults", () => {
  const dep = new Dependency(["a", { msgIds: ["b"] }], { all: false, success: true, failure: true });
  assert.deepEqual(dep.toJSON(), { ids: ["a", "b"], all: false, success: true, failure: true });
  assert.deepEqual(JSON.parse(JSON.stringify(dep)), dep.toJSON());
  const back = Dependency.fromJSON(dep.toJSON());
  assert.ok(back instanceof Dependency);
  assert.deepEqual(back.toJSON(), dep.toJSON());
  assert.deepEqual(Dependency.fromJSON({ ids: ["z"] }).toJSON(), { ids: ["z"], all: true, success: true, failure: false });
});

test("success and failure both false is refused, naming the options, whatever all is", () => {
  for (const all of [true, false]) {
    assert.throws(() => new Dependency(["a"], { all, success: false, failure: false }), {
      name: "TypeError",
      message: /success and failure cannot both be false/,
    });
  }
  assert.throws(
    () => Dependency.fromJSON({ ids: [], all: true, success: false, failure: false }),
    /success and failure cannot both be false/,
  );
});

test("bad options and ids are refused with what was wrong", () => {
  assert.throws(() => new Dependency(["a"], { all: "yes" as never }), {
    name: "TypeError",
    message: /option all must be a boolean, got "yes"/,
  });
  for (const name of ["success", "failure"]) {
    assert.throws(() => new Dependency(["a"], { [name]: 1 }), {
      name: "TypeError",
      message: new RegExp(`option ${name} must be a boolean, got 1`),
    });
  }
  assert.deepEqual(new Dependency(["a"], { all: undefined, failure: undefined }).toJSON(), {
    ids: ["a"],
    all: true,
    success: true,
    failure: false,
  });
  assert.throws(() => new Dependency(["a"], { sucess: false } as never), {
    name: "TypeError",
    message: /unknown option "sucess" \(valid: all, success, failure\)/,
  });
  assert.throws(() => new Dependency([42 as never]), {
    name: "TypeError",
    message: /expected msg ids or AsyncResults, got 42 \(number\) at item 0/,
  });
  assert.throws(() => new Dependency(["ok", ""]), { name: "TypeError", message: /item 1 must be a non-empty msg id/ });
  assert.throws(() => new Dependency([{ msgIds: [7] } as never]), {
    name: "TypeError",
    message: /item 0.msgIds\[0\] must be a non-empty msg id/,
  });
  assert.throws(() => new Dependency(5 as never), { name: "TypeError", message: /expected msg ids or AsyncResults, got 5/ });
  assert.throws(() => Dependency.fromJSON({ ids: "a" } as never), { name: "TypeError", message: /fromJSON: expected \{ ids: string\[\]/ });
});
