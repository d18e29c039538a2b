/**
 * The MPI launcher: one `mpiexec -n N` starts every engine of a set, so engines land wherever
 * the MPI runtime places ranks (this host, or a host file's nodes). Each engine runs with
 * `--mpi`: it takes its rank from the MPI environment, asks the hub for that rank as its
 * engine id (granted when unused) and finds `mpiRank` and `mpiSize` in its namespace.
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { pidAlive } from "../../connection/profile.js";
import { entryCommand, terminate } from "../processes.js";
import { childPids, spawnLogged } from "./command.js";
import type { EngineLauncher, EngineSet, EngineSetInfo, LaunchContext } from "./launcher.js";
import { OptionChecker } from "./options.js";
import { fillDefaults } from "../../options.js";

/** Options of the MPI launcher. */
export interface MpiLauncherOptions {
  /**
   * The MPI starter (`"mpirun"`, `"srun"` or a full path also work).
   * @default "mpiexec"
   */
  readonly mpiCommand?: string;
  /**
   * Extra starter arguments, placed after `-n N` (`--hostfile`, `--oversubscribe`…).
   * @default []
   */
  readonly mpiArgs?: readonly string[];
  /**
   * Extra arguments for every engine (`--no-supervisor`…).
   * @default []
   */
  readonly engineArgs?: readonly string[];
  /**
   * Node executable that runs each rank.
   * @default this process's (`process.execPath`)
   */
  readonly node?: string;
  /**
   * Milliseconds `stop()` waits for `mpiexec` to end its ranks before killing it.
   * @default 5000
   */
  readonly stopTimeout?: number;
}

/** MPI launcher options with their defaults in place. */
export type FilledMpiLauncherOptions = Required<MpiLauncherOptions>;

/** The defaults of {@link MpiLauncherOptions} (`node` is this process's, known at run time). */
export const kDefaultMpiLauncherOptions: Readonly<Omit<FilledMpiLauncherOptions, "node">> = Object.freeze({
  mpiCommand: "mpiexec",
  mpiArgs: [],
  engineArgs: [],
  stopTimeout: 5000,
});

const OPTION_NAMES = ["mpiCommand", "mpiArgs", "engineArgs", "node", "stopTimeout"] as const;

/** Validates MPI launcher options; throws a TypeError or RangeError naming the option and value. */
export function validateMpiOptions(options: MpiLauncherOptions): void {
  OptionChecker.of("MpiLauncher", options, OPTION_NAMES)
    .string("mpiCommand")
    .stringArray("mpiArgs")
    .stringArray("engineArgs")
    .string("node")
    .integer("stopTimeout", 0);
}

/**
 * Signals that mpiexec itself relays to every rank on every host. Any other signal sent to
 * mpiexec would end the whole job (SIGINT does for Open MPI and MPICH), so those go straight
 * to the rank processes instead.
 */
const RELAYED_BY_MPIEXEC = new Set<NodeJS.Signals>(["SIGUSR1", "SIGUSR2", "SIGTSTP", "SIGCONT"]);

class MpiEngineSet implements EngineSet {
  private stopping = false;
  readonly ended: Promise<string> | undefined;

  constructor(
    readonly id: string,
    readonly info: EngineSetInfo,
    private readonly stopTimeout: number,
    private readonly child?: ChildProcess,
  ) {
    const logFile = info.data?.logFile;
    this.ended =
      child &&
      new Promise((resolve) =>
        child.once("exit", (code, signal) => {
          if (!this.stopping) resolve(`mpiexec exited ${signal ? `by ${signal}` : `with code ${code}`}; read ${String(logFile)}`);
        }),
      );
  }

  private get mpiexecPid(): number | undefined {
    return this.info.pids[0];
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    const pid = this.mpiexecPid;
    if (pid === undefined || !pidAlive(pid)) return;
    // Ranks on other hosts are children of their host's MPI daemon, out of reach from here.
    const targets = RELAYED_BY_MPIEXEC.has(signal) ? [pid] : childPids(pid);
    for (const target of targets) {
      try {
        process.kill(target, signal);
      } catch {
        continue;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const pid = this.mpiexecPid;
    if (pid === undefined) return;
    // Remember the ranks first: if mpiexec has to be killed outright, they are ended here.
    const ranks = childPids(pid);
    await terminate(pid, this.stopTimeout, this.child);
    for (const rank of ranks) {
      if (pidAlive(rank)) await terminate(rank, 1000);
    }
    this.info.pids = [];
  }
}

/** Starts engine sets with `mpiexec -n N`; engine ids are the MPI ranks. */
export class MpiLauncher implements EngineLauncher {
  readonly kind = "mpi";
  private readonly options: FilledMpiLauncherOptions;

  constructor(options: MpiLauncherOptions = {}) {
    validateMpiOptions(options);
    this.options = fillDefaults({ ...kDefaultMpiLauncherOptions, node: process.execPath }, options);
  }

  /** The command line that starts `n` engines (for logs and tests). */
  commandLine(n: number, context: Pick<LaunchContext, "engineFile">): string[] {
    return [
      this.options.mpiCommand,
      "-n",
      String(n),
      ...this.options.mpiArgs,
      this.options.node,
      ...entryCommand("engine/main"),
      "--file",
      context.engineFile,
      "--mpi",
      ...this.options.engineArgs,
    ];
  }

  async start(n: number, context: LaunchContext): Promise<EngineSet> {
    const info: EngineSetInfo = { launcher: this.kind, n, pids: [] };
    const stopTimeout = this.options.stopTimeout;
    // `mpiexec -n 0` is an error; an empty set needs no process.
    if (n === 0) return new MpiEngineSet(context.setId, info, stopTimeout);
    const [command, ...args] = this.commandLine(n, context) as [string, ...string[]];
    const logFile = path.join(context.logDir, `engines-${context.clusterId}-${context.setId}-mpi.log`);
    const child = await spawnLogged(command, args, { logFile, cwd: context.cwd, env: context.env });
    // The set must not keep the user's process alive on its own.
    child.unref();
    info.pids.push(child.pid as number);
    info.data = { command: [command, ...args], logFile };
    return new MpiEngineSet(context.setId, info, stopTimeout, child);
  }

  attach(id: string, info: EngineSetInfo, _context: LaunchContext): EngineSet {
    return new MpiEngineSet(id, { ...info, pids: [...info.pids] }, this.options.stopTimeout);
  }
}
