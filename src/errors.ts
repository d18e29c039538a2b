/**
 * Every error Parallax raises. Each class carries a stable `code` so callers can branch on it
 * without matching message text, and the remote ones keep what the engine reported.
 */

/** Every error code Parallax uses, defined once (the wire checks that Parallax's own errors carry one of them). */
export const ERROR_CODES = [
  "PARALLAX_ERROR",
  "REMOTE_ERROR",
  "COMPOSITE_ERROR",
  "ENGINE_ERROR",
  "TASK_TIMEOUT",
  "EXECUTION_TIMEOUT",
  "TASK_ABORTED",
  "TASK_INTERRUPTED",
  "UNMET_DEPENDENCY",
  "IMPOSSIBLE_DEPENDENCY",
  "INVALID_DEPENDENCY",
  "NO_ENGINES_REGISTERED",
  "CONTROLLER_LOST",
  "SERIALIZATION_ERROR",
  "TIMEOUT",
  "CONFIGURATION_ERROR",
  "PROTOCOL_ERROR",
  "RESULT_CULLED",
  "PX_USAGE_ERROR",
] as const;

/** A stable code of a Parallax error. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Marks Parallax errors on their prototype. `Symbol.for` is shared by every realm of a process,
 * so `isParallaxError` recognises errors made by another copy of the package or in a vm context,
 * where `instanceof` would not.
 */
const BRAND = Symbol.for("parallax.error");

/** Base class of all Parallax errors. */
export class ParallaxError extends Error {
  /** Stable machine-readable identifier of the error kind. */
  readonly code: ErrorCode = "PARALLAX_ERROR";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
Object.defineProperty(ParallaxError.prototype, BRAND, { value: true });

/** True for any Parallax error, whichever realm or copy of the package made it. */
export function isParallaxError(value: unknown): value is ParallaxError {
  return typeof value === "object" && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/** What an engine reports about an exception raised by user code. */
export interface RemoteErrorInfo {
  /** Name of the remote exception class (`TypeError`, `ReferenceError`, …). */
  ename: string;
  /** The remote exception's message. */
  evalue: string;
  /** The remote stack trace, as text. */
  remoteStack: string;
  /** Engine that raised it, when known. */
  engineId?: number | undefined;
  /** Parallax code of the remote error, when it was a Parallax error. */
  remoteCode?: string | undefined;
  /** For a map: index of the failing item (in the whole map once the client knows the chunk's place). */
  item?: number | undefined;
  /** What was thrown when it was not an Error (a string, a number, a plain object…). */
  thrown?: unknown;
}

/** User code raised an exception on an engine. */
export class RemoteError extends ParallaxError {
  override readonly code = "REMOTE_ERROR";
  /** Remote exception class name. */
  readonly ename: string;
  /** Remote exception message. */
  readonly evalue: string;
  /** Remote stack trace text. */
  readonly remoteStack: string;
  /** Engine the error came from, if any. */
  readonly engineId: number | undefined;
  /** For a map: index of the input item whose call failed. */
  readonly item: number | undefined;
  /** The value thrown, when user code threw something that is not an Error (`throw "boom"`). */
  readonly thrown: unknown;
  constructor(info: RemoteErrorInfo) {
    const place = [info.item === undefined ? "" : `item ${info.item}`, info.engineId === undefined ? "" : `engine ${info.engineId}`].filter(
      Boolean,
    );
    super(`${place.length ? `[${place.join(", ")}] ` : ""}${info.ename}: ${info.evalue}`);
    this.ename = info.ename;
    this.evalue = info.evalue;
    this.remoteStack = info.remoteStack;
    this.engineId = info.engineId;
    this.item = info.item;
    this.thrown = info.thrown;
  }
}

/** How a {@link CompositeError} introduces its failures. */
export interface CompositeErrorOptions {
  /** First line, e.g. `2 of 4 engines failed in f`. */
  summary?: string;
}

/**
 * Several tasks failed; `errors` has one entry per failed engine, task or map chunk (a map
 * chunk's error names the failing item). The message shows the first
 * {@link CompositeError.shownErrors} of them, then `.... N more exceptions ...`, as IPython
 * Parallel does.
 */
export class CompositeError extends ParallaxError {
  /** How many failures the message spells out (IPython Parallel's `tb_limit`). */
  static readonly shownErrors = 4;
  override readonly code = "COMPOSITE_ERROR";
  /** The individual failures, in target (or item) order. */
  readonly errors: readonly Error[];
  constructor(errors: readonly Error[], options: CompositeErrorOptions = {}) {
    const shown = errors.slice(0, CompositeError.shownErrors).map((e) => `  ${e.message}`);
    const hidden = errors.length - shown.length;
    const more = hidden > 0 ? [`.... ${hidden} more exceptions ...`] : [];
    super([`${options.summary ?? `${errors.length} tasks failed`}:`, ...shown, ...more].join("\n"));
    this.errors = errors;
  }
}

/** An engine died or left while it owned a task. */
export class EngineError extends ParallaxError {
  override readonly code = "ENGINE_ERROR";
  /** The engine that was lost. */
  readonly engineId: number | undefined;
  constructor(message: string, engineId?: number) {
    super(message);
    this.engineId = engineId;
  }
}

/** A task waited in the scheduler for longer than its `timeout`. */
export class TaskTimeout extends ParallaxError {
  override readonly code = "TASK_TIMEOUT";
}

/** A running task exceeded its `execTimeout` and was interrupted. */
export class ExecutionTimeout extends ParallaxError {
  override readonly code = "EXECUTION_TIMEOUT";
}

/** A queued task was aborted before it ran. */
export class TaskAborted extends ParallaxError {
  override readonly code = "TASK_ABORTED";
}

/** A running task was interrupted by a signal. */
export class TaskInterrupted extends ParallaxError {
  override readonly code = "TASK_INTERRUPTED";
}

/**
 * Thrown inside a task (or by a functional dependency) to say "not on this engine":
 * the scheduler then tries another engine.
 */
export class UnmetDependency extends ParallaxError {
  override readonly code = "UNMET_DEPENDENCY";
  constructor(message = "dependency not met on this engine") {
    super(message);
  }
}

/** A dependency can never be met (it failed, or every engine rejected the task). */
export class ImpossibleDependency extends ParallaxError {
  override readonly code = "IMPOSSIBLE_DEPENDENCY";
}

/** A dependency names a task the scheduler never saw, or the task itself. */
export class InvalidDependency extends ParallaxError {
  override readonly code = "INVALID_DEPENDENCY";
}

/** Work was submitted while no engine is registered. */
export class NoEnginesRegistered extends ParallaxError {
  override readonly code = "NO_ENGINES_REGISTERED";
}

/** The controller stopped answering; outstanding results cannot arrive. */
export class ControllerLostError extends ParallaxError {
  override readonly code = "CONTROLLER_LOST";
}

/** A value cannot be serialized; the message names the argument path. */
export class SerializationError extends ParallaxError {
  override readonly code = "SERIALIZATION_ERROR";
}

/** `AsyncResult.get({ timeout })` ran out of time; the task is not cancelled. */
export class TimeoutError extends ParallaxError {
  override readonly code = "TIMEOUT";
}

/** Wrong or inconsistent configuration (cluster options, connection files, targets). */
export class ConfigurationError extends ParallaxError {
  override readonly code = "CONFIGURATION_ERROR";
}

/** The controller refused a request (unknown engine, bad message, size limit…). */
export class ProtocolError extends ParallaxError {
  override readonly code = "PROTOCOL_ERROR";
}

/** A result was culled from the bounded in-memory task database. */
export class ResultCulled extends ParallaxError {
  override readonly code = "RESULT_CULLED";
}

/**
 * Who raised an error that crosses the wire: the controller (scheduler, hub), the engine itself
 * (abort, interrupt, timeouts, dependency checks), or user code running on an engine. Only the
 * first two become Parallax's own error classes on the client; user code's errors, Parallax
 * errors included, arrive as {@link RemoteError}.
 */
export type ErrorOrigin = "controller" | "engine" | "user";

/** An error as it travels in a reply: Parallax's own, with its code, or user code's, with whatever code it had. */
export type WireError = RemoteErrorInfo &
  (
    | { origin: "controller" | "engine"; /** Parallax's code. */ code: ErrorCode }
    | { origin: "user"; /** The thrown error's own `code` (`ENOENT`…), if it had a string one. */ code?: string | undefined }
  );

/** The wire form of an error the controller or an engine raises itself. */
export function toWire(error: ParallaxError, origin: "controller" | "engine", engineId?: number): WireError {
  const cause = error.cause instanceof Error ? error.cause.message : typeof error.cause === "string" ? error.cause : "";
  return {
    ename: error.name,
    evalue: error.message,
    remoteStack: cause,
    code: error.code,
    origin,
    ...(engineId === undefined ? {} : { engineId }),
  };
}

/**
 * Codes the engine itself raises inside a task: aborts, interrupts, run-time limits and the
 * dependency checks of `depend()` and `requireModules()`. They reach the client as Parallax's
 * own classes; anything else user code throws arrives as a RemoteError, whatever its code.
 */
const ENGINE_RAISED = new Set<string>([
  "TASK_ABORTED",
  "TASK_INTERRUPTED",
  "EXECUTION_TIMEOUT",
  "IMPOSSIBLE_DEPENDENCY",
] satisfies ErrorCode[]);

/**
 * The wire form of what a task threw on an engine, described by the engine (name, message,
 * the user's stack frames, the failing item). Its origin follows from its code: the engine's
 * own for the errors it raises inside a task, user code's for everything else.
 */
export function thrownToWire(info: RemoteErrorInfo, code: string | undefined): WireError {
  if (code !== undefined && ENGINE_RAISED.has(code)) return { ...info, code: code as ErrorCode, origin: "engine" };
  return { ...info, origin: "user", ...(code === undefined ? {} : { code }) };
}

type WireFactory = (message: string, info: WireError) => ParallaxError;

/** The classes an error of controller or engine origin becomes again, by code. */
const FROM_WIRE: Partial<Record<ErrorCode, WireFactory>> = {
  ENGINE_ERROR: (m, i) => new EngineError(m, i.engineId),
  TASK_ABORTED: (m) => new TaskAborted(m),
  TASK_TIMEOUT: (m) => new TaskTimeout(m),
  EXECUTION_TIMEOUT: (m) => new ExecutionTimeout(m),
  TASK_INTERRUPTED: (m) => new TaskInterrupted(m),
  IMPOSSIBLE_DEPENDENCY: (m, i) => new ImpossibleDependency(m, i.remoteStack ? { cause: new Error(i.remoteStack) } : undefined),
  INVALID_DEPENDENCY: (m) => new InvalidDependency(m),
  PROTOCOL_ERROR: (m) => new ProtocolError(m),
  RESULT_CULLED: (m) => new ResultCulled(m),
  CONTROLLER_LOST: (m) => new ControllerLostError(m),
};

/** Turns the error part of a reply into the error a user sees. */
export function fromWire(info: WireError | undefined, engineId: number | undefined): Error {
  if (!info) return new RemoteError({ ename: "Error", evalue: "task failed without an error description", remoteStack: "", engineId });
  const placed = { ...info, engineId: info.engineId ?? engineId };
  const factory = info.origin === "user" ? undefined : FROM_WIRE[info.code];
  return factory ? factory(info.evalue, placed) : new RemoteError({ ...placed, remoteCode: info.code });
}
