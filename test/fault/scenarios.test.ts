/**
 * Reliability scenarios (engine failure, retries, timeouts, dependencies, clients, bad input,
 * security) on real processes. Each ends by checking that nothing was lost: every submitted
 * message reached exactly one terminal state, and the hub's queues are empty.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import * as zmq from "zeromq";
import { Client, EngineError, ImpossibleDependency, RemoteError, SerializationError, TaskTimeout } from "../../src/index.js";
import type { AsyncResult, TaskMetadata } from "../../src/index.js";
import { waitForExit } from "../../src/cluster/processes.js";
import { readConnectionFile } from "../../src/connection/profile.js";
import { Codec } from "../../src/protocol/message.js";
import { encodeValue } from "../../src/protocol/serialize.js";
import { startTestCluster } from "../helpers/cluster.js";
import { receiveOne } from "../helpers/wire.js";
import { waitUntil } from "../helpers/system.js";
import type { TestCluster } from "../helpers/cluster.js";

declare const engineId: number;
const meta = (ar: AsyncResult) => ar.metadata as TaskMetadata;
const hold = (ms: number) => new Promise((r) => setTimeout(() => r(engineId), ms));

/** Every result settled exactly once, and no engine still owes anything. */
async function assertNothingLost(t: TestCluster, results: AsyncResult[]): Promise<void> {
  for (const ar of results) {
    await ar.wait();
    assert.ok(ar.taskEntries.every((e) => ["ok", "error", "aborted"].includes(e.metadata.status)));
  }
  const status = await t.rc.queueStatus();
  for (const id of t.rc.ids) assert.deepEqual([status[id]?.queue, status[id]?.tasks], [0, 0], `engine ${id} still owes work`);
  assert.equal(status.unassigned, 0);
  await t.rc.debugValidate();
}

async function enginePid(t: TestCluster, id: number): Promise<number> {
  return (await t.rc.view(id).apply(() => process.pid)) as number;
}

test("A2: a load-balanced task on a killed engine is retried on the other engine", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 250 });
  try {
    const victimPid = await enginePid(t, 0);
    const marker = path.join(t.dir, "victim-started");
    const ar = t.rc
      .loadBalancedView()
      .with({ retries: 1, targets: [0, 1] })
      .apply(
        async (pid: number, file: string) => {
          if (process.pid === pid) {
            (require("node:fs") as typeof import("node:fs")).writeFileSync(file, "");
            await new Promise(() => {});
          }
          return engineId;
        },
        victimPid,
        marker,
      );
    const placed = t.rc
      .loadBalancedView()
      .with({ targets: [1] })
      .apply(hold, 300);
    // If the task went to engine 1 first there is nothing to kill it on; wait for either.
    await waitUntil("the task to start", 10_000, () => fs.existsSync(marker) || ar.ready());
    process.kill(victimPid, "SIGKILL");
    assert.equal(await ar, 1);
    assert.equal(meta(ar).engineId, 1);
    await placed;
    await assertNothingLost(t, [ar, placed]);
  } finally {
    await t.stop();
  }
});

test("A5: 50 queued direct tasks and 5 load-balanced tasks on a killed engine all reach a terminal state", async () => {
  const t = await startTestCluster({ n: 2, hwm: 0, heartbeatInterval: 250 });
  try {
    const victimPid = await enginePid(t, 0);
    const direct = Array.from({ length: 50 }, () => t.rc.view(0).apply(hold, 50));
    const balanced = Array.from({ length: 5 }, () => t.rc.loadBalancedView().with({ retries: 1 }).apply(hold, 200));
    process.kill(victimPid, "SIGKILL");
    const settled = await Promise.allSettled(direct);
    assert.ok(settled.some((s) => s.status === "rejected" && s.reason instanceof EngineError));
    for (const ar of balanced) assert.equal(typeof (await ar), "number");
    assert.equal(await t.rc.view(1).apply(() => "controller still serves"), "controller still serves");
    await assertNothingLost(t, [...direct.filter((a) => a.ready()), ...balanced]);
  } finally {
    await t.stop();
  }
});

test("A6: a stopped engine is declared dead; when resumed it leaves instead of coming back", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 250 });
  try {
    const pid = await enginePid(t, 1);
    const ar = t.rc.view(1).apply(hold, 100);
    process.kill(pid, "SIGSTOP");
    await assert.rejects(ar, (e: unknown) => e instanceof EngineError && /engine 1 missed 3 heartbeats/.test((e as Error).message));
    assert.deepEqual(t.rc.ids, [0]);
    process.kill(pid, "SIGCONT");
    assert.equal(await waitForExit(pid, 10_000), true, "the resumed engine left");
    assert.deepEqual(t.rc.ids, [0], "the old id is never reused");
  } finally {
    await t.stop();
  }
});

test("B1/B2: retries on a function that always throws end with the last attempt's error; with a timeout, TaskTimeout", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 250 });
  try {
    const always = () => {
      throw new Error(`failed on ${engineId}`);
    };
    const ar = t.rc.loadBalancedView().with({ retries: 1 }).apply(always);
    await assert.rejects(ar, (e: unknown) => e instanceof RemoteError && /failed on/.test(e.message));
    const b3 = t.rc.loadBalancedView();
    const slowDep = b3.apply(hold, 3000);
    const started = Date.now();
    const waiting = b3.with({ after: slowDep, timeout: 500 }).apply(() => "never ran");
    await assert.rejects(waiting, TaskTimeout);
    assert.ok(Date.now() - started < 2000);
    await slowDep;
    await assertNothingLost(t, [ar, waiting, slowDep]);
  } finally {
    await t.stop();
  }
});

test("C3/C5: follow across engines is impossible; a task pinned to an engine that dies does not hang", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 250 });
  try {
    const lview = t.rc.loadBalancedView();
    const on0 = lview.with({ targets: [0] }).apply(() => 0);
    const on1 = lview.with({ targets: [1] }).apply(() => 1);
    await Promise.all([on0, on1]);
    const both = lview.with({ follow: [on0, on1] }).apply(() => "nowhere");
    await assert.rejects(both, /no engine can run|ImpossibleDependency/);
    const victim = await enginePid(t, 1);
    const blocker = lview.with({ targets: [1] }).apply(hold, 5000);
    const pinned = lview.with({ targets: [1] }).apply(() => "pinned");
    process.kill(victim, "SIGKILL");
    await assert.rejects(blocker, EngineError);
    await assert.rejects(pinned, (e: unknown) => e instanceof ImpossibleDependency || e instanceof EngineError);
    await assertNothingLost(t, [on0, on1, both, blocker, pinned]);
  } finally {
    await t.stop();
  }
});

test("D4: tasks of a client that exits abruptly still complete; another client gets every result", async () => {
  const t = await startTestCluster({ n: 2 });
  try {
    const first = await Client.connect({ connectionFile: t.cluster.files.client });
    const ars = Array.from({ length: 20 }, (_, i) => first.loadBalancedView().apply((x: number) => x * x, i));
    const ids = ars.map((ar) => ar.msgIds[0] as string);
    await first.close();
    // The closed client's last requests may still be on the wire: wait until the hub has them.
    for (let known = new Set(await t.rc.hubHistory()); !ids.every((id) => known.has(id)); known = new Set(await t.rc.hubHistory())) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const values = await t.rc.getResult(ids);
    assert.deepEqual(
      values,
      Array.from({ length: 20 }, (_, i) => i * i),
    );
  } finally {
    await t.stop();
  }
});

test("D5: shutdown with hub stops engines and the controller, and removes the connection files", async () => {
  const t = await startTestCluster({ n: 2 });
  const other = await Client.connect({ connectionFile: t.cluster.files.client });
  const pending = other.view(0).apply(() => new Promise(() => {}));
  const controllerPid = t.cluster.controller?.pid as number;
  await t.rc.shutdown({ hub: true });
  await assert.rejects(pending, /controller shut down|EngineError|exited/);
  while (fs.existsSync(t.cluster.files.client)) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await waitForExit(controllerPid, 10_000), true, "the controller exited");
  await other.close();
  await t.stop();
});

test("E2/E3: an unserializable result, a syntax error and a missing module are RemoteErrors; the engine stays", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    await assert.rejects(
      t.rc.view(0).apply(() => ({ f: Symbol("s") })),
      (e: unknown) => e instanceof RemoteError && /result of .* cannot be serialized/.test(e.evalue),
    );
    await assert.rejects(t.rc.view(0).execute("const = 1"), (e: unknown) => e instanceof RemoteError && e.ename === "SyntaxError");
    await assert.rejects(
      t.rc.view(0).requireModules("parallax-no-such-module"),
      (e: unknown) => e instanceof RemoteError && /cannot load module parallax-no-such-module/.test(e.evalue),
    );
    assert.equal(await t.rc.view(0).apply(() => "fine"), "fine");
  } finally {
    await t.stop();
  }
});

test("F3: swapping the buffers of a signed message is detected; the engine never runs the substituted code", async () => {
  const t = await startTestCluster({ n: 1 });
  const info = readConnectionFile(t.cluster.files.client);
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(info.url);
  try {
    await t.rc.view(0).push({ marker: "untouched" });
    const codec = new Codec(info.key);
    const setMarker = (value: string) =>
      codec.encode({
        header: codec.header("apply_request"),
        parent: {},
        metadata: { engine: 0 },
        content: { op: "push" },
        buffers: encodeValue({ marker: value }),
      });
    const genuine = setMarker("genuine");
    const swapped = [...genuine.slice(0, -1), ...encodeValue({ marker: "substituted" })];
    await dealer.send(swapped);
    await dealer.send(setMarker("genuine"));
    await dealer.receive();
    assert.equal(await t.rc.view(0).pull("marker"), "genuine");
  } finally {
    dealer.close();
    await t.stop();
  }
});

test("A8: a throw inside a timer callback fails the running task with a RemoteError; the engine and its namespace stay", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    await t.rc.view(0).push({ kept: 7 });
    const pid = await enginePid(t, 0);
    const ar = t.rc.view(0).apply(
      () =>
        new Promise(() =>
          setTimeout(() => {
            throw new RangeError("thrown from a timer");
          }, 10),
        ),
    );
    await assert.rejects(ar, (e: unknown) => e instanceof RemoteError && e.ename === "RangeError" && /thrown from a timer/.test(e.evalue));
    const rejected = t.rc.view(0).apply(
      () =>
        new Promise(() => {
          void Promise.reject(new TypeError("nobody handles me"));
        }),
    );
    await assert.rejects(rejected, (e: unknown) => e instanceof RemoteError && e.ename === "TypeError");
    assert.equal(await enginePid(t, 0), pid, "the same engine process");
    assert.equal(await t.rc.view(0).pull("kept"), 7);
  } finally {
    await t.stop();
  }
});

test("A3: with the supervisor off, a killed engine is found by missed heartbeats; its direct task fails with EngineError", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 250, engineArgs: ["--no-supervisor"] });
  try {
    const pid = await enginePid(t, 1);
    const ar = t.rc.view(1).apply(() => new Promise(() => {}));
    const killed = Date.now();
    process.kill(pid, "SIGKILL");
    await assert.rejects(ar, (e: unknown) => e instanceof EngineError && /missed 3 heartbeats/.test((e as Error).message));
    assert.ok(Date.now() - killed < 3000, `detected after ${Date.now() - killed} ms`);
    assert.deepEqual(t.rc.ids, [0]);
  } finally {
    await t.stop();
  }
});

test("C4: a chain of 1000 after-dependent tasks on 4 engines completes in order although an engine is killed mid-chain", async () => {
  const t = await startTestCluster({ n: 4, heartbeatInterval: 250 });
  try {
    const victim = await enginePid(t, 2);
    const lview = t.rc.loadBalancedView().with({ retries: 1 });
    const chain: AsyncResult[] = [];
    for (let i = 0; i < 1000; i++) {
      const link = (i === 0 ? lview : lview.with({ after: chain[i - 1] as AsyncResult })).apply((x: number) => x, i);
      chain.push(link);
      if (i === 300) void link.then(() => process.kill(victim, "SIGKILL"));
    }
    const values = await Promise.all(chain);
    assert.deepEqual(
      values,
      Array.from({ length: 1000 }, (_, i) => i),
    );
    for (let i = 1; i < chain.length; i++) {
      assert.ok(
        (meta(chain[i] as AsyncResult).started as number) >= (meta(chain[i - 1] as AsyncResult).completed as number),
        `link ${i} started early`,
      );
    }
    assert.ok(!t.rc.ids.includes(2), "the killed engine left");
    await assertNothingLost(t, chain);
  } finally {
    await t.stop();
  }
});

test("E6: a 128 MiB argument round-trips", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    const big = new Float64Array(16 * 1024 * 1024).map((_, i) => i % 1000);
    const back = (await t.rc.view(0).apply((x: Float64Array) => x, big)) as Float64Array;
    assert.equal(back.length, big.length);
    assert.equal(back[16 * 1024 * 1024 - 1], (16 * 1024 * 1024 - 1) % 1000);
  } finally {
    await t.stop();
  }
});

test("A10: after the controller is killed, supervised engines give up within their controller timeout; nothing is left", async () => {
  const t = await startTestCluster({ n: 2, heartbeatInterval: 250, engineArgs: ["--controller-timeout", "1500"] });
  try {
    const enginePids = (await t.rc.view().apply(() => process.pid)) as number[];
    const supervisors = Object.values(t.cluster.engineSets).flatMap((s) => s.pids);
    await t.rc.close();
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    for (const pid of [...enginePids, ...supervisors]) assert.equal(await waitForExit(pid, 5000), true, `process ${pid} still running`);
  } finally {
    await t.stop();
  }
});

test("E1: unserializable arguments fail synchronously with SerializationError naming the path; nothing is sent", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    const before = (await t.rc.hubHistory()).length;
    const withGetter = {
      ok: 1,
      get broken(): number {
        throw new Error("getter exploded");
      },
    };
    assert.throws(
      () => t.rc.view(0).apply((x: unknown) => x, { data: [1, new SharedArrayBuffer(8)] }),
      (e: unknown) => e instanceof SerializationError && /args\[0\]\.data\[1\] cannot be sent to an engine/.test((e as Error).message),
    );
    assert.throws(
      () => t.rc.loadBalancedView().apply((x: unknown) => x, withGetter),
      (e: unknown) =>
        e instanceof SerializationError && /args\[0\]\.broken cannot be sent to an engine: getter exploded/.test((e as Error).message),
    );
    assert.throws(
      () => t.rc.view(0).push({ handle: new WeakMap() }),
      (e: unknown) => e instanceof SerializationError && /push\.handle/.test((e as Error).message),
    );
    assert.equal((await t.rc.hubHistory()).length, before, "no message reached the hub");
  } finally {
    await t.stop();
  }
});

test("A8: an engine that runs out of its heap limit fails its task with EngineError naming the cause; other engines go on", async () => {
  const t = await startTestCluster({ n: 2, engineArgs: ["--max-memory", "64"], restartDeadEngines: true });
  try {
    const hog = t.rc.view(0).apply(() => {
      const kept: number[][] = [];
      for (;;) kept.push(new Array(1_000_000).fill(1.5));
    });
    await assert.rejects(
      hog,
      (e: unknown) =>
        e instanceof EngineError &&
        e.engineId === 0 &&
        /out of memory \(heap limit 64 MiB; raise it with the engine option --max-memory/.test((e as Error).message),
    );
    assert.equal(await t.rc.view(1).apply(() => "unaffected"), "unaffected");
    assert.deepEqual(await t.rc.waitForEngines(2, { timeout: 20_000 }), [1, 2], "the dead engine was replaced under a new id");
  } finally {
    await t.stop();
  }
});

test("B4/C1/C5: timeout bounds only the wait, a task cannot depend on itself, targets naming no engine fail at once", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    const lview = t.rc.loadBalancedView();
    assert.equal(await lview.with({ timeout: 200 }).apply(hold, 600), 0, "a task that started in time may run longer than its timeout");
    assert.throws(
      () => lview.with({ targets: [99] }).apply(() => 1),
      /flag targets names no registered engine: \[99\] \(registered: \[0\]\)/,
    );
    // A request that names itself as its dependency (only a hand-made one can) is invalid at once.
    const info = readConnectionFile(t.cluster.files.client);
    const codec = new Codec(info.key);
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(info.url);
    try {
      const header = codec.header("apply_request");
      await dealer.send(
        codec.encode({
          header,
          parent: {},
          metadata: { after: { ids: [header.msgId], all: true, success: true, failure: false } },
          content: { op: "call", fn: { __parallax_can__: "source", src: "() => 1", name: "f" } },
          buffers: encodeValue([]),
        }),
      );
      const reply = await receiveOne(dealer, codec);
      assert.equal((reply?.content.error as { code?: string } | undefined)?.code, "INVALID_DEPENDENCY");
      assert.match(String((reply?.content.error as { evalue?: string } | undefined)?.evalue), /cannot depend on itself/);
    } finally {
      dealer.close();
    }
  } finally {
    await t.stop();
  }
});
