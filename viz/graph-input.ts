/**
 * Turns whatever the user hands to `visualize()` into a serialized task graph: the JSON
 * itself, a TaskGraph or executed results (anything with `export()`, `toJSON()` or `graph`),
 * or AsyncResults, whose metadata records what each message depended on. Inputs are
 * duck-typed so this module does not depend on the client or graph classes.
 */
import type { EdgeKind, TaskEdgeAttributes, TaskGraphJSON, TaskNodeAttributes, TaskState } from "../src/graph/graph-json.js";

/** The metadata of one message, as `AsyncResult.metadata` exposes it (only the fields used here). */
export interface TaskMetadataLike {
  msgId?: string | undefined;
  engineId?: number | undefined;
  submitted?: number | undefined;
  started?: number | undefined;
  completed?: number | undefined;
  status?: "ok" | "error" | "aborted" | "pending" | undefined;
  label?: string | undefined;
  dependsOn?: ReadonlyArray<{ msgId: string; kind: EdgeKind }> | undefined;
  errorName?: string | undefined;
  errorMessage?: string | undefined;
}

/** What `visualize()` needs from an AsyncResult. */
export interface AsyncResultLike {
  readonly msgIds: readonly string[];
  /**
   * One {@link TaskMetadataLike} per msg id, or a single one for a single-message result.
   * Typed `unknown` so that any result type fits; fields of the wrong type are ignored.
   */
  readonly metadata?: unknown;
  ready?(): boolean;
}

/** Something that produces a serialized task graph: a TaskGraph, its executed results, a graphology graph. */
export type GraphSource = { export(): unknown } | { toJSON(): unknown } | { graph: unknown };

/** Everything `visualize()` and `timeline()` accept (a Map contributes its values). */
export type GraphInput = TaskGraphJSON | GraphSource | AsyncResultLike | Iterable<AsyncResultLike> | ReadonlyMap<unknown, AsyncResultLike>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** True for graphology's serialization: a `nodes` array (edges optional). */
export function isTaskGraphJSON(value: unknown): value is TaskGraphJSON {
  return isObject(value) && Array.isArray(value["nodes"]) && (value["edges"] === undefined || Array.isArray(value["edges"]));
}

/** True for an object with a `msgIds` array, as AsyncResults have. */
export function isAsyncResultLike(value: unknown): value is AsyncResultLike {
  return isObject(value) && Array.isArray(value["msgIds"]);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (isObject(value)) return `an object with keys [${Object.keys(value).slice(0, 8).join(", ")}]`;
  return typeof value;
}

/** Nesting bound for sources that return sources (`results.graph.export()`), against cycles. */
const MAX_DEPTH = 4;

/**
 * Resolves any accepted input to a serialized task graph. Throws a TypeError naming the
 * input's shape when it is none of the accepted forms.
 */
export function toTaskGraphJSON(input: unknown): TaskGraphJSON {
  return resolve(input, 0);
}

function resolve(input: unknown, depth: number): TaskGraphJSON {
  if (isTaskGraphJSON(input)) return input;
  if (depth < MAX_DEPTH && isObject(input)) {
    // Executed results expose `export()` with state and timings, so it is preferred.
    for (const method of ["export", "toJSON"] as const) {
      const fn = input[method];
      if (typeof fn === "function") return resolve(fn.call(input), depth + 1);
    }
    if ("graph" in input && input["graph"] !== undefined) {
      const graph = input["graph"];
      return resolve(typeof graph === "function" ? graph.call(input) : graph, depth + 1);
    }
  }
  if (isAsyncResultLike(input)) return graphFromResults([input]);
  const results = asResultList(input);
  if (results) return graphFromResults(results);
  throw new TypeError(
    `cannot visualize ${describe(input)}: expected a task graph JSON ({ nodes, edges }), an object with export(), toJSON() or graph, or AsyncResults`,
  );
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return isObject(value) && typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function";
}

/** An iterable of AsyncResult-likes (a Map yields its values); undefined for anything else. */
function asResultList(input: unknown): AsyncResultLike[] | undefined {
  if (!isIterable(input)) return undefined;
  const items = input instanceof Map ? [...input.values()] : [...input];
  const bad = items.findIndex((item) => !isAsyncResultLike(item));
  if (bad !== -1) throw new TypeError(`cannot visualize item ${bad} of the list: ${describe(items[bad])} has no msgIds`);
  return items as AsyncResultLike[];
}

function metadataAt(result: AsyncResultLike, index: number): TaskMetadataLike {
  const metadata: unknown = result.metadata;
  const entry: unknown = Array.isArray(metadata) ? metadata[index] : index === 0 ? metadata : undefined;
  return isObject(entry) ? sanitize(entry) : {};
}

const NUMBER_FIELDS = ["engineId", "submitted", "started", "completed"] as const;
const STRING_FIELDS = ["label", "errorName", "errorMessage"] as const;
const STATUSES = new Set<unknown>(["ok", "error", "aborted", "pending"]);
const KINDS = new Set<unknown>(["argument", "after", "follow"]);

/** Keeps the metadata fields that have the expected types, so odd values cannot break drawing. */
function sanitize(raw: Record<string, unknown>): TaskMetadataLike {
  const meta: TaskMetadataLike = {};
  for (const field of NUMBER_FIELDS) if (typeof raw[field] === "number" && Number.isFinite(raw[field])) meta[field] = raw[field];
  for (const field of STRING_FIELDS) if (typeof raw[field] === "string") meta[field] = raw[field];
  if (STATUSES.has(raw["status"])) meta.status = raw["status"] as TaskMetadataLike["status"];
  if (Array.isArray(raw["dependsOn"])) {
    meta.dependsOn = raw["dependsOn"].filter(
      (d): d is { msgId: string; kind: EdgeKind } => isObject(d) && typeof d["msgId"] === "string" && KINDS.has(d["kind"]),
    );
  }
  return meta;
}

/**
 * Node state from a message's metadata. A dependency error means the task never ran, which
 * the graph shows as "impossible" rather than "failed".
 */
export function stateFromMetadata(meta: TaskMetadataLike, ready: boolean | undefined): TaskState {
  switch (meta.status) {
    case "ok":
      return "done";
    case "aborted":
      return "aborted";
    case "error":
      return meta.errorName === "ImpossibleDependency" ? "impossible" : "failed";
    default:
      if (meta.started !== undefined && meta.completed === undefined) return "running";
      // Without a status, a settled result with a completion time ran to the end.
      return ready === true && meta.completed !== undefined ? "done" : "pending";
  }
}

function nodeFromMetadata(msgId: string, meta: TaskMetadataLike, ready: boolean | undefined): TaskNodeAttributes {
  const attributes: TaskNodeAttributes = {
    label: meta.label ?? "task",
    shortId: msgId.slice(0, 8),
    state: stateFromMetadata(meta, ready),
    msgId,
  };
  for (const field of [...NUMBER_FIELDS, "errorName", "errorMessage"] as const) {
    if (meta[field] !== undefined) Object.assign(attributes, { [field]: meta[field] });
  }
  return attributes;
}

function safeReady(result: AsyncResultLike): boolean | undefined {
  try {
    return typeof result.ready === "function" ? result.ready() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds a task graph from AsyncResults: one node per msg id, one edge per entry of each
 * message's `dependsOn`. Dependencies on messages outside `results` are kept as nodes
 * labelled "(not in results)", so no edge is dropped silently.
 */
export function graphFromResults(results: Iterable<AsyncResultLike>): TaskGraphJSON {
  const nodes = new Map<string, TaskNodeAttributes>();
  const edges: Array<{ source: string; target: string; attributes: TaskEdgeAttributes }> = [];
  for (const result of results) {
    const ready = safeReady(result);
    result.msgIds.forEach((msgId, index) => {
      const meta = metadataAt(result, index);
      nodes.set(msgId, nodeFromMetadata(msgId, meta, ready));
      for (const dep of meta.dependsOn ?? []) edges.push({ source: dep.msgId, target: msgId, attributes: { kind: dep.kind } });
    });
  }
  for (const edge of edges) {
    if (!nodes.has(edge.source))
      nodes.set(edge.source, { label: "(not in results)", shortId: edge.source.slice(0, 8), state: "pending", msgId: edge.source });
  }
  return {
    // A message may depend on the same message twice (as an argument and through `after`),
    // which only a multigraph can hold.
    options: { type: "directed", multi: hasParallelEdges(edges), allowSelfLoops: false },
    attributes: {},
    nodes: [...nodes].map(([key, attributes]) => ({ key, attributes })),
    edges,
  };
}

function hasParallelEdges(edges: ReadonlyArray<{ source: string; target: string }>): boolean {
  const seen = new Set<string>();
  for (const { source, target } of edges) {
    const key = JSON.stringify([source, target]);
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}
