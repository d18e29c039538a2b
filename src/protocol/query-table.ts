/**
 * The client's queries to the hub, as one table `op → { args, reply }`, in the manner of
 * vscode-jsonrpc's `RequestType<P, R, E>`: `client.query(op, args)` and the hub's handler map
 * are both typed from it, so a query without a handler, wrong arguments or a reply of the
 * wrong shape do not compile. The guards check the same shapes at run time where a query or
 * its reply enters a process. A query that fails is answered by an `error_reply`. Pure: no I/O.
 */
import {
  array,
  boolean,
  either,
  integer,
  literal,
  nullable,
  number,
  object,
  optional,
  pair,
  record,
  string,
  unknown,
  variants,
} from "./guard.js";
import type { Guard } from "./guard.js";
import { REPLY_CONTENT, REPLY_METADATA } from "./content-guards.js";
import type { Empty, ReplyContent, ReplyMetadata } from "./contents.js";

/** One registered engine, as queries list it. */
export interface EngineSummary {
  id: number;
  pid: number;
  hostname: string;
  supervisorPid: number | null;
  cwd: string;
}

/** What a client learns when it connects. */
export interface ConnectReply {
  engines: EngineSummary[];
  /** Milliseconds between heartbeats. */
  heartbeatInterval: number;
  /** Largest request the controller accepts, in bytes. */
  maxMessageBytes: number;
}

/** Status of one engine's queues, as `queueStatus()` returns it. */
export interface EngineQueueStatus {
  queue: number;
  tasks: number;
  completed: number;
}

/**
 * `queueStatus()` result: per engine id, plus tasks not yet assigned and, when no engine can
 * take them, why they wait (`waiting`).
 */
export type QueueStatus = Record<number, EngineQueueStatus> & { unassigned: number; waiting?: string };

/** A finished task's stored reply; its value frames are `frames` of the answer's buffers. */
export interface FinishedResult<S extends ReplyContent["status"]> {
  msgId: string;
  status: S;
  content: ReplyContent;
  metadata: ReplyMetadata;
  /** Range of the answer's buffers that hold the value. */
  frames: [number, number];
  submitted: number;
}

/** What the hub holds of one task asked for by `get_result`. */
export type StoredResult =
  | { msgId: string; status: "unknown"; culled: boolean }
  | { msgId: string; status: "pending"; engineId: number | null }
  | FinishedResult<"ok">
  | FinishedResult<"error">
  | FinishedResult<"aborted">;

/** Every query: its arguments and its reply. */
export interface QueryTable {
  connect: { args: Empty; reply: ConnectReply };
  engines: { args: Empty; reply: ConnectReply };
  queue_status: { args: { targets?: number[] }; reply: QueueStatus };
  /** Without `msgIds` (or with `"all"`), every queued task. */
  abort: { args: { msgIds?: string[] | "all"; targets?: number[] }; reply: { aborted: string[] } };
  /** The engines running `msgIds`, or `targets`, or all engines. */
  signal: { args: { signal: string; targets?: number[]; msgIds?: string[] }; reply: { signalled: number[] } };
  shutdown: { args: { targets?: number[]; hub?: boolean }; reply: { engines: number[]; hub: boolean } };
  get_result: { args: { msgIds: string[] }; reply: { results: StoredResult[] } };
  history: { args: Empty; reply: { msgIds: string[] } };
  resubmit: { args: { msgIds: string[]; newIds: string[] }; reply: { msgIds: string[] } };
  validate: { args: Empty; reply: { violations: string[] } };
  /** `filter` is checked by the hub (fields and operators), which names what it refuses. */
  db_query: { args: { filter: unknown; keys?: string[] }; reply: { records: Array<Record<string, unknown>> } };
  purge: { args: { msgIds: string[] | "all" }; reply: { purged: number } };
}

/** A query's name. */
export type QueryOp = keyof QueryTable;
/** The arguments of query `Op`. */
export type QueryArgs<Op extends QueryOp> = QueryTable[Op]["args"];
/** The reply content of query `Op`. */
export type QueryReply<Op extends QueryOp> = QueryTable[Op]["reply"];

/** A query's reply: its content and the value frames it carries (stored results). */
export interface QueryAnswer<Op extends QueryOp = QueryOp> {
  content: QueryReply<Op>;
  buffers: Buffer[];
}

/** How a host of type `H` (the hub) answers query `Op`; `identity` is the asking client's. */
export type QueryHandler<H, Op extends QueryOp> = (host: H, args: QueryArgs<Op>, identity: Buffer) => QueryAnswer<Op>;

/** One handler per query: a query without one, or a handler whose reply has another shape, does not compile. */
export type QueryHandlers<H> = { [Op in QueryOp]: QueryHandler<H, Op> };

/** Content of a `query_request`: the op and its arguments, one shape per op. */
export type QueryRequest = { [Op in QueryOp]: { op: Op } & QueryArgs<Op> }[QueryOp];

/** Content of a `query_reply`: the reply of one of the queries. */
export type QueryReplyContent = QueryReply<QueryOp>;

/**
 * The `query_reply` guard at a client's entrance: only that the content is an object. Which
 * reply shape it must have depends on the query asked, so the client checks it against
 * {@link QUERY_REPLY} for that query once it has matched the reply to its request.
 */
export const QUERY_REPLY_CONTENT = record(unknown) as Guard<QueryReplyContent>;

// ---- guards ----

const ids = array(string);
const engineIds = array(integer);
const idsOrAll = either(literal("all"), ids, 'a list of msg ids or "all"');
const noArgs = <Op extends QueryOp>(op: Op) => object({ op: literal(op) });

/** The `query_request` guard: one per op. */
export const QUERY_REQUEST: Guard<QueryRequest> = variants<"op", QueryRequest>("op", {
  connect: noArgs("connect"),
  engines: noArgs("engines"),
  queue_status: object({ op: literal("queue_status"), targets: optional(engineIds) }),
  abort: object({ op: literal("abort"), msgIds: optional(idsOrAll), targets: optional(engineIds) }),
  signal: object({ op: literal("signal"), signal: string, targets: optional(engineIds), msgIds: optional(ids) }),
  shutdown: object({ op: literal("shutdown"), targets: optional(engineIds), hub: optional(boolean) }),
  get_result: object({ op: literal("get_result"), msgIds: ids }),
  history: noArgs("history"),
  resubmit: object({ op: literal("resubmit"), msgIds: ids, newIds: ids }),
  validate: noArgs("validate"),
  db_query: object({ op: literal("db_query"), filter: unknown, keys: optional(ids) }),
  purge: object({ op: literal("purge"), msgIds: idsOrAll }),
});

const connectReply = object<ConnectReply>({
  engines: array(object<EngineSummary>({ id: integer, pid: integer, hostname: string, supervisorPid: nullable(integer), cwd: string })),
  heartbeatInterval: number,
  maxMessageBytes: number,
});

const engineQueue = object<EngineQueueStatus>({ queue: integer, tasks: integer, completed: integer });

const queueTotals = object<{ unassigned: number; waiting?: string }>({ unassigned: integer, waiting: optional(string) });

const queueStatus: Guard<QueueStatus> = ((value: unknown) => {
  const problem = queueTotals(value);
  if (problem !== undefined) return problem;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (key === "unassigned" || key === "waiting") continue;
    if (!/^\d+$/.test(key)) return `.${key} is not an engine id`;
    const bad = engineQueue(item);
    if (bad !== undefined) return `.${key}${bad}`;
  }
  return undefined;
}) as Guard<QueueStatus>;

const finished = <S extends ReplyContent["status"]>(status: S) =>
  object<FinishedResult<S>>({
    msgId: string,
    status: literal(status),
    content: REPLY_CONTENT,
    metadata: REPLY_METADATA,
    frames: pair(integer, integer),
    submitted: number,
  });

const storedResult = variants<"status", StoredResult>("status", {
  unknown: object({ msgId: string, status: literal("unknown"), culled: boolean }),
  pending: object({ msgId: string, status: literal("pending"), engineId: nullable(integer) }),
  ok: finished("ok"),
  error: finished("error"),
  aborted: finished("aborted"),
});

/** The reply guard of every query: a query without one does not compile. */
export const QUERY_REPLY: { [Op in QueryOp]: Guard<QueryReply<Op>> } = {
  connect: connectReply,
  engines: connectReply,
  queue_status: queueStatus,
  abort: object({ aborted: ids }),
  signal: object({ signalled: engineIds }),
  shutdown: object({ engines: engineIds, hub: boolean }),
  get_result: object({ results: array(storedResult) }),
  history: object({ msgIds: ids }),
  resubmit: object({ msgIds: ids }),
  validate: object({ violations: array(string) }),
  db_query: object({ records: array(record(unknown)) }),
  purge: object({ purged: integer }),
};
