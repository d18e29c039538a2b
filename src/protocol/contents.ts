/**
 * Shapes of message contents and metadata, shared by client, controller and engine.
 */
import type { WireError } from "../errors.js";
import type { CannedModule, CannedSource } from "./canning.js";

/** What an engine request asks for. */
export type EngineOp = "call" | "map" | "execute" | "push" | "pull" | "clear" | "require";

/** Content of an `apply_request` (values travel in the buffers). */
export interface ApplyContent {
  op: EngineOp;
  /** `call`/`map`: the function. */
  fn?: CannedSource | CannedModule;
  /** `execute`: code; `filename` names it in stack traces. */
  code?: string;
  filename?: string;
  /** `pull`: one name/expression or several. */
  names?: string | string[];
  /** `require`: namespace name to module specifier. */
  modules?: Record<string, string>;
  /** True when the buffers hold canned markers that the engine must revive. */
  canned?: boolean;
  /** Set by the scheduler: how many leading buffers hold the arguments… */
  argFrames?: number;
  /** …and which buffer ranges hold the results of the tasks given as arguments. */
  refFrames?: Record<string, [number, number]>;
}

/** Scheduling flags a client attaches to a load-balanced request. */
export interface TaskFlags {
  after?: DependencySpec;
  follow?: DependencySpec;
  timeout?: number;
  execTimeout?: number;
  retries?: number;
  priority?: number;
  pure?: boolean;
  label?: string;
  targets?: number[];
}

/** A dependency on the wire. */
export interface DependencySpec {
  ids: string[];
  all: boolean;
  success: boolean;
  failure: boolean;
}

/** Metadata of an `apply_request`. `engine` set means a direct request to that engine. */
export interface RequestMetadata extends TaskFlags {
  engine?: number;
  /** Msg ids of tasks whose results are arguments of this one. */
  argRefs?: string[];
  /** Memo key of a pure task. */
  memoKey?: string;
}

/** How a task ended. */
export type TaskStatus = "ok" | "error" | "aborted";

/** Content of an `apply_reply`. The result value travels in the buffers when status is ok. */
export interface ReplyContent {
  status: TaskStatus;
  error?: WireError;
  /** The result holds canned functions (a pulled function) that the client rebuilds. */
  canned?: boolean;
}

/** Metadata of an `apply_reply`. Times are epoch milliseconds. */
export interface ReplyMetadata {
  engine_id?: number;
  started?: number;
  completed?: number;
  stdout?: string;
  stderr?: string;
  /** Set by the controller when it answers for an engine (engine died, aborted in queue…). */
  from_hub?: boolean;
  /** Set by an engine when the task raised UnmetDependency: the scheduler tries elsewhere. */
  unmet?: boolean;
  /**
   * The engine's count of replies sent: the hub acknowledges the highest it received, and the
   * engine keeps every later reply to send again to a restored controller.
   */
  reply_seq?: number;
}

/** Engine registration request. */
export interface RegistrationContent {
  pid: number;
  hostname: string;
  /** Requested id (MPI rank or a restored engine's id). */
  requestedId?: number;
  /** Re-registration with a restored controller: give me back `requestedId`. */
  readopt?: boolean;
  /**
   * With `readopt`: msg ids the engine holds (queued, running, or answered without
   * acknowledgement); the restored controller leaves them there instead of running them again.
   */
  held?: string[];
  cwd: string;
}

/** CPU and memory of an engine process, sampled by its supervisor. */
export interface ProcessStats {
  /** CPU use since the previous sample, in percent of one core (may exceed 100 with threads). */
  cpu: number;
  /** Resident set size in bytes. */
  rss: number;
}

/** Content of an `engine_beat` (sent by the engine's supervisor, or the engine itself). */
export interface EngineBeatContent {
  engine_id: number;
  /** The engine's CPU and memory, where the supervisor can read them. */
  stats?: ProcessStats;
}

/** Client query operations answered by the hub. */
export type QueryOp =
  | "connect"
  | "queue_status"
  | "abort"
  | "signal"
  | "shutdown"
  | "get_result"
  | "history"
  | "resubmit"
  | "purge"
  | "db_query"
  | "engines"
  | "validate";

/** Notifications pushed to every connected client. */
export interface NotificationContent {
  event: "registration" | "unregistration" | "shutdown";
  id?: number;
  info?: Record<string, unknown>;
}

/** Output streamed while a task runs. */
export interface StreamContent {
  name: "stdout" | "stderr";
  text: string;
}
