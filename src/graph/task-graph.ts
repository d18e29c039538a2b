/**
 * Task graphs built in code, in the manner of dask's delayed: nodes are tasks, edges are
 * dependencies (argument, `after`, `follow`). A node can only depend on nodes that already
 * exist, so a cycle cannot be expressed. Pure: no I/O; `compute` talks to a view through a
 * minimal interface.
 */
import { DirectedGraph } from "graphology";
import { Dependency } from "./dependency.js";
import type { DependencyOptions } from "./dependency.js";
import type { EdgeKind, TaskEdgeAttributes, TaskGraphJSON, TaskNodeAttributes, TaskState } from "./graph-json.js";

/** A submitted task as a view returns it (an AsyncResult). */
export interface SubmittedTask extends PromiseLike<unknown> {
  readonly msgIds: readonly string[];
  ready(): boolean;
  readonly metadata?: unknown;
}

/** Flags `compute` sets on the view for each task. */
export interface SubmitFlags {
  after?: Dependency;
  follow?: Dependency;
  label?: string;
}

/** What `compute` needs from a view (a LoadBalancedView fits). */
export interface TaskSubmitter {
  with(flags: SubmitFlags): { apply(fn: unknown, ...args: unknown[]): SubmittedTask };
}

interface NodeSpec {
  fn: unknown;
  args: unknown[];
  after: { ids: string[]; options: DependencyOptions } | undefined;
  follow: { ids: string[]; options: DependencyOptions } | undefined;
}

/** A handle on one task of a graph. */
export class TaskNode {
  constructor(readonly graph: TaskGraph, readonly key: string) {}

  /** Runs after these nodes finished (by default: all of them, successfully). */
  after(...nodes: Array<TaskNode | DependencyOptions>): this {
    this.graph.addDependency(this, "after", nodes);
    return this;
  }

  /** Runs on the engine where these nodes ran. */
  follow(...nodes: Array<TaskNode | DependencyOptions>): this {
    this.graph.addDependency(this, "follow", nodes);
    return this;
  }
}

function nameOf(fn: unknown): string {
  if (typeof fn === "function") return fn.name || "anonymous";
  if (fn && typeof fn === "object" && "name" in fn) return String((fn as { name: unknown }).name);
  if (fn && typeof fn === "object" && "exportName" in fn) return String((fn as { exportName: unknown }).exportName);
  return "task";
}

/** A graph of tasks. */
export class TaskGraph {
  /** The graphology graph (node and edge attributes as in graph-json.ts). */
  readonly graph = new DirectedGraph<TaskNodeAttributes, TaskEdgeAttributes>();
  private readonly specs = new Map<string, NodeSpec>();
  private readonly handles: TaskNode[] = [];

  /** Adds a task `fn(...args)`; nodes among the arguments become argument edges. */
  task(fn: unknown, ...args: unknown[]): TaskNode {
    for (const arg of args) if (arg instanceof TaskNode) this.assertOwn(arg);
    const key = `t${this.handles.length}`;
    const node = new TaskNode(this, key);
    this.graph.addNode(key, { label: nameOf(fn), shortId: key, state: "pending" });
    for (const arg of args) {
      if (arg instanceof TaskNode) this.link(arg, node, "argument");
    }
    this.specs.set(key, { fn, args, after: undefined, follow: undefined });
    this.handles.push(node);
    return node;
  }

  /** Number of tasks. */
  get size(): number {
    return this.handles.length;
  }

  /** Nodes in insertion order, which is a topological order. */
  nodes(): TaskNode[] {
    return [...this.handles];
  }

  /** graphology's serialization, with the task attributes. */
  export(): TaskGraphJSON {
    return this.graph.export() as TaskGraphJSON;
  }

  /** @internal Records an `after`/`follow` edge set for `node`. */
  addDependency(node: TaskNode, kind: "after" | "follow", items: Array<TaskNode | DependencyOptions>): void {
    const nodes = items.filter((i): i is TaskNode => i instanceof TaskNode);
    const options = (items.find((i) => !(i instanceof TaskNode)) ?? {}) as DependencyOptions;
    if (nodes.length === 0) throw new TypeError(`${kind}() needs at least one task node`);
    for (const dep of nodes) this.assertOwn(dep);
    const spec = this.specs.get(node.key) as NodeSpec;
    const existing = spec[kind];
    if (existing && JSON.stringify(existing.options) !== JSON.stringify(options)) {
      throw new TypeError(`${node.key}.${kind}() was already called with other options; give all its nodes in one call`);
    }
    for (const dep of nodes) this.link(dep, node, kind, options);
    spec[kind] = { ids: [...(existing?.ids ?? []), ...nodes.map((n) => n.key)], options };
  }

  /**
   * Submits every task in topological order through `view` and resolves once all have
   * settled. Failed tasks do not reject: `results.get(node)` rethrows their error, and their
   * dependents fail as impossible, as the scheduler decides.
   */
  async compute(view: TaskSubmitter): Promise<TaskGraphResults> {
    const submitted = new Map<string, SubmittedTask>();
    const toFuture = (key: string) => submitted.get(key) as SubmittedTask;
    for (const node of this.handles) {
      const spec = this.specs.get(node.key) as NodeSpec;
      const args = spec.args.map((a) => (a instanceof TaskNode ? toFuture(a.key) : a));
      const flags: SubmitFlags = { label: this.graph.getNodeAttribute(node.key, "label") };
      if (spec.after) flags.after = new Dependency(spec.after.ids.map(toFuture), spec.after.options);
      if (spec.follow) flags.follow = new Dependency(spec.follow.ids.map(toFuture), spec.follow.options);
      const task = view.with(flags).apply(spec.fn, ...args);
      submitted.set(node.key, task);
      this.graph.mergeNodeAttributes(node.key, { msgId: task.msgIds[0], shortId: (task.msgIds[0] ?? node.key).slice(0, 8) });
    }
    const outcomes = await Promise.all([...submitted].map(async ([key, task]): Promise<[string, Outcome]> => {
      try {
        return [key, { value: await task }];
      } catch (error) {
        return [key, { error: error as Error }];
      }
    }));
    return new TaskGraphResults(this, submitted, new Map(outcomes));
  }

  private assertOwn(node: TaskNode): void {
    if (node.graph !== this) throw new TypeError(`node ${node.key} belongs to another TaskGraph`);
  }

  private link(from: TaskNode, to: TaskNode, kind: EdgeKind, options: DependencyOptions = {}): void {
    const attributes: TaskEdgeAttributes = { kind, ...(options.success === undefined ? {} : { success: options.success }), ...(options.failure === undefined ? {} : { failure: options.failure }) };
    this.graph.addEdge(from.key, to.key, attributes);
  }
}

/** Outcome of one task. */
type Outcome = { value: unknown; error?: undefined } | { error: Error; value?: undefined };

interface ExecutedMetadata {
  engineId?: number;
  submitted?: number;
  started?: number;
  completed?: number;
  status?: string;
  errorName?: string;
  errorMessage?: string;
}

/** The results of `TaskGraph.compute`. */
export class TaskGraphResults {
  constructor(readonly taskGraph: TaskGraph, readonly results: ReadonlyMap<string, SubmittedTask>, private readonly outcomes: ReadonlyMap<string, Outcome>) {}

  /** The value of a node; rethrows the node's error if it failed. */
  get(node: TaskNode): unknown {
    const outcome = this.outcomes.get(node.key);
    if (!outcome) throw new RangeError(`node ${node.key} is not part of this computation`);
    if (outcome.error) throw outcome.error;
    return outcome.value;
  }

  /** True when every task succeeded. */
  get ok(): boolean {
    return [...this.outcomes.values()].every((o) => !o.error);
  }

  /** Errors by node key. */
  get errors(): Map<string, Error> {
    return new Map([...this.outcomes].filter(([, o]) => o.error).map(([k, o]) => [k, o.error as Error]));
  }

  /** The executed graph: node states, engines and times from the tasks' metadata. */
  export(): TaskGraphJSON {
    const json = this.taskGraph.export();
    for (const node of json.nodes) {
      const task = this.results.get(node.key);
      const meta = (Array.isArray(task?.metadata) ? task?.metadata[0] : task?.metadata) as ExecutedMetadata | undefined;
      if (!meta || !node.attributes) continue;
      node.attributes = { ...node.attributes, ...executedAttributes(meta) };
    }
    return json;
  }
}

function executedAttributes(meta: ExecutedMetadata): Partial<TaskNodeAttributes> {
  const state: TaskState = meta.status === "ok" ? "done"
    : meta.status === "aborted" ? "aborted"
    : meta.status === "error" ? (meta.errorName === "ImpossibleDependency" ? "impossible" : "failed")
    : meta.started ? "running" : "pending";
  return {
    state, engineId: meta.engineId, submitted: meta.submitted, started: meta.started, completed: meta.completed,
    ...(meta.errorName ? { errorName: meta.errorName, errorMessage: meta.errorMessage } : {}),
  };
}
