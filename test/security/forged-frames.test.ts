import assert from "node:assert/strict";
import { test } from "node:test";
import * as zmq from "zeromq";
import { readConnectionFile } from "../../src/connection/profile.js";
import { Codec } from "../../src/protocol/message.js";
import { encodeValue } from "../../src/protocol/serialize.js";
import { startTestCluster } from "../helpers/cluster.js";
import { receiveOne } from "../helpers/wire.js";

test("forged, unsigned, tampered, replayed and malformed requests never reach an engine; real work still runs", async () => {
  const t = await startTestCluster({ n: 1 });
  const info = readConnectionFile(t.cluster.files.client);
  const attacker = new zmq.Dealer({ linger: 0 });
  attacker.connect(info.url);
  try {
    await t.rc.view(0).push({ hits: 0 });
    const bump = (() => {
      (globalThis as unknown as { hits: number }).hits++;
      return 1;
    }).toString();
    const request = (codec: Codec) =>
      codec.encode({
        header: codec.header("apply_request"),
        parent: {},
        metadata: { engine: 0 },
        content: { op: "call", fn: { __parallax_can__: "source", src: bump, name: "bump" } },
        buffers: encodeValue([]),
      });
    const wrongKey = request(new Codec("not-the-key"));
    const unsigned = request(new Codec(info.key));
    unsigned[1] = Buffer.alloc(0);
    const tampered = request(new Codec(info.key));
    tampered.push(Buffer.from("extra"));
    for (const frames of [wrongKey, unsigned, tampered, [Buffer.from("garbage")]]) await attacker.send(frames);
    // A correctly signed request, sent twice: the second copy is a replay.
    const genuine = request(new Codec(info.key));
    await attacker.send(genuine);
    await attacker.send(genuine);
    // The genuine request answers the attacker's socket once; the replay is dropped, so a real
    // client's task queued afterwards sees exactly one bump.
    const reply = await receiveOne(attacker, new Codec(info.key));
    assert.equal(reply?.header.msgType, "apply_reply");
    assert.equal(await t.rc.view(0).pull("hits"), 1);
    // A correctly signed request of the wrong shape is refused at the hub's entrance, naming the field.
    const codec = new Codec(info.key);
    await attacker.send(
      codec.encode({
        header: codec.header("apply_request"),
        parent: {},
        metadata: { engine: 0 },
        content: { op: "call", fn: { __parallax_can__: "source", src: 42, name: "bump" } },
        buffers: encodeValue([]),
      }),
    );
    const malformed = await receiveOne(attacker, codec);
    assert.equal(malformed?.header.msgType, "error_reply");
    const error = malformed?.content.error as { code?: string; evalue?: string } | undefined;
    assert.equal(error?.code, "PROTOCOL_ERROR");
    assert.match(String(error?.evalue), /^malformed apply_request \S+: content\.fn\.src must be a string, got number 42$/);
    assert.equal(await t.rc.view(0).pull("hits"), 1, "the malformed request never reached the engine");
  } finally {
    attacker.close();
    await t.stop();
  }
});

test("an engine holding the wrong key never registers, and exits non-zero with a hint about the key", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    const { spawnSync } = await import("node:child_process");
    const fs = await import("node:fs");
    const path = await import("node:path");
    const { writeJsonAtomic } = await import("../../src/connection/profile.js");
    const wrongFile = path.join(t.dir, "security", "engine-wrong-key.json");
    writeJsonAtomic(wrongFile, { ...readConnectionFile(t.cluster.files.engine), key: "0".repeat(64) });
    const entry = path.join(import.meta.dirname, "../../src/engine/main.ts");
    const result = spawnSync(process.execPath, ["--import", "tsx", entry, "--file", wrongFile, "--registration-timeout", "1500"], {
      encoding: "utf8",
      timeout: 20_000,
    });
    assert.notEqual(result.status, 0);
    assert.match(
      result.stderr,
      /no registration reply from tcp:\/\/127\.0\.0\.1:\d+ within 1500 ms: check .* the key in the engine connection file/,
    );
    assert.deepEqual(t.rc.ids, [0], "the engine with the wrong key never registered");
    assert.ok(fs.existsSync(wrongFile));
  } finally {
    await t.stop();
  }
});

test("with CURVE, work runs encrypted; a peer holding the wrong server key, or none, gets no answer", async () => {
  const t = await startTestCluster({ n: 1, curve: true });
  try {
    const info = readConnectionFile(t.cluster.files.client);
    assert.match(info.curveServerKey ?? "", /^.{40}$/, "the public key is in the connection file");
    assert.equal(await t.rc.view(0).apply(() => "encrypted"), "encrypted");
    const { writeJsonAtomic } = await import("../../src/connection/profile.js");
    const path = await import("node:path");
    const { Client, ControllerLostError } = await import("../../src/index.js");
    const wrong = path.join(t.dir, "security", "client-wrong-curve.json");
    writeJsonAtomic(wrong, { ...info, curveServerKey: zmq.curveKeyPair().publicKey });
    await assert.rejects(Client.connect({ connectionFile: wrong, timeout: 1500 }), ControllerLostError);
    const plain = path.join(t.dir, "security", "client-no-curve.json");
    const { curveServerKey: _dropped, ...withoutCurve } = info;
    writeJsonAtomic(plain, withoutCurve);
    await assert.rejects(Client.connect({ connectionFile: plain, timeout: 1500 }), ControllerLostError);
  } finally {
    await t.stop();
  }
});
