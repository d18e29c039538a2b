/**
 * The client's record of one submitted message: its state, value or error, timing and output.
 * AsyncResults are views over one or more entries.
 */
import { SerializationError, fromWire } from "../errors.js";
import type { ReplyContent, ReplyMetadata } from "../protocol/contents.js";

/** Terminal or pending status of one message. */
export type EntryStatus = "pending" | "ok" | "error" | "aborted";

/** Per-message metadata, as `AsyncResult.metadata` exposes it. Times are epoch milliseconds. */
export interface TaskMetadata {
  msgId: string;
  engineId: number | undefined;
  submitted: number;
  started: number | undefined;
  completed: number | undefined;
  received: number | undefined;
  status: EntryStatus;
  stdout: string;
  stderr: string;
  label: string | undefined;
  /** Tasks this one waited for, and why. */
  dependsOn: Array<{ msgId: string; kind: "argument" | "after" | "follow" }>;
  errorName: string | undefined;
  errorMessage: string | undefined;
}

/** One submitted message. */
export class TaskEntry {
  readonly metadata: TaskMetadata;
  value: unknown;
  error: Error | undefined;
  /** Items this message covers (map chunks cover several). */
  readonly count: number;
  /** For a map chunk: index of its first item in the whole map (so errors name the item). */
  readonly firstItem: number | undefined;
  private settleDone!: () => void;
  /** Resolves (never rejects) once the message has a terminal state. */
  readonly done = new Promise<void>((resolve) => (this.settleDone = resolve));
  private readonly listeners: Array<() => void> = [];

  constructor(
    msgId: string,
    options: { count?: number; firstItem?: number; label?: string; engineId?: number; dependsOn?: TaskMetadata["dependsOn"] } = {},
  ) {
    this.count = options.count ?? 1;
    this.firstItem = options.firstItem;
    this.metadata = {
      msgId,
      engineId: options.engineId,
      submitted: Date.now(),
      started: undefined,
      completed: undefined,
      received: undefined,
      status: "pending",
      stdout: "",
      stderr: "",
      label: options.label,
      dependsOn: options.dependsOn ?? [],
      errorName: undefined,
      errorMessage: undefined,
    };
  }

  get msgId(): string {
    return this.metadata.msgId;
  }

  get settled(): boolean {
    return this.metadata.status !== "pending";
  }

  /** Calls `listener` once when settled (at once if already). */
  onSettled(listener: () => void): void {
    if (this.settled) listener();
    else this.listeners.push(listener);
  }

  /** Appends streamed output (live, before the reply). */
  appendStream(name: "stdout" | "stderr", text: string): void {
    if (!this.settled) this.metadata[name] += text;
  }

  /** Records the engine's (or hub's) reply. `decode` is only called on success. */
  settle(content: ReplyContent, metadata: ReplyMetadata, decode: () => unknown): void {
    if (this.settled) return;
    const m = this.metadata;
    m.received = Date.now();
    m.engineId = metadata.engineId ?? m.engineId;
    m.started = metadata.started;
    m.completed = metadata.completed;
    if (metadata.stdout !== undefined) m.stdout = metadata.stdout;
    if (metadata.stderr !== undefined) m.stderr = metadata.stderr;
    if (content.status === "ok") {
      try {
        this.value = decode();
        m.status = "ok";
      } catch (error) {
        this.fail(new SerializationError(`result of ${m.msgId} could not be decoded: ${(error as Error).message}`));
        return;
      }
    } else {
      const info = content.error;
      // The engine numbers a failing item within its chunk; the map numbers it within the whole map.
      const placed = info?.item !== undefined && this.firstItem !== undefined ? { ...info, item: info.item + this.firstItem } : info;
      this.fail(fromWire(placed, m.engineId), content.status === "aborted" ? "aborted" : "error");
      return;
    }
    this.finish();
  }

  /** Settles with a local error (controller lost, submit failed…). */
  fail(error: Error, status: "error" | "aborted" = "error"): void {
    if (this.settled) return;
    this.error = error;
    this.metadata.status = status;
    this.metadata.received ??= Date.now();
    this.metadata.errorName = (error as { ename?: string }).ename ?? error.name;
    this.metadata.errorMessage = error.message;
    this.finish();
  }

  private finish(): void {
    this.settleDone();
    for (const listener of this.listeners.splice(0)) listener();
  }
}
