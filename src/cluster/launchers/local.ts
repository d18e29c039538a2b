/**
 * The local launcher: one supervisor process per engine set on this machine, which starts and
 * watches all of the set's engines; stopping it stops them, so nothing is left behind. With
 * `restartDeadEngines`, the supervisor replaces an engine that dies (the replacement registers
 * with a new id). With the engine argument `--no-supervisor`, each engine is a process of its
 * own, watched (and replaced) from here.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { entryCommand, spawnNode, terminate } from "../processes.js";
import { childPids } from "./command.js";
import type { EngineLauncher, EngineSet, EngineSetInfo, LaunchContext } from "./launcher.js";
import { OptionChecker } from "./options.js";
import { fillDefaults } from "../../options.js";

/** Options of the local launcher. */
export interface LocalLauncherOptions {
  /**
   * Start a replacement when an engine process exits unexpectedly.
   * @default false
   */
  readonly restartDeadEngines?: boolean;
  /**
   * Extra arguments for every engine (`--max-memory`…).
   * @default []
   */
  readonly engineArgs?: readonly string[];
}

/** Local launcher options with their defaults in place. */
export type FilledLocalLauncherOptions = Required<LocalLauncherOptions>;

/** The defaults of {@link LocalLauncherOptions}. */
export const kDefaultLocalLauncherOptions: Readonly<FilledLocalLauncherOptions> = Object.freeze({
  restartDeadEngines: false,
  engineArgs: [],
});

/** Validates local launcher options; throws a TypeError or RangeError naming the option and value. */
export function validateLocalOptions(options: LocalLauncherOptions): void {
  OptionChecker.of("LocalLauncher", options, ["restartDeadEngines", "engineArgs"]).boolean("restartDeadEngines").stringArray("engineArgs");
}

/**
 * Signals a process cannot catch, and so cannot pass on: they go to the supervisor and to each
 * of its engines. The others go to the supervisor, which delivers them to each engine (SIGINT
 * as an interrupt with a grace period).
 */
const UNCATCHABLE = new Set<NodeJS.Signals>(["SIGKILL", "SIGSTOP"]);

class LocalEngineSet implements EngineSet {
  private stopping = false;
  private readonly children = new Map<number, ChildProcess>();
  /** How each engine running without a supervisor exited. */
  private readonly exits: string[] = [];
  private reportEnded: (what: string) => void = () => {};
  readonly ended = new Promise<string>((resolve) => (this.reportEnded = resolve));

  constructor(
    readonly id: string,
    readonly info: EngineSetInfo,
    private readonly context: LaunchContext,
    private readonly options: FilledLocalLauncherOptions,
  ) {}

  /** Each engine's log is `engine-<cluster>-<set>-<index>.log`; the supervisor's ends in `-supervisor.log`. */
  private logFile(index: number | string): string {
    return path.join(this.context.logDir, `engine-${this.context.clusterId}-${this.id}-${index}.log`);
  }

  /** Starts the set: one supervisor for all engines, or with `--no-supervisor` one process per engine. */
  spawn(n: number): void {
    if (this.options.engineArgs.includes("--no-supervisor")) {
      for (let index = 0; index < n; index++) this.spawnAlone(index);
    } else {
      this.spawnSupervisor(n);
    }
  }

  /** One engine without a supervisor: this process replaces it if asked to, as a supervisor would. */
  private spawnAlone(index: number): void {
    const child = this.spawnProcess([...entryCommand("engine/main"), "--file", this.context.engineFile, ...this.options.engineArgs], index);
    child.once("exit", (code, signal) => {
      if (this.stopping) return;
      if (this.options.restartDeadEngines) {
        this.spawnAlone(index);
        return;
      }
      this.exits.push(`engine ${index} ${signal ? `by ${signal}` : `with code ${code}`}`);
      if (this.children.size === 0)
        this.reportEnded(`every engine process exited (${this.exits.join(", ")}); read ${this.logFile(this.info.n === 1 ? 0 : "*")}`);
    });
  }

  private spawnProcess(args: string[], log: number | string): ChildProcess {
    const child = spawnNode(args, {
      logFile: this.logFile(log),
      cwd: this.context.cwd,
      env: { ...this.context.env, ...this.context.localEnv },
    });
    const pid = child.pid as number;
    this.children.set(pid, child);
    this.info.pids.push(pid);
    child.once("exit", () => {
      this.children.delete(pid);
      this.info.pids = this.info.pids.filter((p) => p !== pid);
    });
    // The set must not keep the user's process alive on its own.
    child.unref();
    return child;
  }

  private spawnSupervisor(n: number): void {
    const child = this.spawnProcess(
      [
        ...entryCommand("engine/main"),
        "--file",
        this.context.engineFile,
        "--engines",
        String(n),
        "--engine-log",
        this.logFile("{index}"),
        ...(this.options.restartDeadEngines ? ["--restart"] : []),
        ...this.options.engineArgs,
      ],
      "supervisor",
    );
    child.once("exit", (code, signal) => {
      if (!this.stopping) this.reportEnded(this.endedBecause(code, signal, this.logFile("supervisor")));
    });
  }

  /**
   * Why the set ended, in the supervisor's words: its log says how every engine exited, or
   * why it could not start them (a bad option, a missing connection file).
   */
  private endedBecause(code: number | null, signal: NodeJS.Signals | null, supervisorLog: string): string {
    let lines: string[] = [];
    try {
      lines = fs.readFileSync(supervisorLog, "utf8").split("\n");
    } catch {
      // No log: the exit status is all there is to say.
    }
    const exits = lines.map((line) => /every engine process exited \(.*\)$/.exec(line)?.[0]).findLast((said) => said !== undefined);
    if (exits) return `${exits}; read ${this.logFile(this.info.n === 1 ? 0 : "*")}`;
    const why = lines.findLast((line) => /^(error: |parallax engine: )/.test(line))?.replace(/^parallax engine: /, "");
    return `the engine supervisor exited ${signal ? `by ${signal}` : `with code ${code}`}${why ? ` (${why})` : ""}; read ${supervisorLog}`;
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    for (const supervisor of this.info.pids) {
      for (const pid of UNCATCHABLE.has(signal) ? [...childPids(supervisor), supervisor] : [supervisor]) {
        try {
          process.kill(pid, signal);
        } catch {
          continue;
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // The supervisor passes SIGTERM on to its engines and ends once they have; should it be
    // killed after the grace period instead, its engines stop as soon as they notice.
    await Promise.all([...this.info.pids].map((pid) => terminate(pid, 5000, this.children.get(pid))));
    this.info.pids = [];
  }
}

/** Starts engines as local processes, one supervisor per set. */
export class LocalLauncher implements EngineLauncher {
  readonly kind = "local";

  private readonly options: FilledLocalLauncherOptions;

  constructor(options: LocalLauncherOptions = {}) {
    validateLocalOptions(options);
    this.options = fillDefaults(kDefaultLocalLauncherOptions, options);
  }

  async start(n: number, context: LaunchContext): Promise<EngineSet> {
    const set = new LocalEngineSet(context.setId, { launcher: this.kind, n, pids: [] }, context, this.options);
    if (n > 0) set.spawn(n);
    return set;
  }

  attach(id: string, info: EngineSetInfo, context: LaunchContext): EngineSet {
    return new LocalEngineSet(id, { ...info, pids: [...info.pids] }, context, this.options);
  }
}
