/**
 * Task graphs built in code, in the manner of dask's `delayed`: nodes are tasks, edges are
 * dependencies (argument, `after`, `follow`). A node can only depend on nodes created before
 * it, so a cycle cannot be expressed and insertion order is a topological order; no cycle check
 * is ever needed. Pure: no I/O; `compute` talks to a view through a minimal interface.
 */
import { DirectedGraph } from "graphology";
import { raceAbort, validateSignal } from "../abort.js";
import { InvalidDependency } from "../errors.js";
import type { TaskFunction } from "../protocol/canning.js";
import { taskName } from "../protocol/task-name.js";
import { Dependency, hasMsgIds } from "./dependency.js";
import type { DependencyOptions, HasMsgIds } from "./dependency.js";
import type { EdgeKind, TaskEdgeAttributes, TaskGraphJSON, TaskNodeAttributes, TaskState } from "./graph-json.js";
import { checkBooleans, checkOptions } from "../options.js";

/** A submitted task as a view returns it (an AsyncResult fits). */
export interface SubmittedTask<T = unknown> extends PromiseLike<T> {
  readonly msgIds: readonly string[];
  /** Whether the task finished; read when exporting a graph that is still running. */
  ready?(): boolean;
  /** Per-message metadata (one record or a list), read for engine, times and status. */
  readonly metadata?: unknown;
}

/** Flags `compute` sets on the view for each task. */
export interface SubmitFlags {
  after?: Dependency;
  follow?: Dependency;
  label?: string;
  signal?: AbortSignal;
}

/**
 * What `compute` needs from a view (a LoadBalancedView fits). The view must accept submitted
 * tasks among the arguments, wait for them and pass their values, as LoadBalancedView does.
 */
export interface TaskSubmitter {
  with(flags: SubmitFlags): { apply(fn: unknown, ...args: unknown[]): SubmittedTask };
}

/** Options of {@link TaskGraph.compute}. */
export interface ComputeOptions {
  /** Resolve even when tasks failed; `results.get(node)` then rethrows each failure. */
  returnExceptions?: boolean;
  /** Aborting it aborts the queued tasks, interrupts the running ones, and rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * An argument of type `T` as {@link TaskGraph.task} takes it: the value, a node or submitted
 * task whose value has that type, or an array or plain object holding such nodes.
 */
export type NodeArg<T> =
  T | TaskNode<T> | SubmittedTask<T> | (T extends Function ? never : T extends object ? { [K in keyof T]: NodeArg<T[K]> } : never);

/** A function's arguments as {@link TaskGraph.task} takes them (see {@link NodeArg}). */
export type NodeArgs<A extends readonly unknown[]> = { [K in keyof A]: NodeArg<A[K]> };

/** What `after()`/`follow()` accept: nodes of the same graph, or tasks already submitted elsewhere. */
export type DependencyRef = TaskNode | HasMsgIds;

type Condition = { all: boolean; success: boolean; failure: boolean };

interface Constraint {
  refs: DependencyRef[];
  condition: Condition;
}

interface NodeSpec {
  fn: unknown;
  args: readonly unknown[];
  /** Which arguments hold nodes (possibly nested), so only those are rebuilt at submission. */
  argHasNode: readonly boolean[];
  after?: Constraint;
  follow?: Constraint;
}

/** A handle on one task of a {@link TaskGraph}; `R` is the task's value. */
export class TaskNode<R = unknown> {
  /** Type only (never set): the task's value type, so that `results.get(node)` is typed. */
  declare readonly valueType?: R;

  /** @internal Nodes are created by {@link TaskGraph.task}. */
  constructor(
    /** The graph this node belongs to. */
    readonly graph: TaskGraph,
    /** The node's key in the graph (`t0`, `t1`, … in creation order). */
    readonly key: string,
    /** Creation index; a node may only depend on nodes with a smaller one. */
    readonly index: number,
  ) {}

  /**
   * Runs only after these tasks finished: by default all of them, successfully. A trailing
   * options object (`{ all, success, failure }`) changes that, e.g. `{ success: false,
   * failure: true }` for a cleanup that runs only on failure. Returns this node for chaining.
   * @throws InvalidDependency for a node of another graph, this node itself, or a later node.
   */
  after(...items: Array<DependencyRef | DependencyOptions>): this {
    this.graph.addDependency(this, "after", items);
    return this;
  }

  /** Runs on the engine where these tasks ran (options as in {@link after}). Returns this node. */
  follow(...items: Array<DependencyRef | DependencyOptions>): this {
    this.graph.addDependency(this, "follow", items);
    return this;
  }

  /** The node key. */
  toString(): string {
    return this.key;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Collects the nodes inside `value` (itself, or nested in arrays and plain objects), as dask does. */
function collectNodes(value: unknown, found: Set<TaskNode>, seen = new Set<object>()): void {
  if (value instanceof TaskNode) {
    found.add(value);
    return;
  }
  if (!Array.isArray(value) && !isPlainObject(value)) return;
  if (seen.has(value)) return;
  seen.add(value);
  for (const item of Object.values(value)) collectNodes(item, found, seen);
}

/** Copies `value` with every node replaced; shared and cyclic structure is preserved. */
function replaceNodes(value: unknown, replace: (node: TaskNode) => unknown, seen = new Map<object, unknown>()): unknown {
  if (value instanceof TaskNode) return replace(value);
  if (!Array.isArray(value) && !isPlainObject(value)) return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  const out: unknown[] | Record<string, unknown> = Array.isArray(value) ? [] : {};
  seen.set(value, out);
  for (const [key, item] of Object.entries(value)) (out as Record<string, unknown>)[key] = replaceNodes(item, replace, seen);
  return out;
}

function sameCondition(a: Condition, b: Condition): boolean {
  return a.all === b.all && a.success === b.success && a.failure === b.failure;
}

/** A graph of tasks; see the module documentation. */
export class TaskGraph {
  /** The graphology graph (attributes as in graph-json.ts). Read it; change it only through this class. */
  readonly graph = new DirectedGraph<TaskNodeAttributes, TaskEdgeAttributes>();
  private readonly handles: TaskNode[] = [];
  private readonly specs = new Map<string, NodeSpec>();

  /**
   * Adds the task `fn(...args)`. Nodes among the arguments (also inside arrays and plain
   * objects) become argument edges; at submission they are replaced by their submitted tasks,
   * which the view turns into dependencies and, on the engine, into their values.
   * @throws TypeError when `fn` is not a function or function reference.
   * @throws InvalidDependency when an argument is a node of another graph.
   */
  task<A extends unknown[], R>(fn: TaskFunction<A, R>, ...args: NoInfer<NodeArgs<A>>): TaskNode<Awaited<R>> {
    if (typeof fn !== "function" && (typeof fn !== "object" || fn === null)) {
      throw new TypeError(`task(fn): fn must be a function or a function reference, got ${fn === null ? "null" : typeof fn}`);
    }
    const perArg = args.map((arg) => {
      const found = new Set<TaskNode>();
      collectNodes(arg, found);
      return found;
    });
    const argNodes = new Set(perArg.flatMap((found) => [...found]));
    const index = this.handles.length;
    const key = `t${index}`;
    for (const dep of argNodes) this.assertOwn(dep, `argument of ${key}`);
    const node = new TaskNode<Awaited<R>>(this, key, index);
    this.graph.addNode(key, { label: taskName(fn, "task"), shortId: key, state: "pending" });
    for (const dep of argNodes) this.link(dep, node, "argument");
    this.specs.set(key, { fn, args, argHasNode: perArg.map((found) => found.size > 0) });
    this.handles.push(node);
    return node;
  }

  /** Number of tasks. */
  get size(): number {
    return this.handles.length;
  }

  /** The nodes in creation order, which is a topological order. */
  nodes(): TaskNode[] {
    return [...this.handles];
  }

  /** graphology's serialization of the graph, with the task attributes of graph-json.ts. */
  export(): TaskGraphJSON {
    return this.graph.export();
  }

  /**
   * @internal Records an `after`/`follow` constraint of `node`; see {@link TaskNode.after}.
   * A node has one constraint of each kind, so repeated calls must agree on the options.
   */
  addDependency(node: TaskNode, kind: "after" | "follow", items: ReadonlyArray<DependencyRef | DependencyOptions>): void {
    const { refs, options } = splitItems(node, kind, items);
    for (const ref of refs) if (ref instanceof TaskNode) this.assertEarlier(ref, node, kind);
    const probe = new Dependency([], options); // validates the options with Dependency's own rules
    const condition: Condition = { all: probe.all, success: probe.success, failure: probe.failure };
    const spec = this.spec(node);
    const existing = spec[kind];
    if (existing && !sameCondition(existing.condition, condition)) {
      throw new TypeError(`${node.key}.${kind}() was already called with other options; give all its dependencies in one call`);
    }
    const merged = existing?.refs ?? [];
    for (const ref of refs) if (!merged.includes(ref)) merged.push(ref);
    spec[kind] = { refs: merged, condition };
    for (const ref of refs) if (ref instanceof TaskNode) this.link(ref, node, kind, condition);
  }

  /**
   * Submits every task through `view` in creation (topological) order and returns at once with
   * live results: `results.export()` shows what is pending, running and finished so far, and
   * `results.settled` resolves when every task has finished. Fills in each node's `msgId`.
   * @throws whatever the view throws on submission (tasks already submitted keep running).
   */
  submit(view: TaskSubmitter, options: { signal?: AbortSignal } = {}): TaskGraphResults {
    validateSignal(options.signal, "compute: option signal");
    options.signal?.throwIfAborted();
    if (!view || typeof (view as Partial<TaskSubmitter>).with !== "function")
      throw new TypeError("compute(view): view must have a with(flags) method, like a LoadBalancedView");
    const submitted = new Map<string, SubmittedTask>();
    const outcomes: Array<Promise<[string, Outcome]>> = [];
    for (const node of this.handles) {
      const task = this.submitNode(node, view, submitted, options.signal);
      submitted.set(node.key, task);
      // Observing every task at once means a failure is never reported as unhandled, even if
      // a later submission throws.
      outcomes.push(observe(node.key, task));
    }
    return new TaskGraphResults(this, submitted, outcomes);
  }

  /**
   * Submits the graph (see {@link submit}) and waits until every task has finished, failed
   * tasks included, as dask's `compute` does.
   *
   * It rejects when an output of the graph failed: a sink (a task no other task depends on)
   * whose task failed. A task that runs only on failure (`success: false`) and was skipped
   * because its dependencies succeeded does not count: it did its job by not running. A
   * failure handled by such a task does not count either, since its sink is the handler. The
   * rejection carries the root cause, as dask users expect: when the failed sink could not run
   * because an upstream task failed, it is the error of the earliest upstream task that raised,
   * otherwise the sink's own error. With `returnExceptions: true` it always resolves and
   * `results.get(node)` rethrows each failure. Aborting `signal` aborts the queued tasks,
   * interrupts the running ones and rejects with the signal's reason.
   */
  async compute(view: TaskSubmitter, options: ComputeOptions = {}): Promise<TaskGraphResults> {
    checkOptions(options, ["returnExceptions", "signal"], "compute");
    checkBooleans(options, ["returnExceptions"], "compute");
    const results = this.submit(view, options.signal ? { signal: options.signal } : {});
    await raceAbort(results.settled, options.signal);
    if (!options.returnExceptions && results.ok === false) {
      const error = results.rootError();
      if (error !== undefined) throw error;
    }
    return results;
  }

  private spec(node: TaskNode): NodeSpec {
    const spec = this.specs.get(node.key);
    if (!spec) throw new RangeError(`node ${node.key} is not part of this TaskGraph`);
    return spec;
  }

  private submitNode(
    node: TaskNode,
    view: TaskSubmitter,
    submitted: ReadonlyMap<string, SubmittedTask>,
    signal: AbortSignal | undefined,
  ): SubmittedTask {
    const spec = this.spec(node);
    // Every node named here was created earlier, so it was submitted earlier.
    const futureOf = (dep: TaskNode): SubmittedTask => submitted.get(dep.key) as SubmittedTask;
    const args = spec.args.map((arg, i) => (spec.argHasNode[i] ? replaceNodes(arg, futureOf) : arg));
    const flags: SubmitFlags = {};
    const label = taskName(spec.fn);
    if (label !== undefined) flags.label = label;
    if (signal) flags.signal = signal;
    for (const kind of ["after", "follow"] as const) {
      const constraint = spec[kind];
      if (constraint)
        flags[kind] = new Dependency(
          constraint.refs.map((r) => (r instanceof TaskNode ? futureOf(r) : r)),
          constraint.condition,
        );
    }
    const task = view.with(flags).apply(spec.fn, ...args);
    if (!hasMsgIds(task) || typeof task.then !== "function")
      throw new TypeError(`view.apply() for ${node.key} must return a thenable task with msgIds`);
    const msgId = task.msgIds[0];
    this.graph.mergeNodeAttributes(node.key, { msgId, shortId: (msgId ?? node.key).slice(0, 8) });
    return task;
  }

  private assertOwn(node: TaskNode, role: string): void {
    if (!(node instanceof TaskNode) || node.graph !== this) {
      throw new InvalidDependency(`${role}: node ${String(node)} belongs to another TaskGraph`);
    }
  }

  private assertEarlier(dep: TaskNode, node: TaskNode, kind: string): void {
    this.assertOwn(dep, `${node.key}.${kind}()`);
    if (dep.index >= node.index) {
      const what = dep === node ? "itself" : `${dep.key}, which was created after it`;
      throw new InvalidDependency(
        `${node.key}.${kind}() cannot depend on ${what}: a task may only depend on tasks created before it, which keeps the graph acyclic`,
      );
    }
  }

  /**
   * Adds the edge `from → to`. A DirectedGraph holds one edge per pair, so a second relation
   * between the same tasks keeps the first edge, except that `follow` replaces it: the location
   * constraint is the stronger one. Every relation still applies at submission.
   */
  private link(from: TaskNode, to: TaskNode, kind: EdgeKind, condition?: Condition): void {
    const attributes: TaskEdgeAttributes = condition ? { kind, success: condition.success, failure: condition.failure } : { kind };
    const existing = this.graph.edge(from.key, to.key);
    if (existing === undefined) this.graph.addEdgeWithKey(`${from.key}->${to.key}`, from.key, to.key, attributes);
    else if (kind === "follow") this.graph.replaceEdgeAttributes(existing, attributes);
  }
}

/** Separates the dependency references from a trailing options object, naming any bad item. */
function splitItems(
  node: TaskNode,
  kind: string,
  items: ReadonlyArray<DependencyRef | DependencyOptions>,
): { refs: DependencyRef[]; options: DependencyOptions } {
  const refs: DependencyRef[] = [];
  let options: DependencyOptions = {};
  items.forEach((item, i) => {
    if (item instanceof TaskNode || hasMsgIds(item)) refs.push(item);
    else if (isPlainObject(item) && i === items.length - 1) options = item;
    else
      throw new TypeError(
        `${node.key}.${kind}(): argument ${i} must be a task node or an AsyncResult (options go last), got ${item === null ? "null" : typeof item}`,
      );
  });
  if (refs.length === 0) throw new TypeError(`${node.key}.${kind}() needs at least one task node or AsyncResult`);
  return { refs, options };
}

/** How one task ended. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

function observe(key: string, task: SubmittedTask): Promise<[string, Outcome]> {
  return Promise.resolve(task).then(
    (value): [string, Outcome] => [key, { ok: true, value }],
    (error: unknown): [string, Outcome] => [key, { ok: false, error }],
  );
}

function field(error: unknown, name: string): unknown {
  return typeof error === "object" && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

/** Whether a task failed because a dependency failed (or could never be met) rather than by raising. */
function isImpossible(error: unknown): boolean {
  return (
    field(error, "code") === "IMPOSSIBLE_DEPENDENCY" ||
    field(error, "ename") === "ImpossibleDependency" ||
    field(error, "name") === "ImpossibleDependency"
  );
}

function isAborted(error: unknown): boolean {
  return field(error, "code") === "TASK_ABORTED" || field(error, "ename") === "TaskAborted" || field(error, "name") === "TaskAborted";
}

/** The metadata fields an executed graph shows (an AsyncResult's metadata has them). */
interface MetadataLike {
  engineId?: number | undefined;
  submitted?: number | undefined;
  started?: number | undefined;
  completed?: number | undefined;
  status?: string | undefined;
  errorName?: string | undefined;
  errorMessage?: string | undefined;
}

function metadataOf(task: SubmittedTask | undefined): MetadataLike | undefined {
  const meta: unknown = task?.metadata;
  const first: unknown = Array.isArray(meta) ? meta[0] : meta;
  return typeof first === "object" && first !== null ? (first as MetadataLike) : undefined;
}

/** The results of {@link TaskGraph.submit} / {@link TaskGraph.compute}. */
export class TaskGraphResults {
  /** Resolves (never rejects) once every task has finished. */
  readonly settled: Promise<void>;
  private readonly outcomes = new Map<string, Outcome>();

  /** @internal Built by {@link TaskGraph.submit}. */
  constructor(
    /** The graph that was submitted, with each node's `msgId` filled in. */
    readonly graph: TaskGraph,
    /** The submitted task of each node, by node key. */
    readonly results: ReadonlyMap<string, SubmittedTask>,
    outcomes: ReadonlyArray<Promise<[string, Outcome]>>,
  ) {
    this.settled = Promise.all(outcomes.map((p) => p.then(([key, outcome]) => void this.outcomes.set(key, outcome)))).then(() => undefined);
  }

  /**
   * The value of a node; rethrows the node's error if it failed.
   * @throws RangeError for a node that is not part of this computation, Error if it has not finished.
   */
  get<R>(node: TaskNode<R>): R {
    if (!(node instanceof TaskNode) || node.graph !== this.graph || !this.results.has(node.key)) {
      throw new RangeError(`node ${String(node)} is not part of this computation`);
    }
    const outcome = this.outcomes.get(node.key);
    if (!outcome) throw new Error(`node ${node.key} has not finished yet; await results.settled first`);
    if (!outcome.ok) throw outcome.error;
    return outcome.value as R;
  }

  /** True when every task succeeded; undefined while some have not finished. */
  get ok(): boolean | undefined {
    if (this.outcomes.size < this.results.size) return undefined;
    return [...this.outcomes.values()].every((o) => o.ok);
  }

  /** Errors of the failed tasks, by node key. */
  get errors(): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [key, outcome] of this.outcomes) if (!outcome.ok) out.set(key, outcome.error);
    return out;
  }

  /** The error `compute` rejects with (see {@link TaskGraph.compute}), or undefined. */
  rootError(): unknown {
    const g = this.graph.graph;
    for (const node of this.graph.nodes()) {
      const outcome = this.outcomes.get(node.key);
      if (g.outDegree(node.key) > 0 || !outcome || outcome.ok) continue;
      if (!isImpossible(outcome.error)) return outcome.error;
      if (this.runsOnlyOnFailure(node.key)) continue;
      return this.upstreamError(node.key) ?? outcome.error;
    }
    return undefined;
  }

  /** The executed graph: each node's state, engine and times from its task. */
  export(): TaskGraphJSON {
    const json = this.graph.export();
    for (const node of json.nodes) {
      const task = this.results.get(node.key);
      if (!task || !node.attributes) continue;
      const msgId = task.msgIds[0];
      node.attributes = { ...node.attributes, msgId, shortId: (msgId ?? node.key).slice(0, 8), ...this.executed(node.key, task) };
    }
    return json;
  }

  /** Same as {@link export}, so `JSON.stringify(results)` gives the executed graph. */
  toJSON(): TaskGraphJSON {
    return this.export();
  }

  private executed(key: string, task: SubmittedTask): Partial<TaskNodeAttributes> {
    const meta = metadataOf(task);
    const outcome = this.outcomes.get(key);
    const error = outcome && !outcome.ok ? outcome.error : undefined;
    const errorName =
      meta?.errorName ?? (error === undefined ? undefined : String(field(error, "ename") ?? field(error, "name") ?? "Error"));
    const errorMessage =
      meta?.errorMessage ?? (error === undefined ? undefined : String(field(error, "evalue") ?? field(error, "message") ?? error));
    const attributes: Partial<TaskNodeAttributes> = { state: stateOf(outcome, meta, task) };
    for (const name of ["engineId", "submitted", "started", "completed"] as const)
      if (meta?.[name] !== undefined) attributes[name] = meta[name];
    if (errorName !== undefined) Object.assign(attributes, { errorName, errorMessage });
    return attributes;
  }

  /** Whether the node waits on a dependency that a success does not satisfy (a failure handler). */
  private runsOnlyOnFailure(key: string): boolean {
    return this.graph.graph.inEdges(key).some((edge) => {
      const attributes = this.graph.graph.getEdgeAttributes(edge);
      return attributes.kind !== "argument" && attributes.success === false;
    });
  }

  /** The error of the earliest ancestor of `key` that raised (rather than failed as impossible). */
  private upstreamError(key: string): unknown {
    const g = this.graph.graph;
    const ancestors = new Set<string>();
    const stack = [key];
    for (let current = stack.pop(); current !== undefined; current = stack.pop()) {
      for (const parent of g.inNeighbors(current)) {
        if (ancestors.has(parent)) continue;
        ancestors.add(parent);
        stack.push(parent);
      }
    }
    for (const node of this.graph.nodes()) {
      const outcome = this.outcomes.get(node.key);
      if (ancestors.has(node.key) && outcome && !outcome.ok && !isImpossible(outcome.error)) return outcome.error;
    }
    return undefined;
  }
}

function stateOf(outcome: Outcome | undefined, meta: MetadataLike | undefined, task: SubmittedTask): TaskState {
  if (outcome) {
    if (outcome.ok) return "done";
    if (isImpossible(outcome.error)) return "impossible";
    return isAborted(outcome.error) || meta?.status === "aborted" ? "aborted" : "failed";
  }
  // Not settled yet as far as this object knows: the metadata may already tell more.
  if (meta?.status === "ok") return "done";
  if (meta?.status === "aborted") return "aborted";
  if (meta?.status === "error") return meta.errorName === "ImpossibleDependency" ? "impossible" : "failed";
  if (meta?.started !== undefined && !(task.ready?.() ?? false)) return "running";
  return "pending";
}
