// The link between a supervisor and its engine: JSON messages, one a line, whole whatever the
// chunks they arrive in, and the other end's close told.
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { SupervisorLink } from "../../src/engine/supervisor-link.js";

/** Both ends of a local socket. */
async function socketPair(): Promise<{ a: net.Socket; b: net.Socket; done: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-link-"));
  const address = path.join(dir, "link.sock");
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(address, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  const a = net.connect(address);
  const b = await accepted;
  return {
    a,
    b,
    done: () => {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("messages arrive whole and in order, however the bytes are cut, and the other end's close is told", async () => {
  const { a, b, done } = await socketPair();
  try {
    const receiver = new SupervisorLink<{ n: number; text?: string }, never>(b);
    const received: Array<{ n: number; text?: string }> = [];
    const all = new Promise<void>((resolve) =>
      receiver.onMessage((message) => {
        received.push(message);
        if (received.length === 3) resolve();
      }),
    );
    const closed = new Promise<void>((resolve) => receiver.onClose(resolve));
    // Three messages cut across chunks; a newline inside a string travels escaped.
    const bytes = `${JSON.stringify({ n: 1, text: "two\nlines" })}\n${JSON.stringify({ n: 2 })}\n${JSON.stringify({ n: 3 })}\n`;
    const cuts = [0, 7, 30, 31, bytes.length - 1, bytes.length];
    for (let i = 1; i < cuts.length; i++) {
      a.write(bytes.slice(cuts[i - 1], cuts[i]));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await all;
    assert.deepEqual(received, [{ n: 1, text: "two\nlines" }, { n: 2 }, { n: 3 }]);
    a.destroy();
    await closed;
    // Sending to an end that is gone is dropped, not thrown.
    new SupervisorLink<never, { n: number }>(b).send({ n: 4 });
  } finally {
    done();
  }
});
