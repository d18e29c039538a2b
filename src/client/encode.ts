/**
 * Turns call arguments and pushed values into message parts: functions canned, values
 * serialized, and a precise `SerializationError` (with the argument path) when that fails.
 */
import { SerializationError } from "../errors.js";
import { CAN_KEY, canCallable, canValue, tooDeep, uncanValue } from "../protocol/canning.js";
import type { CanHook, Canned } from "../protocol/canning.js";
import type { CallContent, MapContent } from "../protocol/contents.js";
import { decodeValue, encodeValue, findUnserializablePath } from "../protocol/serialize.js";

/** Encoded value frames and whether they contain canned markers. */
export interface EncodedValue {
  buffers: Buffer[];
  canned: boolean;
}

/** Cans and serializes `value`; `what` names it in errors (`args`, `push`…). */
export function encodeArgument(value: unknown, what: string, hook?: CanHook): EncodedValue {
  // A hook refusing a value (a view that takes no futures) is a usage error: it passes through
  // unchanged, while anything else that fails here is a serialization problem.
  const guarded: CanHook | undefined =
    hook &&
    ((v) => {
      try {
        return hook(v);
      } catch (error) {
        throw new HookRefusal(error);
      }
    });
  try {
    const { value: canned, canned: hasCans } = canValue(value, what, guarded, { refuseInstances: true });
    return { buffers: encodeValue(canned, what), canned: hasCans };
  } catch (error) {
    if (error instanceof HookRefusal) throw error.refusal;
    // Too deep to walk again for a path: the error already says what is wrong.
    if (tooDeep((error as Error).cause, what)) throw error;
    const where = findUnserializablePath(value, what) ?? what;
    const reason = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
    throw new SerializationError(`${where} cannot be sent to an engine: ${reason}`, { cause: error });
  }
}

/** Carries an error thrown by a canning hook through the canning walk. */
class HookRefusal {
  constructor(readonly refusal: unknown) {}
}

/** Content and frames of a call (`call` or `map`) of `fn` with `args`. */
export function encodeCall(
  op: "call" | "map",
  fn: unknown,
  args: readonly unknown[],
  hook?: CanHook,
): { content: CallContent | MapContent; buffers: Buffer[] } {
  const canned = canCallable(fn, "the function to apply");
  const encoded = encodeArgument(args, "args", hook);
  return { content: { op, fn: canned, ...(encoded.canned ? { canned: true } : {}) }, buffers: encoded.buffers };
}

/**
 * Decodes a result. Functions in it (`pull("g")` of a function) come back as functions rebuilt
 * from their source in this process, so their free names resolve among this process's globals;
 * module functions import their module here when called.
 */
export function decodeResult(frames: readonly Buffer[], canned: boolean | undefined): unknown {
  const value = decodeValue(frames);
  return canned ? uncanValue(value, reviveHere) : value;
}

function reviveHere(canned: Canned): unknown {
  if (canned[CAN_KEY] === "source") return new Function(`return (${canned.src}\n);`)() as unknown;
  if (canned[CAN_KEY] === "module") {
    const { path, exportName } = canned;
    return async (...args: unknown[]) => {
      const module = (await import(path)) as Record<string, (...a: unknown[]) => unknown>;
      return module[exportName]?.(...args);
    };
  }
  return canned;
}
