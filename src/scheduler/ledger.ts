/**
 * The controller's ledger: the one writer of a task's phase, engine and outcome, and of the
 * tasks each engine holds (its load). The hub tells it facts (a request arrived, an engine
 * answered, an engine died); it asks the scheduler what follows, applies the decisions it gets
 * back, and tells the hub what to send through a one-way sink. An engine's sets and a task's
 * `engineId` and `phase` therefore change together, in one place.
 *
 * Applying runs in rounds: the decisions of one call are applied in order, then the tasks they
 * finished are reported to the scheduler in one call, whose decisions form the next round. A
 * failure that cascades down a long chain of dependents is a loop here, never a recursion.
 */
import { EngineError, toWire } from "../errors.js";
import type { WireError } from "../errors.js";
import type { Decision, LedgerView, Outcome } from "./decisions.js";
import type { EngineRecord, TaskLookup, TaskRecord } from "./records.js";
import { TaskScheduler } from "./task-scheduler.js";
import type { SchedulerOptions } from "./task-scheduler.js";

/** How an engine was lost: its process was seen to end, or it stopped answering (and may still be running). */
export type EngineLoss = "exited" | "silent";

/** Where task records are stored (the task database). */
export interface TaskStore extends TaskLookup {
  add(record: TaskRecord): void;
  /** Called after a record changed (so a persistent backend can write it). */
  update(record: TaskRecord): void;
}

/** Live engines by id (the registry). A removed engine is not found. */
export interface EngineLookup {
  get(id: number): EngineRecord | undefined;
}

/** What the ledger asks the hub to do: effects only, it never calls the ledger back. */
export interface LedgerSink {
  /** The task was placed on the engine: send its request there. */
  dispatched(record: TaskRecord, engine: EngineRecord): void;
  /** The task is queued again (an answer that was not final, or its engine died). */
  requeued(record: TaskRecord): void;
  /** The task reached its terminal state: its client is to receive `record.reply`. */
  finished(record: TaskRecord): void;
}

/** The reply the controller gives in a task's name (failed, aborted, its engine gone). */
export function controllerOutcome(record: Readonly<TaskRecord>, error: WireError, status: "error" | "aborted" = "error"): Outcome {
  return {
    content: { status, error },
    metadata: { fromHub: true, completed: Date.now(), ...(record.engineId === undefined ? {} : { engineId: record.engineId }) },
    buffers: [],
  };
}

/** The placement of a task an engine was holding when a restored controller adopted it: its order there is unknown. */
const ADOPTED = 0;

/** A read-only view of the store and the engines' loads, for the scheduler. */
function ledgerView(store: TaskLookup, engines: EngineLookup): LedgerView {
  return {
    get: (msgId) => store.get(msgId),
    wasCulled: (msgId) => store.wasCulled(msgId),
    culledStatus: (msgId) => store.culledStatus(msgId),
    load: (engineId) => engines.get(engineId)?.balanced.size ?? 0,
  };
}

/** An engine's reply to one task, while its decisions are applied. */
interface EngineReply {
  msgId: string;
  engine: EngineRecord;
  outcome: Outcome;
}

/** The one writer of task state and engine loads, with the scheduler it asks. */
export class Ledger {
  /** The policy: it reads the ledger through a read-only view and returns decisions. */
  readonly scheduler: TaskScheduler;
  /** When each running task was placed on its engine (a counter), or ADOPTED. */
  private readonly placedAt = new Map<string, number>();
  private placements = 0;

  constructor(
    private readonly store: TaskStore,
    private readonly engines: EngineLookup,
    options: SchedulerOptions,
    private readonly sink: LedgerSink,
  ) {
    this.scheduler = new TaskScheduler(ledgerView(store, engines), options);
  }

  /** Records a new task: queued, on no engine. */
  open(record: TaskRecord): void {
    record.phase = "queued";
    this.store.add(record);
  }

  /** Hands a recorded load-balanced task to the scheduler. */
  submit(record: TaskRecord): void {
    this.apply(this.scheduler.submit(record));
  }

  /** Sends a direct-view task to its engine's queue. */
  sendDirect(record: TaskRecord, engine: EngineRecord): void {
    this.place(record, engine);
    this.sink.dispatched(record, engine);
  }

  /** Ends a task with an error on the controller's behalf. */
  fail(record: TaskRecord, error: WireError): void {
    this.apply([{ kind: "fail", msgId: record.msgId, error, status: "error" }]);
  }

  /** An engine of a predecessor still holds the task (`--restore`): it runs there. */
  adopt(record: TaskRecord, engine: EngineRecord): void {
    this.place(record, engine);
    this.placedAt.set(record.msgId, ADOPTED);
    if (record.balanced) this.scheduler.adopt(record);
  }

  /** An engine answered one of its tasks (checked to be running there). */
  answer(record: TaskRecord, engine: EngineRecord, outcome: Outcome): void {
    this.release(record);
    const reply = { msgId: record.msgId, engine, outcome };
    if (!record.balanced) {
      this.apply([{ kind: "accept", msgId: record.msgId }], reply);
      return;
    }
    const { status, error } = outcome.content;
    const { started, completed, unmet } = outcome.metadata;
    const answer = {
      status,
      unmet: unmet === true,
      ...(error ? { error } : {}),
      ...(started !== undefined && completed !== undefined ? { runMs: completed - started } : {}),
    };
    this.apply(this.scheduler.reply(record.msgId, engine.id, answer), reply);
  }

  /** An engine registered: it may take queued work. */
  engineAdded(engine: EngineRecord): void {
    this.apply(this.scheduler.engineAdded(engine.id));
  }

  /**
   * An engine died (it is no longer among the live engines): its direct tasks fail, its
   * load-balanced ones are retried or fail if they may have started and are queued again if
   * they never did. An engine whose exit was reported (`"exited"`) ran its tasks one at a time in
   * the order sent, so only the oldest it held may have started (and any it held when adopted,
   * whose order there is unknown); one declared dead for its silence (`"silent"`) may still be
   * running, so any task it held may have started. Its sets are left as they were: they say what it held.
   */
  engineLost(engine: EngineRecord, reason: string, loss: EngineLoss): void {
    const started = loss === "exited" ? this.mayHaveStarted(engine) : new Set([...engine.direct, ...engine.balanced]);
    const direct = [...engine.direct].map((msgId): Decision => {
      const what = started.has(msgId) ? `while running task ${msgId}` : `before task ${msgId} started`;
      return {
        kind: "fail",
        msgId,
        error: toWire(new EngineError(`${reason} ${what}`, engine.id), "controller", engine.id),
        status: "error",
      };
    });
    this.apply([...direct, ...this.scheduler.engineRemoved(engine.id, reason, engine.balanced, started)]);
  }

  /** The tasks a lost engine may have started: the oldest it held, and those it was holding when adopted. */
  private mayHaveStarted(engine: EngineRecord): Set<string> {
    const held = [...engine.direct, ...engine.balanced];
    const started = new Set(held.filter((msgId) => this.placement(msgId) === ADOPTED));
    let oldest: string | undefined;
    for (const msgId of held) if (oldest === undefined || this.placement(msgId) < this.placement(oldest)) oldest = msgId;
    if (oldest !== undefined) started.add(oldest);
    return started;
  }

  private placement(msgId: string): number {
    return this.placedAt.get(msgId) ?? ADOPTED;
  }

  /** Aborts queued tasks (all when `msgIds` is undefined); returns the ids it aborted. */
  abort(msgIds?: readonly string[]): string[] {
    const decisions = this.scheduler.abort(msgIds);
    this.apply(decisions);
    return decisions.flatMap((d) => (d.kind === "fail" ? [d.msgId] : []));
  }

  /** Periodic work of the scheduler (queue timeouts, grace periods). */
  tick(now: number): void {
    this.apply(this.scheduler.tick(now));
  }

  /**
   * Invariant violations (for tests and `debugValidate`): every task an engine holds is
   * running on that engine, and the scheduler agrees with the ledger.
   */
  violations(engines: Iterable<EngineRecord>): string[] {
    const found = this.scheduler.violations();
    for (const engine of engines) {
      for (const [kind, held] of [
        ["direct", engine.direct],
        ["load-balanced", engine.balanced],
      ] as const) {
        for (const msgId of held) {
          const record = this.store.get(msgId);
          if (!record) found.push(`engine ${engine.id} holds unknown ${kind} task ${msgId}`);
          else if (record.phase !== "running") found.push(`engine ${engine.id} holds ${record.phase} ${kind} task ${msgId}`);
          else if (record.engineId !== engine.id)
            found.push(`${kind} task ${msgId} is held by engine ${engine.id} but placed on ${record.engineId}`);
        }
      }
    }
    return found;
  }

  /** Applies decisions round by round, until no task finishes any more. */
  private apply(decisions: readonly Decision[], reply?: EngineReply): void {
    let round = decisions;
    while (round.length > 0) {
      const finished: TaskRecord[] = [];
      for (const decision of round) {
        const record = this.store.get(decision.msgId);
        if (record && this.applyOne(decision, record, reply)) finished.push(record);
      }
      round = finished.length > 0 ? this.scheduler.finished(finished) : [];
    }
  }

  /** Applies one decision; returns whether the task finished. */
  private applyOne(decision: Decision, record: TaskRecord, reply: EngineReply | undefined): boolean {
    switch (decision.kind) {
      case "dispatch": {
        const engine = this.engines.get(decision.engineId);
        if (!engine) throw new Error(`the scheduler sent task ${record.msgId} to engine ${decision.engineId}, which is not registered`);
        this.place(record, engine);
        this.sink.dispatched(record, engine);
        return false;
      }
      case "requeue":
        this.release(record);
        record.phase = "queued";
        this.sink.requeued(record);
        return false;
      case "accept":
        if (reply?.msgId !== record.msgId) throw new Error(`the scheduler accepted an answer to task ${record.msgId} that never came`);
        return this.finish(record, reply.outcome, reply.engine);
      case "fail":
        return this.finish(record, controllerOutcome(record, decision.error, decision.status));
      case "share":
        return this.finish(record, { ...decision.reply, metadata: { ...decision.reply.metadata, fromHub: true } });
    }
  }

  /** Puts a task on an engine: it runs there. */
  private place(record: TaskRecord, engine: EngineRecord): void {
    this.release(record);
    record.engineId = engine.id;
    record.phase = "running";
    this.placedAt.set(record.msgId, ++this.placements);
    (record.balanced ? engine.balanced : engine.direct).add(record.msgId);
  }

  /** The task's engine no longer holds it. A removed engine's sets stay as they were. */
  private release(record: Readonly<TaskRecord>): void {
    if (record.engineId === undefined) return;
    this.placedAt.delete(record.msgId);
    const engine = this.engines.get(record.engineId);
    engine?.direct.delete(record.msgId);
    engine?.balanced.delete(record.msgId);
  }

  /** The task's terminal state; `answeredBy` is the engine whose reply it is. Returns false when it had one already. */
  private finish(record: TaskRecord, outcome: Outcome, answeredBy?: EngineRecord): boolean {
    if (record.phase === "done") return false;
    this.release(record);
    if (answeredBy) answeredBy.completed++;
    record.phase = "done";
    record.started = outcome.metadata.started;
    record.completed = outcome.metadata.completed ?? Date.now();
    record.reply = outcome;
    this.store.update(record);
    this.sink.finished(record);
    return true;
  }
}
