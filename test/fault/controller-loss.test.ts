import assert from "node:assert/strict";
import { once } from "node:events";
import fs from "node:fs";
import { test } from "node:test";
import * as zmq from "zeromq";
import { ControllerLostError, ProtocolError } from "../../src/index.js";
import { readConnectionFile } from "../../src/connection/profile.js";
import { Codec } from "../../src/protocol/message.js";
import { startTestCluster } from "../helpers/cluster.js";
import { receiveOne } from "../helpers/wire.js";

test("a dead controller fails outstanding results with ControllerLostError after controllerTimeout; new submissions then fail at once", async () => {
  const t = await startTestCluster({ n: 1, heartbeatInterval: 100 });
  const rc = await t.cluster.connectClient({ controllerTimeout: 1500 });
  try {
    const pending = rc.view(0).apply(() => new Promise(() => {}));
    const disconnected = once(rc, "disconnected");
    const killedAt = Date.now();
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    await disconnected;
    assert.equal(rc.outstandingIds.length, 1, "a silent controller may come back: results are kept");
    let silence = 0;
    await assert.rejects(pending, (e: unknown) => {
      const match = /did not answer for (\d+) ms \(controllerTimeout 1500 ms\)/.exec((e as Error).message);
      silence = Number(match?.[1]);
      return e instanceof ControllerLostError && match !== null;
    });
    // The client counts from the last message it heard, which came shortly before the kill.
    assert.ok(silence >= 1500, `gave up after only ${silence} ms of silence`);
    assert.ok(Date.now() - killedAt < 4000, `gave up ${Date.now() - killedAt} ms after the kill`);
    assert.throws(() => rc.view(0).apply(() => 1), ControllerLostError);
    await assert.rejects(rc.queueStatus(), ControllerLostError);
  } finally {
    await rc.close();
    await t.stop();
  }
});

test("oversize requests are refused with the size and the limit; unknown message types get an error", async () => {
  const t = await startTestCluster({ n: 1, controllerArgs: ["--max-message-bytes", "100000"] });
  try {
    const before = (await t.rc.hubHistory()).length;
    assert.throws(
      () => t.rc.view(0).apply((b: Uint8Array) => b.length, new Uint8Array(200_000)),
      (e: unknown) => {
        assert.ok(e instanceof ProtocolError);
        assert.match((e as Error).message, /request of \d+ bytes is over the controller's limit of 100000 bytes/);
        return true;
      },
    );
    assert.equal((await t.rc.hubHistory()).length, before, "refused at the sender: nothing reached the hub");
    assert.equal(await t.rc.view(0).apply((b: Uint8Array) => b.length, new Uint8Array(1000)), 1000);
    const info = readConnectionFile(t.cluster.files.client);
    const codec = new Codec(info.key);
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(info.url);
    await dealer.send(codec.encode({ header: codec.header("engine_beat" as never), parent: {}, metadata: {}, content: {}, buffers: [] }));
    const reply = await receiveOne(dealer, codec);
    assert.equal(reply?.header.msgType, "error_reply");
    assert.match(String((reply?.content.error as { evalue?: string } | undefined)?.evalue), /unknown message type "engine_beat"/);
    // A sender that ignores the limit with frames each under it is refused with the size and the limit…
    await dealer.send(
      codec.encode({
        header: codec.header("apply_request"),
        parent: {},
        metadata: { engine: 0 },
        content: { op: "push" },
        buffers: [Buffer.alloc(70_000), Buffer.alloc(70_000)],
      }),
    );
    const refused = await receiveOne(dealer, codec);
    assert.equal(refused?.header.msgType, "apply_reply");
    assert.match(
      String((refused?.content.error as { evalue?: string } | undefined)?.evalue),
      /is \d+ bytes, over the limit of 100000 bytes/,
    );
    // …and one whose single frame is over it is cut off by libzmq before the frame is buffered.
    const flooder = new zmq.Dealer({ linger: 0 });
    const disconnected = new Promise<void>((resolve) => {
      void (async () => {
        for await (const event of flooder.events) if (event.type === "disconnect") return resolve();
      })();
    });
    flooder.connect(info.url);
    await flooder.send(
      codec.encode({
        header: codec.header("apply_request"),
        parent: {},
        metadata: { engine: 0 },
        content: { op: "push" },
        buffers: [Buffer.alloc(1_000_000)],
      }),
    );
    await disconnected;
    flooder.close();
    assert.equal(await t.rc.view(0).apply(() => "still serving"), "still serving");
    dealer.close();
  } finally {
    await t.stop();
  }
});

test("every listening socket of the controller is on loopback by default", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    const ports = [t.cluster.files.client, t.cluster.files.engine].map((f) => Number(readConnectionFile(f).url.split(":").at(-1)));
    const listening = fs
      .readFileSync("/proc/net/tcp", "utf8")
      .split("\n")
      .slice(1)
      .filter((l) => l.trim().split(/\s+/)[3] === "0A");
    for (const port of ports) {
      const hex = port.toString(16).toUpperCase().padStart(4, "0");
      const rows = listening.filter((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${hex}`));
      assert.ok(rows.length > 0, `port ${port} is listening`);
      for (const row of rows) assert.equal(row.trim().split(/\s+/)[1]?.split(":")[0], "0100007F", `port ${port} bound to 127.0.0.1`);
    }
  } finally {
    await t.stop();
  }
});
