import assert from "node:assert/strict";
import test from "node:test";
import {
  ControllerLostError,
  EngineError,
  ExecutionTimeout,
  ImpossibleDependency,
  InvalidDependency,
  ProtocolError,
  RemoteError,
  ResultCulled,
  TaskAborted,
  TaskInterrupted,
  TaskTimeout,
  fromWire,
  isParallaxError,
  thrownToWire,
  toWire,
} from "../../src/errors.js";
import type { WireError, ParallaxError } from "../../src/errors.js";

const raisedByParallax: ParallaxError[] = [
  new EngineError("engine 3 exited (signal SIGKILL)", 3),
  new TaskAborted("aborted"),
  new TaskTimeout("waited too long"),
  new ExecutionTimeout("ran too long"),
  new TaskInterrupted("interrupted"),
  new InvalidDependency("unknown id"),
  new ProtocolError("too big"),
  new ResultCulled("culled"),
  new ControllerLostError("gone"),
];

test("errors the controller or an engine raises come back as the same class, code and message", () => {
  for (const origin of ["controller", "engine"] as const) {
    for (const error of raisedByParallax) {
      const back = fromWire(JSON.parse(JSON.stringify(toWire(error, origin))) as WireError, undefined);
      assert.equal(back.constructor, error.constructor, `${error.name} from the ${origin}`);
      assert.equal((back as ParallaxError).code, error.code);
      assert.equal(back.message, error.message);
    }
  }
});

test("an engine error keeps the engine id; an impossible dependency keeps the upstream error as its cause", () => {
  const lost = fromWire(toWire(new EngineError("engine 2 exited", 2), "controller", 2), undefined) as EngineError;
  assert.equal(lost.engineId, 2);
  const upstream = toWire(new ImpossibleDependency("task b cannot run", { cause: "TypeError: bad input" }), "controller");
  assert.equal(upstream.remoteStack, "TypeError: bad input");
  const back = fromWire(upstream, undefined);
  assert.ok(back instanceof ImpossibleDependency);
  assert.equal((back.cause as Error).message, "TypeError: bad input");
});

test("user code's errors arrive as RemoteError, even when they carry a Parallax code", () => {
  const thrownByUser: WireError = {
    ename: "TaskTimeout",
    evalue: "my own timeout",
    remoteStack: "TaskTimeout: my own timeout\n    at task (a.js:1:1)",
    code: "TASK_TIMEOUT",
    origin: "user",
    engineId: 1,
  };
  const back = fromWire(thrownByUser, undefined);
  assert.ok(back instanceof RemoteError);
  assert.equal(back.ename, "TaskTimeout");
  assert.equal(back.engineId, 1);
  const enoent = fromWire(
    { ename: "Error", evalue: "ENOENT: no such file", remoteStack: "Error: ENOENT", code: "ENOENT", origin: "user" },
    0,
  ) as RemoteError;
  assert.ok(enoent instanceof RemoteError);
  assert.equal(enoent.engineId, 0, "the reply's engine fills in an id the error lacks");
});

test("a reply without an error description still fails with a RemoteError that says so", () => {
  const back = fromWire(undefined, 4);
  assert.ok(back instanceof RemoteError);
  assert.match(back.message, /without an error description/);
});

test("isParallaxError recognises errors of another copy of the module, and nothing else", async () => {
  const copy = (await import(`../../src/errors.js?copy=${Date.now()}`)) as typeof import("../../src/errors.js");
  const foreign = new copy.TaskTimeout("from another copy");
  assert.equal(foreign instanceof TaskTimeout, false, "instanceof cannot see across copies");
  assert.equal(isParallaxError(foreign), true);
  assert.equal(isParallaxError(new TaskTimeout("here")), true);
  assert.equal(isParallaxError(new Error("plain")), false);
  assert.equal(isParallaxError({ code: "TASK_TIMEOUT", message: "look-alike" }), false);
  assert.equal(isParallaxError(null), false);
});

test("what a task threw is user code's, unless its code is one the engine raises itself inside a task", () => {
  const info = { ename: "TaskInterrupted", evalue: "stopped", remoteStack: "TaskInterrupted: stopped", engineId: 2 };
  const interrupted = thrownToWire(info, "TASK_INTERRUPTED");
  assert.equal(interrupted.origin, "engine");
  assert.ok(fromWire(interrupted, undefined) instanceof TaskInterrupted);
  for (const code of ["ENOENT", "TASK_TIMEOUT", undefined]) {
    const wire = thrownToWire({ ...info, ename: "Error" }, code);
    assert.equal(wire.origin, "user", String(code));
    assert.equal(wire.code, code);
    assert.ok(fromWire(wire, undefined) instanceof RemoteError);
  }
});
