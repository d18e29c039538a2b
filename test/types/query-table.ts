// Type tests of the query table: checked by tsc (tsconfig.test.json, run by
// test/types/typecheck.test.ts), never run. Every `@ts-expect-error` line must fail to compile.
import type { Client, QueueStatus } from "../../src/index.js";
import type { QueryHandlers, StoredResult } from "../../src/protocol/query-table.js";

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
declare function exact<Expected>(): <Actual>(
  value: Actual,
  ...mismatch: Equal<Actual, Expected> extends true ? [] : ["expected", Expected, "got", Actual]
) => void;

export async function clientQueries(rc: Client): Promise<void> {
  exact<QueueStatus>()((await rc.query("queue_status", { targets: [0] })).content);
  exact<StoredResult[]>()((await rc.query("get_result", { msgIds: ["a"] })).content.results);
  exact<string[]>()((await rc.query("history", {})).content.msgIds);
  exact<number>()((await rc.query("purge", { msgIds: "all" })).content.purged);
  // @ts-expect-error: no such query
  await rc.query("drop_tables", {});
  // @ts-expect-error: arguments of another query
  await rc.query("get_result", { targets: [0] });
  // @ts-expect-error: msg ids are strings
  await rc.query("get_result", { msgIds: [1] });
  // @ts-expect-error: signal needs its signal
  await rc.query("signal", { targets: [0] });
  // @ts-expect-error: purge takes msg ids or "all", not "some"
  await rc.query("purge", { msgIds: "some" });
  // @ts-expect-error: the reply of history has no records
  void (await rc.query("history", {})).content.records;
  // @ts-expect-error: queue status counts are numbers
  exact<string>()((await rc.query("queue_status", {})).content.unassigned);
}

const answer = <C>(content: C) => ({ content, buffers: [] });
const engines = answer({ engines: [], heartbeatInterval: 1000, maxMessageBytes: 1 });

/** A complete handler map compiles. */
export const complete: QueryHandlers<null> = {
  connect: () => engines,
  engines: () => engines,
  queue_status: () => answer({ unassigned: 0 }),
  abort: (_, { msgIds }) => answer({ aborted: msgIds === "all" || msgIds === undefined ? [] : msgIds }),
  signal: (_, { targets }) => answer({ signalled: targets ?? [] }),
  shutdown: (_, { targets, hub }) => answer({ engines: targets ?? [], hub: hub === true }),
  get_result: (_, { msgIds }) => answer({ results: msgIds.map((msgId) => ({ msgId, status: "unknown" as const, culled: false })) }),
  history: () => answer({ msgIds: [] }),
  resubmit: (_, { newIds }) => answer({ msgIds: newIds }),
  validate: () => answer({ violations: [] }),
  db_query: () => answer({ records: [] }),
  purge: () => answer({ purged: 0 }),
};

// @ts-expect-error: a query without a handler (purge)
export const missing: QueryHandlers<null> = {
  connect: () => engines,
  engines: () => engines,
  queue_status: () => answer({ unassigned: 0 }),
  abort: () => answer({ aborted: [] }),
  signal: () => answer({ signalled: [] }),
  shutdown: () => answer({ engines: [], hub: false }),
  get_result: () => answer({ results: [] }),
  history: () => answer({ msgIds: [] }),
  resubmit: () => answer({ msgIds: [] }),
  validate: () => answer({ violations: [] }),
  db_query: () => answer({ records: [] }),
};

export const wrongReply: QueryHandlers<null> = {
  ...complete,
  // @ts-expect-error: history answers msg ids, not numbers
  history: () => answer({ msgIds: [1, 2] }),
};

export const wrongArgs: QueryHandlers<null> = {
  ...complete,
  // @ts-expect-error: resubmit's arguments have no targets
  resubmit: (_, { targets }) => answer({ msgIds: targets }),
};
