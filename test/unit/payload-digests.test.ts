import assert from "node:assert/strict";
import { test } from "node:test";
import { Codec } from "../../src/protocol/message.js";
import { MAC_MIN_BYTES, PayloadDigests, sha256Digest } from "../../src/protocol/payload-digest.js";
import type { Incoming } from "../../src/protocol/message.js";

const KEY = "digest-key";
const buffers = () => [Buffer.from("first buffer"), Buffer.from("second buffer")];
/** A client's request, as frames (no routing ids): DELIMITER, signature, 4 JSON frames, buffers from index 6. */
const request = (codec: Codec, payload = buffers()) =>
  codec.encode({ header: codec.header("apply_request"), parent: {}, metadata: {}, content: { op: "call" }, buffers: payload });
/** What a forwarding hub sends on: its own envelope around the buffers it received. */
const forward = (hub: Codec, message: Incoming) =>
  hub.encode({
    header: hub.header("apply_request", message.header.msgId),
    parent: {},
    metadata: {},
    content: message.content,
    buffers: message.buffers,
  });

test("the header signs one digest per buffer; an intact message passes both kinds of receiver", () => {
  const frames = request(new Codec(KEY));
  const header = JSON.parse((frames[2] as Buffer).toString()) as { digests: string[] };
  assert.deepEqual(header.digests, buffers().map(sha256Digest));
  const hub = new Codec(KEY, undefined, undefined, "forward");
  const received = hub.decode(frames);
  assert.ok(received && received.damaged === undefined);
  const engine = new Codec(KEY);
  const delivered = engine.decode(forward(hub, received));
  assert.ok(delivered && delivered.damaged === undefined);
  assert.deepEqual(delivered.buffers, buffers());
});

test("a flipped byte passes the forwarding hub, which signs the client's digests on; the engine refuses it", () => {
  const frames = request(new Codec(KEY));
  (frames[7] as Buffer)[3] = 0x20;
  const hub = new Codec(KEY, undefined, undefined, "forward");
  const received = hub.decode(frames);
  assert.ok(received && received.damaged === undefined, "the hub does not hash payloads");
  const onward = forward(hub, received);
  const onwardHeader = JSON.parse((onward[2] as Buffer).toString()) as { digests: string[] };
  assert.deepEqual(onwardHeader.digests, buffers().map(sha256Digest), "the digests are the client's, not of the bytes received");
  const engine = new Codec(KEY);
  const delivered = engine.decode(onward);
  assert.match(delivered?.damaged ?? "", /buffer 2 of 2 does not match its signed digest/);
  assert.equal(engine.dropped["bad-digest"], 1);
  // A verifying receiver refuses it straight from the client too.
  const direct = new Codec(KEY).decode(
    request(new Codec(KEY), [Buffer.from("x"), Buffer.from("y")]).map((f, i) => (i === 6 ? Buffer.from("z") : f)),
  );
  assert.match(direct?.damaged ?? "", /buffer 1 of 2/);
});

test("swapped buffers are refused by the receiver that uses them", () => {
  const frames = request(new Codec(KEY));
  const swapped = [...frames.slice(0, 6), frames[7] as Buffer, frames[6] as Buffer];
  const engine = new Codec(KEY);
  assert.match(engine.decode(swapped)?.damaged ?? "", /buffer 1 of 2/);
});

test("a dropped or an extra buffer is refused by every receiver, the forwarding hub included", () => {
  for (const payloads of ["forward", "verify"] as const) {
    const receiver = new Codec(KEY, undefined, undefined, payloads);
    const sender = new Codec(KEY);
    assert.equal(receiver.decode(request(sender).slice(0, -1)), undefined, `${payloads}: dropped`);
    assert.equal(receiver.decode([...request(sender), Buffer.from("extra")]), undefined, `${payloads}: extra`);
    const none = request(sender, []);
    assert.equal(receiver.decode([...none, Buffer.from("smuggled")]), undefined, `${payloads}: one where none was signed`);
    assert.equal(receiver.dropped["bad-digest"], 3);
  }
});

test("changing a digest in the header breaks the signature", () => {
  const frames = request(new Codec(KEY));
  const header = JSON.parse((frames[2] as Buffer).toString()) as { digests: string[] };
  header.digests[0] = sha256Digest(Buffer.from("something else"));
  frames[2] = Buffer.from(JSON.stringify(header));
  const hub = new Codec(KEY, undefined, undefined, "forward");
  assert.equal(hub.decode(frames), undefined);
  assert.equal(hub.dropped["bad-signature"], 1);
});

test("a damaged message still counts for replay: sending it again is a replay, not a second answer", () => {
  const frames = request(new Codec(KEY));
  (frames[6] as Buffer)[0] = "F".charCodeAt(0);
  const engine = new Codec(KEY);
  assert.ok(engine.decode(frames)?.damaged);
  assert.equal(engine.decode(frames), undefined);
  assert.equal(engine.dropped.replay, 1);
});

test("a buffer built or changed by the forwarding hub itself is hashed, not given a remembered digest", () => {
  const hub = new Codec(KEY, undefined, undefined, "forward");
  const received = hub.decode(request(new Codec(KEY)));
  assert.ok(received);
  const own = Buffer.from(received.buffers[0] as Buffer);
  const frames = hub.encode({ header: hub.header("apply_reply"), parent: {}, metadata: {}, content: {}, buffers: [own] });
  const delivered = new Codec(KEY).decode(frames);
  assert.ok(delivered && delivered.damaged === undefined);
});

/** Flips the bits of `mask` in byte `at` of `buffer`, and returns it. */
const flip = (buffer: Buffer, at: number, mask = 1) => (buffer.writeUInt8(buffer.readUInt8(at) ^ mask, at), buffer);
/** A large buffer (tagged, not hashed) holding `fill`, and a small one. */
const large = (fill = 1) => [Buffer.alloc(MAC_MIN_BYTES + 13, fill), Buffer.from("small")];

test("large buffers carry a keyed tag, small ones a SHA-256 digest; both pass a forwarding hub and the engine intact", () => {
  const frames = request(new Codec(KEY), large());
  const header = JSON.parse((frames[2] as Buffer).toString()) as { digests: string[] };
  assert.match(header.digests[0] as string, /^p1:[A-Za-z0-9+/]{43}=$/);
  assert.equal(header.digests[1], sha256Digest(Buffer.from("small")));
  const hub = new Codec(KEY, undefined, undefined, "forward");
  const received = hub.decode(frames);
  assert.ok(received && received.damaged === undefined);
  const onward = forward(hub, received);
  assert.deepEqual((JSON.parse((onward[2] as Buffer).toString()) as { digests: string[] }).digests, header.digests);
  const delivered = new Codec(KEY).decode(onward);
  assert.ok(delivered && delivered.damaged === undefined);
  assert.deepEqual(delivered.buffers, large());
});

test("a flipped byte anywhere in a tagged buffer, a truncated or an extended one is refused by the engine after the hub", () => {
  const size = MAC_MIN_BYTES + 13;
  const alterations: [string, (b: Buffer) => Buffer][] = [
    ["first byte", (b) => flip(b, 0)],
    ["last byte", (b) => flip(b, size - 1, 0x80)],
    ["one byte short", (b) => b.subarray(0, size - 1)],
    ["one zero byte more", (b) => Buffer.concat([b, Buffer.alloc(1)])],
  ];
  for (const [what, alter] of alterations) {
    const frames = request(new Codec(KEY), large());
    frames[6] = alter(frames[6] as Buffer);
    const hub = new Codec(KEY, undefined, undefined, "forward");
    const received = hub.decode(frames);
    assert.ok(received && received.damaged === undefined, `${what}: the hub does not check payloads`);
    const engine = new Codec(KEY);
    assert.match(engine.decode(forward(hub, received))?.damaged ?? "", /buffer 1 of 2 does not match/, what);
  }
});

test("a tag only holds under the connection key, for the bytes it was made of, with its own salt", () => {
  const buffer = Buffer.alloc(MAC_MIN_BYTES, 7);
  const mine = new PayloadDigests(Buffer.from(KEY));
  const tag = mine.of(buffer);
  assert.ok(mine.matches(buffer, tag));
  assert.notEqual(mine.of(buffer), tag, "each tag has a salt of its own");
  assert.ok(!new PayloadDigests(Buffer.from("another key")).matches(buffer, tag), "another key");
  assert.ok(!mine.matches(Buffer.alloc(MAC_MIN_BYTES, 8), tag), "other bytes");
  const bytes = flip(Buffer.from(tag.slice(3), "base64"), 0);
  assert.ok(!mine.matches(buffer, `p1:${bytes.toString("base64")}`), "another salt");
  for (const malformed of ["p1:", "p1:AAAA", `p1:${Buffer.alloc(33).toString("base64")}`, "p1:not base64 at all!"])
    assert.ok(!mine.matches(buffer, malformed), JSON.stringify(malformed));
  // A SHA-256 digest of the same bytes is accepted for a large buffer too: the sender chooses, the signature covers the choice.
  assert.ok(mine.matches(buffer, sha256Digest(buffer)));
});

test("a tagged buffer moved into another message, with its tag, is refused there: the header is signed", () => {
  const sender = new Codec(KEY);
  const first = request(sender, large(1));
  const second = request(sender, large(2));
  second[6] = first[6] as Buffer;
  const engine = new Codec(KEY);
  assert.ok(engine.decode(first)?.damaged === undefined);
  assert.match(engine.decode(second)?.damaged ?? "", /buffer 1 of 2/);
});
