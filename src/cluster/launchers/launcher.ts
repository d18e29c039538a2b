/**
 * The launcher contract: something that starts a set of engines (or a controller) and can
 * signal and stop them. Local processes, MPI, SSH and Slurm implement it.
 */

/** What a launcher needs to start engines. */
export interface LaunchContext {
  /** Engine connection file. */
  engineFile: string;
  profileDir: string;
  logDir: string;
  clusterId: string;
  /** Id of this engine set within the cluster. */
  setId: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /**
   * More variables for processes started on this machine only: the owner watch (see
   * `ClusterOptions.shutdownAtExit`), whose pid means nothing on another host.
   */
  localEnv?: NodeJS.ProcessEnv;
}

/** Serializable description of a running set, kept in the cluster file. */
export interface EngineSetInfo {
  launcher: string;
  n: number;
  /** Pids of the launched processes (supervisors, or mpiexec/ssh/sbatch handles). */
  pids: number[];
  /** Launcher-specific data (job id, hosts…). */
  data?: Record<string, unknown>;
}

/** A running set of engines. */
export interface EngineSet {
  readonly id: string;
  readonly info: EngineSetInfo;
  /** Sends a signal to every engine of the set. */
  signal(signal: NodeJS.Signals): Promise<void>;
  /** Stops every engine of the set and waits until they are gone. */
  stop(): Promise<void>;
  /**
   * Resolves, with what happened and the log to read, once every process the set started has
   * ended on its own (engines that died at start, an mpiexec that refused to run); never when
   * the set is stopped. Absent where the engines run out of sight (ssh, Slurm).
   */
  readonly ended?: Promise<string>;
}

/** Starts engine sets. */
export interface EngineLauncher {
  readonly kind: string;
  start(n: number, context: LaunchContext): Promise<EngineSet>;
  /** Re-attaches to a set described in a cluster file (for `Cluster.fromFile`). */
  attach(id: string, info: EngineSetInfo, context: LaunchContext): EngineSet;
}
