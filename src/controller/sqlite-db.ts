/**
 * The persistent task database: every request and result in a SQLite file (better-sqlite3,
 * built from source by node-gyp at install; no download). Live records stay in a bounded
 * memory cache because the hub mutates them; finished ones are written through and can be
 * read back after the cache (or the controller) forgot them.
 */
import Database from "better-sqlite3";
import type { ReplyContent, ReplyMetadata, RequestMetadata } from "../protocol/contents.js";
import { matches, summarize } from "./db-query.js";
import type { DbFilter, TaskSummary } from "./db-query.js";
import { MemoryTaskDatabase } from "./task-db.js";
import type { TaskRecord } from "../scheduler/records.js";
import type { TaskDatabase } from "./task-db.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  msg_id TEXT PRIMARY KEY,
  client TEXT NOT NULL,
  engine_id INTEGER,
  balanced INTEGER NOT NULL,
  submitted REAL NOT NULL,
  started REAL,
  completed REAL,
  phase TEXT NOT NULL,
  status TEXT,
  label TEXT,
  request_metadata TEXT NOT NULL,
  request_content TEXT NOT NULL,
  request_buffers BLOB NOT NULL,
  reply_content TEXT,
  reply_metadata TEXT,
  reply_buffers BLOB,
  resubmitted TEXT
);
CREATE INDEX IF NOT EXISTS tasks_completed ON tasks (completed);
`;

/** Frames packed into one BLOB: a count, then length-prefixed frames. */
function packFrames(frames: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(4 + 4 * frames.length);
  header.writeUInt32BE(frames.length, 0);
  frames.forEach((f, i) => header.writeUInt32BE(f.byteLength, 4 + 4 * i));
  return Buffer.concat([header, ...frames]);
}

function unpackFrames(blob: Buffer | null): Buffer[] {
  if (!blob || blob.byteLength < 4) return [];
  const count = blob.readUInt32BE(0);
  let offset = 4 + 4 * count;
  return Array.from({ length: count }, (_, i) => {
    const length = blob.readUInt32BE(4 + 4 * i);
    const frame = blob.subarray(offset, offset + length);
    offset += length;
    return frame;
  });
}

interface Row {
  msg_id: string; client: string; engine_id: number | null; balanced: number; submitted: number; started: number | null;
  completed: number | null; phase: string; status: string | null; label: string | null; request_metadata: string;
  request_content: string; request_buffers: Buffer; reply_content: string | null; reply_metadata: string | null; reply_buffers: Buffer | null;
  resubmitted: string | null;
}

/** SQLite-backed task database. */
export class SqliteTaskDatabase implements TaskDatabase {
  private readonly db: Database.Database;
  private readonly cache = new MemoryTaskDatabase({ maxRecords: 10_000, maxBytes: 256 * 1024 * 1024 });
  private readonly upsert: Database.Statement;
  private readonly select: Database.Statement;

  /** Opens (or creates) the database file at `path`. */
  constructor(readonly path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
    this.upsert = this.db.prepare(`INSERT OR REPLACE INTO tasks VALUES (@msg_id, @client, @engine_id, @balanced, @submitted, @started, @completed,
      @phase, @status, @label, @request_metadata, @request_content, @request_buffers, @reply_content, @reply_metadata, @reply_buffers, @resubmitted)`);
    this.select = this.db.prepare("SELECT * FROM tasks WHERE msg_id = ?");
  }

  add(record: TaskRecord): void {
    this.cache.add(record);
    this.write(record);
  }

  get(msgId: string): TaskRecord | undefined {
    return this.cache.get(msgId) ?? this.load(msgId);
  }

  update(record: TaskRecord): void {
    this.cache.update(record);
    if (record.phase === "done" || record.resubmitted !== undefined) this.write(record);
  }

  culledStatus(): undefined {
    return undefined;
  }

  wasCulled(): boolean {
    // Nothing is culled from the file; a missing id was never recorded (or was purged).
    return false;
  }

  history(): string[] {
    return (this.db.prepare("SELECT msg_id FROM tasks ORDER BY submitted, rowid").all() as Array<{ msg_id: string }>).map((r) => r.msg_id);
  }

  purge(msgIds: readonly string[] | "all"): number {
    this.cache.purge(msgIds);
    if (msgIds === "all") return this.db.prepare("DELETE FROM tasks WHERE phase = 'done'").run().changes;
    const remove = this.db.prepare("DELETE FROM tasks WHERE msg_id = ? AND phase = 'done'");
    return this.db.transaction((ids: readonly string[]) => ids.reduce((n, id) => n + remove.run(id).changes, 0))(msgIds);
  }

  /** Engine ids that appear in the recorded tasks. */
  engineIds(): number[] {
    return (this.db.prepare("SELECT DISTINCT engine_id FROM tasks WHERE engine_id IS NOT NULL").all() as Array<{ engine_id: number }>).map((r) => r.engine_id);
  }

  /** Records matching a filter (see db-query.ts). */
  query(filter: DbFilter): TaskSummary[] {
    const rows = this.db.prepare("SELECT * FROM tasks ORDER BY submitted, rowid").all() as Row[];
    return rows.map((row) => summarize(this.fromRow(row))).filter((s) => matches(s, filter));
  }

  close(): void {
    this.cache.close();
    this.db.close();
  }

  private write(record: TaskRecord): void {
    this.upsert.run({
      msg_id: record.msgId, client: record.client, engine_id: record.engineId ?? null, balanced: record.balanced ? 1 : 0,
      submitted: record.submitted, started: record.started ?? null, completed: record.completed ?? null, phase: record.phase,
      status: record.reply?.content.status ?? null, label: record.requestMetadata.label ?? null,
      request_metadata: JSON.stringify(record.requestMetadata), request_content: JSON.stringify(record.requestContent),
      request_buffers: packFrames(record.requestBuffers),
      reply_content: record.reply ? JSON.stringify(record.reply.content) : null,
      reply_metadata: record.reply ? JSON.stringify(record.reply.metadata) : null,
      reply_buffers: record.reply ? packFrames(record.reply.buffers) : null,
      resubmitted: record.resubmitted ?? null,
    });
  }

  private load(msgId: string): TaskRecord | undefined {
    const row = this.select.get(msgId) as Row | undefined;
    return row ? this.fromRow(row) : undefined;
  }

  private fromRow(row: Row): TaskRecord {
    return {
      msgId: row.msg_id, client: row.client, balanced: row.balanced === 1, submitted: row.submitted,
      ...(row.engine_id === null ? {} : { engineId: row.engine_id }),
      ...(row.started === null ? {} : { started: row.started }),
      ...(row.completed === null ? {} : { completed: row.completed }),
      ...(row.resubmitted === null ? {} : { resubmitted: row.resubmitted }),
      // A record that was running when its controller died can no longer finish.
      phase: row.phase === "done" ? "done" : row.phase === "running" ? "running" : "queued",
      requestMetadata: JSON.parse(row.request_metadata) as RequestMetadata,
      requestContent: JSON.parse(row.request_content) as Record<string, unknown>,
      requestBuffers: unpackFrames(row.request_buffers),
      ...(row.reply_content ? {
        reply: {
          content: JSON.parse(row.reply_content) as ReplyContent,
          metadata: JSON.parse(row.reply_metadata ?? "{}") as ReplyMetadata,
          buffers: unpackFrames(row.reply_buffers),
        },
      } : {}),
    };
  }
}
