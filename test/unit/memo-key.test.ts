import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { memoKey } from "../../src/protocol/memo-key.js";

const bytes = (text: string) => new TextEncoder().encode(text);

test("a memo key is a sha256 hex digest, stable for the same source and argument bytes", () => {
  const a = memoKey("(x) => x", [bytes("ab"), bytes("c")]);
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(a, memoKey("(x) => x", [bytes("ab"), bytes("c")]));
  assert.equal(a, memoKey("(x) => x", [Buffer.from("ab"), Buffer.from("c")]), "Buffers and Uint8Arrays with the same bytes agree");
});

test("a different source or different argument bytes give a different key", () => {
  const a = memoKey("(x) => x", [bytes("ab")]);
  assert.notEqual(a, memoKey("(y) => y", [bytes("ab")]));
  assert.notEqual(a, memoKey("(x) => x", [bytes("ac")]));
  assert.notEqual(a, memoKey("(x) => x", []));
});

test("length prefixes keep different splits apart", () => {
  const keys = [
    memoKey("f", [bytes("ab"), bytes("c")]),
    memoKey("f", [bytes("a"), bytes("bc")]),
    memoKey("f", [bytes("abc")]),
    memoKey("f", [bytes("abc"), bytes("")]),
    memoKey("fa", [bytes("bc")]),
    memoKey("fabc", []),
    memoKey("f", [bytes(""), bytes("abc")]),
  ];
  assert.equal(new Set(keys).size, keys.length, "every split has its own key");
});

test("the key is not the plain hash of the concatenation", () => {
  const plain = createHash("sha256").update("fabc").digest("hex");
  assert.notEqual(memoKey("f", [bytes("abc")]), plain);
});

test("only the bytes count: a view into a larger buffer hashes its own bytes", () => {
  const backing = bytes("xxabyy");
  assert.equal(memoKey("f", [backing.subarray(2, 4)]), memoKey("f", [bytes("ab")]));
});

test("bad input is refused", () => {
  assert.throws(() => memoKey(42 as never, []), { name: "TypeError", message: /fnSource must be a string/ });
  assert.throws(() => memoKey("f", ["ab" as never]), { name: "TypeError", message: /argFrames\[0\] must be a Uint8Array, got string/ });
  assert.throws(() => memoKey("f", null as never), { name: "TypeError", message: /argFrames must be an array/ });
});
