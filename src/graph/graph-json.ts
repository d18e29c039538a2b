/**
 * The serialized task graph that `TaskGraph.export()` produces and `visualize()` renders.
 * It is graphology's serialization format (`SerializedGraph`) with the attributes below.
 */
import type { SerializedGraph } from "graphology-types";

/** Lifecycle of a task as shown in graphs and the dashboard. */
export type TaskState = "pending" | "running" | "done" | "failed" | "impossible" | "aborted";

/** Why one task depends on another. */
export type EdgeKind = "argument" | "after" | "follow";

/** Attributes of one task node. Times are epoch milliseconds. */
export interface TaskNodeAttributes {
  /** Function name (or a user label). */
  label: string;
  /** Short id shown beside the label (first characters of the msg id, or the node key). */
  shortId: string;
  state: TaskState;
  msgId?: string | undefined;
  engineId?: number | undefined;
  submitted?: number | undefined;
  started?: number | undefined;
  completed?: number | undefined;
  /** Error class name when `state` is failed or impossible. */
  errorName?: string | undefined;
  /** Error message when failed. */
  errorMessage?: string | undefined;
}

/** Attributes of one dependency edge. */
export interface TaskEdgeAttributes {
  kind: EdgeKind;
  /** For `after`/`follow` edges built from a `Dependency`: whether success/failure satisfies it. */
  success?: boolean | undefined;
  failure?: boolean | undefined;
}

/** A task graph in graphology's serialized form. */
export type TaskGraphJSON = SerializedGraph<TaskNodeAttributes, TaskEdgeAttributes>;
