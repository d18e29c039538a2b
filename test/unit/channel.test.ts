import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import * as zmq from "zeromq";
import { unpackBatch } from "../../src/protocol/batch.js";
import { Codec } from "../../src/protocol/message.js";
import type { Incoming } from "../../src/protocol/message.js";
import { Channel, bindRouter, connectDealer } from "../../src/transport/channel.js";

const KEY = "channel-test-key";
const send = (channel: Channel, codec: Codec, n: number, buffers: Buffer[] = []) =>
  channel.sendFrames(codec.encode({ header: codec.header("ping"), parent: {}, metadata: {}, content: { n }, buffers }));

/** A free TCP port (nothing listens on it once this resolves). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("what is sent in one turn goes out in a few batches, in order, and every message is verified", async () => {
  const router = await bindRouter("tcp://127.0.0.1:*");
  const codec = new Codec(KEY);
  const channel = new Channel(connectDealer(router.endpoint), codec);
  try {
    const total = 2000;
    for (let n = 0; n < total; n++) send(channel, codec, n, n % 500 === 0 ? [Buffer.alloc(100_000, n % 256)] : []);
    const receiver = new Codec(KEY);
    const seen: number[] = [];
    let zmqMessages = 0;
    while (seen.length < total) {
      const frames = await router.socket.receive();
      zmqMessages++;
      for (const message of unpackBatch(frames) ?? []) seen.push(Number(receiver.decode(message)?.content.n));
    }
    assert.deepEqual(
      seen,
      Array.from({ length: total }, (_, n) => n),
    );
    assert.ok(zmqMessages <= total / 20, `${zmqMessages} ZeroMQ messages for ${total} messages`);
    assert.equal(receiver.droppedTotal(), 0);
  } finally {
    await channel.close();
    router.socket.close();
  }
});

test("a socket that cannot send holds the queue; the peer gets every message, in order, once it binds", async () => {
  const port = await freePort();
  const codec = new Codec(KEY);
  // `immediate`: libzmq queues nothing for a connection not yet made, so the socket is not writable.
  const dealer = new zmq.Dealer({ linger: 0, immediate: true });
  dealer.connect(`tcp://127.0.0.1:${port}`);
  const channel = new Channel(dealer, codec);
  const router = new zmq.Router({ linger: 0 });
  try {
    for (let n = 0; n < 300; n++) send(channel, codec, n);
    // Nothing can be handed over: flush gives up once the socket has taken nothing for 100 ms.
    const started = Date.now();
    await channel.flush(100);
    assert.ok(Date.now() - started >= 100);
    for (let n = 300; n < 600; n++) send(channel, codec, n);
    await router.bind(`tcp://127.0.0.1:${port}`);
    const server = new Channel(router, new Codec(KEY));
    const received: Incoming[] = [];
    const all = new Promise<void>((resolve) =>
      server.start((message) => {
        received.push(message);
        if (received.length === 600) resolve();
      }),
    );
    await all;
    assert.deepEqual(
      received.map((m) => m.content.n),
      Array.from({ length: 600 }, (_, n) => n),
    );
    await channel.flush(1000);
    await server.close();
  } finally {
    await channel.close();
    router.close();
  }
});

test("answers to several peers go to each in its own order", async () => {
  const router = await bindRouter("tcp://127.0.0.1:*");
  const hubCodec = new Codec(KEY);
  const hub = new Channel(router.socket, hubCodec);
  const peers = ["a", "b", "c"].map((name) => {
    const codec = new Codec(KEY);
    return { name, codec, channel: new Channel(connectDealer(router.endpoint, name), codec), seen: [] as number[] };
  });
  try {
    hub.start((message) => {
      // Each ping is answered at once; answers to all peers in one turn share the send loop.
      hub.sendFrames(
        hubCodec.encode(
          { header: hubCodec.header("pong"), parent: {}, metadata: {}, content: message.content, buffers: [] },
          message.identities,
        ),
      );
    });
    const done = peers.map(
      (peer) =>
        new Promise<void>((resolve) =>
          peer.channel.start((message) => {
            peer.seen.push(Number(message.content.n));
            if (peer.seen.length === 500) resolve();
          }),
        ),
    );
    for (let n = 0; n < 500; n++) for (const peer of peers) send(peer.channel, peer.codec, n);
    await Promise.all(done);
    for (const peer of peers)
      assert.deepEqual(
        peer.seen,
        Array.from({ length: 500 }, (_, n) => n),
        peer.name,
      );
  } finally {
    await Promise.all(peers.map((peer) => peer.channel.close()));
    await hub.close();
  }
});
