/**
 * The flag parser of `.px`, `.pxcell` and `.pxconfig`: flags before code, target values, and
 * errors that name the offending flag.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PxUsageError, parsePxFlags } from "../../src/index.js";
import { parseTargets } from "../../src/client/px.js";

test("flags come before the code; the rest of the line is the code, untouched", () => {
  assert.deepEqual(parsePxFlags("a = 5"), { flags: {}, code: "a = 5" });
  assert.deepEqual(parsePxFlags("--targets ::2 --noblock x * 2"), { flags: { targets: "::2", block: false }, code: "x * 2" });
  assert.deepEqual(parsePxFlags("-t 1 -b --local  f( 1,  2 )"), { flags: { targets: 1, block: true, local: true }, code: "f( 1,  2 )" });
  assert.deepEqual(parsePxFlags("--targets=0:2 -a y"), { flags: { targets: "0:2", block: false }, code: "y" });
  assert.deepEqual(parsePxFlags("--block --noblock z"), { flags: { block: false }, code: "z" }, "the last of block/noblock wins");
  assert.deepEqual(parsePxFlags("x --local"), { flags: {}, code: "x --local" }, "flags after the code are code");
  assert.deepEqual(parsePxFlags("--targets all"), { flags: { targets: "all" }, code: "" });
});

test("code that starts with a dash: numbers pass, anything else after --", () => {
  assert.deepEqual(parsePxFlags("-1 + x"), { flags: {}, code: "-1 + x" });
  assert.deepEqual(parsePxFlags("-.5 * x"), { flags: {}, code: "-.5 * x" });
  assert.deepEqual(parsePxFlags("--local -- --counter"), { flags: { local: true }, code: "--counter" });
  assert.deepEqual(parsePxFlags("-- -x"), { flags: {}, code: "-x" });
});

test("target values: all, one id, lists, slices", () => {
  assert.equal(parseTargets("all"), "all");
  assert.equal(parseTargets("3"), 3);
  assert.equal(parseTargets("-1"), -1);
  assert.deepEqual(parseTargets("0,2"), [0, 2]);
  assert.deepEqual(parseTargets("[0, 2]"), [0, 2]);
  assert.deepEqual(parseTargets("[1]"), [1]);
  for (const slice of ["0:2", "::2", ":-1", "1:", "::-1"]) assert.equal(parseTargets(slice), slice);
});

test("bad flags and values are PxUsageErrors whose message names the flag", () => {
  const rejects = (input: string, message: RegExp, command: "px" | "pxconfig" = "px") =>
    assert.throws(
      () => parsePxFlags(input, command),
      (e: unknown) => {
        assert.ok(e instanceof PxUsageError, `${input}: ${String(e)}`);
        assert.equal(e.code, "PX_USAGE_ERROR");
        assert.match(e.message, message);
        return true;
      },
    );
  rejects("--bogus x", /unknown flag --bogus/);
  rejects("-q x", /unknown flag -q/);
  rejects("--counter", /unknown flag --counter .*put -- before code that starts with a dash/);
  rejects("--targets", /flag --targets needs a value/);
  rejects("-t", /flag -t needs a value/);
  rejects("--targets= x", /flag --targets needs a value/);
  rejects("--targets evens x", /flag --targets: "evens" is not all, an engine id, a list/);
  rejects("--targets 0,x y", /flag --targets: "0,x" is not a list of engine ids/);
  rejects("-t 1:2:3:4 y", /flag -t: "1:2:3:4"/);
  rejects("--block=yes x", /flag --block takes no value/);
  rejects("--local", /flag --local is only for \.px and \.pxcell/, "pxconfig");
  rejects("--targets 1 x = 1", /\.pxconfig takes only flags .*got "x = 1"/, "pxconfig");
});

test(".pxconfig takes flags only", () => {
  assert.deepEqual(parsePxFlags("--targets 0:2 --noblock", "pxconfig"), { flags: { targets: "0:2", block: false }, code: "" });
  assert.deepEqual(parsePxFlags("", "pxconfig"), { flags: {}, code: "" });
});
