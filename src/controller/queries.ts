/**
 * Answers to client queries: engines, queue status, abort, signals, shutdown, stored results,
 * history, resubmission and purging.
 */
import type { QueryOp } from "../protocol/contents.js";
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
  control(engine: EngineRecord, content: Record<string, unknown>, toSupervisor?: boolean): boolean;
  resubmit(record: TaskRecord, identity: Buffer, msgId: string): string;
  emit(event: "shutdown-requested"): boolean;
}

/** A query answer: JSON content plus value frames. */
export interface QueryAnswer {
  content: Record<string, unknown>;
  buffers: Buffer[];
}

type QueryContent = {
  op?: QueryOp;
  targets?: number[];
  msgIds?: string[] | "all";
  newIds?: string[];
  signal?: string;
  hub?: boolean;
  filter?: unknown;
  keys?: string[];
};

const SIGNALS = new Set(["SIGINT", "SIGTERM", "SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT"]);

/** Dispatches one query. Throws with a message naming what was wrong. */
export async function answerQuery(hub: QueryHost, identity: Buffer, raw: Record<string, unknown>): Promise<QueryAnswer> {
  const query = raw as QueryContent;
  switch (query.op) {
    case "connect":
    case "engines":
      return plain({
        engines: engineList(hub),
        heartbeatInterval: hub.options.heartbeatInterval,
        maxMessageBytes: hub.options.maxMessageBytes,
      });
    case "queue_status":
      return plain(queueStatus(hub, query.targets));
    case "abort":
      return plain({ aborted: abort(hub, query.msgIds, query.targets) });
    case "signal":
      return plain({
        signalled: signal(hub, query.signal, query.msgIds === undefined ? query.targets : runningEngines(hub, asIds(query.msgIds))),
      });
    case "shutdown":
      return plain(shutdown(hub, query.targets, query.hub === true));
    case "get_result":
      return results(hub, asIds(query.msgIds));
    case "history":
      return plain({ msgIds: hub.db.history() });
    case "resubmit":
      return plain({ msgIds: resubmit(hub, identity, asIds(query.msgIds), asIds(query.newIds)) });
    case "validate":
      return plain({ violations: hub.violations() });
    case "db_query":
      validateFilter(query.filter);
      return plain({ records: hub.db.query(query.filter).map((r) => project(r, query.keys)) });
    case "purge":
      return plain({ purged: hub.db.purge(query.msgIds === "all" ? "all" : asIds(query.msgIds)) });
    default:
      throw new Error(`unknown query ${JSON.stringify(query.op)}`);
  }
}

function plain(content: Record<string, unknown>): QueryAnswer {
  return { content, buffers: [] };
}

function asIds(ids: unknown): string[] {
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) throw new Error("msgIds must be an array of msg id strings");
  return ids;
}

function engineList(hub: QueryHost): Array<Record<string, unknown>> {
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

function queueStatus(hub: QueryHost, targets: number[] | undefined): Record<string, unknown> {
  const status: Record<string, unknown> = {};
  for (const engine of targetEngines(hub, targets)) {
    status[engine.id] = { queue: engine.direct.size, tasks: engine.balanced.size, completed: engine.completed };
  }
  status.unassigned = hub.scheduler.unassigned;
  const waiting = hub.scheduler.waitingReason();
  if (waiting !== undefined) status.waiting = waiting;
  return status;
}

function abort(hub: QueryHost, msgIds: string[] | "all" | undefined, targets: number[] | undefined): string[] {
  const ids = msgIds === undefined || msgIds === "all" ? undefined : asIds(msgIds);
  const aborted = hub.abortQueued(ids);
  for (const engine of targetEngines(hub, targets)) {
    const owned = ids ? ids.filter((id) => engine.direct.has(id) || engine.balanced.has(id)) : [...engine.direct];
    if (owned.length > 0) hub.control(engine, { op: "abort", msgIds: owned });
  }
  return aborted;
}

function signal(hub: QueryHost, name: string | undefined, targets: number[] | undefined): number[] {
  if (!name || !SIGNALS.has(name)) throw new Error(`signal must be one of ${[...SIGNALS].join(", ")}, got ${JSON.stringify(name)}`);
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

function shutdown(hub: QueryHost, targets: number[] | undefined, wholeHub: boolean): Record<string, unknown> {
  const engines = targetEngines(hub, targets);
  for (const engine of engines) hub.control(engine, { op: "shutdown" });
  if (wholeHub) setTimeout(() => hub.emit("shutdown-requested"), 50).unref();
  return { engines: engines.map((e) => e.id), hub: wholeHub };
}

function results(hub: QueryHost, msgIds: string[]): QueryAnswer {
  const buffers: Buffer[] = [];
  const entries = msgIds.map((msgId) => {
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
