import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageChannel } from "node:worker_threads";
import { forTransfer } from "../../src/engine/transfer.js";

test("large buffers are copied once and transferred; the originals stay usable; small ones are cloned", async () => {
  const user = new Float64Array(32 * 1024).fill(1.5);
  const view = Buffer.from(user.buffer, user.byteOffset, user.byteLength);
  const small = Buffer.alloc(5, 7);
  const moving = forTransfer([view, small]);
  assert.equal(moving.transfer.length, 1);
  assert.notEqual(moving.buffers[0]?.buffer, user.buffer, "the user's memory is not the one transferred");
  assert.equal(moving.buffers[1], small, "a buffer that is all of its memory is posted as it is");
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<Uint8Array[]>((resolve) => port2.once("message", resolve));
  port1.postMessage(moving.buffers, moving.transfer);
  const [big, tiny] = await received;
  port1.close();
  assert.equal(moving.buffers[0]?.byteLength, 0, "the copy was transferred, not cloned");
  assert.equal(user.byteLength, 32 * 1024 * 8, "the original is not detached");
  assert.equal(user[100], 1.5);
  assert.deepEqual(Buffer.from(big as Uint8Array), view);
  assert.deepEqual(Buffer.from(tiny as Uint8Array), small);
});

test("a small view into larger memory is posted as its own bytes, not the whole memory it views", async () => {
  const slab = Buffer.alloc(8192, 1);
  const payload = slab.subarray(100, 105).fill(9);
  const ofLargeArray = new Uint8Array(new ArrayBuffer(1 << 20), 4096, 16).fill(3);
  const moving = forTransfer([payload, ofLargeArray]);
  assert.deepEqual(moving.transfer, []);
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<Uint8Array[]>((resolve) => port2.once("message", resolve));
  port1.postMessage(moving.buffers, moving.transfer);
  const [first, second] = (await received) as [Uint8Array, Uint8Array];
  port1.close();
  assert.deepEqual([first.buffer.byteLength, second.buffer.byteLength], [5, 16], "only the viewed bytes crossed");
  assert.deepEqual([...first], [9, 9, 9, 9, 9]);
  assert.deepEqual([...second], new Array(16).fill(3));
  assert.equal(slab[100], 9, "the original is untouched");
});
