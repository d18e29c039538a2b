/**
 * `dbQuery` filters in MongoDB style, as IPython Parallel's hub accepts them:
 * `{ completed: { $gt: t }, engine_id: { $in: [0, 1] }, label: { $glob: "fit*" } }`.
 */
import type { TaskRecord } from "../scheduler/records.js";

/** One field's condition: a value (equality) or operators. */
export type FieldCondition =
  | unknown
  | {
      $lt?: number;
      $gt?: number;
      $lte?: number;
      $gte?: number;
      $eq?: unknown;
      $ne?: unknown;
      $in?: unknown[];
      $nin?: unknown[];
      $exists?: boolean;
      $glob?: string;
    };

/** A filter: every field condition must hold. */
export type DbFilter = Record<string, FieldCondition>;

/** The queryable fields of a task record. */
export interface TaskSummary {
  msg_id: string;
  client: string;
  engine_id: number | null;
  balanced: boolean;
  submitted: number;
  started: number | null;
  completed: number | null;
  phase: string;
  status: string | null;
  label: string | null;
  stdout: string | null;
  stderr: string | null;
  resubmitted: string | null;
}

/** Field names a query may use. */
export const QUERY_FIELDS: ReadonlyArray<keyof TaskSummary> = [
  "msg_id",
  "client",
  "engine_id",
  "balanced",
  "submitted",
  "started",
  "completed",
  "phase",
  "status",
  "label",
  "stdout",
  "stderr",
  "resubmitted",
];

const OPERATORS = new Set(["$lt", "$gt", "$lte", "$gte", "$eq", "$ne", "$in", "$nin", "$exists", "$glob"]);

/** The queryable view of a record. */
export function summarize(record: TaskRecord): TaskSummary {
  return {
    msg_id: record.msgId,
    client: Buffer.from(record.client, "latin1").toString("hex"),
    engine_id: record.engineId ?? null,
    balanced: record.balanced,
    submitted: record.submitted,
    started: record.started ?? null,
    completed: record.completed ?? null,
    phase: record.phase,
    status: record.reply?.content.status ?? null,
    label: record.requestMetadata.label ?? null,
    stdout: record.reply?.metadata.stdout ?? null,
    stderr: record.reply?.metadata.stderr ?? null,
    resubmitted: record.resubmitted ?? null,
  };
}

/** Throws an Error naming the bad field or operator. */
export function validateFilter(filter: unknown): asserts filter is DbFilter {
  if (filter === null || typeof filter !== "object" || Array.isArray(filter))
    throw new Error("dbQuery: the query must be an object of field conditions");
  for (const [field, condition] of Object.entries(filter)) {
    if (!QUERY_FIELDS.includes(field as keyof TaskSummary))
      throw new Error(`dbQuery: unknown field ${JSON.stringify(field)} (valid: ${QUERY_FIELDS.join(", ")})`);
    if (isOperatorObject(condition)) {
      for (const op of Object.keys(condition))
        if (!OPERATORS.has(op)) throw new Error(`dbQuery: unknown operator ${op} on ${field} (valid: ${[...OPERATORS].join(" ")})`);
    }
  }
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).some((k) => k.startsWith("$"));
}

/**
 * Python's `fnmatch.translate`: `*` any run, `?` one character, `[abc]`/`[a-z]` a class,
 * `[!abc]` its complement, and a `[` with no closing `]` a literal bracket. So `[*]` and `[?]`
 * match a literal star and question mark.
 */
export function globToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      // As fnmatch: a leading "!" negates, and a "]" right after "[" or "[!" is a member.
      let j = i + 1;
      if (glob[j] === "!") j++;
      if (glob[j] === "]") j++;
      while (j < glob.length && glob[j] !== "]") j++;
      if (j >= glob.length) {
        out += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, j);
      const negate = body.startsWith("!");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, (m, offset: number) => (m === "^" && offset > 0 ? m : `\\${m}`))}]`;
      i = j;
    } else out += c.replace(/[.+^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "s");
}

function holds(value: unknown, condition: unknown): boolean {
  if (!isOperatorObject(condition)) return value === condition;
  const c = condition as Record<string, unknown>;
  const num = typeof value === "number" ? value : undefined;
  if ("$exists" in c && (value !== null && value !== undefined) !== c.$exists) return false;
  if ("$eq" in c && value !== c.$eq) return false;
  if ("$ne" in c && value === c.$ne) return false;
  if ("$in" in c && !(c.$in as unknown[]).includes(value)) return false;
  if ("$nin" in c && (c.$nin as unknown[]).includes(value)) return false;
  if ("$lt" in c && !(num !== undefined && num < (c.$lt as number))) return false;
  if ("$gt" in c && !(num !== undefined && num > (c.$gt as number))) return false;
  if ("$lte" in c && !(num !== undefined && num <= (c.$lte as number))) return false;
  if ("$gte" in c && !(num !== undefined && num >= (c.$gte as number))) return false;
  if ("$glob" in c && !(typeof value === "string" && globToRegExp(String(c.$glob)).test(value))) return false;
  return true;
}

/** Whether a summary matches a filter. */
export function matches(summary: TaskSummary, filter: DbFilter): boolean {
  return Object.entries(filter).every(([field, condition]) => holds(summary[field as keyof TaskSummary], condition));
}

/** Keeps only the requested keys (msg_id always). */
export function project(summary: TaskSummary, keys: readonly string[] | undefined): Partial<TaskSummary> {
  if (!keys || keys.length === 0) return summary;
  const out: Record<string, unknown> = { msg_id: summary.msg_id };
  for (const key of keys) {
    if (!QUERY_FIELDS.includes(key as keyof TaskSummary))
      throw new Error(`dbQuery: unknown key ${JSON.stringify(key)} (valid: ${QUERY_FIELDS.join(", ")})`);
    out[key] = summary[key as keyof TaskSummary];
  }
  return out as Partial<TaskSummary>;
}
