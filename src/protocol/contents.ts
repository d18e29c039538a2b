/**
 * Shapes of message contents and metadata, shared by client, controller and engine.
 */
import type { WireError } from "../errors.js";
import type { CannedModule, CannedSource } from "./canning.js";

/** What an engine request asks for. */
export type EngineOp = ApplyContent["op"];

/** A function as a request carries it: source text, or a module path and export. */
export type CannedFunction = CannedSource | CannedModule;

/** Parts of a request whose buffers hold values (arguments, or names and values to push). */
export interface ValueFrames {
  /** True when the buffers hold canned markers that the engine must revive. */
  canned?: boolean;
  /** Set by the hub: how many leading buffers hold the arguments… */
  argFrames?: number;
  /** …and which buffer ranges hold the results of the tasks given as arguments. */
  refFrames?: Record<string, [number, number]>;
}

/** `call`: the function applied to the arguments in the buffers. */
export interface CallContent extends ValueFrames {
  op: "call";
  fn: CannedFunction;
}

/** `map`: the function applied to each item of the sequences in the buffers. */
export interface MapContent extends ValueFrames {
  op: "map";
  fn: CannedFunction;
}

/** `execute`: code run in the namespace; `filename` names it in stack traces. */
export interface ExecuteContent {
  op: "execute";
  code: string;
  filename?: string;
}

/** `push`: names and values (in the buffers) bound in the namespace. */
export interface PushContent extends ValueFrames {
  op: "push";
}

/** `pull`: one name or expression, or several. */
export interface PullContent {
  op: "pull";
  names: string | string[];
}

/** `clear`: the namespace is reset. */
export interface ClearContent {
  op: "clear";
}

/** `require`: namespace name to module specifier. */
export interface RequireContent {
  op: "require";
  modules: Record<string, string>;
}

/** Content of an `apply_request`, one shape per `op` (values travel in the buffers). */
export type ApplyContent = CallContent | MapContent | ExecuteContent | PushContent | PullContent | ClearContent | RequireContent;

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
  engineId?: number;
  started?: number;
  completed?: number;
  stdout?: string;
  stderr?: string;
  /** Set by the controller when it answers for an engine (engine died, aborted in queue…). */
  fromHub?: boolean;
  /** Set by an engine when the task raised UnmetDependency: the scheduler tries elsewhere. */
  unmet?: boolean;
  /**
   * The engine's count of replies sent: the hub acknowledges the highest it received, and the
   * engine keeps every later reply to send again to a restored controller.
   */
  replySeq?: number;
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

/** The hub's answer to a registration: the engine's id and how often to beat. */
export interface RegistrationReplyContent {
  id: number;
  /** Milliseconds between heartbeats. */
  heartbeatInterval: number;
}

/** A supervisor announces which engine it watches. */
export interface SuperviseContent {
  engineId: number;
  /** The engine's process id. */
  pid?: number;
  supervisorPid: number;
}

/** CPU and memory of an engine process, sampled by its supervisor. */
export interface ProcessStats {
  /** CPU use since the previous sample, in percent of one core (may exceed 100 with threads). */
  cpu: number;
  /** Resident set size in bytes. */
  rss: number;
}

/** Content of an `engine_beat`: an engine that no supervisor watches beats for itself. */
export interface EngineBeatContent {
  engineId: number;
  /** The engine's CPU and memory, where the supervisor can read them. */
  stats?: ProcessStats;
}

/**
 * Content of a `supervisor_beat`: one message a heartbeat for every engine the supervisor
 * vouches for (registered, alive and not stopped), instead of one per engine, so that a host's
 * beats cost the hub one message whatever the number of its engines.
 */
export interface SupervisorBeatContent {
  beats: EngineBeatContent[];
}

/** Content of an `engine_exit`: the supervisor saw its engine exit. */
export interface EngineExitContent {
  engineId: number;
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  signal: string | null;
  /** What the supervisor knows of the cause (out of memory, controller silent…). */
  reason?: string;
}

/**
 * Control requests from the hub to an engine or to its supervisor; to a supervisor, which
 * watches every engine of its set, `engineId` names the engine (absent: all of them).
 */
export type ControlContent = { engineId?: number } &
  /** The hub recorded every reply up to number `seq`. */
  (
    | { op: "ack"; seq: number }
    /** Abort these queued tasks. */
    | { op: "abort"; msgIds: string[] }
    /** Register again under the same id (the controller was restored). */
    | { op: "reregister" }
    /** The hub declared the engine dead: it must leave. */
    | { op: "forgotten" }
    | { op: "shutdown" }
    /** Deliver a signal to the engine process. */
    | { op: "signal"; signal: string }
  );

/** Notifications pushed to every connected client. */
export type NotificationContent =
  | { event: "registration"; id: number; info: { pid: number; hostname: string } }
  | { event: "unregistration"; id: number; info: { reason: string } }
  | { event: "shutdown" };

/** Output streamed while a task runs. */
export interface StreamContent {
  name: "stdout" | "stderr";
  text: string;
}

/** Content of an `error_reply`: the controller refused a message (unknown type, malformed, failed query). */
export interface ErrorReplyContent {
  error: WireError;
}

/** Content or metadata of a message that carries nothing (arguments of a query that takes none). */
export type Empty = Record<never, never>;
