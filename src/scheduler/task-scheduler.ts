/**
 * The load-balanced task scheduler: a policy. It reads task records and engine loads through
 * the ledger's read-only view and returns decisions (send task T to engine E, accept or requeue
 * an engine's answer, fail a task, answer it with a memoized result), which the ledger applies.
 * It never calls out, so it needs no guard against being re-entered, and a failure cascading
 * down a long chain of dependents is a loop in the ledger, one round per level.
 *
 * Hot state lives in plain Maps and arrays: waiting tasks indexed by the dependencies they wait
 * for, a priority queue of runnable tasks, engines in least-recently-used order and by load,
 * and per-task blacklists. A pluggable scheme picks among the engines that may take a task; for
 * the default `leastload` and for `lru`, a task any engine may run is placed from the index, at
 * a cost that does not grow with the number of engines.
 */
import { Dependency } from "../graph/dependency.js";
import {
  EngineError,
  ImpossibleDependency,
  InvalidDependency,
  ProtocolError,
  ResultCulled,
  TaskAborted,
  TaskTimeout,
  toWire,
} from "../errors.js";
import type { WireError } from "../errors.js";
import type { Answer, Decision, LedgerView } from "./decisions.js";
import { EnginePool } from "./engine-pool.js";
import type { TaskRecord } from "./records.js";
import { ReadyQueue } from "./ready-queue.js";
import { leastload, lru, resolveScheme } from "./schemes.js";
import type { Scheme } from "./schemes.js";

/** Scheduler settings. */
export interface SchedulerOptions {
  /** Scheme name or function. */
  scheme: string | Scheme;
  /**
   * Outstanding load-balanced tasks per engine: a number (0 means unlimited), or `"auto"`:
   * engines prefetch as many tasks as fit their recent run time into {@link PREFETCH_BUDGET_MS}.
   */
  hwm: Hwm;
  /** How long a task every live engine rejected waits for a new engine before failing. */
  impossibleGraceMs: number;
}

/** Outstanding tasks per engine: a number (0 = unlimited) or adaptive prefetch. */
export type Hwm = number | "auto";

/**
 * With `hwm: "auto"`, how much queued work (in ms of its recent tasks) an engine may hold beside
 * the task it runs: short tasks are sent ahead so that an engine never waits a round trip for
 * its next one, while a task longer than this goes out only to an idle engine, as with
 * hwm 1 (the most informed balancing, for work whose length varies).
 */
export const PREFETCH_BUDGET_MS = 10;
/** With `hwm: "auto"`, the most tasks an engine holds at once. */
export const MAX_PREFETCH = 32;
/** Run times are whole milliseconds: a task reported as 0 ms is counted as this long. */
const SHORTEST_RUN_MS = 0.25;
/** Weight of the latest run time in an engine's estimate. */
const RUN_TIME_WEIGHT = 0.3;

/** Reads an hwm as a command line or a profile spells it: `auto` or an integer >= 0; undefined when it is neither. */
export function parseHwm(raw: string): Hwm | undefined {
  if (raw === "auto") return "auto";
  const value = Number(raw);
  return raw.trim() !== "" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** Tasks an engine whose tasks take `runMs` may hold with adaptive prefetch. */
export function prefetchCapacity(runMs: number): number {
  return Math.max(1, Math.min(MAX_PREFETCH, 1 + Math.floor(PREFETCH_BUDGET_MS / Math.max(runMs, SHORTEST_RUN_MS))));
}

interface PendingTask {
  id: string;
  priority: number;
  record: Readonly<TaskRecord>;
  after?: Dependency;
  args?: Dependency;
  follow?: Dependency;
  targets?: Set<number>;
  retriesLeft: number;
  /** Engines it must not go to again: made with the first (most tasks never have one). */
  blacklist?: Set<number>;
  deadline?: number;
  /** Since when no live engine may take it (every one blacklisted), for the grace period. */
  strandedSince?: number;
  lastError?: WireError;
  /** How far each dependency is, kept up to date as its ids finish (while the task waits). */
  progress?: DependencyProgress[];
}

/**
 * One dependency of a waiting task, counted: each finished id either counts towards it or
 * spoils it, so a finish costs O(1) per waiting dependent instead of a pass over all its ids.
 */
interface DependencyProgress {
  dep: Dependency;
  /** The ids, for telling which dependency a finished id belongs to (only when there are several). */
  ids?: ReadonlySet<string>;
  counted: number;
  spoiled: number;
}

function isMet(p: DependencyProgress): boolean {
  return p.dep.size === 0 || (p.dep.all ? p.counted === p.dep.size : p.counted > 0);
}

function isUnreachable(p: DependencyProgress): boolean {
  return p.dep.size > 0 && (p.dep.all ? p.spoiled > 0 : p.spoiled === p.dep.size);
}

/** Counts one finished id into a dependency. */
function countFinish(p: DependencyProgress, ok: boolean): void {
  if (ok ? p.dep.success : p.dep.failure) p.counted++;
  else p.spoiled++;
}

/** The load-balancing scheduler. */
export class TaskScheduler {
  private readonly scheme: Scheme;
  private readonly ready = new ReadyQueue<PendingTask>();
  private readonly waiting = new Map<string, PendingTask>();
  private readonly waiters = new Map<string, Set<string>>();
  private readonly tasks = new Map<string, PendingTask>();
  /** Tasks sent to an engine and not answered: with `tasks`, counts the unassigned ones. */
  private readonly running = new Set<string>();
  /** Queue timeouts, earliest first (a deadline is kept as a negated priority). */
  private readonly deadlines = new ReadyQueue<{ id: string; priority: number }>();
  /** Tasks no live engine may take, for the grace period; the only tasks a tick looks at. */
  private readonly stranded = new Set<PendingTask>();
  /** Live engines, least recently used first and by load. */
  private readonly pool: EnginePool;
  /** The index's answer to the scheme, for a task any engine may run (built-in schemes only). */
  private readonly pick: ((pool: EnginePool) => number | undefined) | undefined;
  /** With adaptive prefetch, each engine's recent run time per task (ms, a moving average). */
  private readonly runTimes = new Map<number, number>();
  private readonly memo = new Map<string, string>();
  /** Pure tasks waiting for the first task with their memo key, by that task's id. */
  private readonly memoFollowers = new Map<string, string[]>();
  /** The decisions of the call under way. */
  private decisions: Decision[] = [];
  /** Since when every engine is gone (set only once the hub had engines), and why the last one left. */
  private noEnginesSince: number | undefined;
  private lastEngineLoss = "";

  constructor(
    private readonly view: LedgerView,
    private readonly options: SchedulerOptions,
  ) {
    this.scheme = resolveScheme(options.scheme);
    this.pool = new EnginePool(options.hwm === "auto" ? 1 : options.hwm, options.hwm === "auto");
    this.pick = this.scheme === leastload ? (p) => p.leastLoaded() : this.scheme === lru ? (p) => p.leastRecent() : undefined;
  }

  /** Tasks accepted but not yet sent to an engine. */
  get unassigned(): number {
    return this.tasks.size - this.running.size;
  }

  /** Invariant violations of the scheduler's state against the ledger's (for tests and debugging). */
  violations(): string[] {
    const found: string[] = [];
    for (const id of this.tasks.keys()) {
      const phase = this.view.get(id)?.phase;
      if (phase === undefined || phase === "done") found.push(`scheduler still holds finished task ${id}`);
      else if (this.running.has(id) !== (phase === "running"))
        found.push(`task ${id} is ${this.running.has(id) ? "sent" : "unsent"} for the scheduler but ${phase} in the ledger`);
      if (this.waiting.has(id) && this.ready.has(id)) found.push(`task ${id} is both waiting and ready`);
    }
    for (const id of this.waiting.keys()) if (!this.tasks.has(id)) found.push(`waiting task ${id} is unknown`);
    for (const id of this.running) if (!this.tasks.has(id)) found.push(`running task ${id} is unknown`);
    for (const id of this.pool.ids()) {
      const load = this.view.load(id);
      if (this.pool.load(id) !== load) found.push(`engine ${id} holds ${load} tasks, the scheduler counts ${this.pool.load(id)}`);
    }
    return found;
  }

  /**
   * Why unassigned tasks wait when no engine can take them (for `queueStatus`), or undefined
   * when they only wait for capacity or dependencies.
   */
  waitingReason(): string | undefined {
    if (this.pool.size > 0 || this.unassigned === 0) return undefined;
    if (this.noEnginesSince === undefined) return "no engine has registered yet: tasks wait for one (the timeout flag bounds the wait)";
    return (
      `no engine is registered since ${new Date(this.noEnginesSince).toISOString()} (${this.lastEngineLoss}): ` +
      `tasks fail with EngineError ${this.options.impossibleGraceMs} ms after they could last run unless an engine registers`
    );
  }

  /** Accepts a load-balanced request (recorded and queued in the ledger). */
  submit(record: Readonly<TaskRecord>): Decision[] {
    const meta = record.requestMetadata;
    if (!(meta.pure && meta.memoKey && this.shareMemoized(record, meta.memoKey))) this.enqueue(record);
    return this.take();
  }

  /**
   * Takes over a task an engine already holds: a restored controller re-adopting the engines
   * of its predecessor. Its answer, retries and the engine's death are handled as if this
   * scheduler had sent it.
   */
  adopt(record: Readonly<TaskRecord>): void {
    this.tasks.set(record.msgId, pendingTask(record));
    this.running.add(record.msgId);
    if (record.engineId !== undefined) this.pool.setLoad(record.engineId, this.view.load(record.engineId));
  }

  /** An engine joined: it may take queued work. */
  engineAdded(engineId: number): Decision[] {
    // Tasks it holds already (adopted on restore) count from the start.
    this.pool.add(engineId, this.view.load(engineId));
    if (this.noEnginesSince !== undefined) {
      // The grace period was for having no engine at all; the new one is tried first.
      this.noEnginesSince = undefined;
      for (const task of this.stranded) task.strandedSince = undefined;
      this.stranded.clear();
    }
    this.schedule();
    return this.take();
  }

  /**
   * An engine died holding `held`. Those it may have started (`started`) are retried elsewhere
   * or fail with EngineError; the others never ran there and are queued again as they were.
   */
  engineRemoved(engineId: number, reason: string, held: Iterable<string>, started: ReadonlySet<string>): Decision[] {
    this.pool.remove(engineId);
    this.runTimes.delete(engineId);
    for (const msgId of held) {
      const task = this.tasks.get(msgId);
      if (!task) continue;
      this.running.delete(msgId);
      if (!started.has(msgId)) {
        this.moveUnstarted(task, toWire(new EngineError(`${reason} before task ${msgId} started`, engineId), "controller", engineId));
        continue;
      }
      const error = toWire(new EngineError(`${reason} while running task ${msgId}`, engineId), "controller", engineId);
      task.lastError = error;
      (task.blacklist ??= new Set()).add(engineId);
      if (task.retriesLeft > 0) {
        task.retriesLeft--;
        this.requeue(task);
      } else {
        this.fail(task, error);
      }
    }
    if (this.pool.size === 0) {
      // Nothing can run what is queued until an engine registers: start the grace period.
      this.noEnginesSince ??= Date.now();
      this.lastEngineLoss = reason;
      for (const task of this.tasks.values()) if (!this.running.has(task.id)) this.strand(task, this.noEnginesSince);
    }
    this.schedule();
    return this.take();
  }

  /**
   * A task whose engine died before starting it goes back to the queue, its retries intact; it
   * fails with `error` at once if no live engine is among its targets (a direct-like task for that engine).
   */
  private moveUnstarted(task: PendingTask, error: WireError): void {
    task.lastError = error;
    if (task.targets && ![...task.targets].some((id) => this.pool.has(id))) this.fail(task, error);
    else this.requeue(task);
  }

  /**
   * An engine answered a task (and no longer holds it). The first decision says whether the
   * answer is final (`accept`) or the task goes back to the queue (`requeue`).
   */
  reply(msgId: string, engineId: number, answer: Answer): Decision[] {
    this.pool.touch(engineId);
    this.pool.setLoad(engineId, this.view.load(engineId));
    if (this.options.hwm === "auto" && answer.runMs !== undefined) this.learnRunTime(engineId, answer.runMs);
    const task = this.tasks.get(msgId);
    if (!task) return [{ kind: "accept", msgId }];
    this.running.delete(msgId);
    const unmet = answer.unmet === true;
    const retry = !unmet && answer.status === "error" && task.retriesLeft > 0;
    if (unmet || retry) {
      if (retry) task.retriesLeft--;
      if (answer.error) task.lastError = answer.error;
      (task.blacklist ??= new Set()).add(engineId);
      this.requeue(task);
    } else {
      this.decisions.push({ kind: "accept", msgId });
    }
    this.schedule();
    return this.take();
  }

  /** Tasks reached their terminal state (in the ledger): wake their dependents and memo followers. */
  finished(records: Iterable<Readonly<TaskRecord>>): Decision[] {
    for (const record of records) this.settle(record);
    this.schedule();
    return this.take();
  }

  /** Aborts queued tasks (all of them when `msgIds` is undefined): one `fail` decision each. */
  abort(msgIds?: readonly string[]): Decision[] {
    for (const id of msgIds ?? [...this.tasks.keys()]) {
      const task = this.tasks.get(id);
      if (!task || this.running.has(id)) continue;
      this.fail(task, toWire(new TaskAborted(`task ${id} was aborted before it ran`), "controller"), "aborted");
    }
    this.schedule();
    return this.take();
  }

  /**
   * Periodic work: queue timeouts and stranded tasks. It looks only at deadlines that passed
   * and at stranded tasks, never at the whole queue.
   */
  tick(now: number): Decision[] {
    for (let next = this.deadlines.peek(); next && -next.priority < now; next = this.deadlines.peek()) {
      this.deadlines.pop();
      const task = this.tasks.get(next.id);
      // A task on an engine may run past its timeout; if it comes back to the queue, its deadline is watched again.
      if (!task || this.running.has(task.id)) continue;
      this.fail(
        task,
        toWire(
          new TaskTimeout(`task ${task.id} waited longer than its timeout of ${task.record.requestMetadata.timeout} ms`),
          "controller",
        ),
      );
    }
    for (const task of [...this.stranded]) {
      if (this.running.has(task.id) || !this.tasks.has(task.id)) this.stranded.delete(task);
      else if (task.strandedSince !== undefined && now - task.strandedSince > this.options.impossibleGraceMs) {
        this.fail(task, this.strandedError(task));
      }
    }
    this.schedule();
    return this.take();
  }

  /** Forgets state. */
  close(): void {
    this.tasks.clear();
    this.running.clear();
    this.stranded.clear();
    this.waiting.clear();
    this.waiters.clear();
  }

  /** Adaptive prefetch: the engine's estimate takes in a run time, and its capacity follows. */
  private learnRunTime(engineId: number, runMs: number): void {
    const before = this.runTimes.get(engineId);
    const estimate = before === undefined ? runMs : before + RUN_TIME_WEIGHT * (runMs - before);
    this.runTimes.set(engineId, estimate);
    this.pool.setCapacity(engineId, prefetchCapacity(estimate));
  }

  /** Hands over the decisions of the call under way. */
  private take(): Decision[] {
    const decisions = this.decisions;
    this.decisions = [];
    return decisions;
  }

  private enqueue(record: Readonly<TaskRecord>): void {
    const task = pendingTask(record);
    const invalid = this.invalidDependency(task);
    if (invalid) {
      this.decide(task.id, toWire(new InvalidDependency(invalid), "controller"));
      return;
    }
    // A future passed as an argument needs its value, which culling may have dropped before
    // this task arrived (once it is here, the database keeps the values it needs).
    const culled = record.requestMetadata.argRefs?.find((id) => !this.view.get(id) && this.view.wasCulled(id));
    if (culled) {
      this.decide(
        task.id,
        toWire(
          new ResultCulled(
            `task ${task.id} takes the result of ${culled} as an argument, but that result was culled from the controller's bounded task database before the task arrived (raise --db-max-records, or use --db sqlite)`,
          ),
          "controller",
        ),
      );
      return;
    }
    this.tasks.set(task.id, task);
    // Every engine died (a poison pill, a lost host): new work gets the same grace period.
    if (this.noEnginesSince !== undefined) this.strand(task, Date.now());
    this.watchDeadline(task);
    this.evaluate(task);
    this.schedule();
  }

  /** Starts a task's grace period (unless it runs already): no engine may take it now. */
  private strand(task: PendingTask, since: number): void {
    task.strandedSince ??= since;
    this.stranded.add(task);
  }

  /** Why a task no engine could take for the whole grace period fails. */
  private strandedError(task: PendingTask): WireError {
    if (task.lastError) return task.lastError;
    if (this.pool.size === 0) {
      return toWire(
        new EngineError(
          `no engine to run task ${task.id}: every engine is gone (last: ${this.lastEngineLoss}) and none registered within ${this.options.impossibleGraceMs} ms`,
        ),
        "controller",
      );
    }
    return toWire(new ImpossibleDependency(`no engine can run task ${task.id}: every live engine rejected it`), "controller");
  }

  // ---- dependencies ----

  private invalidDependency(task: PendingTask): string | undefined {
    for (const dep of dependenciesOf(task)) {
      for (const id of dep?.ids ?? []) {
        if (id === task.id) return `task ${task.id} cannot depend on itself`;
        if (!this.view.get(id) && !this.view.wasCulled(id)) return `task ${task.id} depends on ${id}, which the scheduler never saw`;
      }
    }
    return undefined;
  }

  private status(ids: readonly string[]): { completed: Set<string>; failed: Set<string> } {
    const completed = new Set<string>();
    const failed = new Set<string>();
    for (const id of ids) {
      const record = this.view.get(id);
      if (!record) {
        const culled = this.view.culledStatus(id);
        if (culled === "ok") completed.add(id);
        else if (culled === "failed") failed.add(id);
        continue;
      }
      if (record.phase !== "done") continue;
      if (record.reply?.content.status === "ok") completed.add(id);
      else failed.add(id);
    }
    return { completed, failed };
  }

  /** Counts a new task's dependencies as they stand, then puts it where it belongs. */
  private evaluate(task: PendingTask): void {
    const deps = dependenciesOf(task);
    const { completed, failed } = this.status(deps.flatMap((d) => d.ids));
    task.progress = deps.map((dep) => {
      const progress: DependencyProgress = { dep, counted: 0, spoiled: 0, ...(deps.length > 1 ? { ids: new Set(dep.ids) } : {}) };
      for (const id of dep.ids) if (completed.has(id) || failed.has(id)) countFinish(progress, completed.has(id));
      return progress;
    });
    const blocked = task.progress.find(isUnreachable);
    this.route(
      task,
      blocked?.dep.ids.find((id) => failed.has(id)),
    );
  }

  /** One of a waiting task's dependencies finished: count it, then see where the task belongs. */
  private advance(task: PendingTask, finishedId: string, ok: boolean): void {
    for (const p of task.progress ?? []) if (!p.ids || p.ids.has(finishedId)) countFinish(p, ok);
    this.route(task, ok ? undefined : finishedId);
  }

  /**
   * Puts a task where its dependencies' progress says: failed (unreachable; `failedId` names a
   * failed dependency when there is one), ready, or waiting.
   */
  private route(task: PendingTask, failedId: string | undefined): void {
    const progress = task.progress ?? [];
    const blocked = progress.find(isUnreachable);
    if (blocked) {
      const message = `task ${task.id} cannot run: its dependency ${failedId ?? blocked.dep.ids[0]} ${failedId ? "failed" : "can no longer be met"}`;
      // The upstream error travels as the cause, so the user sees why the chain broke.
      this.fail(task, toWire(new ImpossibleDependency(message, failedId ? { cause: this.errorText(failedId) } : undefined), "controller"));
      return;
    }
    if (progress.every(isMet)) {
      if (this.waiting.delete(task.id))
        this.unindex(
          task,
          dependenciesOf(task).flatMap((d) => d.ids),
        );
      task.progress = undefined;
      this.ready.push(task);
      return;
    }
    if (!this.waiting.has(task.id)) {
      this.waiting.set(task.id, task);
      for (const id of dependenciesOf(task).flatMap((d) => d.ids)) {
        let set = this.waiters.get(id);
        if (!set) this.waiters.set(id, (set = new Set()));
        set.add(task.id);
      }
    }
  }

  private errorText(msgId: string): string {
    const error = this.view.get(msgId)?.reply?.content.error;
    return error ? `${error.ename}: ${error.evalue}` : "";
  }

  private unindex(task: PendingTask, ids: readonly string[]): void {
    for (const id of ids) {
      const set = this.waiters.get(id);
      set?.delete(task.id);
      if (set?.size === 0) this.waiters.delete(id);
    }
  }

  private settle(record: Readonly<TaskRecord>): void {
    const task = this.tasks.get(record.msgId);
    if (task) this.forget(task);
    this.releaseMemoFollowers(record);
    const waiting = this.waiters.get(record.msgId);
    if (!waiting) return;
    const ok = record.reply?.content.status === "ok";
    for (const id of [...waiting]) {
      const dependent = this.waiting.get(id);
      if (dependent) this.advance(dependent, record.msgId, ok);
    }
  }

  /** Drops a task from every structure: it finished, or is about to with a `fail` decision. */
  private forget(task: PendingTask): void {
    this.tasks.delete(task.id);
    this.running.delete(task.id);
    this.stranded.delete(task);
    this.deadlines.remove(task.id);
    this.ready.remove(task.id);
    if (this.waiting.delete(task.id))
      this.unindex(
        task,
        dependenciesOf(task).flatMap((d) => d.ids),
      );
  }

  // ---- placement ----

  private schedule(): void {
    if (this.ready.size === 0 || this.pool.size === 0) return;
    // Tasks that cannot be placed now keep their place in line for the next pass.
    const deferred: Array<[PendingTask, number]> = [];
    try {
      while (this.ready.size > 0 && this.pool.freeCount > 0) {
        const order = this.ready.nextOrder() as number;
        const task = this.ready.pop() as PendingTask;
        if (this.running.has(task.id) || !this.tasks.has(task.id)) continue;
        const engineId = this.place(task);
        if (engineId === undefined) deferred.push([task, order]);
        else this.send(task, engineId);
      }
    } finally {
      for (const [task, order] of deferred) this.ready.push(task, order);
    }
  }

  /** The engine to send a task to; undefined when none may take it now. */
  private place(task: PendingTask): number | undefined {
    if (this.pick && isUnrestricted(task)) {
      this.unstrand(task);
      return this.pick(this.pool);
    }
    const allowed: number[] = [];
    for (const id of this.pool.ids()) if (this.mayRun(task, id)) allowed.push(id);
    if (allowed.length === 0) {
      task.strandedSince ??= Date.now();
      this.stranded.add(task);
      return undefined;
    }
    this.unstrand(task);
    const free = allowed.filter((id) => this.pool.isFree(id));
    if (free.length === 0) return undefined;
    const index = this.scheme(free.map((id) => this.pool.load(id)));
    // A user scheme that answers out of range must not stall the queue: fall back to the LRU engine.
    return free[Number.isInteger(index) && index >= 0 && index < free.length ? index : 0];
  }

  /** Some engine may take the task: its grace period, if any, ends. */
  private unstrand(task: PendingTask): void {
    task.strandedSince = undefined;
    this.stranded.delete(task);
  }

  private mayRun(task: PendingTask, engineId: number): boolean {
    if (task.blacklist?.has(engineId)) return false;
    if (task.targets && !task.targets.has(engineId)) return false;
    if (task.follow && task.follow.size > 0) {
      const here = new Set<string>();
      for (const id of task.follow.ids) {
        const record = this.view.get(id);
        if (record?.phase === "done" && record.engineId === engineId && record.reply?.content.status === "ok") here.add(id);
      }
      if (!task.follow.met(here, new Set())) return false;
    }
    return true;
  }

  private send(task: PendingTask, engineId: number): void {
    // Counted at once: the ledger applies the dispatch once this call returns.
    this.pool.touch(engineId);
    this.pool.setLoad(engineId, this.pool.load(engineId) + 1);
    this.running.add(task.id);
    this.decisions.push({ kind: "dispatch", msgId: task.id, engineId });
  }

  /** Back to the queue after an engine died or refused it; its queue timeout applies again. */
  private requeue(task: PendingTask): void {
    this.decisions.push({ kind: "requeue", msgId: task.id });
    this.ready.push(task);
    this.watchDeadline(task);
  }

  private watchDeadline(task: PendingTask): void {
    // A hand-made request may carry a timeout that is not a number: it never times out.
    if (Number.isFinite(task.deadline)) this.deadlines.push({ id: task.id, priority: -(task.deadline as number) });
  }

  // ---- terminal states ----

  /** Ends a known task with an error: it leaves the scheduler now, its dependents hear of it once it is recorded. */
  private fail(task: PendingTask, error: WireError, status: "error" | "aborted" = "error"): void {
    this.forget(task);
    this.decide(task.id, error, status);
  }

  /** A `fail` decision. */
  private decide(msgId: string, error: WireError, status: "error" | "aborted" = "error"): void {
    this.decisions.push({ kind: "fail", msgId, error, status });
  }

  // ---- memoization ----

  private shareMemoized(record: Readonly<TaskRecord>, key: string): boolean {
    const firstId = this.memo.get(key);
    const first = firstId ? this.view.get(firstId) : undefined;
    if (!first || (first.phase === "done" && first.reply?.content.status !== "ok")) {
      this.memo.set(key, record.msgId);
      return false;
    }
    if (first.reply) {
      this.decisions.push({ kind: "share", msgId: record.msgId, sourceId: first.msgId, reply: first.reply });
      return true;
    }
    const followers = this.memoFollowers.get(first.msgId) ?? [];
    followers.push(record.msgId);
    this.memoFollowers.set(first.msgId, followers);
    return true;
  }

  private releaseMemoFollowers(record: Readonly<TaskRecord>): void {
    const followers = this.memoFollowers.get(record.msgId);
    if (!followers) return;
    this.memoFollowers.delete(record.msgId);
    for (const follower of followers) {
      if (record.reply?.content.status === "ok")
        this.decisions.push({ kind: "share", msgId: follower, sourceId: record.msgId, reply: record.reply });
      else
        this.decide(
          follower,
          record.reply?.content.error ??
            toWire(new ProtocolError(`memoized task ${record.msgId} failed without an error description`), "controller"),
        );
    }
  }
}

/** The scheduler's view of a request, as submitted. */
function pendingTask(record: Readonly<TaskRecord>): PendingTask {
  const meta = record.requestMetadata;
  return {
    id: record.msgId,
    priority: meta.priority ?? 0,
    record,
    retriesLeft: meta.retries ?? 0,
    ...(meta.after ? { after: Dependency.fromJSON(meta.after) } : {}),
    // Futures passed as arguments: their values must exist, so they must have succeeded.
    ...(meta.argRefs?.length ? { args: new Dependency(meta.argRefs) } : {}),
    ...(meta.follow ? { follow: Dependency.fromJSON(meta.follow) } : {}),
    ...(meta.targets ? { targets: new Set(meta.targets) } : {}),
    ...(meta.timeout ? { deadline: Date.now() + meta.timeout } : {}),
  };
}

/** Whether any engine may run the task (no blacklist, targets or `follow`). */
function isUnrestricted(task: PendingTask): boolean {
  return (task.blacklist?.size ?? 0) === 0 && task.targets === undefined && (task.follow === undefined || task.follow.size === 0);
}

function dependenciesOf(task: PendingTask): Dependency[] {
  return [task.after, task.args, task.follow].filter((d): d is Dependency => d !== undefined);
}
