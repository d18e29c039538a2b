/**
 * A dependency on other tasks, with IPython Parallel's semantics: `all` (every id) or any (one
 * id), satisfied by successes, failures or both. The scheduler evaluates it against the sets of
 * finished tasks; the client sends it as JSON. Pure: no I/O.
 */
import { fillDefaults } from "../options.js";

/** Options of a dependency. */
export interface DependencyOptions {
  /**
   * Every id must finish (true) or any one of them (false).
   * @default true
   */
  readonly all?: boolean | undefined;
  /**
   * A successful finish satisfies it.
   * @default true
   */
  readonly success?: boolean | undefined;
  /**
   * A failed finish satisfies it.
   * @default false
   */
  readonly failure?: boolean | undefined;
}

/** Dependency options with their defaults in place. */
export type FilledDependencyOptions = { readonly [K in keyof DependencyOptions]-?: boolean };

/** The defaults of {@link DependencyOptions}: IPython Parallel's. */
export const kDefaultDependencyOptions: FilledDependencyOptions = Object.freeze({ all: true, success: true, failure: false });

/** Anything carrying msg ids: an AsyncResult or a submitted task. */
export interface HasMsgIds {
  readonly msgIds: readonly string[];
}

/** The wire form of a dependency (the same shape as the protocol's `DependencySpec`). */
export interface DependencyJSON {
  ids: string[];
  all: boolean;
  success: boolean;
  failure: boolean;
}

/** What a Dependency can be built from: msg ids and AsyncResults, or one of them alone. */
export type DependencyInput = string | HasMsgIds | Iterable<string | HasMsgIds>;

const OPTION_NAMES = ["all", "success", "failure"] as const;

/** True for objects carrying a `msgIds` array, which is how AsyncResults are recognised. */
export function hasMsgIds(value: unknown): value is HasMsgIds {
  return typeof value === "object" && value !== null && Array.isArray((value as HasMsgIds).msgIds);
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return `${typeof value === "string" ? JSON.stringify(value) : String(value)} (${value === null ? "null" : typeof value})`;
  }
  return value.constructor?.name ?? "object";
}

function checkId(id: unknown, where: string): string {
  if (typeof id !== "string" || id.length === 0)
    throw new TypeError(`Dependency: ${where} must be a non-empty msg id string, got ${describe(id)}`);
  return id;
}

/** Flattens ids and AsyncResults into distinct msg ids, in first-seen order. */
function flattenIds(input: DependencyInput): string[] {
  // A bare string or AsyncResult is one dependency; IPython Parallel would iterate a string's characters.
  const items: Iterable<unknown> = typeof input === "string" || hasMsgIds(input) ? [input] : input;
  if (items === null || typeof items !== "object" || typeof (items as Iterable<unknown>)[Symbol.iterator] !== "function") {
    throw new TypeError(`Dependency: expected msg ids or AsyncResults, got ${describe(input)}`);
  }
  const ids = new Set<string>();
  let index = 0;
  for (const item of items) {
    if (typeof item === "string") ids.add(checkId(item, `item ${index}`));
    else if (hasMsgIds(item)) item.msgIds.forEach((id, k) => ids.add(checkId(id, `item ${index}.msgIds[${k}]`)));
    else throw new TypeError(`Dependency: expected msg ids or AsyncResults, got ${describe(item)} at item ${index}`);
    index++;
  }
  return [...ids];
}

/** Applies defaults and refuses unknown keys, non-booleans, and a dependency nothing could meet. */
function resolveOptions(options: DependencyOptions): FilledDependencyOptions {
  if (options === null || typeof options !== "object")
    throw new TypeError(`Dependency options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as readonly string[]).includes(key))
      throw new TypeError(`Dependency: unknown option ${JSON.stringify(key)} (valid: ${OPTION_NAMES.join(", ")})`);
  }
  const resolved = fillDefaults(kDefaultDependencyOptions, options);
  for (const name of OPTION_NAMES) {
    if (typeof resolved[name] !== "boolean")
      throw new TypeError(`Dependency option ${name} must be a boolean, got ${describe(options[name])}`);
  }
  if (!resolved.success && !resolved.failure) {
    throw new TypeError("Dependency options success and failure cannot both be false: no outcome could ever meet it");
  }
  return resolved;
}

/**
 * A set of msg ids and the condition under which they are met (IPython Parallel's
 * `Dependency`). `met` and `unreachable` are never both true, and once every id has finished
 * exactly one of them is.
 */
export class Dependency {
  /** The distinct msg ids, in the order first given. */
  readonly ids: readonly string[];
  /** Every id (true) or any one id (false) must finish in a counted way. */
  readonly all: boolean;
  /** Whether a successful finish counts. */
  readonly success: boolean;
  /** Whether a failed finish counts. */
  readonly failure: boolean;

  /**
   * @param ids msg ids and AsyncResults (anything with a `msgIds` array, which is flattened).
   * @param options `all`, `success`, `failure`; success and failure cannot both be false.
   * @throws TypeError for other kinds of ids, non-boolean or unknown options, or success and failure both false.
   */
  constructor(ids: DependencyInput = [], options: DependencyOptions = {}) {
    const resolved = resolveOptions(options);
    this.ids = Object.freeze(flattenIds(ids));
    this.all = resolved.all;
    this.success = resolved.success;
    this.failure = resolved.failure;
  }

  /** Number of distinct ids. */
  get size(): number {
    return this.ids.length;
  }

  /**
   * Whether the dependency is met. The ids that count are the `completed` ones if `success`,
   * plus the `failed` ones if `failure`; `all` needs every id to count, any needs one. An empty
   * dependency is always met.
   */
  met(completed: ReadonlySet<string>, failed: ReadonlySet<string>): boolean {
    if (this.ids.length === 0) return true;
    const counts = (id: string): boolean => (this.success && completed.has(id)) || (this.failure && failed.has(id));
    return this.all ? this.ids.every(counts) : this.ids.some(counts);
  }

  /**
   * Whether the dependency can no longer be met: with `all`, one id finished in a way that does
   * not count; with any, every id did. An empty dependency is never unreachable.
   */
  unreachable(completed: ReadonlySet<string>, failed: ReadonlySet<string>): boolean {
    if (this.ids.length === 0) return false;
    const spoils = (id: string): boolean => (!this.success && completed.has(id)) || (!this.failure && failed.has(id));
    return this.all ? this.ids.some(spoils) : this.ids.every(spoils);
  }

  /** The wire form `{ ids, all, success, failure }`. */
  toJSON(): DependencyJSON {
    return { ids: [...this.ids], all: this.all, success: this.success, failure: this.failure };
  }

  /**
   * Inverse of {@link toJSON}. Missing flags take their defaults.
   * @throws TypeError when `json` is not an object with an `ids` array, or its flags are invalid.
   */
  static fromJSON(json: Partial<DependencyJSON> & Pick<DependencyJSON, "ids">): Dependency {
    if (json === null || typeof json !== "object" || !Array.isArray(json.ids)) {
      throw new TypeError(`Dependency.fromJSON: expected { ids: string[], all, success, failure }, got ${describe(json)}`);
    }
    return new Dependency(json.ids, { all: json.all, success: json.success, failure: json.failure });
  }
}
