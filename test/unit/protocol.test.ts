import assert from "node:assert/strict";
import { test } from "node:test";
import { Codec, DELIMITER } from "../../src/protocol/message.js";
import { decodeValue, encodeValue, OUT_OF_BAND_MIN_BYTES } from "../../src/protocol/serialize.js";
import { canValue, functionSource, uncanValue, CAN_KEY } from "../../src/protocol/canning.js";
import { SerializationError } from "../../src/errors.js";

const message = (codec: Codec, buffers: Buffer[] = []) =>
  codec.encode({ header: codec.header("apply_request"), parent: {}, metadata: { engine: 0 }, content: { op: "call" }, buffers }, [
    Buffer.from("id"),
  ]);

test("a signed message round-trips and keeps its identities and buffers", () => {
  const a = new Codec("k1");
  const frames = message(a, [Buffer.from("payload")]);
  const b = new Codec("k1");
  const decoded = b.decode(frames);
  assert.ok(decoded);
  assert.equal(decoded.header.msgType, "apply_request");
  assert.deepEqual(decoded.identities, [Buffer.from("id")]);
  assert.deepEqual(decoded.buffers, [Buffer.from("payload")]);
  assert.equal(decoded.raw[0]?.equals(DELIMITER), true);
});

test("a wrong key, an empty signature and a tampered JSON frame are dropped and counted", () => {
  const sender = new Codec("right");
  const receiver = new Codec("right");
  const wrong = new Codec("wrong");
  assert.equal(receiver.decode(message(wrong)), undefined);
  assert.equal(receiver.dropped["bad-signature"], 1);
  const empty = message(sender);
  empty[2] = Buffer.alloc(0);
  assert.equal(receiver.decode(empty), undefined);
  const tampered = message(sender, [Buffer.from("abc")]);
  tampered[6] = Buffer.from(JSON.stringify({ op: "push" }));
  assert.equal(receiver.decode(tampered), undefined);
  assert.equal(receiver.dropped["bad-signature"], 3);
});

test("a replayed message is dropped the second time", () => {
  const sender = new Codec("k");
  const receiver = new Codec("k");
  const frames = message(sender);
  assert.ok(receiver.decode(frames));
  assert.equal(receiver.decode(frames), undefined);
  assert.equal(receiver.dropped.replay, 1);
});

test("stale messages (older than the replay window) are refused", () => {
  const sender = new Codec("k");
  const receiver = new Codec("k", undefined, 1000);
  const old = sender.encode({
    header: { ...sender.header("ping"), date: Date.now() - 5000 },
    parent: {},
    metadata: {},
    content: {},
    buffers: [],
  });
  assert.equal(receiver.decode(old), undefined);
  assert.equal(receiver.dropped.stale, 1);
});

test("a known sender's message is accepted however old its date; an earlier number from it is a replay", () => {
  const sender = new Codec("k");
  const receiver = new Codec("k", undefined, 1000);
  const later = sender.encode({ header: sender.header("ping"), parent: {}, metadata: {}, content: {}, buffers: [] });
  assert.ok(receiver.decode(message(sender)));
  // Dated long ago (it waited in a socket behind a busy receiver): the number still follows.
  assert.ok(
    receiver.decode(
      sender.encode({
        header: { ...sender.header("ping"), date: Date.now() - 60_000 },
        parent: {},
        metadata: {},
        content: {},
        buffers: [],
      }),
    ),
  );
  assert.equal(receiver.decode(later), undefined, "encoded before the last accepted one");
  assert.equal(receiver.dropped.replay, 1);
  assert.equal(receiver.dropped.stale, 0);
});

test("a sender whose clock runs ahead is still refused a replay once the receiver's window has passed, even when it forgets senders", async () => {
  const window = 1000;
  const receiver = new Codec("k", undefined, window);
  const skewed = new Codec("k");
  const frames = skewed.encode({
    header: { ...skewed.header("ping"), date: Date.now() + 600 },
    parent: {},
    metadata: {},
    content: {},
    buffers: [],
  });
  assert.ok(receiver.decode(frames));
  // Enough other senders that the receiver starts forgetting the ones gone quiet.
  for (let i = 0; i < 10_001; i++) assert.ok(receiver.decode(message(new Codec("k"))));
  await new Promise((resolve) => setTimeout(resolve, window + 100));
  assert.ok(receiver.decode(message(new Codec("k"))));
  // Older than the window by the receiver's clock, but not by its own date.
  assert.equal(receiver.decode(frames), undefined);
  assert.equal(receiver.dropped.replay + receiver.dropped.stale, 1);
});

test("a replay window that is not a positive number is refused", () => {
  assert.throws(() => new Codec("k", undefined, 0), /replay window must be a positive number of ms, got 0/);
});

test("malformed frames are counted, never thrown", () => {
  const receiver = new Codec("k");
  assert.equal(receiver.decode([Buffer.from("junk")]), undefined);
  assert.equal(receiver.decode([DELIMITER, Buffer.from("sig")]), undefined);
  assert.equal(receiver.dropped.malformed, 2);
});

test("structured clone keeps Map, Set, Date, BigInt and typed arrays; large views travel out of band", () => {
  const big = new Float64Array(OUT_OF_BAND_MIN_BYTES / 8 + 10).map((_, i) => i * 0.5);
  const value = { m: new Map([["a", 1]]), s: new Set([1, 2]), d: new Date(5), n: 2n ** 70n, small: new Int32Array([1, 2, 3]), big };
  const frames = encodeValue(value);
  assert.equal(frames.length, 2, "the large Float64Array is its own frame");
  assert.equal(frames[1]?.byteLength, big.byteLength);
  const back = decodeValue(frames) as typeof value;
  assert.deepEqual(back.m, value.m);
  assert.deepEqual(back.s, value.s);
  assert.equal(back.n, value.n);
  assert.ok(back.big instanceof Float64Array);
  assert.equal(back.big[101], 50.5);
  assert.deepEqual([...back.small], [1, 2, 3]);
});

test("an unserializable value fails with SerializationError", () => {
  assert.throws(() => encodeValue({ s: Symbol("x") }, "args"), SerializationError);
});

test("functions are canned as source, including method shorthand and async methods", () => {
  const obj = {
    double(x: number) {
      return x * 2;
    },
    async later(x: number) {
      return x;
    },
  };
  assert.match(functionSource(obj.double), /^function/);
  assert.match(functionSource(obj.later), /^async function/);
  assert.throws(() => functionSource(Math.max), /native or bound/);
  const { value, canned } = canValue({ f: (x: number) => x + 1, data: [1, 2] });
  assert.equal(canned, true);
  const marker = (value as { f: Record<string, unknown> }).f;
  assert.equal(marker[CAN_KEY], "source");
  const revived = uncanValue(structuredClone(value), (c) => (c[CAN_KEY] === "source" ? new Function(`return (${c.src})`)() : c)) as {
    f: (x: number) => number;
  };
  assert.equal(revived.f(1), 2);
});

test("plain data is not copied by canning", () => {
  const data = { a: [1, 2, { b: 3 }] };
  const { value, canned } = canValue(data);
  assert.equal(canned, false);
  assert.equal(value, data);
});

test("PARALLAX_REPLAY_WINDOW_MS must be a positive integer when set", async () => {
  const { newCodec } = await import("../../src/transport/channel.js");
  const saved = process.env.PARALLAX_REPLAY_WINDOW_MS;
  try {
    for (const bad of ["0", "-5", "1.5", "soon"]) {
      process.env.PARALLAX_REPLAY_WINDOW_MS = bad;
      assert.throws(() => newCodec("k"), new RegExp(`PARALLAX_REPLAY_WINDOW_MS must be a positive integer \\(ms\\), got "${bad}"`));
    }
    process.env.PARALLAX_REPLAY_WINDOW_MS = "1500";
    assert.ok(newCodec("k"));
  } finally {
    if (saved === undefined) delete process.env.PARALLAX_REPLAY_WINDOW_MS;
    else process.env.PARALLAX_REPLAY_WINDOW_MS = saved;
  }
});
