/**
 * The local launcher: one supervised engine process per engine on this machine, each in its
 * own process group so that stopping it leaves nothing behind. With `restartDeadEngines`, an
 * engine that dies is replaced (and registers with a new id).
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { entryCommand, signalGroup, spawnNode, terminate } from "../processes.js";
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
   * Extra arguments for every engine (`--no-supervisor`…).
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

class LocalEngineSet implements EngineSet {
  private stopping = false;
  private readonly children = new Map<number, ChildProcess>();
  private readonly exits: string[] = [];
  private reportEnded: (what: string) => void = () => {};
  readonly ended = new Promise<string>((resolve) => (this.reportEnded = resolve));

  constructor(
    readonly id: string,
    readonly info: EngineSetInfo,
    private readonly context: LaunchContext,
    private readonly options: FilledLocalLauncherOptions,
  ) {}

  private logFile(index: number): string {
    return path.join(this.context.logDir, `engine-${this.context.clusterId}-${this.id}-${index}.log`);
  }

  spawnEngine(index: number): void {
    const log = this.logFile(index);
    const child = spawnNode([...entryCommand("engine/main"), "--file", this.context.engineFile, ...this.options.engineArgs], {
      logFile: log,
      cwd: this.context.cwd,
      env: { ...this.context.env, ...this.context.localEnv },
    });
    const pid = child.pid as number;
    this.children.set(pid, child);
    this.info.pids.push(pid);
    child.once("exit", (code, signal) => {
      this.children.delete(pid);
      this.info.pids = this.info.pids.filter((p) => p !== pid);
      if (this.stopping) return;
      if (this.options.restartDeadEngines) this.spawnEngine(index);
      else this.engineEnded(index, code, signal);
    });
    // The set must not keep the user's process alive on its own.
    child.unref();
  }

  private engineEnded(index: number, code: number | null, signal: NodeJS.Signals | null): void {
    this.exits.push(`engine ${index} ${signal ? `by ${signal}` : `with code ${code}`}`);
    if (this.children.size > 0) return;
    const logs = this.info.n === 1 ? this.logFile(0) : path.join(this.context.logDir, `engine-${this.context.clusterId}-${this.id}-*.log`);
    this.reportEnded(`every engine process exited (${this.exits.join(", ")}); read ${logs}`);
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    for (const pid of this.info.pids) signalGroup(pid, signal);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.info.pids].map((pid) => terminate(pid, 5000, this.children.get(pid))));
    this.info.pids = [];
  }
}

/** Starts engines as local processes. */
export class LocalLauncher implements EngineLauncher {
  readonly kind = "local";

  private readonly options: FilledLocalLauncherOptions;

  constructor(options: LocalLauncherOptions = {}) {
    validateLocalOptions(options);
    this.options = fillDefaults(kDefaultLocalLauncherOptions, options);
  }

  async start(n: number, context: LaunchContext): Promise<EngineSet> {
    const set = new LocalEngineSet(context.setId, { launcher: this.kind, n, pids: [] }, context, this.options);
    for (let i = 0; i < n; i++) set.spawnEngine(i);
    return set;
  }

  attach(id: string, info: EngineSetInfo, context: LaunchContext): EngineSet {
    return new LocalEngineSet(id, { ...info, pids: [...info.pids] }, context, { ...this.options, restartDeadEngines: false });
  }
}
