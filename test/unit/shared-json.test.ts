import assert from "node:assert/strict";
import { test } from "node:test";
import { SharedJson } from "../../src/controller/shared-json.js";

/** A frame and the object parsed from it, as a message brings them. */
function parsed(json: string): [Buffer, Record<string, unknown>] {
  const frame = Buffer.from(json);
  return [frame, JSON.parse(frame.toString()) as Record<string, unknown>];
}

test("frames with the same bytes give one shared, deeply frozen object", () => {
  const shared = new SharedJson();
  const json = '{"op":"call","fn":{"src":"(i) => i","name":"noop"}}';
  const first = shared.share(...parsed(json));
  const second = shared.share(...parsed(json));
  assert.equal(second, first);
  assert.deepEqual(first, { op: "call", fn: { src: "(i) => i", name: "noop" } });
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.fn));
  assert.throws(() => {
    (first.fn as { src: string }).src = "changed";
  }, TypeError);
});

test("frames with other bytes keep their own objects", () => {
  const shared = new SharedJson();
  const a = shared.share(...parsed('{"status":"ok"}'));
  const b = shared.share(...parsed('{"status":"error"}'));
  assert.notEqual(a, b);
  assert.deepEqual([a, b], [{ status: "ok" }, { status: "error" }]);
});

test("a frame over 16 KiB, or no frame, is neither shared nor frozen", () => {
  const shared = new SharedJson();
  const json = JSON.stringify({ op: "execute", code: "x".repeat(17 * 1024) });
  const first = shared.share(...parsed(json));
  const second = shared.share(...parsed(json));
  assert.notEqual(second, first);
  assert.ok(!Object.isFrozen(first));
  const alone = { op: "clear" };
  assert.equal(shared.share(undefined, alone), alone);
  assert.ok(!Object.isFrozen(alone));
});

test("the cache is bounded: after 64 other frames, a frame gets a new object", () => {
  const shared = new SharedJson();
  const first = shared.share(...parsed('{"label":"first"}'));
  for (let i = 0; i < 64; i++) shared.share(...parsed(`{"label":"other ${i}"}`));
  const again = shared.share(...parsed('{"label":"first"}'));
  assert.notEqual(again, first);
  assert.deepEqual(again, first);
});
