/**
 * The engine's task thread (a worker thread): it owns the namespace and runs every piece of
 * user code, synchronous parts, promise continuations and timers alike. The engine's main
 * thread keeps the socket, so it can always hear an interrupt and break this thread out of
 * whatever it runs without losing the namespace (see task-thread.ts).
 */
import util from "node:util";
import { parentPort, workerData } from "node:worker_threads";
import { UnmetDependency } from "../errors.js";
import { canValue, isIdentifier, uncanValue } from "../protocol/canning.js";
import type { Canned, CannedModule, CannedSource } from "../protocol/canning.js";
import type { ApplyContent, ValueFrames } from "../protocol/contents.js";
import { decodeValue, encodeValue } from "../protocol/serialize.js";
import { taskName } from "../protocol/task-name.js";
import { OutputCapture } from "./capture.js";
import { Namespace } from "./namespace.js";
import { forTransfer } from "./transfer.js";
import type { TaskThreadData, ToTaskThread, FromTaskThread, ErrorFields } from "./task-thread.js";

const port = parentPort!;
const { cwd, seed } = workerData as TaskThreadData;
const namespace = new Namespace(cwd, { UnmetDependency, ...seed });
const capture = new OutputCapture();
/** The task being run; a later `run` (after an interrupt) replaces it and drops its outcome. */
let current: number | undefined;

port.on("message", (message: ToTaskThread) => {
  if (message.type === "run") void run(message.seq, message.content, message.buffers.map(asBuffer));
  else if (message.type === "push") namespace.push(message.values);
  else port.postMessage({ type: "pong", seq: message.seq } satisfies FromTaskThread);
});

// User code may throw from a timer or leave a rejection unhandled: that fails the running
// task (or is logged between tasks) instead of ending the thread and its namespace.
const escaped = (error: unknown): void => {
  if (current === undefined) process.stderr.write(`parallax engine: error outside any task: ${String((error as Error)?.stack ?? error)}\n`);
  else finish({ type: "done", seq: current, error: errorFields(error) });
};
process.on("uncaughtException", escaped);
process.on("unhandledRejection", escaped);

async function run(seq: number, content: ApplyContent, buffers: Buffer[]): Promise<void> {
  current = seq;
  capture.begin((name, text) => port.postMessage({ type: "output", seq, name, text } satisfies FromTaskThread));
  try {
    const value = await perform(content, buffers);
    const result = encodeResult(value, content);
    finish({ type: "done", seq, buffers: result.buffers, ...(result.canned ? { canned: true } : {}) });
  } catch (thrown) {
    finish({ type: "done", seq, error: errorFields(thrown) });
  }
}

function finish(outcome: FromTaskThread & { type: "done" }): void {
  if (current !== outcome.seq) return;
  current = undefined;
  capture.end();
  const moving = forTransfer(outcome.buffers ?? []);
  port.postMessage(outcome.buffers === undefined ? outcome : { ...outcome, buffers: moving.buffers }, moving.transfer);
}

async function perform(content: ApplyContent, buffers: Buffer[]): Promise<unknown> {
  const values = (frames: ValueFrames) => {
    const decoded = decodeValue(frames.argFrames === undefined ? buffers : buffers.slice(0, frames.argFrames));
    if (!frames.canned) return decoded;
    const revive = (canned: Canned): unknown => {
      if (canned.__parallax_can__ !== "result") return namespace.revive(canned);
      const range = frames.refFrames?.[canned.msgId];
      if (!range) throw new Error(`the result of task ${canned.msgId} was not delivered with this task`);
      // A result may itself hold functions (a task that returned one).
      return uncanValue(decodeValue(buffers.slice(range[0], range[1])), revive);
    };
    return uncanValue(decoded, revive);
  };
  switch (content.op) {
    case "call": {
      const fn = await namespace.resolveFunction(content.fn);
      checkFreeNames(content.fn);
      return await namespace.invoke(fn, values(content) as unknown[]);
    }
    case "map": {
      const fn = await namespace.resolveFunction(content.fn);
      checkFreeNames(content.fn);
      return await mapPartition(fn, values(content) as unknown[][]);
    }
    case "execute":
      return await namespace.execute(content.code, content.filename);
    case "push":
      namespace.push(values(content) as Record<string, unknown>);
      return undefined;
    case "pull":
      return Array.isArray(content.names) ? content.names.map((n) => namespace.evaluate(n)) : namespace.evaluate(content.names);
    case "clear":
      namespace.reset();
      return undefined;
    case "require":
      return await namespace.requireModules(content.modules);
  }
}

async function mapPartition(fn: Function, sequences: unknown[][]): Promise<unknown[]> {
  const length = Math.min(...sequences.map((s) => s.length));
  const out = new Array<unknown>(Number.isFinite(length) ? length : 0);
  for (let i = 0; i < out.length; i++) {
    try {
      const value = namespace.invoke(
        fn,
        sequences.map((s) => s[i]),
      );
      out[i] = isThenable(value) ? await value : value;
    } catch (error) {
      throw new MapItemFailure(i, error);
    }
  }
  return out;
}

/** A map item's call failed: which item (in this chunk), and what it threw. */
class MapItemFailure {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {}
}

/**
 * Fails a call before it runs when names its function reads (found by the client in its
 * source) are not defined here; the engine adds advice that fits each name.
 */
function checkFreeNames(fn: CannedSource | CannedModule): void {
  if (!("free" in fn) || !Array.isArray(fn.free)) return;
  const names = fn.free.filter(isIdentifier);
  if (names.length === 0) return;
  const missing = namespace.missingNames(names);
  if (missing.length === 0) return;
  throw Object.assign(new Error(`${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not defined`), { name: "ReferenceError" });
}

/**
 * A result's frames. Functions in it travel as source (`pull` of a function). The completion
 * value of `execute` is a courtesy: when it cannot be copied back the call still succeeds,
 * with no value, as IPython Parallel's execute returns nothing.
 */
function encodeResult(value: unknown, content: ApplyContent): { buffers: Buffer[]; canned: boolean } {
  const what = `result of ${taskName("fn" in content ? content.fn : undefined, content.op)}`;
  if (content.op === "execute") {
    try {
      return { buffers: encodeValue(value, what), canned: false };
    } catch {
      return { buffers: encodeValue(undefined, what), canned: false };
    }
  }
  const { value: canned, canned: hasCans } = canValue(value, what);
  return { buffers: encodeValue(canned, what), canned: hasCans };
}

/** What the main thread needs of a thrown value; errors from the namespace's realm included. */
function errorFields(thrown: unknown): ErrorFields {
  if (thrown instanceof MapItemFailure) return { ...errorFields(thrown.error), item: thrown.index };
  if (!isErrorLike(thrown)) {
    const kept = jsonSafe(thrown);
    const message = typeof thrown === "string" ? thrown : util.inspect(thrown, { depth: 4, breakLength: Infinity });
    return { name: "ThrownValue", message, nonError: true, ...(kept.ok ? { thrown: kept.value } : {}) };
  }
  const error = thrown as Error & { code?: unknown };
  return {
    name: typeof error.name === "string" ? error.name : "Error",
    message: typeof error.message === "string" ? error.message : String(thrown),
    ...(typeof error.stack === "string" ? { stack: error.stack } : {}),
    ...(typeof error.code === "string" ? { code: error.code } : {}),
  };
}

/** Errors of any realm (and error-shaped objects with a stack), as opposed to thrown plain values. */
function isErrorLike(thrown: unknown): boolean {
  if (util.types.isNativeError(thrown)) return true;
  return (
    typeof thrown === "object" &&
    thrown !== null &&
    typeof (thrown as Error).stack === "string" &&
    typeof (thrown as Error).message === "string"
  );
}

/** The thrown value if it survives JSON (the reply's error travels as JSON). */
function jsonSafe(value: unknown): { ok: boolean; value?: unknown } {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? { ok: false } : { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Buffers arrive as plain Uint8Arrays; the decoders expect Buffers. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
