/**
 * Answers to client queries: engines, queue status, abort, signals, shutdown, stored results,
 * history, resubmission and purging.
 */
import type { ControlContent } from "../protocol/contents.js";
import type {
  ConnectReply,
  EngineSummary,
  QueryAnswer,
  QueryArgs,
  QueryHandlers,
  QueryOp,
  QueryRequest,
  QueueStatus,
  StoredResult,
} from "../protocol/query-table.js";
import type { EngineRecord, TaskRecord } from "../scheduler/records.js";
import type { TaskScheduler } from "../scheduler/task-scheduler.js";
import { project, validateFilter } from "./db-query.js";
import type { EngineRegistry } from "./registry.js";
import type { TaskDatabase } from "./task-db.js";

/** What queries read and act on: the hub, seen through the parts they use. */
export interface QueryHost {
  readonly options: { readonly heartbeatInterval: number; readonly maxMessageBytes: number };
  readonly db: TaskDatabase;
  readonly registry: EngineRegistry;
  readonly scheduler: Pick<TaskScheduler, "unassigned" | "waitingReason">;
  violations(): string[];
  abortQueued(msgIds?: readonly string[]): string[];
  control(engine: EngineRecord, content: ControlContent, toSupervisor?: boolean): boolean;
  resubmit(record: TaskRecord, identity: Buffer, msgId: string): string;
  emit(event: "shutdown-requested"): boolean;
}

const SIGNALS = new Set(["SIGINT", "SIGTERM", "SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT"]);

/** One handler per query of the table: a query without one, or a reply of another shape, does not compile. */
const HANDLERS: QueryHandlers<QueryHost> = {
  connect: (hub) => plain(connectReply(hub)),
  engines: (hub) => plain(connectReply(hub)),
  queue_status: (hub, { targets }) => plain(queueStatus(hub, targets)),
  abort: (hub, { msgIds, targets }) => plain({ aborted: abort(hub, msgIds, targets) }),
  signal: (hub, { signal: name, msgIds, targets }) =>
    plain({ signalled: signal(hub, name, msgIds === undefined ? targets : runningEngines(hub, msgIds)) }),
  shutdown: (hub, { targets, hub: wholeHub }) => plain(shutdown(hub, targets, wholeHub === true)),
  get_result: (hub, { msgIds }) => results(hub, msgIds),
  history: (hub) => plain({ msgIds: hub.db.history() }),
  resubmit: (hub, { msgIds, newIds }, identity) => plain({ msgIds: resubmit(hub, identity, msgIds, newIds) }),
  validate: (hub) => plain({ violations: hub.violations() }),
  db_query: (hub, { filter, keys }) => {
    validateFilter(filter);
    return plain({ records: hub.db.query(filter).map((r) => project(r, keys)) });
  },
  purge: (hub, { msgIds }) => plain({ purged: hub.db.purge(msgIds) }),
};

function dispatch<Op extends QueryOp>(hub: QueryHost, op: Op, args: QueryArgs<Op>, identity: Buffer): QueryAnswer<Op> {
  return HANDLERS[op](hub, args, identity);
}

/** Answers one query (checked at the hub's entrance). Throws with a message naming what was wrong. */
export function answerQuery(hub: QueryHost, identity: Buffer, query: QueryRequest): QueryAnswer {
  return dispatch(hub, query.op, query, identity);
}

function plain<C>(content: C): { content: C; buffers: Buffer[] } {
  return { content, buffers: [] };
}

function connectReply(hub: QueryHost): ConnectReply {
  return { engines: engineList(hub), heartbeatInterval: hub.options.heartbeatInterval, maxMessageBytes: hub.options.maxMessageBytes };
}

function engineList(hub: QueryHost): EngineSummary[] {
  return [...hub.registry.all()].map((e) => ({
    id: e.id,
    pid: e.pid,
    hostname: e.hostname,
    supervisorPid: e.supervisorPid ?? null,
    cwd: e.cwd,
  }));
}

function targetEngines(hub: QueryHost, targets: number[] | undefined): EngineRecord[] {
  if (targets === undefined) return [...hub.registry.all()];
  return targets.map((id) => {
    const engine = hub.registry.get(id);
    if (!engine) throw new Error(`engine ${id} is not registered (registered: [${hub.registry.ids().join(", ")}])`);
    return engine;
  });
}

function queueStatus(hub: QueryHost, targets: number[] | undefined): QueueStatus {
  const status: QueueStatus = { unassigned: hub.scheduler.unassigned };
  for (const engine of targetEngines(hub, targets)) {
    status[engine.id] = { queue: engine.direct.size, tasks: engine.balanced.size, completed: engine.completed };
  }
  const waiting = hub.scheduler.waitingReason();
  if (waiting !== undefined) status.waiting = waiting;
  return status;
}

function abort(hub: QueryHost, msgIds: string[] | "all" | undefined, targets: number[] | undefined): string[] {
  const ids = msgIds === undefined || msgIds === "all" ? undefined : msgIds;
  const aborted = hub.abortQueued(ids);
  for (const engine of targetEngines(hub, targets)) {
    const owned = ids ? ids.filter((id) => engine.direct.has(id) || engine.balanced.has(id)) : [...engine.direct];
    if (owned.length > 0) hub.control(engine, { op: "abort", msgIds: owned });
  }
  return aborted;
}

function signal(hub: QueryHost, name: string, targets: number[] | undefined): number[] {
  if (!SIGNALS.has(name)) throw new Error(`signal must be one of ${[...SIGNALS].join(", ")}, got ${JSON.stringify(name)}`);
  const signalled: number[] = [];
  for (const engine of targetEngines(hub, targets)) {
    if (hub.control(engine, { op: "signal", signal: name }, true)) signalled.push(engine.id);
    else if (tryKill(engine.pid, name)) signalled.push(engine.id);
  }
  return signalled;
}

/** Engines currently running (or queueing) any of these tasks. */
function runningEngines(hub: QueryHost, msgIds: string[]): number[] {
  const ids = new Set<number>();
  for (const msgId of msgIds) {
    const record = hub.db.get(msgId);
    if (record && record.phase !== "done" && record.engineId !== undefined && hub.registry.get(record.engineId)) ids.add(record.engineId);
  }
  return [...ids];
}

function tryKill(pid: number, name: string): boolean {
  try {
    process.kill(pid, name as NodeJS.Signals);
    return true;
  } catch {
    return false;
  }
}

function shutdown(hub: QueryHost, targets: number[] | undefined, wholeHub: boolean): { engines: number[]; hub: boolean } {
  const engines = targetEngines(hub, targets);
  for (const engine of engines) hub.control(engine, { op: "shutdown" });
  if (wholeHub) setTimeout(() => hub.emit("shutdown-requested"), 50).unref();
  return { engines: engines.map((e) => e.id), hub: wholeHub };
}

function results(hub: QueryHost, msgIds: string[]): QueryAnswer<"get_result"> {
  const buffers: Buffer[] = [];
  const entries = msgIds.map((msgId): StoredResult => {
    const record = hub.db.get(msgId);
    if (!record) {
      return { msgId, status: "unknown", culled: hub.db.wasCulled(msgId) };
    }
    if (!record.reply) return { msgId, status: "pending", engineId: record.engineId ?? null };
    const start = buffers.length;
    buffers.push(...record.reply.buffers);
    return {
      msgId,
      status: record.reply.content.status,
      content: record.reply.content,
      metadata: record.reply.metadata,
      frames: [start, buffers.length],
      submitted: record.submitted,
    };
  });
  return { content: { results: entries }, buffers };
}

function resubmit(hub: QueryHost, identity: Buffer, msgIds: string[], newIds: string[]): string[] {
  if (newIds.length !== msgIds.length) throw new Error(`resubmit needs one new msg id per task (${msgIds.length}), got ${newIds.length}`);
  const records = msgIds.map((msgId) => {
    const record = hub.db.get(msgId);
    if (!record)
      throw new Error(
        `cannot resubmit ${msgId}: ${hub.db.wasCulled(msgId) ? "its record was culled from the task database" : "no such task"}`,
      );
    return record;
  });
  return records.map((record, i) => hub.resubmit(record, identity, newIds[i] as string));
}
