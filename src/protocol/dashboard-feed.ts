/**
 * What the controller's dashboard feed carries to the page: the `state` event's snapshot, the
 * task stream's entries, a task's details and the log tails. The controller builds these and
 * the browser script reads them, so the shapes live here, below both, as plain data.
 */

/** Where a task is, as the dashboard colours it. */
export type ViewState = "waiting" | "queued" | "running" | "done" | "failed" | "aborted";

/** A finished task in the task stream: [seq, msgId, function index, engine, start, end, ok]. */
export type StreamEntry = [number, string, number, number, number, number, 0 | 1];

/** One engine row. */
export interface EngineView {
  id: number;
  host: string;
  pid: number;
  state: "idle" | "busy" | "dead";
  queued: number;
  running: number;
  done: number;
  failed: number;
  cpu: number | null;
  rss: number | null;
  bytesIn: number;
  bytesOut: number;
  lastBeat: number;
  /** CPU % once a second, oldest first (null where unknown). */
  cpuHistory: Array<number | null>;
  /** Why it left (dead engines). */
  reason?: string;
}

/** One function's bar. */
export interface ProgressView {
  fn: number;
  total: number;
  done: number;
  erred: number;
  running: number;
  queued: number;
  waiting: number;
  /** Completions per second over the last few seconds. */
  rate: number;
}

/** A recent failure. */
export interface ErrorView {
  msgId: string;
  fn: number;
  engineId: number | null;
  ename: string;
  evalue: string;
  time: number;
}

/** A task running now (the oldest one each engine holds). */
export interface RunningView {
  msgId: string;
  fn: number;
  engineId: number;
  start: number;
}

/** The graph: single tasks, or groups of tasks by function when there are many. */
export interface GraphView {
  mode: "tasks" | "groups";
  /** Tasks in the window the graph was built from. */
  tasks: number;
  /** tasks: id is a msg id; groups: id is the function index. `counts` by state (groups only). */
  nodes: Array<{ id: string; fn: number; state: ViewState; engineId?: number | null; counts?: Partial<Record<ViewState, number>> }>;
  /** [source index, target index, tasks on that edge]. */
  edges: Array<[number, number, number]>;
}

/** The controller's own load. */
export interface ControllerView {
  pid: number;
  uptime: number;
  rss: number;
  heapUsed: number;
  /** Mean event-loop delay over the last second, ms. */
  loopDelay: number;
  /** Tasks submitted and finished per second (averaged over a few seconds). */
  rateIn: number;
  rateOut: number;
  /** Per second, oldest first. */
  historyIn: number[];
  historyOut: number[];
  /** Load-balanced tasks not yet on an engine. */
  unassigned: number;
  /** Tasks sent to engines and not yet answered. */
  onEngines: number;
  submitted: number;
  finished: number;
  dropped: Record<string, number>;
}

/** What the feed's `state` event carries. */
export interface DashboardState {
  version: number;
  now: number;
  /** Function names by index (index order is first appearance, so colours stay put). */
  functions: string[];
  controller: ControllerView;
  engines: EngineView[];
  progress: ProgressView[];
  errors: ErrorView[];
  running: RunningView[];
  graph: GraphView;
}

/** A task another one refers to. */
export interface TaskLink {
  msgId: string;
  label: string | null;
  state: ViewState | "unknown" | "culled";
  /** How the dependency was given: argument, after, follow (dependencies only). */
  kinds?: string[];
}

/** The task page's data. */
export interface TaskDetails {
  msgId: string;
  label: string;
  state: ViewState;
  op: string;
  /** The function's name and source (canned source) or module and export. */
  fn: { name?: string; source?: string; module?: string; exportName?: string } | null;
  balanced: boolean;
  client: string;
  submitted: number;
  started: number | null;
  completed: number | null;
  engine: { id: number; host: string | null; pid: number | null } | null;
  flags: Record<string, unknown>;
  dependencies: TaskLink[];
  dependents: TaskLink[];
  attempts: number | null;
  requestBytes: number;
  resultBytes: number | null;
  stdout: string;
  stderr: string;
  error: { ename: string; evalue: string; remoteStack: string; code: string | null; engineId: number | null } | null;
  resubmitted: string | null;
}

/** The tail of one log file. */
export interface LogTail {
  file: string;
  size: number;
  modified: number;
  lines: string[];
}
