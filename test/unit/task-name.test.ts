import assert from "node:assert/strict";
import { test } from "node:test";
import { fromModule } from "../../src/client/functions.js";
import { canFunction } from "../../src/protocol/canning.js";
import { taskName } from "../../src/protocol/task-name.js";

test("a task keeps one name as a live function, a canned function and a module reference", () => {
  function integrate(): number {
    return 1;
  }
  assert.equal(taskName(integrate), "integrate");
  assert.equal(taskName(canFunction(integrate)), "integrate", "canned, as the controller and the engine see it");
  const ref = fromModule("./tasks.mjs", "heavy");
  assert.equal(taskName(ref), "heavy");
  assert.equal(taskName(JSON.parse(JSON.stringify(ref))), "heavy", "a module reference after the wire");
});

test("a task without a name takes the caller's fallback, or none", () => {
  assert.equal(
    taskName(() => 0),
    undefined,
  );
  assert.equal(
    taskName(() => 0, "anonymous"),
    "anonymous",
  );
  assert.equal(taskName(canFunction(() => 0)), "anonymous", "canned functions are named when canned");
  assert.equal(taskName(undefined, "call"), "call");
  assert.equal(taskName({ name: "", exportName: "" }, "task"), "task");
  assert.equal(taskName(null), undefined);
});
