/**
 * Run-time checks of message contents and metadata, one per shape of `contents.ts`; each is
 * checked against its interface by the compiler. Pure: no I/O.
 */
import { ERROR_CODES } from "../errors.js";
import type { WireError } from "../errors.js";
import { CAN_KEY } from "./can-key.js";
import type { CannedModule, CannedSource } from "./canning.js";
import type {
  ApplyContent,
  CannedFunction,
  ControlContent,
  DependencySpec,
  Empty,
  NotificationContent,
  ProcessStats,
  ReplyContent,
  ReplyMetadata,
  RequestMetadata,
  ValueFrames,
} from "./contents.js";
import { array, boolean, either, integer, literal, number, object, optional, pair, record, string, unknown, variants } from "./guard.js";
import type { Fields, Guard } from "./guard.js";

/** Content or metadata that carries nothing (extra fields are ignored). */
export const EMPTY: Guard<Empty> = object<Empty>({});

const cannedSource = object<CannedSource>({ [CAN_KEY]: literal("source"), src: string, name: string, free: optional(array(string)) });
const cannedModule = object<CannedModule>({ [CAN_KEY]: literal("module"), path: string, exportName: string });
const cannedFunction: Guard<CannedFunction> = variants<typeof CAN_KEY, CannedFunction>(CAN_KEY, {
  source: cannedSource,
  module: cannedModule,
});

const valueFrames: Fields<ValueFrames> = {
  canned: optional(boolean),
  argFrames: optional(integer),
  refFrames: optional(record(pair(integer, integer))),
};

/** One guard per `op` of an `apply_request`. */
export const APPLY_CONTENT: Guard<ApplyContent> = variants<"op", ApplyContent>("op", {
  call: object({ op: literal("call"), fn: cannedFunction, ...valueFrames }),
  map: object({ op: literal("map"), fn: cannedFunction, ...valueFrames }),
  execute: object({ op: literal("execute"), code: string, filename: optional(string) }),
  push: object({ op: literal("push"), ...valueFrames }),
  pull: object({ op: literal("pull"), names: either(string, array(string), "a name or a list of names") }),
  clear: object({ op: literal("clear") }),
  require: object({ op: literal("require"), modules: record(string) }),
});

const dependency = object<DependencySpec>({ ids: array(string), all: boolean, success: boolean, failure: boolean });

/** Metadata of an `apply_request`. */
export const REQUEST_METADATA = object<RequestMetadata>({
  after: optional(dependency),
  follow: optional(dependency),
  timeout: optional(number),
  execTimeout: optional(number),
  retries: optional(integer),
  priority: optional(number),
  pure: optional(boolean),
  label: optional(string),
  targets: optional(array(integer)),
  engine: optional(integer),
  argRefs: optional(array(string)),
  memoKey: optional(string),
});

/** One of Parallax's own codes. */
const errorCode = literal(...ERROR_CODES);

const errorInfo = {
  ename: string,
  evalue: string,
  remoteStack: string,
  engineId: optional(integer),
  remoteCode: optional(string),
  item: optional(integer),
  thrown: unknown,
};

/** The error of a reply: Parallax's own errors must carry one of Parallax's codes. */
export const WIRE_ERROR: Guard<WireError> = variants<"origin", WireError>("origin", {
  controller: object({ ...errorInfo, origin: literal("controller"), code: errorCode }),
  engine: object({ ...errorInfo, origin: literal("engine"), code: errorCode }),
  user: object({ ...errorInfo, origin: literal("user"), code: optional(string) }),
});

/** Content of an `apply_reply`. */
export const REPLY_CONTENT = object<ReplyContent>({
  status: literal("ok", "error", "aborted"),
  error: optional(WIRE_ERROR),
  canned: optional(boolean),
});

/** Metadata of an `apply_reply`. */
export const REPLY_METADATA = object<ReplyMetadata>({
  engineId: optional(integer),
  started: optional(number),
  completed: optional(number),
  stdout: optional(string),
  stderr: optional(string),
  fromHub: optional(boolean),
  unmet: optional(boolean),
  replySeq: optional(integer),
});

/** An engine's CPU and memory. */
export const PROCESS_STATS = object<ProcessStats>({ cpu: number, rss: number });

/** Content of a `notification`. */
export const NOTIFICATION = variants<"event", NotificationContent>("event", {
  registration: object({ event: literal("registration"), id: integer, info: object({ pid: integer, hostname: string }) }),
  unregistration: object({ event: literal("unregistration"), id: integer, info: object({ reason: string }) }),
  shutdown: object({ event: literal("shutdown") }),
});

/** Content of a `control_request`. */
export const CONTROL = variants<"op", ControlContent>("op", {
  ack: object({ op: literal("ack"), seq: integer, engineId: optional(integer) }),
  abort: object({ op: literal("abort"), msgIds: array(string), engineId: optional(integer) }),
  reregister: object({ op: literal("reregister"), engineId: optional(integer) }),
  forgotten: object({ op: literal("forgotten"), engineId: optional(integer) }),
  shutdown: object({ op: literal("shutdown"), engineId: optional(integer) }),
  signal: object({ op: literal("signal"), signal: string, engineId: optional(integer) }),
});
