/**
 * DirectView: explicit control of engines. Each call sends one message per target engine,
 * which runs it in its FIFO order; results come back in target order.
 */
import fs from "node:fs";
import path from "node:path";
import { partition, sequencesToArrays, toList } from "../graph/partition.js";
import { isIdentifier } from "../protocol/canning.js";
import type { TaskFunction } from "../protocol/canning.js";
import { validateSignal } from "../abort.js";
import type { ApplyContent } from "../protocol/contents.js";
import { newMsgId } from "../protocol/message.js";
import { AsyncMapResult, AsyncResult } from "./async-result.js";
import type { PerMessage, ResultShape } from "./async-result.js";
import type { QueueStatus } from "../protocol/query-table.js";
import type { ClientPort } from "./client-port.js";
import { encodeArgument, encodeCall } from "./encode.js";
import { taskName } from "../protocol/task-name.js";
import { moduleBindings } from "./functions.js";
import { checkBooleans, checkOptions } from "../options.js";
import { resolveTargets, validateTargetSpec } from "./targets.js";
import type { TargetSpec } from "./targets.js";
import { TaskEntry } from "./task-entry.js";

/** A sequence that can be partitioned across engines: an array, array-like or any iterable. */
export type Sequence<T = unknown> = readonly T[] | ArrayLike<T> | Iterable<T>;

/** One sequence per parameter of a mapped function, each of that parameter's type. */
export type SequencesOf<A extends readonly unknown[]> = { [K in keyof A]: Sequence<A[K]> };

/** Options of `map`, given after the sequences. */
export interface MapOptions {
  /** Aborting it aborts the queued tasks, interrupts the running ones, and rejects the result with its reason. */
  signal?: AbortSignal;
}

/** Items of a list type (what `parallel` concatenates). */
type ListItem<T> = T extends ReadonlyArray<infer E> ? E : T extends ArrayLike<infer E> ? E : T;

/** Flags of a DirectView (IPython Parallel's `targets` and `label`). */
export interface DirectViewFlags {
  /** Engines the view's calls go to. */
  targets?: TargetSpec;
  /** Label recorded with every message (metadata, hub records, `dbQuery`, dashboard). */
  label?: string | undefined;
}

const DIRECT_FLAGS = ["targets", "label"];

function validateDirectFlags(flags: unknown): asserts flags is DirectViewFlags {
  if (flags === undefined) throw new TypeError("DirectView flags: expected an object");
  checkOptions(flags, DIRECT_FLAGS, "DirectView flags");
  const f = flags as DirectViewFlags;
  if (f.targets !== undefined) validateTargetSpec(f.targets);
  if (f.label !== undefined && typeof f.label !== "string")
    throw new TypeError(`flag label must be a string, got ${JSON.stringify(f.label)}`);
}

/**
 * A function wrapped by `parallel()`: calling it partitions its sequences (one per parameter,
 * of the parameter's item type) and yields the items of its outputs; `.map` maps element-wise.
 */
export interface ParallelFunction<R, P extends unknown[] = unknown[]> {
  (...sequences: SequencesOf<{ [K in keyof P]: ListItem<P[K]> }>): AsyncMapResult<ListItem<Awaited<R>>>;
  /** Calls the function on each element (like `view.map`), for functions written for elements. */
  map(...sequences: SequencesOf<P>): AsyncMapResult<Awaited<R>>;
}

/** Module bindings for `requireModules`: a specifier (bound under a derived name) or `{ name: specifier }`. */
export type ModuleSpec = string | Record<string, string>;

const refuseFutures = (value: object) => {
  if (value instanceof AsyncResult) {
    throw new TypeError("AsyncResults cannot be arguments of a DirectView call; await them first or use a LoadBalancedView");
  }
  return undefined;
};

/**
 * A view on specific engines. `Scalar` is true for a view on one engine id (`rc.view(0)`), whose
 * results are single values, and false for several (`rc.view()`, `rc.view([0, 1])`, slices),
 * whose results are lists with one value per engine.
 */
export class DirectView<Scalar extends boolean = boolean> {
  private targetSpec: TargetSpec;
  private label: string | undefined;

  constructor(
    readonly client: ClientPort,
    targets: TargetSpec = "all",
    flags: Omit<DirectViewFlags, "targets"> = {},
  ) {
    validateTargetSpec(targets);
    validateDirectFlags(flags);
    this.targetSpec = targets;
    this.label = flags.label;
  }

  /** The spec this view was made with ("all" is re-evaluated at every call). */
  get targets(): TargetSpec {
    return this.targetSpec;
  }

  /** Number of engines this view targets now. */
  get length(): number {
    return this.resolve().ids.length;
  }

  /** A copy of the current flags. */
  get currentFlags(): Readonly<DirectViewFlags> {
    return { targets: this.targetSpec, ...(this.label === undefined ? {} : { label: this.label }) };
  }

  /** A derived view with some flags changed; this view is unchanged. Throws on invalid flags. */
  with(flags: Omit<DirectViewFlags, "targets">): DirectView<Scalar>;
  with(flags: DirectViewFlags): DirectView;
  with(flags: DirectViewFlags): DirectView {
    validateDirectFlags(flags);
    const label = "label" in flags ? flags.label : this.label;
    return new DirectView(this.client, flags.targets ?? this.targetSpec, label === undefined ? {} : { label });
  }

  /** Changes flags permanently. Throws on invalid flags, leaving the view unchanged. */
  setFlags(flags: DirectViewFlags): this {
    validateDirectFlags(flags);
    if (flags.targets !== undefined) this.targetSpec = flags.targets;
    if ("label" in flags) this.label = flags.label;
    return this;
  }

  /** Calls `fn(...args)` on every target. A single integer target gives a scalar result. */
  apply<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: NoInfer<A>): AsyncResult<PerMessage<Scalar, Awaited<R>>, Scalar> {
    const { content, buffers } = encodeCall("call", fn, args, refuseFutures);
    return this.send(() => ({ content, buffers }), { label: taskName(fn, "anonymous") });
  }

  /**
   * Maps `fn` over the sequences (arrays or any iterables): each engine gets one contiguous
   * partition; stops at the shortest. A trailing `{ signal }` ({@link MapOptions}) cancels the
   * map when it aborts.
   */
  map<A extends unknown[], R>(fn: TaskFunction<NoInfer<A>, R>, ...sequences: SequencesOf<A>): AsyncMapResult<Awaited<R>>;
  map<A extends unknown[], R>(
    fn: TaskFunction<NoInfer<A>, R>,
    ...sequencesAndOptions: [...SequencesOf<A>, MapOptions]
  ): AsyncMapResult<Awaited<R>>;
  map(fn: TaskFunction, ...rest: unknown[]): AsyncMapResult {
    const { sequences, options } = splitMapOptions(rest);
    if (sequences.length === 0) throw new TypeError("map needs at least one sequence");
    const arrays = sequencesToArrays(sequences, "map");
    const length = Math.min(...arrays.map((a) => a.length));
    const { ids } = this.resolve();
    const parts = arrays.map((a) => partition(a.slice(0, length), ids.length));
    options.signal?.throwIfAborted();
    let firstItem = 0;
    const entries = ids.map((engineId, i) => {
      const { content, buffers } = encodeCall(
        "map",
        fn,
        parts.map((p) => p[i] ?? []),
        refuseFutures,
      );
      const count = parts[0]?.[i]?.length ?? 0;
      const entry = this.submitOne(engineId, content, buffers, { count, firstItem, label: taskName(fn, "anonymous") });
      firstItem += count;
      return entry;
    });
    return new AsyncMapResult(this.client, entries, {
      label: this.label ?? taskName(fn, "anonymous"),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Runs code in every target's namespace; the result is each engine's completion value. */
  execute(code: string): AsyncResult<PerMessage<Scalar, unknown>, Scalar> {
    if (typeof code !== "string") throw new TypeError(`execute: code must be a string, got ${typeof code}`);
    return this.send(() => ({ content: { op: "execute", code, filename: "execute" }, buffers: [] }), { label: "execute" });
  }

  /** Reads a local file and executes it on every target. */
  run(file: string): AsyncResult<PerMessage<Scalar, unknown>, Scalar> {
    const resolved = path.resolve(file);
    let code: string;
    try {
      code = fs.readFileSync(resolved, "utf8");
    } catch (error) {
      throw new Error(`run: cannot read ${resolved}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
        cause: error,
      });
    }
    return this.send(() => ({ content: { op: "execute", code: code.replace(/^#!.*\n/, "\n"), filename: resolved }, buffers: [] }), {
      label: path.basename(file),
    });
  }

  /** Binds the values as globals in every target's namespace. */
  push(namespace: Record<string, unknown>): AsyncResult<void, Scalar> {
    if (namespace === null || typeof namespace !== "object" || Array.isArray(namespace)) {
      throw new TypeError("push: expected an object of name → value");
    }
    // "a.b" sets property b of the engine's a, as IPython Parallel's view["a.b"] = value does.
    for (const name of Object.keys(namespace)) {
      if (!name.split(".").every(isIdentifier))
        throw new TypeError(`push: ${JSON.stringify(name)} is not a valid variable name or dotted path`);
    }
    const encoded = encodeArgument(namespace, "push", refuseFutures);
    return this.send(() => ({ content: { op: "push", ...(encoded.canned ? { canned: true } : {}) }, buffers: encoded.buffers }), {
      label: "push",
    }) as AsyncResult<void, Scalar>;
  }

  /**
   * Reads a name (or expression) from every target's namespace; a list of names reads a list
   * of values. Give the type of what you read: `await rc.view(0).pull<number>("a")`.
   */
  pull<R = unknown>(name: string): AsyncResult<PerMessage<Scalar, R>, Scalar>;
  pull<R extends unknown[] = unknown[]>(names: readonly string[]): AsyncResult<PerMessage<Scalar, R>, Scalar>;
  pull(names: string | readonly string[]): AsyncResult<unknown, Scalar> {
    const list = typeof names === "string" ? [names] : names;
    if (list.length === 0 || !list.every((n) => typeof n === "string" && n.trim() !== "")) {
      throw new TypeError("pull: expected a name or a list of names");
    }
    const content: ApplyContent = { op: "pull", names: typeof names === "string" ? names : [...names] };
    return this.send(() => ({ content, buffers: [] }), { label: "pull" });
  }

  /** Dict-style read: `view.get("a")` is `view.pull("a")`. */
  get<R = unknown>(name: string): AsyncResult<PerMessage<Scalar, R>, Scalar> {
    return this.pull<R>(name);
  }

  /** Dict-style write: `view.set("a", 1)` is `view.push({ a: 1 })`; `view.set("a.b", 1)` sets a property. */
  set(name: string, value: unknown): AsyncResult<void, Scalar> {
    return this.push({ [name]: value });
  }

  /** Splits `sequence` into contiguous partitions, one per target, bound to `name`. */
  scatter(name: string, sequence: Sequence, options: { flatten?: boolean } = {}): AsyncResult<void, false> {
    assertIdentifier(name, "scatter");
    checkOptions(options, ["flatten"], "scatter");
    checkBooleans(options, ["flatten"], "scatter");
    const { ids } = this.resolve();
    const [items = []] = sequencesToArrays([sequence], "scatter");
    const parts = partition(items, ids.length);
    const entries = ids.map((engineId, i) => {
      const part = parts[i] ?? [];
      const value = options.flatten && part.length === 1 ? part[0] : part;
      const encoded = encodeArgument({ [name]: value }, "scatter", refuseFutures);
      return this.submitOne(engineId, { op: "push", ...(encoded.canned ? { canned: true } : {}) }, encoded.buffers, { label: "scatter" });
    });
    return new AsyncResult<void, false>(this.client, entries, { scalar: false, join: () => undefined });
  }

  /** Pulls `name` from every target and concatenates the partitions; iteration yields items. */
  gather<R = unknown>(name: string): AsyncMapResult<R> {
    assertIdentifier(name, "gather");
    const { ids } = this.resolve();
    const entries = ids.map((engineId) => this.submitOne(engineId, { op: "pull", names: name }, [], { label: "gather" }));
    return new AsyncMapResult<R>(this.client, entries, { label: this.label ?? "gather", items: toList });
  }

  /** Wraps `fn` so that calling it applies it on this view's engines (`@remote`). */
  remote<A extends unknown[], R>(fn: TaskFunction<A, R>): (...args: A) => AsyncResult<PerMessage<Scalar, Awaited<R>>, Scalar> {
    return (...args: A) => this.apply(fn, ...args);
  }

  /**
   * Wraps `fn` so that calling it partitions its sequence arguments (of equal length) across
   * the engines, calls `fn` once per engine on its partitions, and concatenates the outputs
   * (`@parallel`); `.map(...sequences)` calls `fn` on each element instead.
   */
  parallel<P extends unknown[], R>(fn: TaskFunction<P, R>): ParallelFunction<R, P> {
    const call = (...sequences: Sequence[]) => {
      const arrays = equalLengthSequences(sequences, "parallel");
      const { ids } = this.resolve();
      const parts = arrays.map((a) => partition(a, ids.length));
      const entries = ids.map((engineId, i) => {
        const { content, buffers } = encodeCall(
          "call",
          fn,
          parts.map((p) => p[i] ?? []),
          refuseFutures,
        );
        return this.submitOne(engineId, content, buffers, { count: parts[0]?.[i]?.length ?? 0, label: taskName(fn, "anonymous") });
      });
      return new AsyncMapResult<ListItem<Awaited<R>>>(this.client, entries, {
        label: this.label ?? taskName(fn, "anonymous"),
        items: toList,
      });
    };
    return Object.assign(call, {
      map: (...sequences: Sequence[]) => this.map(fn as TaskFunction, ...(sequences as [])),
    }) as ParallelFunction<R, P>;
  }

  /**
   * Loads modules on every target and binds them in the namespace: `"node:os"` binds `os`,
   * `"lodash"` binds `lodash`, `{ _: "lodash" }` binds `_`.
   */
  requireModules(...specs: ModuleSpec[]): AsyncResult<PerMessage<Scalar, string[]>, Scalar> {
    const modules = moduleBindings(specs, "requireModules");
    return this.send(() => ({ content: { op: "require", modules }, buffers: [] }), { label: "requireModules" });
  }

  /** Resets every target's namespace (runs after the tasks already queued there). */
  clear(): AsyncResult<void, Scalar> {
    return this.send(() => ({ content: { op: "clear" }, buffers: [] }), { label: "clear" }) as AsyncResult<void, Scalar>;
  }

  /** Aborts the tasks still queued on this view's engines (`jobs` narrows it). */
  async abort(jobs?: string | AsyncResult | ReadonlyArray<string | AsyncResult>): Promise<string[]> {
    return await this.client.abort(jobs, this.resolve().ids);
  }

  /** Queue status of this view's engines. */
  async queueStatus(): Promise<QueueStatus> {
    return await this.client.queueStatus(this.resolve().ids);
  }

  /** A view on other targets of the same client (one engine id: scalar results). */
  view(targets: number): DirectView<true>;
  view(targets: "all" | readonly number[] | string): DirectView<false>;
  view(targets: TargetSpec): DirectView;
  view(targets: TargetSpec): DirectView {
    return new DirectView(this.client, targets);
  }

  private resolve(): { ids: number[]; scalar: boolean } {
    const registered = this.targetSpec === "all" ? this.client.requireEngines() : this.client.ids;
    const resolved = resolveTargets(this.targetSpec, registered);
    if (resolved.ids.length === 0)
      throw new RangeError(`targets ${JSON.stringify(this.targetSpec)} select no engine (registered: [${registered.join(", ")}])`);
    return resolved;
  }

  private send<T>(build: () => { content: ApplyContent; buffers: Buffer[] }, shape: Partial<ResultShape>): AsyncResult<T, Scalar> {
    const { ids, scalar } = this.resolve();
    const { content, buffers } = build();
    const entries = ids.map((engineId) =>
      this.submitOne(engineId, content, buffers, shape.label === undefined ? {} : { label: shape.label }),
    );
    return new AsyncResult<T, Scalar>(this.client, entries, {
      scalar,
      unit: "engines",
      ...shape,
      ...(this.label === undefined ? {} : { label: this.label }),
    });
  }

  private submitOne(
    engineId: number,
    content: ApplyContent,
    buffers: Buffer[],
    options: { count?: number; firstItem?: number; label?: string },
  ): TaskEntry {
    const label = this.label ?? options.label;
    const entry = new TaskEntry(newMsgId(), { ...options, engineId, ...(label === undefined ? {} : { label }) });
    const metadata = { engine: engineId, ...(this.label === undefined ? {} : { label: this.label }) };
    this.client.submit([{ content, metadata, buffers, entry }]);
    return entry;
  }
}

/**
 * Separates a trailing {@link MapOptions} from the sequences: sequences are arrays, array-likes
 * or iterables, so a last object that is none of these is the options.
 */
export function splitMapOptions(rest: readonly unknown[]): { sequences: Sequence[]; options: MapOptions } {
  const last = rest.at(-1);
  const isSequence = (v: object) =>
    typeof (v as { length?: unknown }).length === "number" || Symbol.iterator in v || Symbol.asyncIterator in v;
  if (rest.length === 0 || last === null || typeof last !== "object" || isSequence(last))
    return { sequences: rest as Sequence[], options: {} };
  checkOptions(last, ["signal"], "map");
  const options = last as MapOptions;
  validateSignal(options.signal, "map: option signal");
  return { sequences: rest.slice(0, -1) as Sequence[], options };
}

/** The sequences of a `parallel` call as arrays, refusing unequal lengths as IPython Parallel does. */
function equalLengthSequences(sequences: readonly Sequence[], what: string): unknown[][] {
  if (sequences.length === 0) throw new TypeError(`${what}: needs at least one sequence`);
  const arrays = sequencesToArrays(sequences, what);
  const lengths = arrays.map((a) => a.length);
  if (new Set(lengths).size > 1)
    throw new RangeError(
      `${what}: all sequences must have equal length, but have [${lengths.join(", ")}] (use .map to stop at the shortest)`,
    );
  return arrays;
}

function assertIdentifier(name: string, what: string): void {
  if (!isIdentifier(name)) throw new TypeError(`${what}: ${JSON.stringify(name)} is not a valid variable name`);
}
