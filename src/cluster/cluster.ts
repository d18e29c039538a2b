/**
 * Cluster: start and stop a controller and engine sets from code, like `ipyparallel.Cluster`.
 * The cluster file (`cluster-<id>.json`) records the processes so that another process can
 * attach (`Cluster.fromFile`) or stop them (`parallax cluster stop`).
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Client } from "../client/client.js";
import type { ConnectOptions } from "../client/client.js";
import { ConfigurationError, EngineError } from "../errors.js";
import type { EngineLauncher, EngineSet, EngineSetInfo, LaunchContext } from "./launchers/launcher.js";
import { LocalLauncher } from "./launchers/local.js";
import { MpiLauncher } from "./launchers/mpi.js";
import { SlurmControllerLauncher, SlurmLauncher } from "./launchers/slurm.js";
import type { SlurmJob, SlurmJobData } from "./launchers/slurm.js";
import { SshLauncher } from "./launchers/ssh.js";
import { LOG_LEVEL_VARIABLE, parseLogLevel } from "../connection/logger.js";
import type { LogLevel } from "../connection/logger.js";
import { OWNER_PID_VARIABLE } from "../connection/owner.js";
import { entryCommand, fileReady, spawnNode, terminate, waitForExit, waitForFile } from "./processes.js";
import {
  CONFIGURATION_EXIT_CODE,
  DEFAULT_PROFILE,
  clusterFiles,
  logDir,
  newClusterId,
  pidAlive,
  profileDir,
  readJsonSecure,
  securityDir,
  writeJsonAtomic,
} from "../connection/profile.js";
import { checkBooleans, checkOptions, fillDefaults } from "../options.js";
import type { Hwm } from "../scheduler/task-scheduler.js";

/** Launcher names known to every cluster, mapped to factories. */
const LAUNCHERS: Record<string, (options: FilledClusterOptions) => EngineLauncher> = {
  local: (options) => new LocalLauncher({ restartDeadEngines: options.restartDeadEngines, engineArgs: [...options.engineArgs] }),
  mpi: (options) => new MpiLauncher({ engineArgs: [...options.engineArgs], ...options.launcherOptions }),
  ssh: (options) => new SshLauncher({ engineArgs: [...options.engineArgs], ...options.launcherOptions }),
  slurm: (options) => new SlurmLauncher({ engineArgs: [...options.engineArgs], ...options.launcherOptions }),
};

/**
 * Registers a launcher under a name usable in `engines:`, beside the built-in local, mpi, ssh
 * and slurm. The factory gets the cluster's options with their defaults in place.
 */
export function registerLauncher(name: string, factory: (options: FilledClusterOptions) => EngineLauncher): void {
  LAUNCHERS[name.toLowerCase()] = factory;
}

/**
 * Options of a cluster. Durations are milliseconds. Options the controller reads (`scheme`,
 * `hwm`, `heartbeatInterval`, `db`) are passed on only when given, so that its own defaults
 * and the profile's `parallax.json` apply otherwise.
 */
export interface ClusterOptions {
  /**
   * Engines started by `start()`.
   * @default the number of CPU cores
   */
  readonly n?: number;
  /**
   * Profile: the folder `~/.parallax/profile_<name>` holding connection files, logs and `parallax.json`.
   * @default "default"
   */
  readonly profile?: string;
  /**
   * Profile folder, instead of the one the profile's name gives.
   * @default `~/.parallax/profile_<profile>` (`PARALLAX_DIR` moves the root)
   */
  readonly profileDir?: string;
  /**
   * Cluster id: names the cluster's files, so that several clusters share a profile.
   * @default a new id
   */
  readonly clusterId?: string;
  /**
   * Engine launcher: a name (`"local"`, `"mpi"`, `"ssh"`, `"slurm"`, case-insensitive) or a launcher object.
   * @default "local"
   */
  readonly engines?: string | EngineLauncher;
  /**
   * Options of the launcher named by `engines` (`{ hosts }` for ssh, `{ mpiArgs }` for mpi…).
   * @default {}
   */
  readonly launcherOptions?: Record<string, unknown>;
  /**
   * Controller launcher: `"local"` runs the controller on this machine, `"slurm"` submits it as
   * a Slurm batch job (options from `launcherOptions`, see `SlurmLauncherOptions`).
   * @default "local"
   */
  readonly controller?: "local" | "slurm";
  /**
   * Interface the controller binds: `"*"` or `0.0.0.0` for all.
   * @default "127.0.0.1" (a Slurm controller: "0.0.0.0")
   */
  readonly controllerIp?: string;
  /**
   * Host name or address written into connection files for engines and clients to reach.
   * @default the bind address, or this host's name when it binds all interfaces
   */
  readonly location?: string;
  /**
   * How long `start()` waits for the controller's connection file, and `startAndConnect()`
   * for the engines to register.
   * @default 60000
   */
  readonly engineTimeout?: number;
  /**
   * Milliseconds between heartbeats (minimum 10).
   * @default 1000 (the controller's `--heartbeat-interval`)
   */
  readonly heartbeatInterval?: number;
  /**
   * Scheduler scheme: leastload, lru, weighted, plainrandom, twobin, or a module path whose default export is a scheme.
   * @default "leastload" (the controller's `--scheme`)
   */
  readonly scheme?: string;
  /**
   * Outstanding load-balanced tasks per engine (0 = unlimited), or `"auto"`: engines prefetch
   * short tasks (as many as fit about 10 ms of their recent run time, at most 32) and take a
   * long one only when idle.
   * @default 1 (the controller's `--hwm`)
   */
  readonly hwm?: Hwm;
  /**
   * Task database: memory (bounded), sqlite or none.
   * @default "memory" (the controller's `--db`)
   */
  readonly db?: "memory" | "sqlite" | "none";
  /**
   * SQLite file of `db: "sqlite"`.
   * @default `tasks-<cluster id>.sqlite` in the profile
   */
  readonly dbPath?: string;
  /**
   * Encrypt and authenticate every connection with CURVE (the controller's key pair is made at start).
   * @default false
   */
  readonly curve?: boolean;
  /**
   * Serve the live dashboard: `true` for a free port, or a port number.
   * @default false
   */
  readonly dashboard?: boolean | number;
  /**
   * Replace engines that die (local launcher).
   * @default false
   */
  readonly restartDeadEngines?: boolean;
  /**
   * Extra controller command-line arguments.
   * @default []
   */
  readonly controllerArgs?: readonly string[];
  /**
   * Extra engine command-line arguments.
   * @default []
   */
  readonly engineArgs?: readonly string[];
  /**
   * Working directory of the controller and engines.
   * @default this process's, when they start
   */
  readonly cwd?: string;
  /**
   * Extra environment variables for the cluster's processes.
   * @default {}
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Stop the controller and engines when this process ends, however it ends (exit, Ctrl-C,
   * SIGTERM, an uncaught error, SIGKILL): they watch it and stop themselves. `false` leaves
   * the cluster running for others (`parallax cluster start --daemonize`). A cluster attached
   * with `Cluster.fromFile` never owns its processes.
   * @default true
   */
  readonly shutdownAtExit?: boolean;
  /**
   * What the controller's and engines' logs (in the profile's `log/`) say: `debug`, `info`,
   * `warn` or `error`. Unset, `PARALLAX_LOG_LEVEL` or the profile's `parallax.json` decide.
   * @default "info"
   */
  readonly logLevel?: LogLevel;
}

/** The cluster options that have a fixed default, and so always a value once filled. */
type DefaultedClusterOption =
  | "profile"
  | "engines"
  | "launcherOptions"
  | "controller"
  | "engineTimeout"
  | "curve"
  | "dashboard"
  | "restartDeadEngines"
  | "controllerArgs"
  | "engineArgs"
  | "env"
  | "shutdownAtExit";

/** Cluster options with their defaults in place: what a `Cluster` reads. */
export type FilledClusterOptions = ClusterOptions & Required<Pick<ClusterOptions, DefaultedClusterOption>>;

/** The defaults of {@link ClusterOptions}: the one place each is written. */
export const kDefaultClusterOptions: Readonly<Pick<FilledClusterOptions, DefaultedClusterOption>> = Object.freeze({
  profile: DEFAULT_PROFILE,
  engines: "local",
  launcherOptions: {},
  controller: "local",
  engineTimeout: 60_000,
  curve: false,
  dashboard: false,
  restartDeadEngines: false,
  controllerArgs: [],
  engineArgs: [],
  env: {},
  shutdownAtExit: true,
});

const OPTION_NAMES = new Set([
  "n",
  "profile",
  "profileDir",
  "clusterId",
  "engines",
  "launcherOptions",
  "controller",
  "controllerIp",
  "location",
  "engineTimeout",
  "heartbeatInterval",
  "scheme",
  "hwm",
  "db",
  "dbPath",
  "dashboard",
  "curve",
  "restartDeadEngines",
  "controllerArgs",
  "engineArgs",
  "cwd",
  "env",
  "shutdownAtExit",
  "logLevel",
]);
const SCHEMES = new Set(["leastload", "lru", "weighted", "plainrandom", "twobin"]);

function positiveInteger(name: string, value: unknown, min: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(`Cluster option ${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
}

/** Launcher names are case-insensitive (`"MPI"` is `"mpi"`): the lowercase names of `engines` and `controller`. */
function launcherNames(options: ClusterOptions): Pick<ClusterOptions, "engines" | "controller"> {
  return {
    ...(typeof options.engines === "string" ? { engines: options.engines.toLowerCase() } : {}),
    ...(typeof options.controller === "string" ? { controller: options.controller.toLowerCase() as ClusterOptions["controller"] } : {}),
  };
}

/** Validates cluster options; throws TypeError/RangeError naming the option and the value. */
export function validateClusterOptions(given: ClusterOptions): void {
  if (given === null || typeof given !== "object") throw new TypeError("Cluster options must be an object");
  const options = { ...given, ...launcherNames(given) };
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key))
      throw new TypeError(`unknown Cluster option ${JSON.stringify(key)} (valid: ${[...OPTION_NAMES].join(", ")})`);
  }
  positiveInteger("n", options.n, 0);
  positiveInteger("engineTimeout", options.engineTimeout, 1);
  positiveInteger("heartbeatInterval", options.heartbeatInterval, 10);
  if (options.hwm !== "auto" && options.hwm !== undefined && !(Number.isInteger(options.hwm) && options.hwm >= 0))
    throw new RangeError(`Cluster option hwm must be an integer >= 0 or "auto", got ${JSON.stringify(options.hwm)}`);
  for (const name of ["profile", "clusterId", "controllerIp", "location", "profileDir", "dbPath", "cwd"] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== "string" || value === ""))
      throw new TypeError(`Cluster option ${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  if (options.clusterId !== undefined && !/^[\w.-]+$/.test(options.clusterId)) {
    throw new RangeError(
      `Cluster option clusterId may only use letters, digits, '.', '_' and '-', got ${JSON.stringify(options.clusterId)}`,
    );
  }
  if (options.scheme !== undefined && !SCHEMES.has(options.scheme) && !/[/\\]|\.[cm]?js$/.test(options.scheme)) {
    throw new RangeError(
      `Cluster option scheme must be one of ${[...SCHEMES].join(", ")} or a module path, got ${JSON.stringify(options.scheme)}`,
    );
  }
  if (options.db !== undefined && !["memory", "sqlite", "none"].includes(options.db)) {
    throw new RangeError(`Cluster option db must be "memory", "sqlite" or "none", got ${JSON.stringify(options.db)}`);
  }
  if (options.controller !== undefined && options.controller !== "local" && options.controller !== "slurm") {
    throw new RangeError(`Cluster option controller must be "local" or "slurm", got ${JSON.stringify(options.controller)}`);
  }
  if (typeof options.engines === "string" && !(options.engines in LAUNCHERS)) {
    throw new RangeError(
      `Cluster option engines must be one of ${Object.keys(LAUNCHERS).join(", ")} or a launcher object, got ${JSON.stringify(options.engines)}`,
    );
  }
  if (
    options.engines !== undefined &&
    typeof options.engines !== "string" &&
    typeof (options.engines as EngineLauncher).start !== "function"
  ) {
    throw new TypeError("Cluster option engines must be a launcher name or an object with start()");
  }
  const launcherOptions: unknown = options.launcherOptions;
  if (
    launcherOptions !== undefined &&
    (launcherOptions === null || typeof launcherOptions !== "object" || Array.isArray(launcherOptions))
  ) {
    throw new TypeError(`Cluster option launcherOptions must be an object, got ${JSON.stringify(launcherOptions)}`);
  }
  // Building the named launchers checks their options now rather than when processes start.
  if (typeof options.engines === "string") LAUNCHERS[options.engines]?.(fillDefaults(kDefaultClusterOptions, options));
  if (options.controller === "slurm") new SlurmControllerLauncher(options.launcherOptions);
  for (const name of ["controllerArgs", "engineArgs"] as const) {
    const value = options[name];
    if (value !== undefined && !(Array.isArray(value) && value.every((v) => typeof v === "string")))
      throw new TypeError(`Cluster option ${name} must be an array of strings`);
  }
  if (
    options.dashboard !== undefined &&
    typeof options.dashboard !== "boolean" &&
    !(Number.isInteger(options.dashboard) && options.dashboard >= 0 && options.dashboard < 65536)
  ) {
    throw new TypeError(`Cluster option dashboard must be a boolean or a port number, got ${JSON.stringify(options.dashboard)}`);
  }
  if (options.curve !== undefined && typeof options.curve !== "boolean") {
    throw new TypeError(`Cluster option curve must be a boolean, got ${JSON.stringify(options.curve)}`);
  }
  if (options.logLevel !== undefined) parseLogLevel(options.logLevel, "Cluster option logLevel");
  const env: unknown = options.env;
  if (
    env !== undefined &&
    (env === null || typeof env !== "object" || Array.isArray(env) || !Object.values(env).every((v) => typeof v === "string"))
  ) {
    throw new TypeError(`Cluster option env must be an object of strings (variable name to value), got ${JSON.stringify(env)}`);
  }
  for (const name of ["restartDeadEngines", "shutdownAtExit"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "boolean")
      throw new TypeError(`Cluster option ${name} must be a boolean, got ${JSON.stringify(options[name])}`);
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Why a controller stopped before serving, in its own words: the last line it logged in this
 * run. A refused configuration (a database of another cluster…) is a ConfigurationError.
 */
function controllerFailure(error: Error, child: ChildProcess, logFile: string, logStart: number): Error {
  if (child.exitCode === null) return error;
  let said: string | undefined;
  try {
    const log = fs.readFileSync(logFile).subarray(logStart).toString("utf8");
    said = log
      .split("\n")
      .filter((line) => line.startsWith("parallax controller: "))
      .at(-1);
  } catch {
    return error;
  }
  if (said === undefined) return error;
  const message = `controller exited (${child.exitCode}): ${said.slice("parallax controller: ".length)} (log: ${logFile})`;
  return child.exitCode === CONFIGURATION_EXIT_CODE ? new ConfigurationError(message) : new Error(message);
}

/**
 * The controller as the cluster file records it. `pid` comes from the connection file the
 * controller writes; a Slurm controller runs on a compute node, where that pid lives, and is
 * found by `jobId` (with what `scancel`/`squeue` need in `data`).
 */
export interface ControllerInfo {
  pid: number;
  launcher?: "local" | "slurm";
  jobId?: string;
  data?: SlurmJobData;
}

/** What the cluster file holds. */
export interface ClusterFile {
  clusterId: string;
  profile: string;
  profileDir: string;
  controller: ControllerInfo | null;
  engineSets: Record<string, EngineSetInfo>;
  options: ClusterOptions;
  created: number;
}

/** A controller plus engine sets. */
export class Cluster implements AsyncDisposable {
  readonly clusterId: string;
  readonly profile: string;
  readonly profileDir: string;
  private readonly options: FilledClusterOptions;
  private controllerProcess: ChildProcess | undefined;
  private controllerPid: number | undefined;
  /** The controller's batch job, with `controller: "slurm"`. */
  private controllerJob: SlurmJob | undefined;
  private readonly sets = new Map<string, EngineSet>();
  /** Engine sets that ended on their own while no wait was listening (see `connectClient`). */
  private readonly setFailures: EngineError[] = [];
  private readonly setFailureListeners = new Set<(error: EngineError) => void>();
  private nextSet = 0;
  private created = Date.now();

  constructor(options: ClusterOptions = {}) {
    validateClusterOptions(options);
    this.options = fillDefaults(kDefaultClusterOptions, { ...options, ...launcherNames(options) });
    this.profile = this.options.profile;
    this.profileDir = profileDir(this.profile, options.profileDir);
    this.clusterId = options.clusterId ?? newClusterId();
  }

  /** Connection and cluster file paths. */
  get files(): { cluster: string; client: string; engine: string } {
    return clusterFiles(this.profileDir, this.clusterId);
  }

  /** The controller process (its pid), once started; a Slurm controller also has its job id. */
  get controller(): ControllerInfo | undefined {
    if (this.controllerJob)
      return { pid: this.controllerPid ?? 0, launcher: "slurm", jobId: this.controllerJob.jobId, data: this.controllerJob.data };
    return this.controllerPid === undefined ? undefined : { pid: this.controllerPid };
  }

  /** Engine sets by id, with their launched pids. */
  get engineSets(): Record<string, EngineSetInfo> {
    return Object.fromEntries([...this.sets].map(([id, set]) => [id, set.info]));
  }

  /** Starts the controller, then `n` engines. */
  async start(): Promise<this> {
    await this.startController();
    await this.startEngines(this.options.n);
    return this;
  }

  /**
   * Starts the controller and waits for its connection files. With `restore`, a controller
   * that died is replaced on the same ports and key: running engines register again with their
   * ids and, with the SQLite database, earlier results stay retrievable.
   */
  async startController(options: { restore?: boolean } = {}): Promise<void> {
    checkOptions(options, ["restore"], "startController");
    checkBooleans(options, ["restore"], "startController");
    if (this.options.controller === "slurm") {
      await this.startSlurmController(options.restore ?? false);
      return;
    }
    if (options.restore && this.controllerPid !== undefined) {
      // The predecessor may still be on its way out (and hold its ports) after a kill.
      await waitForExit(this.controllerPid, 5000, this.controllerProcess);
    }
    if (this.controllerPid !== undefined && pidAlive(this.controllerPid)) throw this.alreadyRunning(`pid ${this.controllerPid}`);
    securityDir(this.profileDir);
    const logs = logDir(this.profileDir);
    if (!options.restore) fs.rmSync(this.files.client, { force: true });
    const args = [...entryCommand("controller/main"), ...this.controllerArgs(options.restore ?? false)];
    const logFile = path.join(logs, `controller-${this.clusterId}.log`);
    const logStart = fileSize(logFile);
    const child = spawnNode(args, { logFile, cwd: this.options.cwd ?? process.cwd(), env: { ...this.processEnv(), ...this.ownerEnv() } });
    child.unref();
    this.controllerProcess = child;
    this.controllerPid = child.pid;
    try {
      await waitForFile(this.files.client, this.options.engineTimeout, child, `controller (log: ${logFile})`, (text) =>
        text.includes(`"controllerPid": ${child.pid}`),
      );
    } catch (error) {
      throw controllerFailure(error as Error, child, logFile, logStart);
    }
    this.writeClusterFile();
  }

  /** Starts `n` engines (default: the cluster's `n`, else the CPU count) with the configured launcher. */
  async startEngines(n?: number): Promise<string> {
    const count = n ?? this.options.n ?? (await import("node:os")).availableParallelism();
    positiveInteger("n", count, 0);
    if (this.controllerPid === undefined)
      throw new ConfigurationError("start the controller (cluster.start() or startController()) before engines");
    const setId = String(this.nextSet++);
    const launcher = this.launcher();
    const set = await launcher.start(count, this.launchContext(setId));
    this.sets.set(setId, set);
    void set.ended?.then((what) => {
      // A set stopped on purpose is gone from the map by then.
      if (this.sets.get(setId) !== set) return;
      const error = new EngineError(`engine set ${setId} (${launcher.kind}, ${count} engines) of cluster ${this.clusterId} ended: ${what}`);
      for (const listener of this.setFailureListeners) listener(error);
      if (this.setFailureListeners.size === 0) this.setFailures.push(error);
    });
    this.writeClusterFile();
    return setId;
  }

  /** Stops one engine set, or all of them. */
  async stopEngines(setId?: string): Promise<void> {
    for (const id of this.setIds(setId)) {
      await this.sets.get(id)?.stop();
      this.sets.delete(id);
    }
    this.writeClusterFile();
  }

  /** Stops and starts engine sets again (engines register with new ids). */
  async restartEngines(setId?: string): Promise<string[]> {
    const restarted: string[] = [];
    for (const id of this.setIds(setId)) {
      const n = this.sets.get(id)?.info.n ?? 0;
      await this.stopEngines(id);
      restarted.push(await this.startEngines(n));
    }
    return restarted;
  }

  /** Sends a signal to the engines of one set, or of all sets. */
  async signalEngines(signal: NodeJS.Signals, setId?: string): Promise<void> {
    for (const id of this.setIds(setId)) await this.sets.get(id)?.signal(signal);
  }

  /** Stops the controller (a Slurm controller: `scancel`, then until `squeue` no longer lists the job). */
  async stopController(): Promise<void> {
    if (this.controllerJob) await this.controllerJob.stop();
    else if (this.controllerPid !== undefined) await terminate(this.controllerPid, 5000, this.controllerProcess);
    this.controllerJob = undefined;
    this.controllerPid = undefined;
    this.controllerProcess = undefined;
    for (const file of [this.files.client, this.files.engine]) fs.rmSync(file, { force: true });
    this.writeClusterFile();
  }

  /** Stops engines, then the controller, and removes the cluster file. No process is left. */
  async stop(): Promise<void> {
    await this.stopEngines();
    await this.stopController();
    fs.rmSync(this.files.cluster, { force: true });
  }

  /** `await using cluster = new Cluster(…)` stops it (engines, then controller) at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * A client connected to this cluster. Its `waitForEngines` fails at once with `EngineError`
   * (naming the engine set and its log) when an engine set of this cluster ends on its own,
   * instead of waiting out its timeout.
   */
  async connectClient(options: Omit<ConnectOptions, "connectionFile" | "profile" | "profileDir" | "clusterId"> = {}): Promise<Client> {
    const client = await Client.connect({ ...options, connectionFile: this.files.client });
    const waitForEngines = client.waitForEngines.bind(client);
    return Object.assign(client, {
      waitForEngines: (...args: Parameters<Client["waitForEngines"]>) =>
        this.unlessSetEnds(waitForEngines(...args), () => client.ids.length >= args[0]),
    });
  }

  /**
   * `wait`, or EngineError as soon as an engine set ends on its own (one that ended before,
   * unreported, fails the wait at once unless `satisfied` already). Each ending is reported once.
   */
  private async unlessSetEnds<T>(wait: Promise<T>, satisfied: () => boolean): Promise<T> {
    if (this.setFailures.length > 0 && !satisfied()) {
      wait.catch(() => undefined);
      throw this.setFailures.shift();
    }
    let listener: ((error: EngineError) => void) | undefined;
    try {
      return await Promise.race([wait, new Promise<never>((_, reject) => this.setFailureListeners.add((listener = reject)))]);
    } finally {
      if (listener) this.setFailureListeners.delete(listener);
    }
  }

  /** Starts a cluster, connects, waits for its engines; disposing the client stops the cluster. */
  static async startAndConnect(options: ClusterOptions = {}): Promise<Client & { cluster: Cluster }> {
    const cluster = new Cluster(options);
    let client: Client | undefined;
    try {
      await cluster.start();
      client = await cluster.connectClient();
      const n = cluster.options.n ?? (await import("node:os")).availableParallelism();
      await client.waitForEngines(n, { timeout: cluster.options.engineTimeout });
      const close = client.close.bind(client);
      return Object.assign(client, {
        cluster,
        async [Symbol.asyncDispose]() {
          await close();
          await cluster.stop();
        },
      });
    } catch (error) {
      await client?.close();
      await cluster.stop();
      throw error;
    }
  }

  /** Attaches to a running cluster recorded in its cluster file (default: the newest of the profile). */
  static fromFile(options: { profile?: string; profileDir?: string; clusterId?: string } = {}): Cluster {
    const dir = profileDir(options.profile ?? kDefaultClusterOptions.profile, options.profileDir);
    const clusterId = options.clusterId ?? Cluster.list({ ...options }).at(0)?.clusterId;
    if (!clusterId) throw new ConfigurationError(`no cluster file found in ${path.join(dir, "security")}`);
    const data = readJsonSecure<ClusterFile>(clusterFiles(dir, clusterId).cluster);
    const cluster = new Cluster({
      ...data.options,
      profile: data.profile,
      profileDir: data.profileDir,
      clusterId: data.clusterId,
      shutdownAtExit: false,
    });
    if (data.controller?.launcher === "slurm") {
      cluster.controllerJob = cluster
        .slurmControllerLauncher()
        .attach(data.controller.data ?? { jobId: data.controller.jobId }, cluster.options.env);
      // pid 0: the job was submitted but its controller had not written its connection file.
      cluster.controllerPid = data.controller.pid || undefined;
    } else {
      cluster.controllerPid = data.controller?.pid;
    }
    cluster.created = data.created;
    for (const [id, info] of Object.entries(data.engineSets)) {
      const launcher = LAUNCHERS[info.launcher]?.(cluster.options);
      if (launcher) cluster.sets.set(id, launcher.attach(id, info, cluster.launchContext(id)));
      cluster.nextSet = Math.max(cluster.nextSet, Number(id) + 1);
    }
    return cluster;
  }

  /** Clusters recorded in a profile, newest first. */
  static list(options: { profile?: string; profileDir?: string } = {}): ClusterFile[] {
    const dir = profileDir(options.profile ?? kDefaultClusterOptions.profile, options.profileDir);
    const security = path.join(dir, "security");
    let names: string[];
    try {
      names = fs.readdirSync(security).filter((n) => n.startsWith("cluster-") && n.endsWith(".json"));
    } catch {
      return [];
    }
    return names
      .map((n) => {
        try {
          return readJsonSecure<ClusterFile>(path.join(security, n));
        } catch {
          return undefined;
        }
      })
      .filter((c): c is ClusterFile => c !== undefined)
      .sort((a, b) => b.created - a.created);
  }

  /** What the cluster file records. */
  toJSON(): ClusterFile {
    return {
      clusterId: this.clusterId,
      profile: this.profile,
      profileDir: this.profileDir,
      controller: this.controller ?? null,
      engineSets: this.engineSets,
      options: {
        ...this.options,
        engines: typeof this.options.engines === "object" ? this.options.engines.kind : this.options.engines,
      },
      created: this.created,
    };
  }

  private launcher(): EngineLauncher {
    const engines = this.options.engines;
    if (typeof engines !== "string") return engines;
    const factory = LAUNCHERS[engines];
    if (!factory) throw new ConfigurationError(`no launcher named ${engines}`);
    return factory(this.options);
  }

  /** Controller arguments after its entry point, the same wherever the controller runs. */
  private controllerArgs(restore: boolean): string[] {
    // A controller in a batch job runs on a node chosen later, which the submit host and the
    // engines' nodes must reach: it binds every interface unless told otherwise.
    const ip = this.options.controllerIp ?? (this.options.controller === "slurm" ? "0.0.0.0" : undefined);
    return [
      "--profile",
      this.profile,
      "--profile-dir",
      this.profileDir,
      "--cluster-id",
      this.clusterId,
      ...(ip ? ["--ip", ip] : []),
      ...(this.options.location ? ["--location", this.options.location] : []),
      ...(this.options.scheme ? ["--scheme", this.options.scheme] : []),
      ...(this.options.hwm !== undefined ? ["--hwm", String(this.options.hwm)] : []),
      ...(this.options.heartbeatInterval ? ["--heartbeat-interval", String(this.options.heartbeatInterval)] : []),
      ...(this.options.db ? ["--db", this.options.db] : []),
      ...(this.options.dbPath ? ["--db-path", this.options.dbPath] : []),
      ...(this.options.dashboard ? ["--dashboard", this.options.dashboard === true ? "0" : String(this.options.dashboard)] : []),
      ...(this.options.curve ? ["--curve"] : []),
      ...(restore ? ["--restore"] : []),
      ...this.options.controllerArgs,
    ];
  }

  private alreadyRunning(which: string): ConfigurationError {
    return new ConfigurationError(
      `the controller of cluster ${this.clusterId} is already running (${which}): stop it first, or after it died use startController({ restore: true })`,
    );
  }

  private slurmControllerLauncher(): SlurmControllerLauncher {
    return new SlurmControllerLauncher(this.options.launcherOptions);
  }

  /**
   * Submits the controller as a Slurm job and waits, through the shared file system, for the
   * connection file it writes. A job that ends first, or does not write it in `engineTimeout`,
   * is cancelled and the error names the job, its state and its log.
   */
  private async startSlurmController(restore: boolean): Promise<void> {
    if (this.controllerJob && (await this.controllerJob.active())) throw this.alreadyRunning(`Slurm job ${this.controllerJob.jobId}`);
    securityDir(this.profileDir);
    const logs = logDir(this.profileDir);
    if (!restore) fs.rmSync(this.files.client, { force: true });
    // With --restore the new controller reads the old file and then replaces it: any other text is the new one's.
    const previous = fileReady(this.files.client) ? fs.readFileSync(this.files.client, "utf8") : undefined;
    const launcher = this.slurmControllerLauncher();
    const context = {
      engineFile: this.files.engine,
      profileDir: this.profileDir,
      logDir: logs,
      clusterId: this.clusterId,
      cwd: this.options.cwd ?? process.cwd(),
      env: this.processEnv(),
    };
    const job = await launcher.start(this.controllerArgs(restore), context);
    this.controllerJob = job;
    this.controllerPid = undefined;
    // Recorded before waiting, so that the job can be found and cancelled if this process dies.
    this.writeClusterFile();
    const describe = `controller (log: ${launcher.logFile(context, job.jobId)})`;
    try {
      await job.waitForFile(this.files.client, this.options.engineTimeout, describe, (text) => text !== previous);
    } catch (error) {
      await job.stop().catch(() => undefined);
      this.controllerJob = undefined;
      this.writeClusterFile();
      throw error;
    }
    this.controllerPid = readJsonSecure<{ controllerPid: number }>(this.files.client).controllerPid;
    this.writeClusterFile();
  }

  private launchContext(setId: string): LaunchContext {
    return {
      engineFile: this.files.engine,
      profileDir: this.profileDir,
      logDir: logDir(this.profileDir),
      clusterId: this.clusterId,
      setId,
      cwd: this.options.cwd ?? process.cwd(),
      env: this.processEnv(),
      localEnv: this.ownerEnv(),
    };
  }

  /** The environment of every process of the cluster, wherever it runs: `env` and the log level. */
  private processEnv(): Record<string, string> {
    return { ...this.options.env, ...(this.options.logLevel ? { [LOG_LEVEL_VARIABLE]: this.options.logLevel } : {}) };
  }

  /**
   * What makes a process on this machine stop when this one ends (see `shutdownAtExit`). Only
   * local processes get it: a pid means nothing on another host, and engines elsewhere are
   * stopped by their controller when it stops for its owner.
   */
  private ownerEnv(): Record<string, string> {
    return !this.options.shutdownAtExit ? {} : { [OWNER_PID_VARIABLE]: String(process.pid) };
  }

  private setIds(setId?: string): string[] {
    if (setId === undefined) return [...this.sets.keys()];
    if (!this.sets.has(setId))
      throw new RangeError(`no engine set ${JSON.stringify(setId)} (sets: ${[...this.sets.keys()].join(", ") || "none"})`);
    return [setId];
  }

  private writeClusterFile(): void {
    securityDir(this.profileDir);
    writeJsonAtomic(this.files.cluster, this.toJSON());
  }
}
