import assert from "node:assert/strict";
import { test } from "node:test";
import { Dependency } from "../../src/graph/dependency.js";

const done = (...ids: string[]) => new Set(ids);

test("IPython Parallel's truth table: met and unreachable for every all/success/failure combination", () => {
  // Two dependencies a and b; outcomes: both succeeded, both failed, one of each, one pending.
  const outcomes: Record<string, [Set<string>, Set<string>]> = {
    bothOk: [done("a", "b"), done()],
    bothFailed: [done(), done("a", "b")],
    mixed: [done("a"), done("b")],
    oneOkOnePending: [done("a"), done()],
    oneFailedOnePending: [done(), done("a")],
    nonePending: [done(), done()],
  };
  // expected [met, unreachable] for each option set and outcome
  const table: Array<[{ all: boolean; success: boolean; failure: boolean }, Record<string, [boolean, boolean]>]> = [
    [{ all: true, success: true, failure: false }, { bothOk: [true, false], bothFailed: [false, true], mixed: [false, true], oneOkOnePending: [false, false], oneFailedOnePending: [false, true], nonePending: [false, false] }],
    [{ all: false, success: true, failure: false }, { bothOk: [true, false], bothFailed: [false, true], mixed: [true, false], oneOkOnePending: [true, false], oneFailedOnePending: [false, false], nonePending: [false, false] }],
    [{ all: true, success: false, failure: true }, { bothOk: [false, true], bothFailed: [true, false], mixed: [false, true], oneOkOnePending: [false, true], oneFailedOnePending: [false, false], nonePending: [false, false] }],
    [{ all: false, success: false, failure: true }, { bothOk: [false, true], bothFailed: [true, false], mixed: [true, false], oneOkOnePending: [false, false], oneFailedOnePending: [true, false], nonePending: [false, false] }],
    [{ all: true, success: true, failure: true }, { bothOk: [true, false], bothFailed: [true, false], mixed: [true, false], oneOkOnePending: [false, false], oneFailedOnePending: [false, false], nonePending: [false, false] }],
    [{ all: false, success: true, failure: true }, { bothOk: [true, false], bothFailed: [true, false], mixed: [true, false], oneOkOnePending: [true, false], oneFailedOnePending: [true, false], nonePending: [false, false] }],
  ];
  for (const [options, expected] of table) {
    const dep = new Dependency(["a", "b"], options);
    for (const [name, [completed, failed]] of Object.entries(outcomes)) {
      assert.deepEqual([dep.met(completed, failed), dep.unreachable(completed, failed)], expected[name], `${JSON.stringify(options)} ${name}`);
    }
  }
});

test("an empty dependency is always met and never unreachable", () => {
  const dep = new Dependency([]);
  assert.equal(dep.met(done(), done()), true);
  assert.equal(dep.unreachable(done(), done("x")), false);
});

test("AsyncResult-like objects are flattened to their msg ids; duplicates collapse", () => {
  const dep = new Dependency(["a", { msgIds: ["b", "c"] }, "a"]);
  assert.deepEqual(dep.ids, ["a", "b", "c"]);
  assert.equal(dep.size, 3);
  assert.deepEqual(Dependency.fromJSON(dep.toJSON()).toJSON(), { ids: ["a", "b", "c"], all: true, success: true, failure: false });
});

test("success and failure both false is refused; so are non-boolean options and bad ids", () => {
  assert.throws(() => new Dependency(["a"], { success: false, failure: false }), /cannot both be false/);
  assert.throws(() => new Dependency(["a"], { all: "yes" as never }), /option all must be a boolean/);
  assert.throws(() => new Dependency([42 as never]), /expected msg ids or AsyncResults/);
});
