/**
 * Replays are refused without relying on clocks: a request from a client whose clock runs
 * ahead, replayed after its record was purged, never runs twice. The window is shortened to
 * 2 s here; the client's clock is 1.5 s ahead and the replay comes 3 s later (so the replay is
 * within the window by its date, but older than the window by the controller's clock).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as zmq from "zeromq";
import { readConnectionFile } from "../../src/connection/profile.js";
import { Codec } from "../../src/protocol/message.js";
import type { Incoming } from "../../src/protocol/message.js";
import { encodeValue } from "../../src/protocol/serialize.js";
import { startTestCluster } from "../helpers/cluster.js";
import { receiveOne } from "../helpers/wire.js";

const WINDOW_MS = 2000;
process.env.PARALLAX_REPLAY_WINDOW_MS = String(WINDOW_MS);
const SKEW_MS = 1500;
const REPLAY_AFTER_MS = 3000;

test("a request from a client whose clock is ahead, replayed after purgeResults, is refused; so is its msg id re-signed", async () => {
  const t = await startTestCluster({ n: 1 });
  const info = readConnectionFile(t.cluster.files.client);
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(info.url);
  try {
    await t.rc.view(0).push({ hits: 0 });
    const bump = (() => ++(globalThis as unknown as { hits: number }).hits).toString();
    const request = (codec: Codec, msgId: string, date: number) =>
      codec.encode({
        header: { ...codec.header("apply_request", msgId), date },
        parent: {},
        metadata: { engine: 0 },
        content: { op: "call", fn: { __parallax_can__: "source", src: bump, name: "bump" } },
        buffers: encodeValue([]),
      });
    const receive = async (codec: Codec): Promise<Incoming> => (await receiveOne(dealer, codec)) as Incoming;
    const skewed = new Codec(info.key);
    const sentAt = Date.now();
    const msgId = "replayed-request";
    const frames = request(skewed, msgId, sentAt + SKEW_MS);
    await dealer.send(frames);
    const first = await receive(skewed);
    assert.equal(first.content.status, "ok");
    assert.equal(await t.rc.purgeResults(msgId), 1);
    await new Promise((resolve) => setTimeout(resolve, sentAt + REPLAY_AFTER_MS - Date.now()));
    // Other traffic meanwhile, through the hub and the engine (whatever they keep for replay
    // detection gets its chance to age out).
    assert.equal(await t.rc.view(0).pull("hits"), 1);
    await dealer.send(frames);
    // The same msg id signed afresh by a new sender (another session, a current date): the
    // hub remembers every id it ran, purged or not.
    const fresh = new Codec(info.key);
    await dealer.send(request(fresh, msgId, Date.now()));
    const refused = await receive(fresh);
    assert.equal(refused.parent.msgId, msgId);
    assert.equal((refused.content.error as { code?: string }).code, "PROTOCOL_ERROR");
    assert.match((refused.content.error as { evalue?: string }).evalue ?? "", /was already submitted/);
    // The hub handled the replay before the re-signed copy (same socket, in order), and a
    // direct request runs on the engine in arrival order: this pull comes after either.
    assert.equal(await t.rc.view(0).pull("hits"), 1, "the request ran once");
  } finally {
    dealer.close();
    await t.stop();
  }
});
