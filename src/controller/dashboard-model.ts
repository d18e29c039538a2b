/**
 * What the dashboard shows, aggregated on the controller as the hub's events arrive: per-function
 * progress, per-engine counters and load, a bounded ring of finished tasks for the task stream,
 * recent failures and a window of recent tasks for the graph. Every handler is O(1) per task and
 * every snapshot is bounded by constants, so the page never receives every task however many
 * the hub holds.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { IntervalHistogram } from "node:perf_hooks";
import { taskName } from "../protocol/task-name.js";
import type { EngineRecord, TaskRecord } from "../scheduler/records.js";
import type {
  ControllerView,
  DashboardState,
  EngineView,
  ErrorView,
  GraphView,
  RunningView,
  StreamEntry,
  ViewState,
} from "../protocol/dashboard-feed.js";
import type { Hub } from "./hub.js";

/** Finished tasks kept for the task stream. */
export const STREAM_KEEP = 20_000;
/** Most stream entries one push carries (the newest ones win). */
export const STREAM_PUSH = 2_000;
/** Recent tasks considered for the graph. */
export const GRAPH_WINDOW = 400;
/** Above this many nodes the graph groups tasks by function. */
export const GRAPH_TASK_NODES = 120;
/** Failures kept and sent. */
const ERRORS_KEEP = 50;
const ERRORS_SENT = 25;
/** Functions listed by name; the rest are counted together. */
export const MAX_FUNCTIONS = 40;
/** Samples (one a second) kept for the sparklines and the controller's rates. */
const HISTORY = 120;
/** Seconds over which throughput is averaged. */
const RATE_SECONDS = 10;
/** Engines that left, kept in the table for a while. */
const LOST_ENGINES = 16;
/** Sampling interval of the event-loop delay, ms. */
const LOOP_RESOLUTION_MS = 20;
/** Longest error message the feed carries. */
const TEXT_LIMIT = 300;

/** A task the dashboard follows while it is unfinished and while it is in the graph window. */
interface TaskView {
  msgId: string;
  fn: number;
  engine: number | null;
  sentAt: number;
  attempts: number;
  state: ViewState;
}

interface FunctionCounts {
  total: number;
  done: number;
  erred: number;
  waiting: number;
  onEngine: number;
}

interface EngineCounts {
  done: number;
  failed: number;
  lastEnd: number;
  cpuHistory: Array<number | null>;
}

/** The label a task is shown and grouped under: a user label, or its function's name. */
export function labelOf(record: TaskRecord): string {
  const content = record.requestContent;
  return record.requestMetadata.label || taskName("fn" in content ? content.fn : undefined, content.op);
}

/** How a finished record ended, as the dashboard shows it. */
export function finishedState(record: TaskRecord): ViewState {
  const status = record.reply?.content.status;
  return status === "ok" ? "done" : status === "aborted" ? "aborted" : "failed";
}

/** Msg ids a task depends on (arguments, after, follow). */
export function dependenciesOf(record: TaskRecord): string[] {
  const m = record.requestMetadata;
  return [...new Set([...(m.argRefs ?? []), ...(m.after?.ids ?? []), ...(m.follow?.ids ?? [])])];
}

function clip(text: string, limit = TEXT_LIMIT): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

/** Per-second counts over a sliding window. */
class SecondCounter {
  private readonly buckets: number[] = [];
  private current = 0;

  add(n = 1): void {
    this.current += n;
  }

  /** Closes the current second. */
  roll(): void {
    this.buckets.push(this.current);
    this.current = 0;
    if (this.buckets.length > HISTORY) this.buckets.shift();
  }

  history(): number[] {
    return [...this.buckets];
  }

  /** Mean per second over the last `seconds` closed seconds. */
  rate(seconds = RATE_SECONDS): number {
    const last = this.buckets.slice(-seconds);
    return last.length === 0 ? 0 : Math.round((10 * last.reduce((a, b) => a + b, 0)) / last.length) / 10;
  }
}

/** Follows one hub and builds the dashboard's state. */
export class DashboardModel {
  /** Changes on every event; the feed pushes only when it moved. */
  version = 0;
  private readonly functions: string[] = [];
  private readonly functionIndex = new Map<string, number>();
  private readonly counts: FunctionCounts[] = [];
  private readonly functionRates: SecondCounter[] = [];
  private readonly live = new Map<string, TaskView>();
  /** The newest submissions (at least GRAPH_WINDOW), oldest first, for the graph. */
  private readonly window: TaskView[] = [];
  /** Finished tasks (at least STREAM_KEEP), oldest first. */
  private readonly stream: StreamEntry[] = [];
  private streamSeq = 0;
  private readonly errors: ErrorView[] = [];
  private readonly engineCounts = new Map<number, EngineCounts>();
  private readonly lost: EngineView[] = [];
  private readonly tasksIn = new SecondCounter();
  private readonly tasksOut = new SecondCounter();
  private submitted = 0;
  private finished = 0;
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private loopDelay = 0;

  constructor(private readonly hub: Hub) {
    this.loop.enable();
    hub.on("task-added", (msgId) => this.added(msgId));
    hub.on("task-dispatched", (msgId, engineId) => this.dispatched(msgId, engineId));
    hub.on("task-requeued", (msgId) => this.requeued(msgId));
    hub.on("task-done", (msgId, record) => this.done(msgId, record));
    hub.on("registration", () => this.version++);
    hub.on("unregistration", (engine, reason) => this.engineLeft(engine, reason));
  }

  /** Closes the current second of the rates and sparklines; call once a second. */
  tick(): void {
    this.tasksIn.roll();
    this.tasksOut.roll();
    for (const rate of this.functionRates) rate.roll();
    for (const engine of this.hub.registry.all()) {
      const counts = this.engineCountsOf(engine.id);
      counts.cpuHistory.push(engine.stats?.cpu ?? null);
      if (counts.cpuHistory.length > HISTORY) counts.cpuHistory.shift();
    }
    // The histogram times whole sampling intervals: the delay is what exceeds the resolution.
    const mean = this.loop.count > 0 ? this.loop.mean / 1e6 : LOOP_RESOLUTION_MS;
    this.loopDelay = Math.max(0, Math.round((mean - LOOP_RESOLUTION_MS) * 100) / 100);
    this.loop.reset();
    this.version++;
  }

  /** Stops sampling the event loop. */
  close(): void {
    this.loop.disable();
  }

  /** Stream entries newer than `after` (a sequence number), at most STREAM_PUSH, newest kept. */
  streamSince(after: number): { seq: number; entries: StreamEntry[] } {
    const newest = this.stream.at(-1)?.[0] ?? after;
    if (newest <= after) return { seq: after, entries: [] };
    // Sequence numbers are dense, so the first entry newer than `after` is found by offset.
    const first = this.stream[0]?.[0] ?? 0;
    const from = Math.max(0, after + 1 - first, this.stream.length - STREAM_PUSH);
    return { seq: newest, entries: this.stream.slice(from) };
  }

  /** The tracked view of a task (attempts and where it is), when the dashboard still follows it. */
  view(msgId: string): { attempts: number; state: ViewState } | undefined {
    const task = this.live.get(msgId) ?? this.window.find((t) => t.msgId === msgId);
    return task && { attempts: task.attempts, state: this.stateOf(task, this.runningIds()) };
  }

  /** Tasks of the graph window that depend on `msgId`. */
  dependents(msgId: string): string[] {
    return this.window
      .filter((t) => {
        const record = this.hub.db.get(t.msgId);
        return record !== undefined && dependenciesOf(record).includes(msgId);
      })
      .map((t) => t.msgId);
  }

  /** The function name a task is grouped under. */
  functionName(index: number): string {
    return this.functions[index] ?? "?";
  }

  /** The current state (bounded whatever the number of tasks). */
  state(): DashboardState {
    const running = this.running();
    const runningIds = new Set(running.map((r) => r.msgId));
    const runningByFn = new Map<number, number>();
    for (const r of running) runningByFn.set(r.fn, (runningByFn.get(r.fn) ?? 0) + 1);
    return {
      version: this.version,
      now: Date.now(),
      functions: [...this.functions],
      controller: this.controller(),
      engines: this.engines(running),
      progress: this.counts.map((c, fn) => ({
        fn,
        total: c.total,
        done: c.done,
        erred: c.erred,
        waiting: c.waiting,
        running: runningByFn.get(fn) ?? 0,
        queued: c.onEngine - (runningByFn.get(fn) ?? 0),
        rate: this.functionRates[fn]?.rate() ?? 0,
      })),
      errors: this.errors.slice(-ERRORS_SENT).reverse(),
      running,
      graph: this.graph(runningIds),
    };
  }

  // ---- events ----

  private added(msgId: string): void {
    const record = this.hub.db.get(msgId);
    if (!record) return;
    const task: TaskView = { msgId, fn: this.functionOf(labelOf(record)), engine: null, sentAt: 0, attempts: 0, state: "waiting" };
    this.live.set(msgId, task);
    this.window.push(task);
    trim(this.window, GRAPH_WINDOW);
    const counts = this.counts[task.fn] as FunctionCounts;
    counts.total++;
    counts.waiting++;
    this.submitted++;
    this.tasksIn.add();
    this.version++;
  }

  private dispatched(msgId: string, engineId: number): void {
    const task = this.live.get(msgId);
    if (!task) return;
    if (task.engine === null) this.move(task, "waiting", "onEngine");
    task.engine = engineId;
    task.sentAt = Date.now();
    task.attempts++;
    task.state = "queued";
    this.version++;
  }

  private requeued(msgId: string): void {
    const task = this.live.get(msgId);
    if (task) this.backToWaiting(task);
  }

  private done(msgId: string, record: TaskRecord): void {
    const task = this.live.get(msgId);
    if (!task) return;
    this.live.delete(msgId);
    const counts = this.counts[task.fn] as FunctionCounts;
    if (task.engine === null) counts.waiting--;
    else counts.onEngine--;
    task.state = finishedState(record);
    if (task.state === "done") counts.done++;
    else counts.erred++;
    this.finished++;
    this.tasksOut.add();
    this.functionRates[task.fn]?.add();
    const end = record.completed ?? Date.now();
    const engineId = record.engineId ?? null;
    if (engineId !== null) {
      const engineCounts = this.engineCountsOf(engineId);
      if (task.state === "done") engineCounts.done++;
      else engineCounts.failed++;
      engineCounts.lastEnd = Math.max(engineCounts.lastEnd, end);
      // Tasks that never reached an engine (aborted, timed out in the queue, memoized) have no lane.
      if (task.sentAt > 0) {
        const start = Math.min(end, record.started ?? task.sentAt);
        this.stream.push([++this.streamSeq, msgId, task.fn, engineId, start, end, task.state === "done" ? 1 : 0]);
        trim(this.stream, STREAM_KEEP);
      }
    }
    const error = record.reply?.content.error;
    if (task.state !== "done" && error) {
      this.errors.push({
        msgId,
        fn: task.fn,
        engineId: error.engineId ?? engineId,
        ename: error.ename,
        evalue: clip(error.evalue),
        time: end,
      });
      if (this.errors.length > ERRORS_KEEP) this.errors.shift();
    }
    this.version++;
  }

  private engineLeft(engine: EngineRecord, reason: string): void {
    // Tasks it held and that were not failed with it go back to the queue (retries).
    for (const msgId of [...engine.direct, ...engine.balanced]) {
      const task = this.live.get(msgId);
      if (task?.engine === engine.id) this.backToWaiting(task);
    }
    const counts = this.engineCountsOf(engine.id);
    this.lost.push({
      ...this.engineRow(engine, counts, undefined),
      state: "dead",
      queued: 0,
      running: 0,
      reason: clip(reason),
      cpu: null,
    });
    if (this.lost.length > LOST_ENGINES) this.lost.shift();
    this.version++;
  }

  private backToWaiting(task: TaskView): void {
    if (task.engine !== null) this.move(task, "onEngine", "waiting");
    task.engine = null;
    task.state = "waiting";
    this.version++;
  }

  private move(task: TaskView, from: "waiting" | "onEngine", to: "waiting" | "onEngine"): void {
    const counts = this.counts[task.fn] as FunctionCounts;
    counts[from]--;
    counts[to]++;
  }

  private functionOf(label: string): number {
    const known = this.functionIndex.get(label);
    if (known !== undefined) return known;
    // Beyond MAX_FUNCTIONS distinct labels (one per task, say), the rest share one bar.
    const name = this.functions.length < MAX_FUNCTIONS ? label : "(other functions)";
    const index = this.functionIndex.get(name) ?? this.functions.length;
    if (index === this.functions.length) {
      this.functions.push(name);
      this.counts.push({ total: 0, done: 0, erred: 0, waiting: 0, onEngine: 0 });
      this.functionRates.push(new SecondCounter());
      this.functionIndex.set(name, index);
    }
    if (name === label) this.functionIndex.set(label, index);
    return index;
  }

  private engineCountsOf(id: number): EngineCounts {
    let counts = this.engineCounts.get(id);
    if (!counts) {
      counts = { done: 0, failed: 0, lastEnd: 0, cpuHistory: [] };
      this.engineCounts.set(id, counts);
    }
    return counts;
  }

  // ---- snapshots ----

  /** The task each engine runs now: the oldest one it was sent (engines run in arrival order). */
  private running(): RunningView[] {
    const out: RunningView[] = [];
    for (const engine of this.hub.registry.all()) {
      let head: TaskView | undefined;
      for (const set of [engine.direct, engine.balanced]) {
        for (const msgId of set) {
          const task = this.live.get(msgId);
          if (task?.engine !== engine.id) continue;
          if (!head || task.sentAt < head.sentAt) head = task;
          break;
        }
      }
      if (head) {
        // It started when it arrived, or when the engine finished the task before it.
        const start = Math.max(head.sentAt, this.engineCounts.get(engine.id)?.lastEnd ?? 0);
        out.push({ msgId: head.msgId, fn: head.fn, engineId: engine.id, start });
      }
    }
    return out;
  }

  private runningIds(): Set<string> {
    return new Set(this.running().map((r) => r.msgId));
  }

  private stateOf(task: TaskView, running: Set<string>): ViewState {
    return task.state === "queued" && running.has(task.msgId) ? "running" : task.state;
  }

  private engines(running: RunningView[]): EngineView[] {
    const live = [...this.hub.registry.all()]
      .sort((a, b) => a.id - b.id)
      .map((engine) => {
        const isRunning = running.some((r) => r.engineId === engine.id);
        const outstanding = engine.direct.size + engine.balanced.size;
        return this.engineRow(
          engine,
          this.engineCountsOf(engine.id),
          isRunning ? { running: 1, queued: Math.max(0, outstanding - 1) } : { running: 0, queued: outstanding },
        );
      });
    return [...live, ...[...this.lost].reverse()];
  }

  private engineRow(engine: EngineRecord, counts: EngineCounts, load: { running: number; queued: number } | undefined): EngineView {
    return {
      id: engine.id,
      host: engine.hostname,
      pid: engine.pid,
      state: load?.running ? "busy" : "idle",
      queued: load?.queued ?? 0,
      running: load?.running ?? 0,
      done: counts.done,
      failed: counts.failed,
      cpu: engine.stats?.cpu ?? null,
      rss: engine.stats?.rss ?? null,
      bytesIn: engine.bytesIn,
      bytesOut: engine.bytesOut,
      lastBeat: engine.lastBeat,
      cpuHistory: counts.cpuHistory.slice(-60),
    };
  }

  private controller(): ControllerView {
    const memory = process.memoryUsage();
    let onEngines = 0;
    for (const engine of this.hub.registry.all()) onEngines += engine.direct.size + engine.balanced.size;
    return {
      pid: process.pid,
      uptime: Date.now() - this.hub.started,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      loopDelay: this.loopDelay,
      rateIn: this.tasksIn.rate(),
      rateOut: this.tasksOut.rate(),
      historyIn: this.tasksIn.history(),
      historyOut: this.tasksOut.history(),
      unassigned: this.hub.scheduler.unassigned,
      onEngines,
      submitted: this.submitted,
      finished: this.finished,
      dropped: { ...this.hub.codec.dropped },
    };
  }

  private graph(running: Set<string>): GraphView {
    const tasks = this.window.slice(-GRAPH_WINDOW);
    const position = new Map(tasks.map((t, i) => [t.msgId, i]));
    const pairs: Array<[number, number]> = [];
    for (const [i, task] of tasks.entries()) {
      const record = this.hub.db.get(task.msgId);
      for (const dep of record ? dependenciesOf(record) : []) {
        const from = position.get(dep);
        if (from !== undefined) pairs.push([from, i]);
      }
    }
    if (tasks.length <= GRAPH_TASK_NODES) {
      return {
        mode: "tasks",
        tasks: tasks.length,
        nodes: tasks.map((t) => ({
          id: t.msgId,
          fn: t.fn,
          state: this.stateOf(t, running),
          engineId: t.engine ?? this.hub.db.get(t.msgId)?.engineId ?? null,
        })),
        edges: pairs.map(([a, b]) => [a, b, 1]),
      };
    }
    // Many tasks: one node per function with its tasks counted by state, edges counted.
    const groups = new Map<number, { id: string; fn: number; state: ViewState; counts: Partial<Record<ViewState, number>> }>();
    for (const task of tasks) {
      const group = groups.get(task.fn) ?? { id: String(task.fn), fn: task.fn, state: "done" as ViewState, counts: {} };
      const state = this.stateOf(task, running);
      group.counts[state] = (group.counts[state] ?? 0) + 1;
      groups.set(task.fn, group);
    }
    const nodes = [...groups.values()].map((g) => ({ ...g, state: dominant(g.counts) }));
    const index = new Map(nodes.map((n, i) => [n.fn, i]));
    const edges = new Map<string, [number, number, number]>();
    for (const [a, b] of pairs) {
      const from = index.get((tasks[a] as TaskView).fn) as number;
      const to = index.get((tasks[b] as TaskView).fn) as number;
      if (from === to) continue;
      const edge = edges.get(`${from}>${to}`) ?? [from, to, 0];
      edge[2]++;
      edges.set(`${from}>${to}`, edge);
    }
    return { mode: "groups", tasks: tasks.length, nodes, edges: [...edges.values()] };
  }
}

/**
 * Keeps at least the newest `keep` items, cutting only when twice that many piled up: shifting
 * a long array on every push would cost O(keep) per task.
 */
function trim<T>(items: T[], keep: number): void {
  if (items.length >= 2 * keep) items.splice(0, items.length - keep);
}

/** The state a group is coloured by: failures first, then work in progress, then done. */
function dominant(counts: Partial<Record<ViewState, number>>): ViewState {
  for (const state of ["failed", "running", "queued", "waiting", "aborted"] as const) if (counts[state]) return state;
  return "done";
}
