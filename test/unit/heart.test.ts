/**
 * The controller's heart: it echoes pings from its own thread, with or without CURVE, and a port
 * it cannot bind is an error that names the address.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as zmq from "zeromq";
import { HeartMonitor, startHeart } from "../../src/transport/heart.js";

/** Pings until the first echo comes back. */
async function firstBeat(monitor: HeartMonitor): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => monitor.ping(), 20);
    monitor.ping();
    beats.set(monitor, () => {
      clearInterval(timer);
      resolve();
    });
  });
}
const beats = new WeakMap<HeartMonitor, () => void>();
const monitorOf = (url: string, curveServerKey?: string): HeartMonitor => {
  const monitor: HeartMonitor = new HeartMonitor(url, () => beats.get(monitor)?.(), curveServerKey);
  return monitor;
};

test("the heart echoes a client's pings", async () => {
  const heart = await startHeart("tcp://127.0.0.1:*");
  const monitor = monitorOf(heart.endpoint);
  try {
    assert.match(heart.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    await firstBeat(monitor);
  } finally {
    monitor.close();
    await heart.stop();
  }
});

test("with CURVE, the heart answers a client that knows its public key", { skip: !zmq.capability.curve }, async () => {
  const pair = zmq.curveKeyPair();
  const heart = await startHeart("tcp://127.0.0.1:*", pair.secretKey);
  const monitor = monitorOf(heart.endpoint, pair.publicKey);
  try {
    await firstBeat(monitor);
  } finally {
    monitor.close();
    await heart.stop();
  }
});

test("a heart that cannot bind its port fails, naming the address", async () => {
  const taken = await startHeart("tcp://127.0.0.1:*");
  try {
    await assert.rejects(startHeart(taken.endpoint), (error: Error) => error.message.includes(taken.endpoint));
  } finally {
    await taken.stop();
  }
});
