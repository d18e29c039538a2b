/**
 * What views and executors need from their client. They depend on this interface rather than
 * on `Client`, which creates them: the dependency then points one way.
 */
import type { ApplyContent, RequestMetadata } from "../protocol/contents.js";
import type { QueueStatus } from "../protocol/query-table.js";
import type { AsyncResult, ResultOwner } from "./async-result.js";
import type { TaskEntry } from "./task-entry.js";

/** A message the client sends for a task. */
export interface Submission {
  content: ApplyContent;
  metadata: RequestMetadata;
  buffers: Buffer[];
  entry: TaskEntry;
}

/** The client as its views see it. */
export interface ClientPort extends ResultOwner {
  /** Ids of the registered engines, ascending. */
  readonly ids: number[];
  /** Throws when the client can no longer submit (closed, or its controller was lost). */
  assertUsable(): void;
  /** The registered ids; throws `NoEnginesRegistered` when there are none. */
  requireEngines(): number[];
  /** Sends task requests; each entry settles when its reply arrives. */
  submit(submissions: readonly Submission[]): void;
  /** Aborts queued tasks; returns the aborted ids. */
  abort(jobs?: string | AsyncResult | ReadonlyArray<string | AsyncResult>, targets?: number | number[]): Promise<string[]>;
  /** Interrupts the running tasks of `jobs`; returns the engines signalled. */
  interrupt(jobs: string | AsyncResult | ReadonlyArray<string | AsyncResult>): Promise<number[]>;
  /** Sends a signal to the engines' processes; returns the engines signalled. */
  sendSignal(signal?: NodeJS.Signals, targets?: number | number[]): Promise<number[]>;
  /** Warns once that load-balanced work waits because no engine is registered yet. */
  warnIfNoEngines(): void;
  /** Queue lengths per engine and the tasks not yet assigned. */
  queueStatus(targets?: number | number[]): Promise<QueueStatus>;
}
