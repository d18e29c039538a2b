#!/usr/bin/env node
/**
 * The `parallax` command: start, list and stop clusters, and run a controller or an engine.
 */
import fs from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { Cluster } from "../cluster/cluster.js";
import { clusterFiles, pidAlive, profileDir as profileDirOf, readConnectionFile } from "../connection/profile.js";
import { applyConfig, CONFIG_FILE } from "../connection/command.js";
import { LOG_LEVELS, parseLogLevel } from "../connection/logger.js";
import { controllerCommand } from "../controller/run.js";
import { engineCommand } from "../engine/run.js";
import { addClusterOptions } from "./cluster-options.js";
import type { ClusterSelection } from "./cluster-options.js";
import { addReplCommand } from "./repl.js";
import { parseHwm } from "../scheduler/task-scheduler.js";
import type { Hwm } from "../scheduler/task-scheduler.js";

function integer(min: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got ${raw}`);
    return value;
  };
}

function hwm(raw: string): Hwm {
  const value = parseHwm(raw);
  if (value === undefined) throw new InvalidArgumentError(`expected an integer >= 0 or "auto", got ${raw}`);
  return value;
}

function jsonObject(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new InvalidArgumentError(`expected a JSON object, got ${raw} (${(error as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new InvalidArgumentError(`expected a JSON object, got ${raw}`);
  return value as Record<string, unknown>;
}

interface StartOptions extends ClusterSelection {
  n?: number;
  engines: string;
  daemonize?: boolean;
  ip?: string;
  location?: string;
  scheme?: string;
  hwm?: Hwm;
  db?: "memory" | "sqlite" | "none";
  dashboard?: boolean | string;
  launcherOptions?: Record<string, unknown>;
  curve?: boolean;
  logLevel?: string;
}

async function startCluster(options: StartOptions): Promise<void> {
  const cluster = new Cluster({
    ...(options.n === undefined ? {} : { n: options.n }),
    profile: options.profile,
    ...(options.profileDir ? { profileDir: options.profileDir } : {}),
    ...(options.clusterId ? { clusterId: options.clusterId } : {}),
    engines: options.engines,
    ...(options.ip ? { controllerIp: options.ip } : {}),
    ...(options.location ? { location: options.location } : {}),
    ...(options.scheme ? { scheme: options.scheme } : {}),
    ...(options.hwm === undefined ? {} : { hwm: options.hwm }),
    ...(options.db ? { db: options.db } : {}),
    ...(options.dashboard === undefined ? {} : { dashboard: options.dashboard === true ? true : Number(options.dashboard) }),
    ...(options.launcherOptions ? { launcherOptions: options.launcherOptions } : {}),
    ...(options.curve ? { curve: true } : {}),
    ...(options.logLevel ? { logLevel: parseLogLevel(options.logLevel) } : {}),
    shutdownAtExit: !options.daemonize,
  });
  await cluster.start();
  const engines = Object.values(cluster.engineSets).reduce((n, s) => n + s.n, 0);
  process.stdout.write(
    `cluster ${cluster.clusterId} started: controller pid ${cluster.controller?.pid}, ${engines} engine(s) (profile ${cluster.profile})\n`,
  );
  process.stdout.write(`connection file: ${cluster.files.client}\n`);
  const dashboardUrl = readConnectionFile(cluster.files.client).dashboardUrl;
  if (dashboardUrl) process.stdout.write(`dashboard: ${dashboardUrl}\n`);
  if (options.daemonize) return;
  process.stdout.write("press Ctrl-C to stop the cluster\n");
  const how = await untilStopped(cluster);
  await cluster.stop();
  process.stdout.write(`cluster ${cluster.clusterId} stopped${how === "elsewhere" ? " (by another process)" : ""}\n`);
}

/**
 * Waits for Ctrl-C or SIGTERM, or for the cluster to be stopped from elsewhere (`parallax
 * cluster stop` removes the cluster file; a controller may also just die).
 */
async function untilStopped(cluster: Cluster): Promise<"signal" | "elsewhere"> {
  return await new Promise((resolve) => {
    // The timer also keeps this process alive: the cluster's processes are unreferenced.
    const watch = setInterval(() => {
      const controller = cluster.controller;
      // A Slurm controller's pid is on another node: its job is what `cluster stop` ends.
      const controllerDied = controller !== undefined && controller.launcher !== "slurm" && !pidAlive(controller.pid);
      if (fs.existsSync(cluster.files.cluster) && !controllerDied) return;
      done("elsewhere");
    }, 250);
    const onSignal = () => done("signal");
    const done = (how: "signal" | "elsewhere") => {
      clearInterval(watch);
      process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
      resolve(how);
    };
    process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  });
}

async function stopClusters(options: ClusterSelection & { all?: boolean }): Promise<void> {
  const listed = Cluster.list(options);
  const ids = options.all
    ? listed.map((c) => c.clusterId)
    : [options.clusterId ?? listed[0]?.clusterId].filter((id): id is string => id !== undefined);
  if (ids.length === 0) {
    // Nothing to stop is what --all asked for; naming no cluster when there is none is an error.
    if (options.all) {
      process.stdout.write(`no cluster running in profile ${options.profile}\n`);
      return;
    }
    throw new Error(`no cluster to stop in profile ${options.profile}`);
  }
  for (const clusterId of ids) {
    await Cluster.fromFile({ ...options, clusterId }).stop();
    process.stdout.write(`cluster ${clusterId} stopped\n`);
  }
}

function listClusters(options: { profile: string; profileDir?: string; json?: boolean }): void {
  const clusters = Cluster.list(options);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(clusters, null, 2)}\n`);
    return;
  }
  process.stdout.write("PROFILE      CLUSTER ID             RUNNING  ENGINES  CONTROLLER PID  DASHBOARD\n");
  for (const c of clusters) {
    const running = c.controller !== null && pidAlive(c.controller.pid);
    // A set's processes (its supervisor, or mpiexec) stand for all of its engines.
    const engines = Object.values(c.engineSets).reduce((n, s) => n + (s.pids.some(pidAlive) ? s.n : 0), 0);
    const dashboard = running ? dashboardUrl(c) : undefined;
    process.stdout.write(
      `${c.profile.padEnd(12)} ${c.clusterId.padEnd(22)} ${String(running).padEnd(8)} ${String(engines).padEnd(8)} ${String(c.controller?.pid ?? "-").padEnd(15)} ${dashboard ?? "-"}\n`,
    );
  }
}

/** The dashboard address (with its token) from a cluster's client connection file, if it serves one. */
function dashboardUrl(cluster: { profileDir: string; clusterId: string }): string | undefined {
  try {
    return readConnectionFile(clusterFiles(cluster.profileDir, cluster.clusterId).client).dashboardUrl;
  } catch {
    return undefined;
  }
}

/** The version in Parallax's package.json (two folders up from source, three when built). */
function packageVersion(): string {
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "parallax" && pkg.version) return pkg.version;
    } catch {
      continue;
    }
  }
  return "unknown";
}

/** Builds the command tree. */
export function buildProgram(): Command {
  const program = new Command("parallax")
    .description("Parallel computing for Node.js: controller, engines and clients over ZeroMQ")
    .version(packageVersion(), "-V, --version", "print the version of Parallax");
  const cluster = program.command("cluster").description("start, stop and list clusters");
  addClusterOptions(
    cluster.command("start").description("start a controller and engines").option("-n, --n <count>", "number of engines", integer(0)),
  )
    .option("--engines <launcher>", "engine launcher: local, mpi, ssh or slurm", "local")
    .option("--launcher-options <json>", 'launcher options as JSON, e.g. \'{"hosts":{"node1":4}}\'', jsonObject)
    .option("--ip <address>", "controller bind address")
    .option("--location <host>", "host written into connection files")
    .option("--scheme <name>", "load-balancing scheme")
    .option("--hwm <n|auto>", "outstanding tasks per engine (0 = unlimited; auto = prefetch short tasks)", hwm)
    .option("--db <backend>", "task database: memory, sqlite or none")
    .option("--dashboard [port]", "serve the live dashboard (a free port unless given)")
    .option("--curve", "encrypt and authenticate every connection with CURVE")
    .option("--log-level <level>", `what the controller's and engines' logs say: ${LOG_LEVELS.join(", ")}`)
    .option("--daemonize", "return once started, leaving the cluster running")
    .hook("preAction", (command) => {
      const { profile, profileDir } = command.opts<{ profile: string; profileDir?: string }>();
      // Options not given here come from the "cluster" section of the profile's parallax.json.
      applyConfig(command, "cluster", path.join(profileDirOf(profile, profileDir), CONFIG_FILE));
    })
    .action(startCluster);
  addClusterOptions(cluster.command("stop").description("stop a running cluster (the newest of the profile by default)"))
    .option("--all", "stop every cluster of the profile")
    .action(stopClusters);
  addClusterOptions(cluster.command("list").description("list clusters of a profile"), false)
    .option("--json", "print JSON")
    .action(listClusters);
  addClusterOptions(
    cluster
      .command("engines")
      .description("add engines to a running cluster")
      .requiredOption("-n, --n <count>", "number of engines", integer(1)),
  ).action(async (options: ClusterSelection & { n: number }) => {
    const running = Cluster.fromFile(options);
    const setId = await running.startEngines(options.n);
    process.stdout.write(`started engine set ${setId} (${options.n} engines) in cluster ${running.clusterId}\n`);
  });
  program.addCommand(controllerCommand());
  program.addCommand(engineCommand());
  addReplCommand(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`parallax: ${(error as Error).message}\n`);
    process.exit(1);
  });
