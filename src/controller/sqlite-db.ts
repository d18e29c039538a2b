/**
 * The persistent task database: every request and result in a SQLite file (better-sqlite3,
 * an optional dependency loaded only when `--db sqlite` asks for it). Live records stay in a
 * bounded memory cache because the hub mutates them; finished ones are written through and
 * can be read back after the cache (or the controller) forgot them. The file names the cluster
 * it belongs to, so that a restore never runs on another cluster's (or an emptied) database.
 */
import fs from "node:fs";
import type Database from "better-sqlite3";
import { ConfigurationError, ControllerLostError, toWire } from "../errors.js";
import type { ApplyContent, ReplyContent, ReplyMetadata, RequestMetadata } from "../protocol/contents.js";
import { matches, summarize } from "./db-query.js";
import type { DbFilter, TaskSummary } from "./db-query.js";
import { DEFAULT_DB_LIMITS, MemoryTaskDatabase } from "./task-db.js";
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
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS engines (id INTEGER PRIMARY KEY, registered REAL NOT NULL);
`;

/** Version of the layout above; a file of another version is refused rather than misread. */
const SCHEMA_VERSION = "1";

/** How a controller opens its database. */
export interface SqliteOpenOptions {
  /** The cluster the controller serves: a file of another cluster is refused. */
  clusterId: string;
  /** The controller replaces a dead one (--restore): the file must exist and hold this cluster. */
  restore: boolean;
}

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

/** Size of a file in bytes; 0 when it does not exist. */
function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Makes the database and its companions owner-only before SQLite writes a byte. SQLite gives
 * the -wal and -shm files it creates the main file's mode; ones left by an earlier run are
 * narrowed here too.
 */
function restrictToOwner(file: string): void {
  fs.closeSync(fs.openSync(file, "a", 0o600));
  for (const companion of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      fs.chmodSync(companion, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
}

function refusal(file: string, problem: string, hint: string): ConfigurationError {
  return new ConfigurationError(
    `task database ${file} ${problem}. To start fresh, move or delete it (with its -wal and -shm files), or ${hint}`,
  );
}

interface Row {
  msg_id: string;
  client: string;
  engine_id: number | null;
  balanced: number;
  submitted: number;
  started: number | null;
  completed: number | null;
  phase: string;
  status: string | null;
  label: string | null;
  request_metadata: string;
  request_content: string;
  request_buffers: Buffer;
  reply_content: string | null;
  reply_metadata: string | null;
  reply_buffers: Buffer | null;
  resubmitted: string | null;
}

/**
 * better-sqlite3 is optional (a native module most users never need): a missing or unbuilt
 * one is a configuration problem, named with the command that fixes it.
 */
async function loadSqlite(): Promise<typeof Database> {
  try {
    return (await import("better-sqlite3")).default;
  } catch (error) {
    throw new ConfigurationError(
      `the sqlite task database (db: "sqlite", --db sqlite) needs the optional package better-sqlite3, which could not be loaded (${(error as Error).message.split("\n")[0]}); install it with \`npm install better-sqlite3\`, or use --db memory`,
      { cause: error },
    );
  }
}

/** SQLite-backed task database. */
export class SqliteTaskDatabase implements TaskDatabase {
  private readonly db: Database.Database;
  private readonly cache = new MemoryTaskDatabase(DEFAULT_DB_LIMITS);
  private readonly upsert: Database.Statement;
  private readonly select: Database.Statement;

  /** Loads better-sqlite3 and opens (or creates) the database file at `path` (see the constructor). */
  static async open(path: string, options: SqliteOpenOptions): Promise<SqliteTaskDatabase> {
    return new SqliteTaskDatabase(path, options, await loadSqlite());
  }

  /**
   * Opens (or creates) the database file at `path`, readable by its owner only (the file and
   * its -wal and -shm companions hold pushed arguments and results). Throws ConfigurationError
   * naming the file when it cannot serve this cluster.
   */
  constructor(
    readonly path: string,
    options: SqliteOpenOptions,
    Sqlite: typeof Database,
  ) {
    const hint = options.restore ? "start the controller without --restore" : "give another --db-path";
    if (options.restore && fileSize(path) === 0) {
      throw refusal(
        path,
        `${fs.existsSync(path) ? "is empty" : "does not exist"}, so it holds none of cluster ${options.clusterId}'s tasks`,
        hint,
      );
    }
    restrictToOwner(path);
    this.db = new Sqlite(path);
    try {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
      if (tables.length === 0 && !options.restore) this.initialize(options.clusterId);
      else
        this.check(
          options.clusterId,
          tables.some((t) => t.name === "meta"),
          hint,
        );
    } catch (error) {
      this.db.close();
      if (error instanceof ConfigurationError) throw error;
      throw refusal(path, `cannot be read as a Parallax task database (${(error as Error).message})`, hint);
    }
    this.upsert = this.db
      .prepare(`INSERT OR REPLACE INTO tasks VALUES (@msg_id, @client, @engine_id, @balanced, @submitted, @started, @completed,
      @phase, @status, @label, @request_metadata, @request_content, @request_buffers, @reply_content, @reply_metadata, @reply_buffers, @resubmitted)`);
    this.select = this.db.prepare("SELECT * FROM tasks WHERE msg_id = ?");
  }

  /**
   * The records that had not finished when the previous controller died, oldest first; they
   * become live again (cached) so that the hub can run them.
   */
  restoreUnfinished(): TaskRecord[] {
    const rows = this.db.prepare("SELECT * FROM tasks WHERE phase != 'done' ORDER BY submitted, rowid").all() as Row[];
    return rows.map((row) => {
      const record = this.fromRow(row);
      record.phase = "queued";
      delete record.engineId;
      this.cache.add(record);
      return record;
    });
  }

  /**
   * Closes the records a controller left unfinished, when it is not restored: nothing will run
   * them again, so asking for their result must fail at once rather than wait forever. Its
   * engines are forgotten too.
   */
  abandonUnfinished(): number {
    this.db.prepare("DELETE FROM engines").run();
    const now = Date.now();
    const error = toWire(
      new ControllerLostError(
        "the controller stopped before this task finished, and it was started again without --restore, which re-runs unfinished tasks",
      ),
      "controller",
    );
    return this.db
      .prepare(
        `UPDATE tasks SET phase = 'done', status = 'error', completed = @now, reply_content = @content, reply_metadata = @metadata,
      reply_buffers = @buffers WHERE phase != 'done'`,
      )
      .run({
        now,
        content: JSON.stringify({ status: "error", error } satisfies ReplyContent),
        metadata: JSON.stringify({ fromHub: true, completed: now } satisfies ReplyMetadata),
        buffers: packFrames([]),
      }).changes;
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

  /** Engine ids handed out before: those of recorded tasks and of registered engines. */
  engineIds(): number[] {
    const rows = this.db
      .prepare("SELECT DISTINCT engine_id AS id FROM tasks WHERE engine_id IS NOT NULL UNION SELECT id FROM engines")
      .all() as Array<{ id: number }>;
    return rows.map((r) => r.id);
  }

  /** Engines registered when the controller stopped: a restored one waits for them to come back. */
  registeredEngines(): number[] {
    return (this.db.prepare("SELECT id FROM engines ORDER BY id").all() as Array<{ id: number }>).map((r) => r.id);
  }

  /** Records that an engine registered (`true`) or left (`false`). */
  engineRegistered(id: number, registered: boolean): void {
    if (registered) this.db.prepare("INSERT OR REPLACE INTO engines VALUES (?, ?)").run(id, Date.now());
    else this.db.prepare("DELETE FROM engines WHERE id = ?").run(id);
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

  private initialize(clusterId: string): void {
    this.db.transaction(() => {
      this.db.exec(SCHEMA);
      const set = this.db.prepare("INSERT OR REPLACE INTO meta VALUES (?, ?)");
      set.run("cluster_id", clusterId);
      set.run("schema_version", SCHEMA_VERSION);
    })();
  }

  /** Refuses a file that is not this cluster's database of this schema. */
  private check(clusterId: string, hasMeta: boolean, hint: string): void {
    const meta = new Map(
      hasMeta
        ? (this.db.prepare("SELECT key, value FROM meta").all() as Array<{ key: string; value: string }>).map((r) => [r.key, r.value])
        : [],
    );
    const owner = meta.get("cluster_id");
    if (owner === undefined) {
      // An emptied file, one written without its -wal file, or not Parallax's.
      throw refusal(
        this.path,
        "holds no Parallax cluster id (it was emptied, lost its -wal file, or is not a Parallax task database)",
        hint,
      );
    }
    if (owner !== clusterId) {
      throw refusal(this.path, `belongs to cluster ${owner}, not ${clusterId} (restore that cluster with --cluster-id ${owner})`, hint);
    }
    const version = meta.get("schema_version");
    if (version !== SCHEMA_VERSION)
      throw refusal(this.path, `has schema version ${version ?? "none"}; this Parallax reads version ${SCHEMA_VERSION}`, hint);
    this.db.exec(SCHEMA);
  }

  private write(record: TaskRecord): void {
    this.upsert.run({
      msg_id: record.msgId,
      client: record.client,
      engine_id: record.engineId ?? null,
      balanced: record.balanced ? 1 : 0,
      submitted: record.submitted,
      started: record.started ?? null,
      completed: record.completed ?? null,
      phase: record.phase,
      status: record.reply?.content.status ?? null,
      label: record.requestMetadata.label ?? null,
      request_metadata: JSON.stringify(record.requestMetadata),
      request_content: JSON.stringify(record.requestContent),
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
      msgId: row.msg_id,
      client: row.client,
      balanced: row.balanced === 1,
      submitted: row.submitted,
      ...(row.engine_id === null ? {} : { engineId: row.engine_id }),
      ...(row.started === null ? {} : { started: row.started }),
      ...(row.completed === null ? {} : { completed: row.completed }),
      ...(row.resubmitted === null ? {} : { resubmitted: row.resubmitted }),
      // A record that was running when its controller died can no longer finish.
      phase: row.phase === "done" ? "done" : row.phase === "running" ? "running" : "queued",
      requestMetadata: JSON.parse(row.request_metadata) as RequestMetadata,
      requestContent: JSON.parse(row.request_content) as ApplyContent,
      requestBuffers: unpackFrames(row.request_buffers),
      ...(row.reply_content
        ? {
            reply: {
              content: JSON.parse(row.reply_content) as ReplyContent,
              metadata: JSON.parse(row.reply_metadata ?? "{}") as ReplyMetadata,
              buffers: unpackFrames(row.reply_buffers),
            },
          }
        : {}),
    };
  }
}
