/**
 * DirectView: explicit control of engines. Each call sends one message per target engine,
 * which runs it in its FIFO order; results come back in target order.
 */
import fs from "node:fs";
import path from "node:path";
import { partition } from "../graph/partition.js";
import type { ApplyContent } from "../protocol/contents.js";
import { newMsgId } from "../protocol/message.js";
import { AsyncMapResult, AsyncResult } from "./async-result.js";
import type { ResultShape } from "./async-result.js";
import type { ClientPort, QueueStatus } from "./client-port.js";
import { encodeArgument, encodeCall, labelOf } from "./encode.js";
import { resolveTargets, validateTargetSpec } from "./targets.js";
import type { TargetSpec } from "./targets.js";
import { TaskEntry } from "./task-entry.js";

/** A sequence that can be partitioned across engines. */
export type Sequence<T = unknown> = readonly T[] | ArrayLike<T>;

/** Module bindings for `requireModules`: a specifier (bound under a derived name) or `{ name: specifier }`. */
export type ModuleSpec = string | Record<string, string>;

const refuseFutures = (value: object) => {
  if (value instanceof AsyncResult) {
    throw new TypeError("AsyncResults cannot be arguments of a DirectView call; await them first or use a LoadBalancedView");
  }
  return undefined;
};

/** A view on specific engines. */
export class DirectView {
  constructor(readonly client: ClientPort, private readonly targetSpec: TargetSpec = "all") {
    validateTargetSpec(targetSpec);
  }

  /** The spec this view was made with ("all" is re-evaluated at every call). */
  get targets(): TargetSpec {
    return this.targetSpec;
  }

  /** Calls `fn(...args)` on every target. A single integer target gives a scalar result. */
  apply<R = unknown>(fn: unknown, ...args: unknown[]): AsyncResult<R | R[]> {
    const { content, buffers } = encodeCall("call", fn, args, refuseFutures);
    return this.send(() => ({ content, buffers }), { label: labelOf(fn) }) as AsyncResult<R | R[]>;
  }

  /** Maps `fn` over the sequences: each engine gets one contiguous partition; stops at the shortest. */
  map<R = unknown>(fn: unknown, ...sequences: Sequence[]): AsyncMapResult<R> {
    if (sequences.length === 0) throw new TypeError("map needs at least one sequence");
    const length = Math.min(...sequences.map(lengthOf));
    const { ids } = this.resolve();
    const parts = sequences.map((s) => partition(Array.from(s).slice(0, length), ids.length));
    const entries = ids.map((engineId, i) => {
      const { content, buffers } = encodeCall("map", fn, parts.map((p) => p[i] ?? []), refuseFutures);
      return this.submitOne(engineId, content, buffers, { count: parts[0]?.[i]?.length ?? 0, label: labelOf(fn) });
    });
    return new AsyncMapResult<R>(this.client, entries, { label: labelOf(fn) });
  }

  /** Runs code in every target's namespace; the result is each engine's completion value. */
  execute(code: string): AsyncResult {
    if (typeof code !== "string") throw new TypeError(`execute: code must be a string, got ${typeof code}`);
    return this.send(() => ({ content: { op: "execute", code, filename: "execute" }, buffers: [] }), { label: "execute" });
  }

  /** Reads a local file and executes it on every target. */
  run(file: string): AsyncResult {
    const resolved = path.resolve(file);
    let code: string;
    try {
      code = fs.readFileSync(resolved, "utf8");
    } catch (error) {
      throw new Error(`run: cannot read ${resolved}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
    return this.send(() => ({ content: { op: "execute", code: code.replace(/^#!.*\n/, "\n"), filename: resolved }, buffers: [] }), { label: path.basename(file) });
  }

  /** Binds the values as globals in every target's namespace. */
  push(namespace: Record<string, unknown>): AsyncResult<void> {
    if (namespace === null || typeof namespace !== "object" || Array.isArray(namespace)) {
      throw new TypeError("push: expected an object of name → value");
    }
    for (const name of Object.keys(namespace)) assertIdentifier(name, "push");
    const encoded = encodeArgument(namespace, "push", refuseFutures);
    return this.send(() => ({ content: { op: "push", ...(encoded.canned ? { canned: true } : {}) }, buffers: encoded.buffers }), { label: "push" }) as AsyncResult<void>;
  }

  /** Reads names (or expressions) from every target's namespace. */
  pull<R = unknown>(names: string | readonly string[]): AsyncResult<R> {
    const list = typeof names === "string" ? [names] : names;
    if (list.length === 0 || !list.every((n) => typeof n === "string" && n.trim() !== "")) {
      throw new TypeError("pull: expected a name or a list of names");
    }
    const content: ApplyContent = { op: "pull", names: typeof names === "string" ? names : [...names] };
    return this.send(() => ({ content, buffers: [] }), { label: "pull" }) as AsyncResult<R>;
  }

  /** Dict-style read: `view.get("a")` is `view.pull("a")`. */
  get<R = unknown>(name: string): AsyncResult<R> {
    return this.pull<R>(name);
  }

  /** Dict-style write: `view.set("a", 1)` is `view.push({ a: 1 })`. */
  set(name: string, value: unknown): AsyncResult<void> {
    return this.push({ [name]: value });
  }

  /** Splits `sequence` into contiguous partitions, one per target, bound to `name`. */
  scatter(name: string, sequence: Sequence, options: { flatten?: boolean } = {}): AsyncResult<void> {
    assertIdentifier(name, "scatter");
    const { ids } = this.resolve();
    const items = Array.from(sequence as ArrayLike<unknown>);
    const parts = partition(items, ids.length);
    const entries = ids.map((engineId, i) => {
      const part = parts[i] ?? [];
      const value = options.flatten && part.length === 1 ? part[0] : part;
      const encoded = encodeArgument({ [name]: value }, "scatter", refuseFutures);
      return this.submitOne(engineId, { op: "push", ...(encoded.canned ? { canned: true } : {}) }, encoded.buffers, { label: "scatter" });
    });
    return new AsyncResult(this.client, entries, { scalar: false, join: () => undefined }) as AsyncResult<void>;
  }

  /** Pulls `name` from every target and concatenates the partitions. */
  gather<R = unknown>(name: string): AsyncResult<R[]> {
    assertIdentifier(name, "gather");
    const { ids } = this.resolve();
    const entries = ids.map((engineId) => this.submitOne(engineId, { op: "pull", names: name }, [], { label: "gather" }));
    return new AsyncResult(this.client, entries, { scalar: false, join: (values) => (values as unknown[]).flatMap(toList) }) as AsyncResult<R[]>;
  }

  /** Wraps `fn` so that calling it applies it on this view's engines (`@remote`). */
  remote<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => AsyncResult<Awaited<R> | Awaited<R>[]> {
    return (...args: A) => this.apply<Awaited<R>>(fn, ...args);
  }

  /**
   * Wraps `fn` so that calling it partitions its sequence arguments across the engines, calls
   * `fn` once per engine on its partitions, and concatenates the outputs (`@parallel`).
   */
  parallel<R>(fn: (...parts: never[]) => R): (...sequences: Sequence[]) => AsyncResult<unknown[]> {
    return (...sequences: Sequence[]) => {
      const { ids } = this.resolve();
      const parts = sequences.map((s) => partition(Array.from(s as ArrayLike<unknown>), ids.length));
      const entries = ids.map((engineId, i) => {
        const { content, buffers } = encodeCall("call", fn, parts.map((p) => p[i] ?? []), refuseFutures);
        return this.submitOne(engineId, content, buffers, { label: labelOf(fn) });
      });
      return new AsyncResult(this.client, entries, { scalar: false, join: (values) => (values as unknown[]).flatMap(toList) }) as AsyncResult<unknown[]>;
    };
  }

  /**
   * Loads modules on every target and binds them in the namespace: `"node:os"` binds `os`,
   * `"lodash"` binds `lodash`, `{ _: "lodash" }` binds `_`.
   */
  requireModules(...specs: ModuleSpec[]): AsyncResult<string[]> {
    const modules: Record<string, string> = {};
    for (const spec of specs) {
      if (typeof spec === "string") modules[bindingName(spec)] = spec;
      else if (spec && typeof spec === "object") {
        for (const [name, specifier] of Object.entries(spec)) {
          assertIdentifier(name, "requireModules");
          if (typeof specifier !== "string") throw new TypeError(`requireModules: module for ${name} must be a specifier string`);
          modules[name] = specifier;
        }
      } else throw new TypeError(`requireModules: expected module specifiers, got ${JSON.stringify(spec)}`);
    }
    return this.send(() => ({ content: { op: "require", modules }, buffers: [] }), { label: "requireModules" }) as AsyncResult<string[]>;
  }

  /** Resets every target's namespace (runs after the tasks already queued there). */
  clear(): AsyncResult<void> {
    return this.send(() => ({ content: { op: "clear" }, buffers: [] }), { label: "clear" }) as AsyncResult<void>;
  }

  /** Aborts the tasks still queued on this view's engines (`jobs` narrows it). */
  async abort(jobs?: string | AsyncResult | ReadonlyArray<string | AsyncResult>): Promise<string[]> {
    return await this.client.abort(jobs, this.resolve().ids);
  }

  /** Queue status of this view's engines. */
  async queueStatus(): Promise<QueueStatus> {
    return await this.client.queueStatus(this.resolve().ids);
  }

  /** A view on other targets of the same client. */
  view(targets: TargetSpec): DirectView {
    return new DirectView(this.client, targets);
  }

  private resolve(): { ids: number[]; scalar: boolean } {
    const registered = this.targetSpec === "all" ? this.client.requireEngines() : this.client.ids;
    const resolved = resolveTargets(this.targetSpec, registered);
    if (resolved.ids.length === 0) throw new RangeError(`targets ${JSON.stringify(this.targetSpec)} select no engine (registered: [${registered.join(", ")}])`);
    return resolved;
  }

  private send(build: () => { content: ApplyContent; buffers: Buffer[] }, shape: Partial<ResultShape>): AsyncResult {
    const { ids, scalar } = this.resolve();
    const { content, buffers } = build();
    const entries = ids.map((engineId) => this.submitOne(engineId, content, buffers, shape.label === undefined ? {} : { label: shape.label }));
    return new AsyncResult(this.client, entries, { scalar, ...shape });
  }

  private submitOne(engineId: number, content: ApplyContent, buffers: Buffer[], options: { count?: number; label?: string }): TaskEntry {
    const entry = new TaskEntry(newMsgId(), { ...options, engineId });
    this.client.submit([{ content: content as unknown as Record<string, unknown>, metadata: { engine: engineId }, buffers, entry }]);
    return entry;
  }
}

function lengthOf(sequence: Sequence): number {
  if (sequence === null || typeof sequence !== "object" || typeof (sequence as ArrayLike<unknown>).length !== "number") {
    throw new TypeError(`map: every sequence must be array-like, got ${typeof sequence}`);
  }
  return (sequence as ArrayLike<unknown>).length;
}

function toList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<unknown>);
  return [value];
}

const IDENTIFIER = /^[$_\p{ID_Start}][$_\u200C\u200D\p{ID_Continue}]*$/u;

function assertIdentifier(name: string, what: string): void {
  if (typeof name !== "string" || !IDENTIFIER.test(name)) throw new TypeError(`${what}: ${JSON.stringify(name)} is not a valid variable name`);
}

/** `node:os` → `os`, `lodash.merge` → `lodashMerge`, `@scope/my-pkg` → `myPkg`. */
export function bindingName(specifier: string): string {
  const last = specifier.replace(/^node:/, "").split("/").filter(Boolean).at(-1) ?? specifier;
  const name = last.replace(/\.[cm]?js$/, "").replace(/[-.]+(\w)/g, (_m, c: string) => c.toUpperCase()).replace(/[^$\w]/g, "_");
  return /^\d/.test(name) ? `_${name}` : name;
}
