import assert from "node:assert/strict";
import { test } from "node:test";
import { CompositeError, ExecutionTimeout, TaskInterrupted } from "../../src/index.js";
import type { AsyncResult } from "../../src/index.js";
import fs from "node:fs";
import path from "node:path";
import { startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

declare const engineId: number;
const busy = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* spin */
  }
  return "done";
};

test("execTimeout interrupts a running task, synchronous or async; the engine keeps its namespace", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    await t.rc.view(0).push({ keep: "me" });
    const lview = t.rc.loadBalancedView().with({ execTimeout: 300 });
    const started = Date.now();
    await assert.rejects(lview.apply(busy, 10_000), (e: unknown) => {
      assert.ok(e instanceof ExecutionTimeout);
      assert.match((e as Error).message, /ran longer than its execTimeout of 300 ms on engine 0/);
      return true;
    });
    assert.ok(Date.now() - started < 3000);
    await assert.rejects(
      lview.apply(() => new Promise((r) => setTimeout(r, 10_000))),
      ExecutionTimeout,
    );
    assert.equal(await lview.apply(() => 1 + 1), 2, "a short task under the same limit runs");
    assert.equal(await t.rc.view(0).pull("keep"), "me");
    assert.deepEqual(t.rc.ids, [0]);
  } finally {
    await t.stop();
  }
});

test("SIGINT interrupts a task waiting on async work within 1 s; the next task runs normally", async () => {
  const t = await startTestCluster({ n: 2 });
  try {
    const ar = t.rc.view(1).apply(() => {
      console.log("started");
      return new Promise((r) => setTimeout(r, 30_000));
    });
    await waitUntil("the task to start", 10_000, () => String(ar.stdout).includes("started"));
    const sent = Date.now();
    assert.deepEqual(await ar.interrupt(), [1]);
    await assert.rejects(ar, TaskInterrupted);
    assert.ok(Date.now() - sent < 1000, `interrupted after ${Date.now() - sent} ms`);
    assert.equal(await t.rc.view(1).apply(() => engineId), 1);
    const viaClient = t.rc.view(0).apply(() => {
      console.log("started");
      return new Promise((r) => setTimeout(r, 30_000));
    });
    await waitUntil("the task to start", 10_000, () => String(viaClient.stdout).includes("started"));
    await t.rc.sendSignal("SIGINT", 0);
    await assert.rejects(viaClient, TaskInterrupted);
    assert.deepEqual(t.rc.ids, [0, 1]);
  } finally {
    await t.stop();
  }
});

test("SIGINT breaks synchronous code too: the task fails with TaskInterrupted and the engine keeps its namespace", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    await t.rc.view(0).push({ kept: "namespace" });
    const pid = (await t.rc.view(0).apply(() => process.pid)) as number;
    // A busy engine cannot stream output, so the task marks its start with a file.
    const marker = path.join(t.dir, "busy-started");
    const spin = (file: string, ms: number) => {
      (require("node:fs") as typeof import("node:fs")).writeFileSync(file, "");
      const end = Date.now() + ms;
      while (Date.now() < end) {
        /* spin */
      }
      return "finished";
    };
    const ar = t.rc.view(0).apply(spin, marker, 60_000);
    await waitUntil("the busy task to start", 10_000, () => fs.existsSync(marker));
    const sent = Date.now();
    await t.rc.sendSignal("SIGINT");
    await assert.rejects(ar, TaskInterrupted);
    assert.ok(Date.now() - sent < 1000, `interrupted after ${Date.now() - sent} ms`);
    assert.equal(await t.rc.view(0).apply(() => process.pid), pid, "the same engine process");
    assert.equal(await t.rc.view(0).pull("kept"), "namespace");
  } finally {
    await t.stop();
  }
});

/** The failure of one task, or of every task of a map (which reports them in a CompositeError). */
function failedWith(kind: new (...args: never[]) => Error): (e: unknown) => boolean {
  return (e) =>
    e instanceof kind || (e instanceof CompositeError && e.errors.length > 0 && e.errors.every((inner) => inner instanceof kind));
}

/** Code that never yields, in every place a task can run it; each prints "started" first. */
const spinners: Array<[string, (t: TestCluster) => AsyncResult<unknown>]> = [
  ["code run by execute()", (t) => t.rc.view(0).execute("console.log('started'); for (;;) {}")],
  [
    "a file run by run()",
    (t) => {
      const file = path.join(t.dir, "spin.js");
      fs.writeFileSync(file, "console.log('started');\nwhile (true) {}\n");
      return t.rc.view(0).run(file);
    },
  ],
  [
    "a DirectView map partition",
    (t) =>
      t.rc.view(0).map(
        (x: number) => {
          console.log("started", x);
          for (;;) {
            /* spin */
          }
        },
        [1, 2, 3],
      ),
  ],
  [
    "a load-balanced map",
    (t) =>
      t.rc.loadBalancedView().map(
        (x: number) => {
          console.log("started", x);
          for (;;) {
            /* spin */
          }
        },
        [1],
      ),
  ],
  [
    "an async loop that never yields to the event loop",
    (t) =>
      t.rc.view(0).apply(async () => {
        console.log("started");
        for (;;) await null;
      }),
  ],
  [
    "synchronous code after an await",
    (t) =>
      t.rc.view(0).apply(async () => {
        await new Promise((r) => setTimeout(r, 10));
        console.log("started");
        for (;;) {
          /* spin */
        }
      }),
  ],
  [
    "a timer callback",
    (t) =>
      t.rc.view(0).apply(
        () =>
          new Promise(() =>
            setTimeout(() => {
              console.log("started");
              for (;;) {
                /* spin */
              }
            }, 10),
          ),
      ),
  ],
];

test("SIGINT breaks any running code within 1 s, wherever it runs; the same engine keeps its namespace and runs the next task", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    await t.rc.view(0).push({ kept: "namespace" });
    const pid = (await t.rc.view(0).apply(() => process.pid)) as number;
    for (const [i, [what, submit]] of spinners.entries()) {
      const ar = submit(t);
      await waitUntil(`${what} to start`, 10_000, () => String(ar.stdout).includes("started"));
      const sent = Date.now();
      if (i % 2 === 0) await ar.interrupt();
      else await t.rc.sendSignal("SIGINT", 0);
      await assert.rejects(ar, failedWith(TaskInterrupted), what);
      assert.ok(Date.now() - sent < 1000, `${what}: interrupted after ${Date.now() - sent} ms`);
      assert.equal(await t.rc.view(0).apply(() => process.pid), pid, `${what}: the same engine process`);
      assert.equal(await t.rc.view(0).pull("kept"), "namespace", `${what}: the namespace is kept`);
    }
  } finally {
    await t.stop();
  }
});

test("a function that returned quickly before is interrupted like any other", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    await t.rc.view(0).push({ kept: "namespace" });
    const spin = (ms: number) => {
      if (ms > 0) console.log("started");
      const end = Date.now() + ms;
      while (Date.now() < end) {
        /* spin */
      }
      return "finished";
    };
    for (let i = 0; i < 3; i++) assert.equal(await t.rc.view(0).apply(spin, 0), "finished");
    const ar = t.rc.view(0).apply(spin, 600_000);
    await waitUntil("the busy task to start", 10_000, () => String(ar.stdout).includes("started"));
    const sent = Date.now();
    await t.rc.sendSignal("SIGINT");
    await assert.rejects(ar, TaskInterrupted);
    assert.ok(Date.now() - sent < 1000, `interrupted after ${Date.now() - sent} ms`);
    assert.equal(await t.rc.view(0).pull("kept"), "namespace");
    assert.equal(await t.rc.view(0).apply(spin, 0), "finished", "the next call runs normally");
  } finally {
    await t.stop();
  }
});

test("execTimeout stops code that never yields, wherever it runs; the engine keeps its namespace", async () => {
  const t = await startTestCluster({ n: 1 });
  try {
    await t.rc.view(0).push({ kept: "namespace" });
    const pid = (await t.rc.view(0).apply(() => process.pid)) as number;
    const lview = t.rc.loadBalancedView().with({ execTimeout: 300 });
    const quick = () => "quick";
    assert.equal(await lview.apply(quick), "quick");
    const cases: Array<[string, () => AsyncResult<unknown>]> = [
      [
        "a load-balanced map",
        () =>
          lview.map(
            (_x: number) => {
              for (;;) {
                /* spin */
              }
            },
            [1],
          ),
      ],
      [
        "an async loop that never yields",
        () =>
          lview.apply(async () => {
            for (;;) await null;
          }),
      ],
      [
        "synchronous code after an await",
        () =>
          lview.apply(async () => {
            await new Promise((r) => setTimeout(r, 10));
            for (;;) {
              /* spin */
            }
          }),
      ],
      [
        "a timer callback",
        () =>
          lview.apply(
            () =>
              new Promise(() =>
                setTimeout(() => {
                  for (;;) {
                    /* spin */
                  }
                }, 10),
              ),
          ),
      ],
      ["a function that returned quickly before", () => lview.apply(busy, 600_000)],
    ];
    assert.equal(await lview.apply(busy, 0), "done", "a quick first call");
    for (const [what, submit] of cases) {
      const started = Date.now();
      await assert.rejects(submit(), failedWith(ExecutionTimeout), what);
      assert.ok(Date.now() - started < 3000, `${what}: stopped after ${Date.now() - started} ms`);
      assert.equal(await t.rc.view(0).apply(() => process.pid), pid, `${what}: the same engine process`);
      assert.equal(await t.rc.view(0).pull("kept"), "namespace", `${what}: the namespace is kept`);
    }
  } finally {
    await t.stop();
  }
});
