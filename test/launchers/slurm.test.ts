/**
 * SlurmLauncher against a real single-node Slurm: the test starts munged, slurmctld and slurmd
 * in the foreground with a minimal slurm.conf and their own ports, sockets and state in a
 * temporary folder, and stops all three at the end.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { SlurmEngineSet } from "../../src/index.js";
import { Cluster, SlurmLauncher } from "../../src/index.js";
import { alive, ownedByTest } from "../helpers/cluster.js";
import { freePort, missingRequirements, skipWithout, startDaemon, stopAll, waitUntil, which } from "../helpers/system.js";
import type { Daemon } from "../helpers/system.js";

const PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "scancel", "squeue", "sinfo", "srun"];
const PACKAGES = "munge slurmctld slurmd slurm-client";

interface SlurmSystem {
  env: Record<string, string>;
  daemons: Daemon[];
}

/**
 * The smallest slurm.conf that runs jobs on this one node, everything under `dir`. The node
 * claims at least 4 CPUs (config_overrides keeps slurmd from draining it for having fewer), so
 * a controller job and a two-engine job run side by side on a small machine.
 */
function slurmConf(dir: string, socket: string, ports: { ctld: number; slurmd: number }): string {
  const host = os.hostname().split(".")[0] as string;
  return [
    "ClusterName=parallax",
    `SlurmctldHost=${host}(127.0.0.1)`,
    `SlurmctldPort=${ports.ctld}`,
    `SlurmdPort=${ports.slurmd}`,
    "SlurmUser=root",
    "SlurmdUser=root",
    "AuthType=auth/munge",
    "CredType=cred/munge",
    `AuthInfo=socket=${socket}`,
    "ProctrackType=proctrack/linuxproc",
    "TaskPlugin=task/none",
    "JobAcctGatherType=jobacct_gather/none",
    "AccountingStorageType=accounting_storage/none",
    "SelectType=select/cons_tres",
    "SelectTypeParameters=CR_Core",
    "MpiDefault=none",
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool`,
    `SlurmctldPidFile=${dir}/slurmctld.pid`,
    `SlurmdPidFile=${dir}/slurmd.pid`,
    `SlurmctldLogFile=${dir}/slurmctld.log`,
    `SlurmdLogFile=${dir}/slurmd.log`,
    "ReturnToService=2",
    "KillWait=2",
    "MinJobAge=2",
    "InactiveLimit=0",
    "SlurmdParameters=config_overrides",
    `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${Math.max(os.availableParallelism(), 4)} State=UNKNOWN`,
    `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
    "",
  ].join("\n");
}

/** Starts munged (own key and socket), slurmctld and slurmd; resolves once the node is idle. */
async function startSlurm(dir: string): Promise<SlurmSystem> {
  const daemons: Daemon[] = [];
  try {
    for (const sub of ["state", "spool"]) fs.mkdirSync(path.join(dir, sub), { mode: 0o700 });
    fs.writeFileSync(path.join(dir, "munge.key"), randomBytes(128), { mode: 0o600 });
    const socket = path.join(dir, "munge.socket");
    daemons.push(
      await startDaemon(
        "munged",
        which("munged") as string,
        [
          "--foreground",
          "--force",
          `--socket=${socket}`,
          `--key-file=${dir}/munge.key`,
          `--log-file=${dir}/munged.log`,
          `--pid-file=${dir}/munged.pid`,
          `--seed-file=${dir}/munged.seed`,
        ],
        { logFile: path.join(dir, "munged.out") },
      ),
    );
    await waitUntil("munged's socket", 10_000, () => fs.existsSync(socket));
    const conf = path.join(dir, "slurm.conf");
    fs.writeFileSync(conf, slurmConf(dir, socket, { ctld: await freePort(), slurmd: await freePort() }));
    // The jobs' controllers and engines run on this machine: they stop when this test is gone.
    const env = { SLURM_CONF: conf, ...ownedByTest() };
    daemons.push(
      await startDaemon("slurmctld", which("slurmctld") as string, ["-D", "-i", "-f", conf], {
        logFile: path.join(dir, "slurmctld.out"),
        env,
      }),
    );
    daemons.push(
      await startDaemon("slurmd", which("slurmd") as string, ["-D", "-f", conf], { logFile: path.join(dir, "slurmd.out"), env }),
    );
    await waitUntil("the Slurm node to be idle", 30_000, () => {
      const state = execFileSync("sinfo", ["-h", "-o", "%t"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "ignore"] })
        .toString()
        .trim();
      return state === "idle";
    });
    return { env, daemons };
  } catch (error) {
    await stopAll(daemons);
    throw error;
  }
}

/** Job ids Slurm still lists as pending, running or completing. */
function activeJobs(env: Record<string, string>): string[] {
  return execFileSync("squeue", ["-h", "-o", "%i", "-t", "PD,R,CG,CF,S"], { env: { ...process.env, ...env } })
    .toString()
    .split("\n")
    .filter(Boolean);
}

test(
  "sbatch + srun start engines that register as the job starts; scancel stops them and no job is left",
  { timeout: 90_000 },
  async (t) => {
    const why = missingRequirements(PROGRAMS, { root: true, packages: PACKAGES });
    if (skipWithout(t, why)) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-slurm-"));
    let slurm: SlurmSystem | undefined;
    let cluster: Cluster | undefined;
    try {
      slurm = await startSlurm(dir);
      const launcher = new SlurmLauncher({ jobName: "px-test", partition: "debug", timeLimit: "10:00", sbatchArgs: ["--mem=0"] });
      cluster = new Cluster({ n: 2, profileDir: path.join(dir, "profile"), engines: launcher, env: slurm.env });
      await cluster.start();
      const rc = await cluster.connectClient();
      try {
        assert.deepEqual(await rc.waitForEngines(2, { timeout: 45_000 }), [0, 1]);
        const jobIds = (await rc.view().apply(() => process.env.SLURM_JOB_ID)) as string[];
        const procIds = ((await rc.view().apply(() => process.env.SLURM_PROCID)) as string[]).sort();
        const [info] = Object.values(cluster.engineSets);
        const jobId = info?.data?.jobId as string;
        assert.match(jobId, /^\d+$/);
        assert.deepEqual(jobIds, [jobId, jobId], "both engines run inside the submitted job");
        assert.deepEqual(procIds, ["0", "1"], "srun started one engine per task");
        assert.equal(await rc.view(0).apply((a: number, b: number) => a * b, 6, 7), 42);
        const script = fs.readFileSync(info?.data?.script as string, "utf8");
        assert.match(script, /#SBATCH --job-name=px-test\n#SBATCH --ntasks=2\n/);
        assert.match(script, /#SBATCH --time=10:00\n#SBATCH --mem=0\n/);
        const attached = Cluster.fromFile({ profileDir: path.join(dir, "profile"), clusterId: cluster.clusterId });
        const enginePids = (await rc.view().apply(() => process.pid)) as number[];
        await rc.close();
        // Stopped through a cluster attached from the cluster file: the job id travels there.
        await attached.stopEngines();
        assert.deepEqual(activeJobs(slurm.env), []);
        await waitUntil("engines to exit", 10_000, () => enginePids.every((pid) => !alive(pid)));
      } finally {
        await rc.close();
      }
    } finally {
      await cluster?.stop().catch(() => undefined);
      if (slurm) await stopAll(slurm.daemons);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test("a job array runs one engine per task; state() follows the job from RUNNING to gone", { timeout: 90_000 }, async (t) => {
  const why = missingRequirements(PROGRAMS, { root: true, packages: PACKAGES });
  if (skipWithout(t, why)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-slurm-"));
  let slurm: SlurmSystem | undefined;
  let cluster: Cluster | undefined;
  try {
    slurm = await startSlurm(dir);
    cluster = new Cluster({
      n: 2,
      profileDir: path.join(dir, "profile"),
      engines: "slurm",
      launcherOptions: { array: true },
      env: slurm.env,
    });
    await cluster.start();
    const rc = await cluster.connectClient();
    try {
      assert.deepEqual(await rc.waitForEngines(2, { timeout: 45_000 }), [0, 1]);
      const tasks = ((await rc.view().apply(() => process.env.SLURM_ARRAY_TASK_ID)) as string[]).sort();
      assert.deepEqual(tasks, ["0", "1"]);
      await rc.close();
      const launcher = new SlurmLauncher();
      const [info] = Object.values(cluster.engineSets);
      const set = launcher.attach("0", info as NonNullable<typeof info>, {
        engineFile: cluster.files.engine,
        profileDir: path.join(dir, "profile"),
        logDir: path.join(dir, "profile", "log"),
        clusterId: cluster.clusterId,
        setId: "0",
        cwd: process.cwd(),
        env: slurm.env,
      }) as SlurmEngineSet;
      assert.equal(await set.state(), "RUNNING");
      await set.stop();
      assert.notEqual(await set.active(), true);
      assert.deepEqual(activeJobs(slurm.env), []);
    } finally {
      await rc.close();
    }
  } finally {
    await cluster?.stop().catch(() => undefined);
    if (slurm) await stopAll(slurm.daemons);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'controller: "slurm" runs the controller as a batch job beside the engines\' job; stop() cancels both and no process is left',
  { timeout: 120_000 },
  async (t) => {
    const why = missingRequirements(PROGRAMS, { root: true, packages: PACKAGES });
    if (skipWithout(t, why)) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-slurm-"));
    const profileDir = path.join(dir, "profile");
    let slurm: SlurmSystem | undefined;
    const clusters: Cluster[] = [];
    try {
      slurm = await startSlurm(dir);
      const env = slurm.env;

      // A controller job that exits before writing its connection file: the error names the job and its state.
      const failing = new Cluster({
        profileDir,
        controller: "slurm",
        launcherOptions: { remoteControllerEntry: ["-e", "process.exit(3)", "--"] },
        env,
      });
      clusters.push(failing);
      await assert.rejects(
        failing.startController(),
        /controller \(log: .*controller-.*-slurm-\d+\.log\) \(Slurm job \d+\) ended before writing .*client-.*\.json: the job is (FAILED|no longer listed by squeue)/,
      );
      assert.equal(failing.controller, undefined);
      assert.deepEqual(activeJobs(env), []);

      // One that never writes it: after engineTimeout the error names the job and its state, and the job is cancelled.
      const silent = new Cluster({
        profileDir,
        controller: "slurm",
        engineTimeout: 2000,
        launcherOptions: { remoteControllerEntry: ["-e", "setTimeout(() => {}, 60000)", "--"] },
        env,
      });
      clusters.push(silent);
      await assert.rejects(
        silent.startController(),
        /\(Slurm job \d+\) did not write .*client-.*\.json within 2000 ms: the job is (PENDING|CONFIGURING|RUNNING)/,
      );
      assert.deepEqual(activeJobs(env), []);

      const cluster = new Cluster({
        n: 2,
        profileDir,
        controller: "slurm",
        engines: "slurm",
        env,
        launcherOptions: { partition: "debug", timeLimit: "10:00", jobName: "px-engines", controllerJobName: "px-controller" },
      });
      clusters.push(cluster);
      await cluster.start();
      const controller = cluster.controller;
      const controllerJob = controller?.jobId as string;
      const controllerPid = controller?.pid as number;
      assert.equal(controller?.launcher, "slurm");
      assert.match(controllerJob, /^\d+$/);
      assert.ok(controllerPid > 0, "the pid comes from the connection file the controller wrote");
      // The controller is the batch job's own process (the script execs it).
      assert.ok(fs.readFileSync(`/proc/${controllerPid}/environ`, "utf8").split("\0").includes(`SLURM_JOB_ID=${controllerJob}`));
      const script = fs.readFileSync(controller?.data?.script as string, "utf8");
      assert.match(
        script,
        /#SBATCH --job-name=px-controller\n#SBATCH --ntasks=1\n#SBATCH --output=.*controller-.*-slurm-%j\.log\n#SBATCH --partition=debug\n#SBATCH --time=10:00\n/,
      );
      assert.match(script, /\nexec \S+ .*controller\/main\.(ts|js) --profile default .*--ip 0\.0\.0\.0/);
      const recorded = Cluster.list({ profileDir }).find((c) => c.clusterId === cluster.clusterId);
      assert.deepEqual(
        [recorded?.controller?.launcher, recorded?.controller?.jobId, recorded?.controller?.pid],
        ["slurm", controllerJob, controllerPid],
      );

      const rc = await cluster.connectClient();
      let enginePids: number[];
      try {
        assert.deepEqual(await rc.waitForEngines(2, { timeout: 45_000 }), [0, 1]);
        const engineJob = Object.values(cluster.engineSets)[0]?.data?.jobId as string;
        assert.notEqual(engineJob, controllerJob);
        assert.deepEqual(await rc.view().apply(() => process.env.SLURM_JOB_ID), [engineJob, engineJob]);
        assert.deepEqual(await rc.view().map((x: number) => x * x, [1, 2, 3, 4]), [1, 4, 9, 16]);
        enginePids = (await rc.view().apply(() => process.pid)) as number[];
      } finally {
        await rc.close();
      }
      assert.equal(Cluster.fromFile({ profileDir, clusterId: cluster.clusterId }).controller?.jobId, controllerJob);
      await cluster.stop();
      assert.deepEqual(activeJobs(env), []);
      for (const pid of [controllerPid, ...enginePids]) assert.equal(alive(pid), false, `process ${pid} still alive`);
      assert.equal(fs.existsSync(cluster.files.client), false);

      // Another process stops a Slurm controller through the cluster file alone.
      const detached = new Cluster({ profileDir, controller: "slurm", env });
      clusters.push(detached);
      await detached.startController();
      const detachedPid = detached.controller?.pid as number;
      await Cluster.fromFile({ profileDir, clusterId: detached.clusterId }).stop();
      assert.deepEqual(activeJobs(env), []);
      assert.equal(alive(detachedPid), false);
    } finally {
      for (const cluster of clusters) await cluster.stop().catch(() => undefined);
      if (slurm) await stopAll(slurm.daemons);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
