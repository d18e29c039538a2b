/**
 * Functions travel as source text. Canning replaces every function inside a value by a small
 * marker object that structured clone can carry; the engine turns markers back into functions
 * compiled in its own namespace. Pure: no I/O, no `vm`.
 */
import { SerializationError } from "../errors.js";
import { CAN_KEY } from "./can-key.js";
import { freeNames } from "./free-names.js";
import { taskName } from "./task-name.js";

export { CAN_KEY };

/** A function sent by source. */
export interface CannedSource {
  [CAN_KEY]: "source";
  /** Source text that evaluates, as an expression, to the function. */
  src: string;
  /** The function's name, for stack traces and labels. */
  name: string;
  /**
   * Names the function reads without declaring them, other than the sender's globals: the
   * engine checks them before the call so a missing one fails with advice. Absent when unknown.
   */
  free?: readonly string[];
}

/** A function named by module path (or specifier) and export. */
export interface CannedModule {
  [CAN_KEY]: "module";
  /** Absolute file path or bare specifier, resolved on the engine. */
  path: string;
  /** Export name; `default` for the default export. */
  exportName: string;
}

/** A reference to another task's result, replaced by its value on the engine. */
export interface CannedResultRef {
  [CAN_KEY]: "result";
  /** The task whose result stands here. */
  msgId: string;
}

/** Anything canning can produce that stands for something else on the engine. */
export type Canned = CannedSource | CannedModule | CannedResultRef;

/**
 * User data that has a key named like the marker key: carried inside this wrapper so that any
 * object round-trips, and given back as it was by `uncanValue`.
 */
export interface CannedEscape {
  [CAN_KEY]: "escaped";
  value: Record<string, unknown>;
}

/** Object form of `fromModule(path, name)`, as the user holds it. */
export interface ModuleFunction {
  readonly [CAN_KEY]: "module";
  readonly path: string;
  readonly exportName: string;
}

/**
 * A function named by reference rather than sent as a function value (`fromModule`, `depend`,
 * `requireModules`). `signature` is for the type checker only and never set: it carries the
 * referenced function's type, so calls through a reference infer like calls of the function.
 */
export type FunctionRef<A extends unknown[] = unknown[], R = unknown> = (CannedModule | CannedSource) & {
  readonly signature?: (...args: A) => R;
};

/** What a task runs: a function (sent as source) or a {@link FunctionRef}. */
export type TaskFunction<A extends unknown[] = never[], R = unknown> = ((...args: A) => R) | FunctionRef<A, R>;

/** Arguments of a task function. */
export type ArgumentsOf<F> = F extends (...args: infer A) => unknown ? A : F extends FunctionRef<infer A, unknown> ? A : never;

/** Return type of a task function (before awaiting). */
export type ReturnOf<F> = F extends (...args: never[]) => infer R ? R : F extends FunctionRef<unknown[], infer R> ? R : never;

const sourceCache = new WeakMap<Function, CannedSource>();
/** Markers Parallax made: any other object with the marker key is user data. */
const made = new WeakSet<object>();

const IDENTIFIER = /^[$_\p{ID_Start}][$_\u200C\u200D\p{ID_Continue}]*$/u;

/** True when `name` is a valid JavaScript variable name (namespace bindings, free names). */
export function isIdentifier(name: unknown): name is string {
  return typeof name === "string" && IDENTIFIER.test(name);
}

/** Registers a marker made by Parallax (`fromModule`, dependencies, result references). */
export function marker<T extends Canned>(canned: T): T {
  made.add(canned);
  return canned;
}

/** True when `value` has the marker key (a marker, or user data to escape when sending it). */
export function isCanned(value: unknown): value is Canned {
  return typeof value === "object" && value !== null && Object.hasOwn(value, CAN_KEY);
}

function isExpression(src: string): boolean {
  try {
    // Compiles without running: tells whether the text is an expression as it stands.
    new Function(`return (${src}\n);`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Turns a function into source that evaluates to it. Method shorthand (`m(x) {}`), async and
 * generator methods are rewritten as function expressions; native and bound functions are refused.
 */
export function functionSource(fn: Function, what = "function"): string {
  const text = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(text)) {
    throw new SerializationError(
      `${what} is a native or bound function (${fn.name || "anonymous"}) and has no source to send; wrap it in an arrow function`,
    );
  }
  if (isExpression(text)) return text;
  const method = /^(async\s+)?(\*\s*)?(get\s+|set\s+)?/.exec(text);
  const asyncPart = method?.[1] ? "async " : "";
  const star = method?.[2] ? "*" : "";
  const rest = text.slice(method?.[0].length ?? 0);
  const rewritten = `${asyncPart}function${star} ${rest}`;
  if (isExpression(rewritten)) return rewritten;
  // Computed or quoted method names: keep the body, drop the name.
  const body = rest.slice(rest.indexOf("("));
  const anonymous = `${asyncPart}function${star} ${body}`;
  if (isExpression(anonymous)) return anonymous;
  throw new SerializationError(`${what} (${fn.name || "anonymous"}) has source that cannot be rebuilt on an engine`);
}

/** Cans one function (cached per function object). */
export function canFunction(fn: Function, what = "function"): CannedSource {
  const cached = sourceCache.get(fn);
  if (cached) return cached;
  const src = functionSource(fn, what);
  const free = freeNames(src, (name) => name in globalThis);
  const canned = marker<CannedSource>({
    [CAN_KEY]: "source",
    src,
    name: taskName(fn, "anonymous"),
    ...(free && free.length > 0 ? { free } : {}),
  });
  sourceCache.set(fn, canned);
  return canned;
}

/** Cans the callable of a task: a function or a `fromModule` reference. */
export function canCallable(fn: unknown, what = "function"): CannedSource | CannedModule {
  if (typeof fn === "function") return canFunction(fn, what);
  if (isCanned(fn) && (fn[CAN_KEY] === "module" || fn[CAN_KEY] === "source")) return fn;
  throw new TypeError(`${what} must be a function or fromModule(path, name), got ${describe(fn)}`);
}

/** Hook that replaces special client objects (such as AsyncResults) during canning. */
export type CanHook = (value: object) => Canned | undefined;

/** How strictly {@link canValue} treats objects structured clone would change. */
export interface CanOptions {
  /**
   * Refuse instances of classes with methods: structured clone would deliver them as plain
   * objects without their methods, silently. On for what clients send.
   */
  refuseInstances?: boolean;
}

/** Result of canning a value: the value with markers, and whether any marker was made. */
export interface CanResult {
  value: unknown;
  canned: boolean;
}

/**
 * Replaces functions (and objects the hook recognises) inside `value` by markers. Copies only
 * the containers on the path to a replacement, so plain data passes through untouched.
 */
export function canValue(value: unknown, path = "value", hook?: CanHook, options: CanOptions = {}): CanResult {
  const state = { canned: false, refuseInstances: options.refuseInstances === true };
  try {
    const out = canAt(value, path, hook, state, new Map());
    return { value: out, canned: state.canned };
  } catch (error) {
    throw tooDeep(error, path) ?? error;
  }
}

/**
 * A SerializationError for a value nested deeper than the stack allows (a RangeError from the
 * walk or from V8's serializer), or undefined for any other error.
 */
export function tooDeep(error: unknown, what: string): SerializationError | undefined {
  if (!(error instanceof RangeError) || !/call stack/i.test(error.message)) return undefined;
  return new SerializationError(
    `${what} is nested too deeply to be sent (thousands of levels of objects or arrays): flatten it, or send it as text`,
    { cause: error },
  );
}

function canAt(value: unknown, path: string, hook: CanHook | undefined, state: CanState, seen: Map<object, unknown>): unknown {
  if (typeof value === "function") {
    state.canned = true;
    return canFunction(value, path);
  }
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  if (seen.has(value)) return seen.get(value);
  if (isCanned(value)) {
    state.canned = true;
    if (made.has(value)) return value;
    seen.set(value, value);
    const escaped: CannedEscape = {
      [CAN_KEY]: "escaped",
      value: canObject(value as unknown as Record<string, unknown>, path, hook, state, seen) as Record<string, unknown>,
    };
    seen.set(value, escaped);
    return escaped;
  }
  const hooked = hook?.(value);
  if (hooked) {
    state.canned = true;
    return hooked;
  }
  seen.set(value, value);
  // Tags and prototypes rather than instanceof: engine results come from another realm.
  if (Array.isArray(value)) return canArray(value, path, hook, state, seen);
  const tag = Object.prototype.toString.call(value);
  if (tag === "[object Map]") return canMap(value as Map<unknown, unknown>, path, hook, state, seen);
  if (isPlainPrototype(Object.getPrototypeOf(value))) return canObject(value as Record<string, unknown>, path, hook, state, seen);
  if (state.refuseInstances && !BUILT_IN_TAGS.has(tag)) refuseInstanceWithMethods(value, path);
  return value;
}

interface CanState {
  canned: boolean;
  refuseInstances: boolean;
}

/**
 * Built-in kinds structured clone rebuilds as themselves, and those it refuses outright (whose
 * serialization error names them better than a remark about methods would).
 */
const BUILT_IN_TAGS = new Set([
  "[object Promise]",
  "[object WeakMap]",
  "[object WeakSet]",
  "[object WeakRef]",
  "[object Map]",
  "[object Set]",
  "[object Date]",
  "[object RegExp]",
  "[object Error]",
  "[object Boolean]",
  "[object Number]",
  "[object String]",
  "[object BigInt]",
  "[object ArrayBuffer]",
  "[object SharedArrayBuffer]",
  "[object Blob]",
  "[object File]",
]);

/** Object.prototype of any realm, or null. */
function isPlainPrototype(proto: unknown): boolean {
  if (proto === null) return true;
  if (typeof proto !== "object" || Object.getPrototypeOf(proto) !== null) return false;
  const ctor = (proto as { constructor?: unknown }).constructor;
  return typeof ctor === "function" && ctor.name === "Object";
}

function refuseInstanceWithMethods(value: object, path: string): void {
  for (
    let proto = Object.getPrototypeOf(value) as object | null;
    proto !== null && !isPlainPrototype(proto);
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    const methods = Object.getOwnPropertyNames(proto).filter((key) => {
      if (key === "constructor") return false;
      const d = Object.getOwnPropertyDescriptor(proto, key);
      return typeof d?.value === "function" || d?.get !== undefined || d?.set !== undefined;
    });
    if (methods.length === 0) continue;
    const name = (value.constructor as { name?: string } | undefined)?.name || "an anonymous class";
    throw new SerializationError(
      `${path} is an instance of ${name}, and its methods (${methods.slice(0, 3).join(", ")}${methods.length > 3 ? ", …" : ""}) would not ` +
        `travel: structured clone sends only its own data. Send plain data (e.g. { ...value }) and rebuild the instance on the engine ` +
        `(define the class there with view.execute or fromModule), or send a function that builds it`,
    );
  }
}

function canArray(value: unknown[], path: string, hook: CanHook | undefined, state: CanState, seen: Map<object, unknown>): unknown {
  let copy: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (item === null || (typeof item !== "object" && typeof item !== "function")) continue;
    const canned = canAt(item, `${path}[${i}]`, hook, state, seen);
    if (canned !== item) {
      copy ??= value.slice();
      copy[i] = canned;
    }
  }
  if (copy) seen.set(value, copy);
  return copy ?? value;
}

function canMap(
  value: Map<unknown, unknown>,
  path: string,
  hook: CanHook | undefined,
  state: CanState,
  seen: Map<object, unknown>,
): unknown {
  let copy: Map<unknown, unknown> | undefined;
  for (const [k, v] of value) {
    const canned = canAt(v, `${path}.get(${String(k)})`, hook, state, seen);
    if (canned !== v) {
      copy ??= new Map(value);
      copy.set(k, canned);
    }
  }
  if (copy) seen.set(value, copy);
  return copy ?? value;
}

function canObject(
  value: Record<string, unknown>,
  path: string,
  hook: CanHook | undefined,
  state: CanState,
  seen: Map<object, unknown>,
): unknown {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (item === null || (typeof item !== "object" && typeof item !== "function")) continue;
    const canned = canAt(item, `${path}.${key}`, hook, state, seen);
    if (canned !== item) {
      copy ??= { ...value };
      copy[key] = canned;
    }
  }
  if (copy) seen.set(value, copy);
  return copy ?? value;
}

/**
 * Walks a decoded value and replaces every marker with `revive(marker)`. Used by engines
 * (functions, result references) after decoding arguments.
 */
export function uncanValue(value: unknown, revive: (canned: Canned) => unknown, seen = new Set<object>()): unknown {
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  if (seen.has(value)) return value;
  if (isCanned(value)) {
    if ((value as Canned | CannedEscape)[CAN_KEY] !== "escaped") return revive(value);
    // User data: its own marker key is data, its values may hold markers.
    const data = (value as unknown as CannedEscape).value;
    seen.add(data);
    for (const key of Object.keys(data)) data[key] = uncanValue(data[key], revive, seen);
    return data;
  }
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = uncanValue(value[i], revive, seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) value.set(k, uncanValue(v, revive, seen));
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = uncanValue(record[key], revive, seen);
  }
  return value;
}

/** Short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return `${typeof value} ${String(value)}`;
}
