/**
 * A dependency on other tasks, with IPython Parallel's semantics: `all` (every id) or any
 * (one id), satisfied by successes, failures or both. Pure.
 */
import type { DependencySpec } from "../protocol/contents.js";

/** Options of a dependency. */
export interface DependencyOptions {
  /** Every id must finish (true, default) or any one of them (false). */
  all?: boolean;
  /** A successful finish satisfies it (default true). */
  success?: boolean;
  /** A failed finish satisfies it (default false). */
  failure?: boolean;
}

/** Anything carrying msg ids (an AsyncResult). */
export interface HasMsgIds {
  readonly msgIds: readonly string[];
}

/** A set of msg ids and the condition under which they are met. */
export class Dependency {
  readonly ids: readonly string[];
  readonly all: boolean;
  readonly success: boolean;
  readonly failure: boolean;
  private readonly set: ReadonlySet<string>;

  constructor(ids: Iterable<string | HasMsgIds>, options: DependencyOptions = {}) {
    const flat: string[] = [];
    for (const item of ids) {
      if (typeof item === "string") flat.push(item);
      else if (item && Array.isArray((item as HasMsgIds).msgIds)) flat.push(...(item as HasMsgIds).msgIds);
      else throw new TypeError(`Dependency: expected msg ids or AsyncResults, got ${JSON.stringify(item)}`);
    }
    this.set = new Set(flat);
    this.ids = [...this.set];
    this.all = options.all ?? true;
    this.success = options.success ?? true;
    this.failure = options.failure ?? false;
    for (const name of ["all", "success", "failure"] as const) {
      if (typeof this[name] !== "boolean") throw new TypeError(`Dependency option ${name} must be a boolean, got ${JSON.stringify(options[name])}`);
    }
    if (!this.success && !this.failure) throw new TypeError("Dependency options success and failure cannot both be false: it could never be met");
  }

  /** Number of distinct ids. */
  get size(): number {
    return this.set.size;
  }

  /** Whether the dependency is met, given finished successes and failures. */
  met(completed: ReadonlySet<string>, failed: ReadonlySet<string>): boolean {
    if (this.set.size === 0) return true;
    const counts = (id: string) => (this.success && completed.has(id)) || (this.failure && failed.has(id));
    return this.all ? this.ids.every(counts) : this.ids.some(counts);
  }

  /** Whether the dependency can no longer be met. */
  unreachable(completed: ReadonlySet<string>, failed: ReadonlySet<string>): boolean {
    if (this.set.size === 0) return false;
    const spoils = (id: string) => (!this.success && completed.has(id)) || (!this.failure && failed.has(id));
    return this.all ? this.ids.some(spoils) : this.ids.every(spoils);
  }

  /** Wire form. */
  toJSON(): DependencySpec {
    return { ids: [...this.ids], all: this.all, success: this.success, failure: this.failure };
  }

  /** Inverse of {@link toJSON}. */
  static fromJSON(spec: DependencySpec): Dependency {
    return new Dependency(spec.ids, { all: spec.all, success: spec.success, failure: spec.failure });
  }
}
