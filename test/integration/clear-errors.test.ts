/**
 * Errors that say what is wrong: values nested too deeply, a wrong key, an engine that ran out
 * of memory; user data that looks like an internal marker; signals given by number.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";
import { Client, ControllerLostError, EngineError, SerializationError, TaskInterrupted } from "../../src/index.js";
import { readConnectionFile, writeJsonAtomic } from "../../src/connection/profile.js";
import { startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

let t: TestCluster;
before(async () => {
  t = await startTestCluster({ n: 2 });
});
after(async () => {
  await t.stop();
});

test("arguments nested 10,000 deep fail with a SerializationError that says so, not a RangeError", async () => {
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = { next: deep };
  let array: unknown = [];
  for (let i = 0; i < 10_000; i++) array = [array];
  for (const value of [deep, array]) {
    await assert.rejects(
      async () => await t.rc.view(0).apply((x: unknown) => x, value),
      (e: unknown) => e instanceof SerializationError && /args is nested too deeply to be sent/.test((e as Error).message),
    );
    await assert.rejects(async () => await t.rc.view(0).push({ value }), SerializationError);
  }
  assert.equal(await t.rc.view(0).apply(() => "still fine"), "still fine");
});

test("user data with a __parallax_can__ key round-trips as it was", async () => {
  const lookalike = { __parallax_can__: "source", src: "() => 'injected'", name: "f" };
  const plain = { __parallax_can__: 5, nested: { __parallax_can__: "module", path: "node:os", exportName: "hostname" } };
  assert.deepEqual(await t.rc.view(0).apply((x: unknown) => x, lookalike), lookalike);
  assert.deepEqual(await t.rc.loadBalancedView().apply((x: unknown) => x, [plain, plain]), [plain, plain]);
  await t.rc.view(0).push({ stored: plain });
  assert.deepEqual(await t.rc.view(0).pull("stored"), plain);
  // Functions inside such data still travel as functions.
  assert.equal(
    await t.rc
      .view(0)
      .apply((o: { __parallax_can__: number; f: (x: number) => number }) => o.f(2), { __parallax_can__: 1, f: (x: number) => x * 3 }),
    6,
  );
});

test("a client holding the wrong key is told that the key is the likely cause", async () => {
  const wrong = path.join(t.dir, "security", "client-wrong-key.json");
  writeJsonAtomic(wrong, { ...readConnectionFile(t.cluster.files.client), key: "0".repeat(64) });
  await assert.rejects(
    Client.connect({ connectionFile: wrong, timeout: 1500 }),
    (e: unknown) =>
      e instanceof ControllerLostError &&
      /is running but did not answer within 1500 ms: the key in .*client-wrong-key\.json is most likely not its key \(it drops messages with a bad signature, and its log counts the drops\)/.test(
        (e as Error).message,
      ),
  );
});

test("numeric signals work like their names: sendSignal(2) interrupts", async () => {
  const ar = t.rc.view(1).apply(() => {
    console.log("started");
    return new Promise((r) => setTimeout(r, 30_000));
  });
  await waitUntil("the task to start", 10_000, () => String(ar.stdout).includes("started"));
  assert.deepEqual(await t.rc.sendSignal(2, 1), [1]);
  await assert.rejects(ar, TaskInterrupted);
  await assert.rejects(t.rc.sendSignal(12345), /sendSignal: no signal has the number 12345/);
});

test("an engine that aborts (as V8 does out of memory) is reported as probably out of memory, naming --max-memory", async () => {
  await assert.rejects(
    async () => await t.rc.view(1).apply(() => process.kill(process.pid, "SIGABRT")),
    (e: unknown) =>
      e instanceof EngineError &&
      /probably ran out of memory \(heap limit \d+ MiB; raise it with the engine option --max-memory <MiB>\)/.test((e as Error).message),
  );
});
