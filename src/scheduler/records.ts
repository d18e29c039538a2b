/**
 * The records the controller keeps of each task and engine. The ledger alone writes a task's
 * phase, engine and outcome and an engine's sets of tasks; the scheduler reads them to place
 * work; the task database stores the tasks and the registry the engines.
 */
import type { ApplyContent, ProcessStats, ReplyContent, ReplyMetadata, RequestMetadata } from "../protocol/contents.js";

/** Where a task is in its life. */
export type TaskPhase = "queued" | "running" | "done";

/** One task as recorded by the hub. */
export interface TaskRecord {
  msgId: string;
  /** Routing identity of the submitting client (latin1). */
  client: string;
  engineId?: number;
  balanced: boolean;
  submitted: number;
  started?: number;
  completed?: number;
  phase: TaskPhase;
  requestMetadata: RequestMetadata;
  /** Content and value frames of the request, kept for resubmission. */
  requestContent: ApplyContent;
  requestBuffers: Buffer[];
  reply?: { content: ReplyContent; metadata: ReplyMetadata; buffers: Buffer[] };
  /** Msg id of the task that re-ran this one (`client.resubmit`). */
  resubmitted?: string;
}

/** One registered engine as the hub sees it. */
export interface EngineRecord {
  id: number;
  /** Routing identity of the engine's DEALER. */
  identity: Buffer;
  /** Routing identity of its supervisor's DEALER, once it attached. */
  supervisor?: Buffer;
  pid: number;
  supervisorPid?: number;
  hostname: string;
  cwd: string;
  registered: number;
  lastBeat: number;
  /** Direct-view tasks sent and not yet answered. */
  direct: Set<string>;
  /** Load-balanced tasks sent and not yet answered. */
  balanced: Set<string>;
  completed: number;
  /** CPU and memory from the latest heartbeat, when its supervisor reports them. */
  stats?: ProcessStats;
  /** Bytes of messages received from and sent to the engine. */
  bytesIn: number;
  bytesOut: number;
  /** Highest reply number (`replySeq`) received from the engine, and the highest acknowledged. */
  replySeq: number;
  ackedSeq: number;
}

/** The part of the task database the scheduler reads: records, and the outcome of culled ones. */
export interface TaskLookup {
  get(msgId: string): TaskRecord | undefined;
  /** True when the id existed but was dropped to respect the bounds. */
  wasCulled(msgId: string): boolean;
  /** How a culled task ended (dependencies on it still need to know), when remembered. */
  culledStatus(msgId: string): "ok" | "failed" | undefined;
}
