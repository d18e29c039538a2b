/**
 * What a rendered task graph shows, independent of the renderer: node labels, colours,
 * hover details and the collapse of large graphs. Both the DOT writer (Node) and the HTML
 * page (browser bundle) draw from this module, so it must stay free of Node imports.
 */
import type { EdgeKind, TaskEdgeAttributes, TaskGraphJSON, TaskNodeAttributes, TaskState } from "../src/graph/graph-json.js";

/** Colours of one task state. */
export interface StateStyle {
  /** Node fill. */
  fill: string;
  /** Node outline. */
  border: string;
  /** Label colour, chosen for contrast against `fill`. */
  font: string;
}

/** Colours of one state, by state. Used by the DOT writer, the HTML page and the timeline. */
export const STATE_STYLES: Readonly<Record<TaskState, StateStyle>> = {
  pending: { fill: "#d9d9d9", border: "#8c8c8c", font: "#1a1a1a" },
  running: { fill: "#6aa9e9", border: "#1f5f99", font: "#0b1f33" },
  done: { fill: "#7dcf8a", border: "#2e7d32", font: "#0d2912" },
  failed: { fill: "#e5534b", border: "#9b1c1c", font: "#ffffff" },
  impossible: { fill: "#f5a142", border: "#b35c00", font: "#1a1a1a" },
  aborted: { fill: "#5f5f5f", border: "#2b2b2b", font: "#ffffff" },
};

/** Every state, in the order legends list them. */
export const TASK_STATES: readonly TaskState[] = ["pending", "running", "done", "failed", "impossible", "aborted"];

/** How one kind of dependency edge is drawn. */
export interface EdgeStyle {
  /** Graphviz `style`: solid, dashed or dotted. */
  dot: "solid" | "dashed" | "dotted";
  /** SVG `stroke-dasharray` equivalent of `dot` ("" for solid). */
  dasharray: string;
  color: string;
}

/** Edge styles by kind: line pattern and colour both differ, so kinds stay apart in greyscale too. */
export const EDGE_STYLES: Readonly<Record<EdgeKind, EdgeStyle>> = {
  argument: { dot: "solid", dasharray: "", color: "#444444" },
  after: { dot: "dashed", dasharray: "6 4", color: "#1f6fb2" },
  follow: { dot: "dotted", dasharray: "2 3", color: "#8e44ad" },
};

/** Every edge kind, in the order legends list them. */
export const EDGE_KINDS: readonly EdgeKind[] = ["argument", "after", "follow"];

/** One box in the drawing: a task, or a group of tasks with the same label. */
export interface ViewNode {
  /** Node key in the source graph (or a group key when collapsed). */
  id: string;
  /** Text lines of the box. */
  lines: string[];
  /** State that decides the colour (for a group: the most severe state among its tasks). */
  state: TaskState;
  /** Lines shown on hover. */
  details: string[];
  /** Tasks this box stands for. */
  count: number;
}

/** One arrow in the drawing: a dependency, or all dependencies of one kind between two groups. */
export interface ViewEdge {
  /** Id of the node depended on. */
  source: string;
  /** Id of the dependent node. */
  target: string;
  kind: EdgeKind;
  /** Dependencies this arrow stands for. */
  count: number;
  /** Text shown on hover. */
  details: string;
}

/** A task graph prepared for drawing. */
export interface GraphView {
  nodes: ViewNode[];
  edges: ViewEdge[];
  /** True when tasks were grouped by label because there were more than `maxNodes`. */
  collapsed: boolean;
  /** Explains the collapse; undefined when the graph is drawn as is. */
  note: string | undefined;
  /** Tasks and dependencies in the source graph. */
  taskCount: number;
  dependencyCount: number;
}

/** Options of {@link buildView}. */
export interface ViewOptions {
  /** Above this many tasks, tasks are grouped by label. Default 2000. */
  maxNodes?: number;
  /** Labels longer than this are cut with an ellipsis in boxes (hover details keep them whole). Default 40. */
  maxLabelLength?: number;
}

/** Default {@link ViewOptions.maxNodes}: Graphviz lays out 2000 nodes in a few seconds. */
export const DEFAULT_MAX_NODES = 2000;

const DEFAULT_MAX_LABEL = 40;

/**
 * Severity order for a group's colour: one failed task in a group of thousands must still
 * show, so the most severe state wins rather than the most common one.
 */
const SEVERITY: readonly TaskState[] = ["failed", "impossible", "aborted", "running", "pending", "done"];

/** Formats a duration in milliseconds for people: "850 ms", "1.25 s", "3 min 20 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms < 1000) return `${Math.round(ms * 10) / 10} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

/** Formats an epoch-millisecond time as an ISO string, or "?" if it is not a valid time. */
export function formatTime(epochMs: number): string {
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? "?" : date.toISOString();
}

/** Replaces control characters (which some renderers reject) and newlines, with their surrounding blanks, by one space. */
export function singleLine(text: string): string {
  return text.replace(/[ ]*[\u0000-\u001f\u007f]+[ ]*/g, " ");
}

function truncate(text: string, max: number): string {
  // ASCII "..." rather than an ellipsis: Graphviz has no width metrics for non-ASCII characters.
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 3))}...`;
}

const STATE_SET = new Set<string>(TASK_STATES);
const KIND_SET = new Set<string>(EDGE_KINDS);

const TIME_FIELDS = ["engineId", "submitted", "started", "completed"] as const;
const TEXT_FIELDS = ["msgId", "errorName", "errorMessage"] as const;

/**
 * Node attributes with defaults filled in and mistyped fields dropped, so that hand-written
 * or partial JSON still draws (a string time would otherwise turn into NaN coordinates).
 */
export function taskAttributes(key: string, attributes: Partial<TaskNodeAttributes> | undefined): TaskNodeAttributes {
  const a: Partial<Record<string, unknown>> = attributes ?? {};
  const task: TaskNodeAttributes = {
    label: typeof a["label"] === "string" && a["label"] !== "" ? a["label"] : key,
    shortId: typeof a["shortId"] === "string" ? a["shortId"] : key.slice(0, 8),
    state: typeof a["state"] === "string" && STATE_SET.has(a["state"]) ? (a["state"] as TaskState) : "pending",
  };
  for (const field of TIME_FIELDS) {
    const value = a[field];
    if (typeof value === "number" && Number.isFinite(value)) task[field] = value;
  }
  for (const field of TEXT_FIELDS) {
    const value = a[field];
    if (typeof value === "string") task[field] = value;
  }
  return task;
}

/** Edge kind with a default: an edge without a known kind is drawn as an argument edge. */
export function edgeKind(attributes: Partial<TaskEdgeAttributes> | undefined): EdgeKind {
  const kind = attributes?.kind;
  return typeof kind === "string" && KIND_SET.has(kind) ? kind : "argument";
}

/** Run time of a task, when it has both a start and an end. */
export function taskDuration(a: TaskNodeAttributes): number | undefined {
  return a.started !== undefined && a.completed !== undefined ? a.completed - a.started : undefined;
}

function taskLines(a: TaskNodeAttributes, maxLabel: number): string[] {
  const lines = [truncate(singleLine(a.label), maxLabel), singleLine(a.shortId)];
  const executed: string[] = [];
  if (a.engineId !== undefined) executed.push(`engine ${a.engineId}`);
  const duration = taskDuration(a);
  if (duration !== undefined) executed.push(formatDuration(duration));
  if (executed.length > 0) lines.push(executed.join(", "));
  return lines.filter((line) => line !== "");
}

/** Hover text of one task: identity, state, engine, timings and error. */
export function taskDetails(a: TaskNodeAttributes): string[] {
  const details = [singleLine(a.label), `id: ${singleLine(a.msgId ?? a.shortId)}`, `state: ${a.state}`];
  if (a.engineId !== undefined) details.push(`engine: ${a.engineId}`);
  if (a.submitted !== undefined) details.push(`submitted: ${formatTime(a.submitted)}`);
  if (a.started !== undefined) {
    const wait = a.submitted !== undefined ? ` (waited ${formatDuration(a.started - a.submitted)})` : "";
    details.push(`started: ${formatTime(a.started)}${wait}`);
  }
  if (a.completed !== undefined) details.push(`completed: ${formatTime(a.completed)}`);
  const duration = taskDuration(a);
  if (duration !== undefined) details.push(`ran: ${formatDuration(duration)}`);
  const error = errorText(a.errorName, a.errorMessage);
  if (error) details.push(`error: ${singleLine(error)}`);
  return details;
}

/** "Name: message", without repeating the name when the message already carries it (remote errors do). */
function errorText(name: string | undefined, message: string | undefined): string {
  if (name && message?.includes(`${name}: `)) return message;
  return [name, message].filter(Boolean).join(": ");
}

/** Hover text of one dependency, including which outcomes satisfy an after/follow edge. */
export function dependencyDetails(
  source: TaskNodeAttributes,
  target: TaskNodeAttributes,
  attributes: Partial<TaskEdgeAttributes> | undefined,
): string {
  const kind = edgeKind(attributes);
  const base = `${singleLine(target.label)} ${singleLine(target.shortId)} depends on ${singleLine(source.label)} ${singleLine(source.shortId)} (${kind})`;
  if (kind === "argument") return base;
  const success = attributes?.success ?? true;
  const failure = attributes?.failure ?? false;
  const on = success && failure ? "success or failure" : failure ? "failure" : success ? "success" : "neither outcome";
  return `${base}, satisfied by ${on}`;
}

/** Checks the parts of the serialization the drawing relies on, with messages that name the problem. */
export function assertTaskGraphJSON(graph: TaskGraphJSON): void {
  if (!Array.isArray(graph.nodes)) throw new TypeError("task graph JSON needs a `nodes` array");
  if (graph.edges !== undefined && !Array.isArray(graph.edges)) throw new TypeError("task graph JSON `edges` must be an array");
}

/**
 * Prepares a serialized task graph for drawing. Above `maxNodes` tasks the graph is collapsed
 * to one node per label with a count, because layout time grows faster than linearly and a
 * 20,000-box drawing is unreadable anyway.
 */
export function buildView(graph: TaskGraphJSON, options: ViewOptions = {}): GraphView {
  assertTaskGraphJSON(graph);
  const maxNodes = Math.max(1, options.maxNodes ?? DEFAULT_MAX_NODES);
  const maxLabel = Math.max(2, options.maxLabelLength ?? DEFAULT_MAX_LABEL);
  const tasks = new Map<string, TaskNodeAttributes>();
  for (const node of graph.nodes) tasks.set(String(node.key), taskAttributes(String(node.key), node.attributes));
  const edges = graph.edges ?? [];
  for (const edge of edges) {
    for (const end of [edge.source, edge.target]) {
      if (!tasks.has(String(end))) throw new TypeError(`task graph JSON has an edge to unknown node "${String(end)}"`);
    }
  }
  if (tasks.size <= maxNodes) return plainView(tasks, edges, maxLabel);
  return collapsedView(tasks, edges, maxNodes, maxLabel);
}

type SerializedEdges = NonNullable<TaskGraphJSON["edges"]>;

function plainView(tasks: Map<string, TaskNodeAttributes>, edges: SerializedEdges, maxLabel: number): GraphView {
  const nodes = [...tasks].map(([id, a]): ViewNode => ({
    id,
    lines: taskLines(a, maxLabel),
    state: a.state,
    details: taskDetails(a),
    count: 1,
  }));
  const viewEdges = edges.map((edge): ViewEdge => {
    const source = String(edge.source);
    const target = String(edge.target);
    const details = dependencyDetails(tasks.get(source) as TaskNodeAttributes, tasks.get(target) as TaskNodeAttributes, edge.attributes);
    return { source, target, kind: edgeKind(edge.attributes), count: 1, details };
  });
  return { nodes, edges: viewEdges, collapsed: false, note: undefined, taskCount: tasks.size, dependencyCount: edges.length };
}

/** Accumulates the tasks of one label. */
interface Group {
  id: string;
  label: string;
  count: number;
  states: Map<TaskState, number>;
  engines: Set<number>;
  busyMs: number;
}

const OTHER_GROUP = "\u0000other";

function groupTasks(
  tasks: Map<string, TaskNodeAttributes>,
  maxNodes: number,
): { groups: Map<string, Group>; groupOf: Map<string, string>; merged: number } {
  const byLabel = new Map<string, Group>();
  const groupOf = new Map<string, string>();
  for (const [key, a] of tasks) {
    const id = `group:${a.label}`;
    let group = byLabel.get(id);
    if (!group) byLabel.set(id, (group = { id, label: a.label, count: 0, states: new Map(), engines: new Set(), busyMs: 0 }));
    addToGroup(group, a);
    groupOf.set(key, id);
  }
  if (byLabel.size <= maxNodes) return { groups: byLabel, groupOf, merged: 0 };
  // Even by label there are too many boxes (every task named differently): keep the
  // biggest groups and fold the tail into one "other" box so the drawing stays bounded.
  const ranked = [...byLabel.values()].sort((x, y) => y.count - x.count);
  const kept = ranked.slice(0, maxNodes - 1);
  const folded = ranked.slice(maxNodes - 1);
  const other: Group = {
    id: OTHER_GROUP,
    label: `${folded.length} other labels`,
    count: 0,
    states: new Map(),
    engines: new Set(),
    busyMs: 0,
  };
  const foldedIds = new Set(folded.map((g) => g.id));
  for (const [key, a] of tasks) {
    if (!foldedIds.has(groupOf.get(key) as string)) continue;
    addToGroup(other, a);
    groupOf.set(key, OTHER_GROUP);
  }
  const groups = new Map(kept.map((g) => [g.id, g]));
  groups.set(OTHER_GROUP, other);
  return { groups, groupOf, merged: folded.length };
}

function addToGroup(group: Group, a: TaskNodeAttributes): void {
  group.count += 1;
  group.states.set(a.state, (group.states.get(a.state) ?? 0) + 1);
  if (a.engineId !== undefined) group.engines.add(a.engineId);
  group.busyMs += taskDuration(a) ?? 0;
}

function stateSummary(states: Map<TaskState, number>): string {
  return TASK_STATES.filter((s) => states.has(s))
    .map((s) => `${states.get(s)} ${s}`)
    .join(", ");
}

function groupNode(group: Group, maxLabel: number): ViewNode {
  const state = SEVERITY.find((s) => group.states.has(s)) ?? "pending";
  const details = [singleLine(group.label), `tasks: ${group.count}`, `states: ${stateSummary(group.states)}`];
  if (group.engines.size > 0) details.push(`engines: ${[...group.engines].sort((x, y) => x - y).join(", ")}`);
  if (group.busyMs > 0) details.push(`total run time: ${formatDuration(group.busyMs)}`);
  // Three states per line keeps a group box about as wide as its label.
  const parts = stateSummary(group.states).split(", ");
  const summaryLines = Array.from({ length: Math.ceil(parts.length / 3) }, (_, i) => parts.slice(3 * i, 3 * i + 3).join(", "));
  const lines = [truncate(singleLine(group.label), maxLabel), `x ${group.count}`, ...summaryLines];
  return { id: group.id, lines, state, details, count: group.count };
}

function collapsedView(tasks: Map<string, TaskNodeAttributes>, edges: SerializedEdges, maxNodes: number, maxLabel: number): GraphView {
  const { groups, groupOf, merged } = groupTasks(tasks, maxNodes);
  const aggregated = new Map<string, ViewEdge>();
  for (const edge of edges) {
    const source = groupOf.get(String(edge.source)) as string;
    const target = groupOf.get(String(edge.target)) as string;
    const kind = edgeKind(edge.attributes);
    const key = JSON.stringify([source, target, kind]);
    const existing = aggregated.get(key);
    if (existing) existing.count += 1;
    else aggregated.set(key, { source, target, kind, count: 1, details: "" });
  }
  for (const edge of aggregated.values()) {
    const from = groups.get(edge.source)?.label ?? edge.source;
    const to = groups.get(edge.target)?.label ?? edge.target;
    edge.details = `${edge.count} ${edge.kind} ${edge.count === 1 ? "dependency" : "dependencies"}: ${singleLine(to)} on ${singleLine(from)}`;
  }
  const tail = merged > 0 ? `; the ${merged} smallest groups are shown as one` : "";
  const note = `${tasks.size} tasks collapsed into ${groups.size} groups by label (more than maxNodes = ${maxNodes})${tail}`;
  return {
    nodes: [...groups.values()].map((g) => groupNode(g, maxLabel)),
    edges: [...aggregated.values()],
    collapsed: true,
    note,
    taskCount: tasks.size,
    dependencyCount: edges.length,
  };
}

/** Escapes text for SVG element content and double-quoted attributes. */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, " ")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}
