/**
 * The hub's task database: every request and its result. The memory backend is bounded by
 * record count and bytes (IPython Parallel keeps everything and grows without limit); culled
 * ids are remembered so that `getResult` can say the record was culled rather than unknown.
 */
import { Fifo } from "../fifo.js";
import type { TaskLookup, TaskRecord } from "../scheduler/records.js";
import { CulledIds } from "./culled-ids.js";
import { matches, summarize } from "./db-query.js";
import type { DbFilter, TaskSummary } from "./db-query.js";

/** Storage of task records. */
export interface TaskDatabase extends TaskLookup {
  add(record: TaskRecord): void;
  /** Called after a record changed (so a persistent backend can write it). */
  update(record: TaskRecord): void;
  /** Msg ids in submission order. */
  history(): string[];
  /** Deletes finished records (all, or the given ids). Returns how many were removed. */
  purge(msgIds: readonly string[] | "all"): number;
  /** Summaries of the records matching a filter, oldest first. */
  query(filter: DbFilter): TaskSummary[];
  close(): void;
}

/**
 * Bounds of the memory database. They count finished records only: unfinished ones are still
 * owed a result and are never culled, nor are finished ones that an unfinished task still
 * depends on (their values or outcomes are needed when it runs).
 */
export interface MemoryDbLimits {
  maxRecords: number;
  maxBytes: number;
}

/**
 * Default bounds: enough for the results clients still ask for, small enough that a
 * long-running controller stays flat (a record costs a few KB). SQLite keeps everything.
 */
export const DEFAULT_DB_LIMITS: MemoryDbLimits = { maxRecords: 10_000, maxBytes: 256 * 1024 * 1024 };
/**
 * How many culled ids are remembered, with their outcome (to say "culled" rather than
 * "unknown"); older ones are forgotten.
 */
const CULLED_MEMORY = 200_000;

function recordBytes(record: TaskRecord): number {
  let bytes = 256;
  for (const b of record.requestBuffers) bytes += b.byteLength;
  for (const b of record.reply?.buffers ?? []) bytes += b.byteLength;
  return bytes + (record.reply?.metadata.stdout?.length ?? 0) + (record.reply?.metadata.stderr?.length ?? 0);
}

/** The ids a request depends on: futures passed as arguments, `after` and `follow`. */
function dependencyIds(record: TaskRecord): string[] {
  const meta = record.requestMetadata;
  return [...(meta.argRefs ?? []), ...(meta.after?.ids ?? []), ...(meta.follow?.ids ?? [])];
}

/**
 * The default, bounded in-memory database. Every operation but the explicit whole-database
 * ones (history, query, purge of all) costs O(1) per record, however many are unfinished:
 * finished records wait for culling in their own queue, oldest finished first.
 */
export class MemoryTaskDatabase implements TaskDatabase {
  private readonly records = new Map<string, TaskRecord>();
  /** Finished records that may be culled, with their size in bytes. */
  private readonly cullable = new Map<string, number>();
  /** Their ids, oldest finished first (and ids purged since, skipped when reached). */
  private readonly cullOrder = new Fifo<string>();
  private cullableBytes = 0;
  /** Finished records that unfinished tasks depend on: kept until those finish. */
  private readonly held = new Set<string>();
  /** Per id, how many unfinished tasks depend on it. */
  private readonly dependents = new Map<string, number>();
  /** Culled ids and whether they succeeded, oldest first. */
  private readonly culled = new CulledIds(CULLED_MEMORY);

  constructor(private readonly limits: MemoryDbLimits = DEFAULT_DB_LIMITS) {}

  add(record: TaskRecord): void {
    this.records.set(record.msgId, record);
    if (record.phase === "done") {
      this.settled(record);
      this.cull();
    } else {
      for (const id of dependencyIds(record)) this.dependents.set(id, (this.dependents.get(id) ?? 0) + 1);
    }
  }

  get(msgId: string): TaskRecord | undefined {
    return this.records.get(msgId);
  }

  update(record: TaskRecord): void {
    const id = record.msgId;
    if (record.phase !== "done" || !this.records.has(id)) return;
    if (this.held.has(id)) return;
    const size = this.cullable.get(id);
    if (size === undefined) {
      // Just finished: what it depended on may go now.
      this.settled(record);
      for (const dependency of dependencyIds(record)) this.release(dependency);
      this.cull();
      return;
    }
    // A finished record changed (resubmitted): it keeps its place, its size is counted again.
    const now = recordBytes(record);
    this.cullable.set(id, now);
    this.cullableBytes += now - size;
  }

  wasCulled(msgId: string): boolean {
    return this.culled.get(msgId) !== undefined;
  }

  culledStatus(msgId: string): "ok" | "failed" | undefined {
    const ok = this.culled.get(msgId);
    return ok === undefined ? undefined : ok ? "ok" : "failed";
  }

  history(): string[] {
    return [...this.records.keys()];
  }

  /** Removes finished records, except those an unfinished task still depends on. */
  purge(msgIds: readonly string[] | "all"): number {
    const ids = msgIds === "all" ? [...this.cullable.keys()] : msgIds;
    let removed = 0;
    for (const id of ids) {
      if (!this.cullable.has(id)) continue;
      this.drop(id);
      removed++;
    }
    return removed;
  }

  query(filter: DbFilter): TaskSummary[] {
    const out: TaskSummary[] = [];
    for (const record of this.records.values()) {
      const summary = summarize(record);
      if (matches(summary, filter)) out.push(summary);
    }
    return out;
  }

  close(): void {
    this.records.clear();
    this.cullable.clear();
    this.held.clear();
    this.dependents.clear();
    this.cullableBytes = 0;
  }

  /** A finished record is held while unfinished tasks depend on it, else it waits for culling. */
  private settled(record: TaskRecord): void {
    if (this.dependents.has(record.msgId)) this.held.add(record.msgId);
    else this.queueForCulling(record.msgId, record);
  }

  /** One dependent of `id` finished; once none is left, a held record may be culled. */
  private release(id: string): void {
    const left = (this.dependents.get(id) ?? 1) - 1;
    if (left > 0) {
      this.dependents.set(id, left);
      return;
    }
    this.dependents.delete(id);
    const record = this.held.delete(id) ? this.records.get(id) : undefined;
    if (record) this.queueForCulling(id, record);
  }

  private queueForCulling(id: string, record: TaskRecord): void {
    const size = recordBytes(record);
    this.cullable.set(id, size);
    this.cullOrder.push(id);
    this.cullableBytes += size;
  }

  /** Oldest finished records go first, one at a time: O(1) per record culled. */
  private cull(): void {
    while (this.cullable.size > this.limits.maxRecords || (this.cullableBytes > this.limits.maxBytes && this.cullable.size > 0)) {
      const id = this.cullOrder.shift() as string;
      if (!this.cullable.has(id)) continue;
      const record = this.records.get(id);
      this.drop(id);
      this.culled.set(id, record?.reply?.content.status === "ok");
    }
  }

  private drop(id: string): void {
    this.records.delete(id);
    this.cullableBytes -= this.cullable.get(id) ?? 0;
    this.cullable.delete(id);
  }
}
