/**
 * MpiLauncher with Open MPI's real `mpiexec`: four ranks become engines 0-3, each seeing its
 * rank, and stopping the set ends mpiexec and every rank.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Cluster, MpiLauncher } from "../../src/index.js";
import { alive, ownedByTest } from "../helpers/cluster.js";
import { assertSignalInterrupts, missingRequirements, skipWithout, waitUntil } from "../helpers/system.js";

/** Bound in each engine's namespace by `--mpi`; functions sent to engines read them there. */
declare const mpiRank: number;
declare const mpiSize: number;

/** Open MPI refuses root without these, and the machine may have fewer cores than ranks. */
const MPI_ARGS = process.getuid?.() === 0 ? ["--allow-run-as-root", "--oversubscribe"] : ["--oversubscribe"];

test("mpiexec starts 4 engines whose ids are their ranks; stop ends every rank", { timeout: 90_000 }, async (t) => {
  const why = missingRequirements(["mpiexec"], { packages: "openmpi-bin" });
  if (skipWithout(t, why)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-mpi-"));
  const cluster = new Cluster({ n: 4, profileDir: dir, engines: new MpiLauncher({ mpiArgs: MPI_ARGS }) });
  try {
    await cluster.start();
    const rc = await cluster.connectClient();
    try {
      assert.deepEqual(await rc.waitForEngines(4, { timeout: 45_000 }), [0, 1, 2, 3]);
      for (const id of [0, 1, 2, 3]) {
        assert.equal(await rc.view(id).apply(() => mpiRank), id);
      }
      assert.deepEqual(await rc.view().apply(() => mpiSize), [4, 4, 4, 4]);
      assert.deepEqual(await rc.view().apply(() => process.env.OMPI_COMM_WORLD_RANK), ["0", "1", "2", "3"]);
      // The set's signal() reaches the engines: SIGINT interrupts a running task and the engine stays.
      await assertSignalInterrupts(rc, cluster);
      const enginePids = (await rc.view().apply(() => process.pid)) as number[];
      const [set] = Object.values(cluster.engineSets);
      assert.equal(set?.launcher, "mpi");
      const mpiexecPid = set?.pids[0] as number;
      assert.ok(alive(mpiexecPid));
      await rc.close();
      await cluster.stopEngines();
      assert.equal(alive(mpiexecPid), false, "mpiexec still alive");
      await waitUntil("engine processes to exit", 10_000, () => enginePids.every((pid) => !alive(pid)));
    } finally {
      await rc.close();
    }
  } finally {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'Cluster({ engines: "mpi", launcherOptions }) uses the named launcher; the set re-attaches from the cluster file',
  { timeout: 90_000 },
  async (t) => {
    const why = missingRequirements(["mpiexec"], { packages: "openmpi-bin" });
    if (skipWithout(t, why)) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-mpi-"));
    const cluster = new Cluster({ n: 2, profileDir: dir, engines: "mpi", launcherOptions: { mpiArgs: MPI_ARGS } });
    try {
      await cluster.start();
      const rc = await cluster.connectClient();
      assert.deepEqual(await rc.waitForEngines(2, { timeout: 45_000 }), [0, 1]);
      const pids = (await rc.view().apply(() => process.pid)) as number[];
      await rc.close();
      const mpiexecPid = Object.values(cluster.engineSets)[0]?.pids[0] as number;
      const attached = Cluster.fromFile({ profileDir: dir, clusterId: cluster.clusterId });
      assert.equal(attached.engineSets["0"]?.launcher, "mpi");
      await attached.stop();
      await waitUntil("mpiexec and its ranks to exit", 10_000, () => [mpiexecPid, ...pids].every((pid) => !alive(pid)));
    } finally {
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  "an mpiexec that refuses to run fails waitForEngines at once with EngineError naming the set and mpiexec's log",
  { timeout: 60_000 },
  async (t) => {
    const why = missingRequirements(["mpiexec"], { packages: "openmpi-bin" });
    if (skipWithout(t, why)) return;
    const { EngineError } = await import("../../src/index.js");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-mpi-refused-"));
    const started = Date.now();
    await assert.rejects(
      Cluster.startAndConnect({
        n: 2,
        profileDir: dir,
        engines: "mpi",
        launcherOptions: { mpiArgs: [...MPI_ARGS, "--no-such-mpiexec-option"] },
      }),
      (e: unknown) =>
        e instanceof EngineError &&
        /engine set 0 \(mpi, 2 engines\) .* ended: mpiexec exited with code \d+; read .*engines-.*-0-mpi\.log/.test((e as Error).message),
    );
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  },
);

test(
  "parallax cluster start --engines mpi --launcher-options starts ranks as engines from the command line",
  { timeout: 90_000 },
  async (t) => {
    const why = missingRequirements(["mpiexec"], { packages: "openmpi-bin" });
    if (skipWithout(t, why)) return;
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const { Client } = await import("../../src/index.js");
    const run = promisify(execFile);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-mpi-cli-"));
    const env = { ...process.env, ...ownedByTest(), PARALLAX_DIR: root };
    const cli = [path.join(import.meta.dirname, "../../src/cli/main.ts")];
    const node = (args: string[]) => run(process.execPath, ["--import", "tsx", ...cli, ...args], { env, timeout: 60_000 });
    await node([
      "cluster",
      "start",
      "-n",
      "2",
      "--engines",
      "mpi",
      "--launcher-options",
      JSON.stringify({ mpiArgs: MPI_ARGS }),
      "--daemonize",
    ]);
    try {
      const rc = await Client.connect({ profileDir: path.join(root, "profile_default") });
      try {
        assert.deepEqual(await rc.waitForEngines(2, { timeout: 45_000 }), [0, 1]);
        assert.deepEqual(await rc.view().apply(() => mpiRank), [0, 1]);
      } finally {
        await rc.close();
      }
    } finally {
      await node(["cluster", "stop"]);
    }
    await assert.rejects(node(["cluster", "start", "--launcher-options", "[1]"]), /expected a JSON object, got \[1\]/);
  },
);
