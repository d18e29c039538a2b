import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import * as zmq from "zeromq";
import { readConnectionFile } from "../../src/connection/profile.js";
import { Codec, DELIMITER } from "../../src/protocol/message.js";
import { startTestCluster } from "../helpers/cluster.js";

const frame = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.constant(DELIMITER),
  fc.json().map((j) => Buffer.from(j)),
  fc.constant(Buffer.alloc(0)),
);

test("malformed frames thrown at every bound socket crash nothing; a real task right after succeeds", async () => {
  const t = await startTestCluster({ n: 1 });
  const sockets = [t.cluster.files.client, t.cluster.files.engine].map((file) => {
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(readConnectionFile(file).url);
    return dealer;
  });
  const key = readConnectionFile(t.cluster.files.client).key;
  const signer = new Codec(key);
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), fc.boolean(), fc.nat(1), async (frames, signIt, which) => {
        let message: Buffer[] = frames;
        if (signIt) {
          // Correctly signed garbage: passes the signature check, so parsing must cope.
          const parts = frames.slice(0, 6);
          while (parts.length < 4) parts.push(Buffer.from("{}"));
          message = [DELIMITER, signer.sign(parts), ...parts];
        }
        await (sockets[which] as zmq.Dealer).send(message);
      }),
      { numRuns: 300 },
    );
    const types = [
      "apply_request",
      "query_request",
      "registration_request",
      "engine_beat",
      "supervisor_beat",
      "engine_exit",
      "apply_reply",
      "stream",
      "supervise_request",
      "ping",
    ];
    const content = fc.dictionary(
      fc.constantFrom("op", "engine_id", "msgIds", "targets", "pid", "signal", "names", "beats"),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...types), content, content, fc.nat(1), async (type, body, metadata, which) => {
        const frames = signer.encode({
          header: signer.header(type as never),
          parent: {},
          metadata: metadata as Record<string, unknown>,
          content: body as Record<string, unknown>,
          buffers: [Buffer.from([0xff, 0x0f])],
        });
        await (sockets[which] as zmq.Dealer).send(frames);
      }),
      { numRuns: 300 },
    );
    assert.equal(await t.rc.view(0).apply((x: number) => x + 1, 41), 42);
    // Signed registrations are legitimate (the sender holds the key), so only engine 0 is checked.
    assert.ok(t.rc.ids.includes(0));
    const status = await t.rc.queueStatus();
    assert.equal(status[0]?.queue, 0, "no forged task took an engine slot");
  } finally {
    for (const s of sockets) s.close();
    await t.stop();
  }
});
