import assert from "node:assert/strict";
import { test } from "node:test";
import { BATCH, INLINE_MAX_BYTES, PACKED_MAX_BYTES, packBatches, unpackBatch } from "../../src/protocol/batch.js";
import { Codec, DELIMITER } from "../../src/protocol/message.js";

const id = Buffer.from("peer");
const encoded = (codec: Codec, n: number, buffers: Buffer[] = []) =>
  codec.encode({ header: codec.header("ping"), parent: {}, metadata: {}, content: { n }, buffers });

test("a batch carries its messages in order, small frames packed and large ones as frames of their own", () => {
  const sender = new Codec("k");
  const large = Buffer.alloc(INLINE_MAX_BYTES + 1, 7);
  const messages = [encoded(sender, 0), encoded(sender, 1, [Buffer.from("small"), large]), encoded(sender, 2, [Buffer.alloc(0)])];
  const batches = packBatches([id], messages);
  assert.equal(batches.length, 1);
  const [batch] = batches;
  assert.equal(batch?.messages, 3);
  assert.deepEqual(batch?.frames.slice(0, 2), [id, BATCH]);
  assert.equal(batch?.frames.length, 4, "ids, marker, packed, one large frame");
  assert.equal(batch?.frames[3], large, "the large frame is passed on, not copied");
  const receiver = new Codec("k");
  const decoded = (unpackBatch(batch?.frames ?? []) ?? []).map((frames) => receiver.decode(frames));
  assert.deepEqual(
    decoded.map((m) => m?.content.n),
    [0, 1, 2],
  );
  assert.deepEqual(decoded[1]?.identities, [id]);
  assert.deepEqual(decoded[1]?.buffers, [Buffer.from("small"), large]);
  assert.deepEqual(decoded[2]?.buffers, [Buffer.alloc(0)]);
});

test("a message that is not a batch passes through unchanged", () => {
  const frames = [id, ...encoded(new Codec("k"), 0)];
  assert.deepEqual(unpackBatch(frames), [frames]);
  assert.equal(unpackBatch(frames)?.[0]?.[1], DELIMITER);
});

test("batches stay under the packed limit and never split a message", () => {
  const sender = new Codec("k");
  const messages = Array.from({ length: 40 }, (_, n) => encoded(sender, n, [Buffer.alloc(INLINE_MAX_BYTES, n)]));
  const batches = packBatches([], messages);
  assert.ok(batches.length > 1);
  for (const batch of batches) assert.ok((batch.frames[1] as Buffer).byteLength <= PACKED_MAX_BYTES);
  assert.equal(
    batches.reduce((sum, b) => sum + b.messages, 0),
    40,
  );
  const receiver = new Codec("k");
  const order = batches.flatMap((b) => (unpackBatch(b.frames) ?? []).map((frames) => receiver.decode(frames)?.content.n));
  assert.deepEqual(
    order,
    messages.map((_, n) => n),
  );
});

test("a damaged batch is refused as a whole: truncated, a large frame missing, a frame too many", () => {
  const sender = new Codec("k");
  const [batch] = packBatches([id], [encoded(sender, 0, [Buffer.alloc(INLINE_MAX_BYTES + 1)])]);
  const frames = batch?.frames ?? [];
  const packed = frames[2] as Buffer;
  assert.equal(unpackBatch([id, BATCH, packed.subarray(0, packed.length - 3), ...frames.slice(3)]), undefined);
  assert.equal(unpackBatch(frames.slice(0, 3)), undefined);
  assert.equal(unpackBatch([...frames, Buffer.from("extra")]), undefined);
  assert.equal(unpackBatch([id, BATCH]), undefined);
});

test("a batch altered inside still fails verification message by message", () => {
  const sender = new Codec("k");
  const [batch] = packBatches([id], [encoded(sender, 0, [Buffer.from("payload")]), encoded(sender, 1, [Buffer.from("payload")])]);
  const packed = Buffer.from(batch?.frames[2] as Buffer);
  // The first message's signed content, and the second one's payload.
  packed[packed.indexOf('{"n":0}') + 5] = "1".charCodeAt(0);
  packed[packed.length - 1] = "D".charCodeAt(0);
  const receiver = new Codec("k");
  const [first, second] = (unpackBatch([id, BATCH, packed]) ?? []).map((frames) => receiver.decode(frames));
  assert.equal(first, undefined);
  assert.equal(receiver.dropped["bad-signature"], 1);
  assert.match(second?.damaged ?? "", /buffer 1 of 1 does not match its signed digest/);
  assert.equal(receiver.dropped["bad-digest"], 1);
});

test("payloads unpacked from batches are copies kept side by side, apart from the batch and from short-lived buffers", () => {
  const sender = new Codec("k");
  const receiver = new Codec("k");
  const payloads = (n: number, bytes: number) => Array.from({ length: n }, (_, i) => Buffer.alloc(bytes, i + 1));
  const unpack = (buffers: Buffer[]) =>
    packBatches([id], [encoded(sender, 0, buffers)]).flatMap((b) => (unpackBatch(b.frames) ?? []).map((f) => receiver.decode(f)));
  const [first] = unpack(payloads(3, 40));
  // Short-lived allocations between two messages, as a process makes all the time.
  const between = Buffer.from("x".repeat(100));
  const [second] = unpack(payloads(2, 40));
  const kept = [...(first?.buffers ?? []), ...(second?.buffers ?? [])];
  assert.deepEqual(kept, [...payloads(3, 40), ...payloads(2, 40)]);
  const slab = kept[0]?.buffer;
  for (const buffer of kept) {
    assert.equal(buffer.buffer, slab, "consecutive payloads share one slab");
    assert.equal(buffer.byteOffset % 8, 0, "each starts 8-aligned");
  }
  assert.notEqual(slab, between.buffer, "short-lived buffers are not cut from it");
  assert.notEqual(slab, first?.raw[2]?.buffer, "nor is the batch's packed frame");
  const [big] = unpack([Buffer.alloc(INLINE_MAX_BYTES, 9)]);
  const own = big?.buffers[0];
  assert.equal(own?.buffer.byteLength, INLINE_MAX_BYTES, "a payload over half a slab has memory of its own");
  assert.deepEqual(own, Buffer.alloc(INLINE_MAX_BYTES, 9));
});
