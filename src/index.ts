/**
 * Parallax: IPython Parallel for Node.js. The public API: clusters, clients, views, results,
 * dependencies, task graphs, executors, visualization and errors.
 */
export { Cluster, registerLauncher, validateClusterOptions } from "./cluster/cluster.js";
export type { ClusterOptions, ClusterFile, FilledClusterOptions } from "./cluster/cluster.js";
export type { Hwm } from "./scheduler/task-scheduler.js";
export type { LogLevel } from "./connection/logger.js";
export type { EngineLauncher, EngineSet, EngineSetInfo, LaunchContext } from "./cluster/launchers/launcher.js";
export { LocalLauncher } from "./cluster/launchers/local.js";
export type { LocalLauncherOptions } from "./cluster/launchers/local.js";
export { MpiLauncher } from "./cluster/launchers/mpi.js";
export type { MpiLauncherOptions } from "./cluster/launchers/mpi.js";
export { SshLauncher } from "./cluster/launchers/ssh.js";
export type { SshLauncherOptions } from "./cluster/launchers/ssh.js";
export {
  DEFAULT_SLURM_TEMPLATE,
  SLURM_PLACEHOLDERS,
  SlurmControllerLauncher,
  SlurmEngineSet,
  SlurmLauncher,
} from "./cluster/launchers/slurm.js";
export type { SlurmLauncherOptions } from "./cluster/launchers/slurm.js";
export type { ConnectionInfo } from "./connection/profile.js";
export { Client } from "./client/client.js";
export type { ClientEvents, ConnectOptions } from "./client/client.js";
export type { EngineQueueStatus, QueueStatus } from "./protocol/query-table.js";
export { DirectView } from "./client/direct-view.js";
export type { MapOptions, ModuleSpec, Sequence, SequencesOf } from "./client/direct-view.js";
export { LoadBalancedView } from "./client/load-balanced-view.js";
export type { DependencyLike, ImapOptions, LoadBalancedFlags } from "./client/load-balanced-view.js";
export { AsyncMapResult, AsyncResult } from "./client/async-result.js";
export type {
  Awaitable,
  AwaitableArgs,
  Future,
  GetOptions,
  ItemOf,
  PerMessage,
  WaitInteractiveOptions,
  WaitOptions,
} from "./client/async-result.js";
export type { TaskMetadata } from "./client/task-entry.js";
export { Executor, asCompleted, wait } from "./client/executor.js";
export type { ExecutorOptions, ExecutorView, IterablesOf, ReturnWhen } from "./client/executor.js";
export { depend, fromModule, requireModules } from "./client/functions.js";
export type { DependentFunction } from "./client/functions.js";
export type { ArgumentsOf, FunctionRef, ReturnOf, TaskFunction } from "./protocol/canning.js";
export type { TargetSpec } from "./client/targets.js";
export {
  PxSession,
  PxUsageError,
  makePx,
  parsePxFlags,
  type PxDisplay,
  type PxFlags,
  type PxOptions,
  type PxRun,
  type PxTag,
} from "./client/px.js";
export { Dependency } from "./graph/dependency.js";
export type { DependencyOptions } from "./graph/dependency.js";
export { TaskGraph, TaskGraphResults, TaskNode } from "./graph/task-graph.js";
export type { ComputeOptions, NodeArg, NodeArgs, SubmitFlags, SubmittedTask, TaskSubmitter } from "./graph/task-graph.js";
export type { TaskGraphJSON, TaskNodeAttributes, TaskEdgeAttributes, TaskState, EdgeKind } from "./graph/graph-json.js";
export {
  CompositeError,
  ConfigurationError,
  ControllerLostError,
  EngineError,
  ExecutionTimeout,
  ImpossibleDependency,
  InvalidDependency,
  NoEnginesRegistered,
  ParallaxError,
  ProtocolError,
  RemoteError,
  ResultCulled,
  SerializationError,
  TaskAborted,
  TaskInterrupted,
  TaskTimeout,
  TimeoutError,
  UnmetDependency,
  isParallaxError,
} from "./errors.js";
export type { ErrorCode, ErrorOrigin, RemoteErrorInfo, WireError } from "./errors.js";
export { visualize, timeline, toDot, graphFromResults } from "../viz/index.js";
export type { GraphInput, TimelineOptions, VisualizeFormat, VisualizeKind, VisualizeOptions } from "../viz/index.js";
