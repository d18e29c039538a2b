// The built engine entry: one CommonJS file (dist/src/engine/child.cjs, made by `npm run build`)
// that the supervisor starts, which loads at start neither Node's ES module loader, nor the task
// thread's modules, nor the parser canning uses; engines started from it run tasks as usual. The
// task thread runs from a bundle of its own (task-worker.cjs), which loads acorn only when a
// result holds a function, and is still broken out of code that never yields.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "../..");
const bundle = path.join(root, "dist/src/engine/child.cjs");
const library = path.join(root, "dist/src/index.js");
const workerBundle = path.join(root, "dist/src/engine/task-worker.cjs");

/** Node's internal modules a fresh process has loaded after running `code` (no loader flags). */
function loadedModules(code: string): string[] {
  const out = execFileSync(process.execPath, ["-e", `${code}; console.log(JSON.stringify(process.moduleLoadList))`], {
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "ignore"],
  });
  return JSON.parse(out) as string[];
}

type Library = typeof import("../../src/index.js");

/** Runs `use` with a client of a cluster of `n` engines started from the built library, then stops it. */
async function withBuiltCluster(n: number, use: (rc: import("../../src/index.js").Client, lib: Library) => Promise<void>): Promise<void> {
  assert.ok(fs.existsSync(library), `${library} is built (run \`npm run build\` first)`);
  const lib = (await import(pathToFileURL(library).href)) as Library;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-bundle-"));
  const cluster = new lib.Cluster({ n, profileDir: dir });
  try {
    await cluster.start();
    const rc = await cluster.connectClient();
    try {
      await rc.waitForEngines(n, { timeout: 60_000 });
      await use(rc, lib);
    } finally {
      await rc.close();
    }
  } finally {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("the built engine entry loads no ES module loader, task thread, IPC channel or acorn at start", () => {
  assert.ok(fs.existsSync(bundle), `${bundle} is built (run \`npm run build\` first)`);
  const bare = new Set(loadedModules(""));
  // Without its link to a supervisor (file descriptor 3) the entry says so and the process ends
  // with code 2, which does not matter here: what it loaded does.
  const added = loadedModules(`require(${JSON.stringify(bundle)}); process.exitCode = 0`).filter((m) => !bare.has(m));
  assert.ok(added.includes("NativeModule crypto"), `the engine's own modules were loaded: ${added.join(", ")}`);
  const unwanted = added.filter((m) =>
    /worker_threads|inspector|child_process|dgram|modules\/esm\/(loader|module_job|translators)/.test(m),
  );
  assert.deepEqual(unwanted, [], "loaded at start by the engine entry");
  const packages = execFileSync(
    process.execPath,
    ["-e", `require(${JSON.stringify(bundle)}); process.exitCode = 0; console.log(Object.keys(require.cache).join("\\n"))`],
    { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" }, stdio: ["ignore", "pipe", "ignore"] },
  );
  assert.match(packages, /node_modules[\\/]zeromq[\\/]/);
  assert.doesNotMatch(packages, /node_modules[\\/]acorn[\\/]/);
  assert.doesNotMatch(fs.readFileSync(bundle, "utf8"), /acorn/, "acorn is not bundled into the engine either");
});

test("a built cluster starts its engines from the bundle, and they run tasks, fail them and keep their namespace", async () => {
  await withBuiltCluster(2, async (rc) => {
    const pids = await rc.view("all").apply(() => process.pid);
    for (const pid of pids) {
      const command = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      assert.ok(command.includes(bundle), `engine ${pid} runs ${command.join(" ")}`);
    }
    const view = rc.view(0);
    await view.execute("globalThis.kept = 21");
    assert.equal(await view.apply(() => (globalThis as { kept?: number }).kept! * 2), 42);
    await assert.rejects(
      view.apply(() => {
        throw new RangeError("out of range");
      }),
      (error: Error) => /out of range/.test(error.message),
    );
  });
});

test("the task thread runs from its bundle, loads acorn only for a result holding a function, and is still interrupted", async () => {
  assert.ok(fs.existsSync(workerBundle), `${workerBundle} is built (run \`npm run build\` first)`);
  await withBuiltCluster(1, async (rc, { ExecutionTimeout }) => {
    const view = rc.view(0);
    // The namespace's require shares the task thread's module cache.
    const loaded = () => view.apply(() => Object.keys(require.cache));
    const before = await loaded();
    assert.ok(before.includes(workerBundle), `the task thread's modules: ${before.join(", ")}`);
    assert.ok(!before.some((file) => /node_modules[\\/]acorn[\\/]/.test(file)), "acorn is not loaded before a result needs it");
    const add = await view.apply(() => (a: number, b: number) => a + b);
    assert.equal(add(2, 3), 5, "a function comes back as a function");
    assert.ok(
      (await loaded()).some((file) => /node_modules[\\/]acorn[\\/]/.test(file)),
      "acorn is loaded to can it",
    );
    await view.execute("globalThis.kept = 'still here'");
    const lview = rc.loadBalancedView().with({ execTimeout: 300 });
    await assert.rejects(
      lview.apply(() => {
        for (;;) {
          /* never yields */
        }
      }),
      ExecutionTimeout,
    );
    assert.equal(await view.apply(() => (globalThis as { kept?: string }).kept), "still here", "the same thread keeps its namespace");
  });
});
