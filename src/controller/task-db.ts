/**
 * The hub's task database: every request and its result. The memory backend is bounded by
 * record count and bytes (IPython Parallel keeps everything and grows without limit); culled
 * ids are remembered so that `getResult` can say the record was culled rather than unknown.
 */
import type { TaskLookup, TaskRecord } from "../scheduler/records.js";
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

/** Bounds of the memory database. */
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
 * "unknown", and to keep dependencies on them exact); older ones are forgotten.
 */
const CULLED_MEMORY = 200_000;

function recordBytes(record: TaskRecord): number {
  let bytes = 256;
  for (const b of record.requestBuffers) bytes += b.byteLength;
  for (const b of record.reply?.buffers ?? []) bytes += b.byteLength;
  return bytes + (record.reply?.metadata.stdout?.length ?? 0) + (record.reply?.metadata.stderr?.length ?? 0);
}

/** The default, bounded in-memory database. */
export class MemoryTaskDatabase implements TaskDatabase {
  private readonly records = new Map<string, TaskRecord>();
  private readonly sizes = new Map<string, number>();
  /** Culled ids and whether they succeeded, oldest first. */
  private readonly culled = new Map<string, boolean>();
  private bytes = 0;

  constructor(private readonly limits: MemoryDbLimits = DEFAULT_DB_LIMITS) {}

  add(record: TaskRecord): void {
    this.records.set(record.msgId, record);
    this.track(record);
    this.cull();
  }

  get(msgId: string): TaskRecord | undefined {
    return this.records.get(msgId);
  }

  update(record: TaskRecord): void {
    if (!this.records.has(record.msgId)) return;
    this.track(record);
    if (record.phase === "done") this.cull();
  }

  wasCulled(msgId: string): boolean {
    return this.culled.has(msgId);
  }

  culledStatus(msgId: string): "ok" | "failed" | undefined {
    const ok = this.culled.get(msgId);
    return ok === undefined ? undefined : ok ? "ok" : "failed";
  }

  history(): string[] {
    return [...this.records.keys()];
  }

  purge(msgIds: readonly string[] | "all"): number {
    const ids = msgIds === "all" ? [...this.records.keys()] : msgIds;
    let removed = 0;
    for (const id of ids) {
      const record = this.records.get(id);
      if (record?.phase !== "done") continue;
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
    this.sizes.clear();
  }

  private track(record: TaskRecord): void {
    const size = recordBytes(record);
    this.bytes += size - (this.sizes.get(record.msgId) ?? 0);
    this.sizes.set(record.msgId, size);
  }

  private cull(): void {
    if (this.records.size <= this.limits.maxRecords && this.bytes <= this.limits.maxBytes) return;
    // Oldest finished records go first; unfinished ones are never culled (they are still owed a result).
    for (const [id, record] of this.records) {
      if (this.records.size <= this.limits.maxRecords && this.bytes <= this.limits.maxBytes) break;
      if (record.phase !== "done") continue;
      this.drop(id);
      this.culled.set(id, record.reply?.content.status === "ok");
      if (this.culled.size > CULLED_MEMORY) this.culled.delete(this.culled.keys().next().value as string);
    }
  }

  private drop(id: string): void {
    this.records.delete(id);
    this.bytes -= this.sizes.get(id) ?? 0;
    this.sizes.delete(id);
  }
}
