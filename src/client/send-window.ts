/**
 * The client's bounded submission window. A client may submit far more tasks than the
 * controller should hold at once (a 200,000-item map with chunksize 1): at most `size` of them
 * are unfinished at the controller, the rest wait here in submission order and are signed and
 * sent as earlier ones finish. The controller's memory then follows the window, not the backlog.
 */
import { TaskAborted } from "../errors.js";
import { Fifo } from "../fifo.js";
import type { TaskEntry } from "./task-entry.js";

/** A task message waiting for its turn. */
export interface WindowedSubmission {
  /** A direct task names its engine. */
  readonly metadata: { readonly engine?: number | undefined };
  readonly entry: TaskEntry;
}

/** Submissions in flight (at most `size`) and those waiting for room. */
export class SendWindow<S extends WindowedSubmission> {
  /** Submissions not yet sent, by msg id. */
  private readonly held = new Map<string, S>();
  /** The same in submission order (and those aborted since, skipped when reached). */
  private readonly waiting = new Fifo<S>();
  /** Submissions sent and not finished, by msg id (a restarted controller may not have them). */
  private readonly sent = new Map<string, S>();

  constructor(
    private size: number,
    private readonly send: (submission: S) => void,
  ) {}

  /** Sends at once while there is room (so it stays ordered with later queries); else holds it. */
  submit(submission: S): void {
    if (this.held.size === 0 && this.sent.size < this.size) {
      this.dispatch(submission);
      return;
    }
    this.held.set(submission.entry.msgId, submission);
    this.waiting.push(submission);
  }

  private dispatch(submission: S): void {
    const msgId = submission.entry.msgId;
    // Aborted or failed while it waited: nothing to send.
    if (submission.entry.settled) return;
    this.sent.set(msgId, submission);
    this.send(submission);
    submission.entry.onSettled(() => {
      this.sent.delete(msgId);
      this.fill();
    });
  }

  /** Sends waiting submissions, oldest first, while there is room. */
  private fill(): void {
    while (this.sent.size < this.size) {
      const submission = this.waiting.shift();
      if (submission === undefined) return;
      if (this.held.delete(submission.entry.msgId)) this.dispatch(submission);
    }
  }

  /** Sends a submission again (the controller lost it); false when it is not in flight. */
  resend(msgId: string): boolean {
    const submission = this.sent.get(msgId);
    if (submission === undefined) return false;
    this.send(submission);
    return true;
  }

  /** Whether a task is still waiting here (the controller has not seen it). */
  isHeld(msgId: string): boolean {
    return this.held.has(msgId);
  }

  /**
   * Aborts waiting tasks: those in `msgIds` (all when undefined); direct ones only when their
   * engine is among `targets` (when given), as the controller does for its queues.
   */
  abort(msgIds: readonly string[] | undefined, targets: readonly number[] | undefined): string[] {
    const aborted: string[] = [];
    for (const id of msgIds ?? [...this.held.keys()]) {
      const submission = this.held.get(id);
      if (!submission) continue;
      const engine = submission.metadata.engine;
      if (msgIds === undefined && targets !== undefined && engine !== undefined && !targets.includes(engine)) continue;
      this.held.delete(id);
      submission.entry.fail(new TaskAborted(`task ${id} was aborted before it was sent`), "aborted");
      aborted.push(id);
    }
    return aborted;
  }

  /**
   * Sends everything still waiting, now: the window protects a live controller's memory, a
   * client that closes hands over all it was given.
   */
  release(): void {
    this.size = Number.POSITIVE_INFINITY;
    this.fill();
  }
}
