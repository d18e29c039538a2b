/**
 * The cluster's life cycle from the command line and from code: who stops it, what a second
 * start does, how launchers are named, what the subcommands print.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { Cluster, ConfigurationError } from "../../src/index.js";
import { ownedByTest } from "../helpers/cluster.js";

const run = promisify(execFile);
const CLI = [path.join(import.meta.dirname, "../../src/cli/main.ts")];
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "parallax-cli-"));

test("CLI: a foreground cluster start exits when parallax cluster stop stops its cluster from elsewhere", async () => {
  const root = tempDir();
  const env = { ...process.env, ...ownedByTest(), PARALLAX_DIR: root };
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, ["--import", "tsx", ...CLI, "cluster", "start", "-n", "1", "--profile", "fg2"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("press Ctrl-C")) resolve();
    });
    void exited.then((code) => reject(new Error(`cluster start exited early (${code}): ${out}`)));
  });
  const stopped = await run(process.execPath, ["--import", "tsx", ...CLI, "cluster", "stop", "--profile", "fg2"], { env, timeout: 60_000 });
  assert.match(stopped.stdout, /stopped/);
  assert.equal(await exited, 0);
  assert.match(out, /stopped \(by another process\)/);
});

test("CLI: cluster stop --all with nothing running exits 0; stop of no cluster at all fails", async () => {
  const env = { ...process.env, PARALLAX_DIR: tempDir() };
  const all = await run(process.execPath, ["--import", "tsx", ...CLI, "cluster", "stop", "--all", "--profile", "empty"], { env });
  assert.match(all.stdout, /no cluster running in profile empty/);
  await assert.rejects(
    run(process.execPath, ["--import", "tsx", ...CLI, "cluster", "stop", "--profile", "empty"], { env }),
    /no cluster to stop in profile empty/,
  );
});

test("launcher names are case-insensitive", () => {
  assert.equal(new Cluster({ engines: "MPI" }).toJSON().options.engines, "mpi");
  assert.equal(new Cluster({ engines: "Local", controller: "LOCAL" as never }).toJSON().options.controller, "local");
  assert.throws(() => new Cluster({ engines: "Kubernetes" }), /option engines must be one of .*got "kubernetes"/);
});

test("a second startController() on a running cluster throws instead of returning silently", async () => {
  const cluster = new Cluster({ n: 0, profileDir: tempDir() });
  await cluster.start();
  try {
    const pid = cluster.controller?.pid;
    await assert.rejects(
      cluster.startController(),
      (e: unknown) =>
        e instanceof ConfigurationError && /controller of cluster .* is already running \(pid \d+\)/.test((e as Error).message),
    );
    await assert.rejects(cluster.start(), ConfigurationError);
    assert.equal(cluster.controller?.pid, pid, "the running controller is kept");
  } finally {
    await cluster.stop();
  }
});

test("engines that die at start fail waitForEngines at once with EngineError naming the set and its log", async () => {
  const { EngineError } = await import("../../src/index.js");
  const started = Date.now();
  await assert.rejects(
    Cluster.startAndConnect({ n: 2, profileDir: tempDir(), engineArgs: ["--cwd", "/no/such/folder"] }),
    (e: unknown) =>
      e instanceof EngineError &&
      /engine set 0 \(local, 2 engines\) of cluster .* ended: every engine process exited \(engine \d with code 1, engine \d with code 1\); read .*log\/engine-.*-0-\*\.log/.test(
        (e as Error).message,
      ),
  );
  // An option the engine command does not know stops the supervisor before any engine starts.
  await assert.rejects(
    Cluster.startAndConnect({ n: 2, profileDir: tempDir(), engineArgs: ["--no-such-engine-option"] }),
    (e: unknown) =>
      e instanceof EngineError &&
      /engine set 0 \(local, 2 engines\) of cluster .* ended: the engine supervisor exited with code 1 \(error: unknown option '--no-such-engine-option'\); read .*log\/engine-.*-0-supervisor\.log/.test(
        (e as Error).message,
      ),
  );
  // The default engineTimeout is 60 s: this is the engines' exit, not a timeout.
  assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
});

test("an engine set that ended before anyone waited fails the next wait that it would block", async () => {
  const { EngineError } = await import("../../src/index.js");
  const cluster = new Cluster({ n: 0, profileDir: tempDir(), engineArgs: ["--no-such-engine-option"] });
  await cluster.start();
  try {
    const rc = await cluster.connectClient();
    const setId = await cluster.startEngines(1);
    const log = path.join(cluster.profileDir, "log", `engine-${cluster.clusterId}-${setId}-supervisor.log`);
    while (cluster.engineSets[setId]?.pids.length !== 0) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await rc.waitForEngines(0), [], "a wait already satisfied is not failed");
    await assert.rejects(
      rc.waitForEngines(1, { timeout: 60_000 }),
      (e: unknown) => e instanceof EngineError && (e as Error).message.includes(log),
    );
    await rc.close();
  } finally {
    await cluster.stop();
  }
});
