/**
 * The controller forwards payloads without hashing them; the engine checks every buffer against
 * the digests the client signed, before any code runs. Each request here is signed correctly
 * and altered afterwards, as on a network path between a client and the controller.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as zmq from "zeromq";
import { readConnectionFile } from "../../src/connection/profile.js";
import { Codec } from "../../src/protocol/message.js";
import { encodeValue } from "../../src/protocol/serialize.js";
import { startTestCluster } from "../helpers/cluster.js";
import { receiveOne } from "../helpers/wire.js";

/** Index of the first payload buffer in an encoded message without routing ids. */
const FIRST_BUFFER = 6;

test("altered, swapped, dropped and extra payload buffers never reach user code; real work still runs", async () => {
  const t = await startTestCluster({ n: 1 });
  const info = readConnectionFile(t.cluster.files.client);
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(info.url);
  const codec = new Codec(info.key);
  try {
    await t.rc.view(0).push({ hits: 0 });
    const bump = (() => ++(globalThis as unknown as { hits: number }).hits).toString();
    const call = () =>
      codec.encode({
        header: codec.header("apply_request"),
        parent: {},
        metadata: { engine: 0 },
        content: { op: "call", fn: { __parallax_can__: "source", src: bump, name: "bump" } },
        buffers: encodeValue([new Uint8Array(70_000).fill(1), new Uint8Array(70_000).fill(2)]),
      });
    const refusal = async () => {
      const reply = await receiveOne(dealer, codec);
      const error = reply?.content.error as { code?: string; evalue?: string } | undefined;
      assert.equal(error?.code, "PROTOCOL_ERROR");
      assert.match(error?.evalue ?? "", /was refused: buffer \d of 3 does not match its signed digest/);
    };

    // The arrays (70,000 bytes) carry Poly1305 tags, the value's head frame a SHA-256 digest: both kinds are checked.
    const flipped = call();
    (flipped[FIRST_BUFFER + 1] as Buffer)[100] = 7;
    await dealer.send(flipped);
    await refusal();

    const headFlipped = call();
    const head = headFlipped[FIRST_BUFFER] as Buffer;
    head.writeUInt8(head.readUInt8(head.length - 1) ^ 1, head.length - 1);
    await dealer.send(headFlipped);
    await refusal();

    const swapped = call();
    [swapped[FIRST_BUFFER + 1], swapped[FIRST_BUFFER + 2]] = [swapped[FIRST_BUFFER + 2] as Buffer, swapped[FIRST_BUFFER + 1] as Buffer];
    await dealer.send(swapped);
    await refusal();

    // One buffer short or one too many: the controller itself refuses it (it counts buffers).
    const dropped = call();
    await dealer.send(dropped.slice(0, -1));
    const extra = call();
    await dealer.send([...extra, Buffer.from("extra")]);
    const genuine = call();
    await dealer.send(genuine);
    const reply = await receiveOne(dealer, codec);
    assert.equal(reply?.content.status, "ok");
    assert.equal(reply?.parent.msgId, JSON.parse((genuine[2] as Buffer).toString()).msgId);

    assert.equal(await t.rc.view(0).pull("hits"), 1, "only the genuine request ran");
    const history = await t.rc.hubHistory();
    for (const frames of [dropped, extra]) assert.ok(!history.includes(JSON.parse((frames[2] as Buffer).toString()).msgId));
  } finally {
    dealer.close();
    await t.stop();
  }
});
