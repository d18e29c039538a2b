/**
 * What passes between the ledger and the scheduler: the read-only view the scheduler reads,
 * and the decisions it returns. Types only, so that neither side imports the other's code.
 */
import type { WireError } from "../errors.js";
import type { ReplyContent, ReplyMetadata, TaskStatus } from "../protocol/contents.js";
import type { TaskLookup, TaskRecord } from "./records.js";

/** A task's outcome: the reply its client receives. */
export interface Outcome {
  content: ReplyContent;
  metadata: ReplyMetadata;
  buffers: Buffer[];
}

/** What the scheduler reads: task records, never written, and engine loads. */
export interface LedgerView extends TaskLookup {
  get(msgId: string): Readonly<TaskRecord> | undefined;
  /** Load-balanced tasks an engine holds now (sent and not answered). */
  load(engineId: number): number;
}

/**
 * What to do with a task. A call to the scheduler returns its decisions in the order they are
 * to be applied, and all of them are applied before it is asked anything else (it reads the
 * ledger as they leave it). One call may send many tasks, to one engine or several: whoever
 * applies them may batch the dispatches per engine.
 */
export type Decision =
  /** Send the task to the engine: it runs there. */
  | { kind: "dispatch"; msgId: string; engineId: number }
  /** The engine's answer is the task's outcome. */
  | { kind: "accept"; msgId: string }
  /** The engine's answer is not final (a retry, an unmet dependency): the task is queued again. */
  | { kind: "requeue"; msgId: string }
  /** The task ends with this error: it could not run, or its engine died. */
  | { kind: "fail"; msgId: string; error: WireError; status: "error" | "aborted" }
  /** A pure task with the same memo key succeeded: the task ends with its result. */
  | { kind: "share"; msgId: string; sourceId: string; reply: Outcome };

/** An engine's answer to a load-balanced task, as the scheduler weighs it. */
export interface Answer {
  status: TaskStatus;
  error?: WireError;
  /** The task raised UnmetDependency: another engine should try it. */
  unmet?: boolean;
  /** How long it ran on the engine (ms), when the engine said. */
  runMs?: number;
}
