/**
 * The controller's intake from one client connection is bounded: a peer that floods it waits
 * at its own end, and nothing is dropped.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as zmq from "zeromq";
import { readConnectionFile } from "../../src/connection/profile.js";
import { Codec } from "../../src/protocol/message.js";
import { startTestCluster } from "../helpers/cluster.js";
import { decodeAll } from "../helpers/wire.js";

test("a peer that ignores flow control and floods 30,000 requests waits at its end; every one is answered", async () => {
  const t = await startTestCluster({ n: 1 });
  const info = readConnectionFile(t.cluster.files.client);
  const codec = new Codec(info.key);
  const dealer = new zmq.Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
  try {
    dealer.connect(info.url);
    const total = 30_000;
    const sending = (async () => {
      for (let i = 0; i < total; i++)
        await dealer.send(codec.encode({ header: codec.header("ping"), parent: {}, metadata: {}, content: {}, buffers: [] }));
    })();
    let pongs = 0;
    while (pongs < total) pongs += decodeAll(codec, await dealer.receive()).filter((m) => m.header.msgType === "pong").length;
    await sending;
    assert.equal(pongs, total);
    assert.deepEqual(t.rc.ids, [0]);
  } finally {
    dealer.close();
    await t.stop();
  }
});
