/**
 * The client: one DEALER to the controller, the history of submitted messages, engine ids kept
 * current by notifications, a bounded window of tasks in flight, and a heartbeat that rides out
 * a controller's pause or restart and turns a lost controller into `ControllerLostError`
 * (after `controllerTimeout`) instead of a hang.
 */
import { EventEmitter } from "node:events";
import os from "node:os";
import path from "node:path";
import { DEFAULT_PROFILE, clusterFiles, listClusterIds, pidAlive, profileDir, readConnectionFile } from "../connection/profile.js";
import type { ConnectionInfo } from "../connection/profile.js";
import {
  ConfigurationError,
  ControllerLostError,
  NoEnginesRegistered,
  ProtocolError,
  ResultCulled,
  TimeoutError,
  fromWire,
} from "../errors.js";
import type { NotificationContent } from "../protocol/contents.js";
import { EMPTY } from "../protocol/content-guards.js";
import { problemAt } from "../protocol/guard.js";
import type { Guard } from "../protocol/guard.js";
import { newMsgId } from "../protocol/message.js";
import type { Codec } from "../protocol/message.js";
import type { Incoming, MsgType } from "../protocol/message.js";
import { QUERY_REPLY } from "../protocol/query-table.js";
import type { EngineSummary, QueryAnswer, QueryArgs, QueryOp, QueueStatus, StoredResult } from "../protocol/query-table.js";
import { WireGate } from "../protocol/wire.js";
import type { ContentOf, MetadataOf, WireMessage } from "../protocol/wire.js";
import { Channel, connectDealer, newCodec } from "../transport/channel.js";
import { HeartMonitor } from "../transport/heart.js";
import { StallMeter, creditStall } from "../transport/stall.js";
import { onAbort, validateSignal } from "../abort.js";
import { AsyncResult, WAIT_INTERACTIVE_OPTIONS } from "./async-result.js";
import { DirectView } from "./direct-view.js";
import { decodeResult } from "./encode.js";
import { Executor } from "./executor.js";
import type { ExecutorOptions } from "./executor.js";
import { LoadBalancedView } from "./load-balanced-view.js";
import type { ClientPort, Submission } from "./client-port.js";
import { RecentIds } from "./recent-ids.js";
import { SendWindow } from "./send-window.js";
import type { ProgressBarFactory } from "./progress-bar.js";
import { terminalProgressBar } from "./terminal-progress.js";
import { checkBooleans, checkOptions, fillDefaults } from "../options.js";
import type { WaitInteractiveOptions, WaitOptions } from "./async-result.js";
import { TaskEntry } from "./task-entry.js";
import type { TargetSpec } from "./targets.js";

/** How to find the controller, and how long to trust it. */
export interface ConnectOptions {
  /**
   * Profile whose newest running cluster to join.
   * @default "default"
   */
  readonly profile?: string;
  /**
   * Profile folder, instead of the one the profile's name gives.
   * @default `~/.parallax/profile_<profile>`
   */
  readonly profileDir?: string;
  /**
   * A specific cluster of the profile.
   * @default the newest one whose controller runs
   */
  readonly clusterId?: string;
  /**
   * A client connection file path (wins over profile and cluster id).
   * @default the file of the cluster the other options find
   */
  readonly connectionFile?: string;
  /**
   * How long to wait for the controller's answer, in ms.
   * @default 10000
   */
  readonly timeout?: number;
  /**
   * Heartbeats the controller may miss before the connection counts as interrupted: the client
   * emits `disconnected`, keeps every outstanding result, and once the controller answers again
   * (paused, busy or restarted with --restore) emits `reconnected` and asks for the results it
   * may have missed.
   * @default 5
   */
  readonly missedHeartbeats?: number;
  /**
   * How long the controller may stay silent, in ms, before the client gives up on it:
   * outstanding results fail with ControllerLostError and new submissions fail at once
   * (as the engines' `--controller-timeout`).
   * @default 60000
   */
  readonly controllerTimeout?: number;
  /**
   * At most this many submitted tasks are unfinished at the controller at once; later ones wait
   * in the client, in submission order, and are sent as earlier ones finish. Bounds the
   * controller's memory however much is submitted.
   * @default 1000
   */
  readonly maxInFlight?: number;
}

/** The connect options that have a fixed default. */
type DefaultedConnectOption = "profile" | "timeout" | "missedHeartbeats" | "controllerTimeout" | "maxInFlight";

/** Connect options with their defaults in place: what a `Client` reads. */
export type FilledConnectOptions = ConnectOptions & Required<Pick<ConnectOptions, DefaultedConnectOption>>;

/** The defaults of {@link ConnectOptions}: the one place each is written. */
export const kDefaultConnectOptions: Readonly<Pick<FilledConnectOptions, DefaultedConnectOption>> = Object.freeze({
  profile: DEFAULT_PROFILE,
  timeout: 10_000,
  missedHeartbeats: 5,
  controllerTimeout: 60_000,
  maxInFlight: 1_000,
});

/** Events a client emits. */
export interface ClientEvents {
  registration: [{ id: number; pid?: number; hostname?: string }];
  unregistration: [{ id: number; reason?: string }];
  shutdown: [];
  /** The controller missed `missedHeartbeats` heartbeats; results are kept while it may come back. */
  disconnected: [];
  /** The controller answered again after `disconnected`; missed results are being fetched. */
  reconnected: [];
  /** The client was closed or lost its controller: waits end with this error. */
  failed: [Error];
}

/** Tasks to wait for, abort or look up: msg ids, AsyncResults, history indices, or a list of them. */
export type Jobs = string | number | AsyncResult | ReadonlyArray<string | number | AsyncResult>;

/** A request waiting for the controller's answer: a query, or the closing ping. */
interface PendingAnswer {
  /** What was asked, for the error when the answer does not fit. */
  what: string;
  /** The shape the answer must have. */
  check: Guard<unknown>;
  resolve: (answer: { content: unknown; buffers: Buffer[] }) => void;
  reject: (error: Error) => void;
}

const HISTORY_LIMIT = 100_000;
/** close() waits this long for the controller to read what was sent, plus a little per request. */
const HANDOVER_BASE_MS = 2000;
const HANDOVER_PER_REQUEST_MS = 1;
/** How often `getResult` asks again about a task that is still running. */
const RESULT_POLL_MS = 200;

/** Connection to a Parallax cluster. */
export class Client extends EventEmitter<ClientEvents> implements ClientPort {
  private readonly codec: Codec;
  private readonly channel: Channel;
  private readonly engines = new Map<number, { pid?: number; hostname?: string }>();
  private readonly outstanding = new Map<string, TaskEntry>();
  private readonly queries = new Map<string, PendingAnswer>();
  /** What the controller may send a client: checked once, here. */
  private readonly gate = new WireGate(["apply_reply", "stream", "pong", "query_reply", "error_reply", "notification"]);
  private warnedRefused = false;
  private readonly historyIds = new RecentIds(HISTORY_LIMIT);
  private readonly window: SendWindow<Submission>;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Pings the controller's heart, which answers even while its main socket is busy. */
  private readonly heart: HeartMonitor | undefined;
  private lastHeard = Date.now();
  /** The controller missed its heartbeats and has not answered since. */
  private interrupted = false;
  /** Session of the controller's messages: a new one means it was restarted (--restore). */
  private controllerSession: string | undefined;
  private lostError: ControllerLostError | undefined;
  private closed = false;
  private warnedNoEngines = false;
  /** The controller's message size limit, learned when connecting. */
  private maxMessageBytes = Number.POSITIVE_INFINITY;
  private readonly missedHeartbeats: number;
  private readonly controllerTimeout: number;
  /** @internal How this client's results draw `waitInteractive` on a terminal. */
  readonly progressBar: ProgressBarFactory = terminalProgressBar;

  private constructor(
    readonly connection: ConnectionInfo,
    options: FilledConnectOptions,
  ) {
    super();
    this.missedHeartbeats = options.missedHeartbeats;
    this.controllerTimeout = options.controllerTimeout;
    this.codec = newCodec(connection.key);
    // A short linger lets requests submitted just before close() still reach the controller.
    this.channel = new Channel(connectDealer(connection.url, `client-${this.codec.session}`, 500, connection.curveServerKey), this.codec);
    this.channel.start(
      (message) => this.onMessage(message),
      undefined,
      undefined,
      (message) => this.onDamaged(message),
    );
    this.window = new SendWindow(options.maxInFlight, (s) => this.send("apply_request", s.content, s.metadata, s.buffers, s.entry.msgId));
    if (connection.heartbeatUrl)
      this.heart = new HeartMonitor(connection.heartbeatUrl, () => (this.lastHeard = Date.now()), connection.curveServerKey);
  }

  /** Connects to a running cluster (see {@link ConnectOptions}). */
  static async connect(given: ConnectOptions = {}): Promise<Client> {
    validateConnectOptions(given);
    const options = fillDefaults(kDefaultConnectOptions, given);
    const file = findConnectionFile(options);
    const info = readConnectionFile(file);
    const client = new Client(info, options);
    try {
      const answer = await client.query("connect", {}, options.timeout);
      client.adoptEngines(answer.content.engines);
      client.maxMessageBytes = answer.content.maxMessageBytes;
    } catch (error) {
      await client.close();
      if (error instanceof TimeoutError) throw new ControllerLostError(unanswered(info, file, options.timeout));
      throw error;
    }
    client.startHeartbeat();
    return client;
  }

  /** Address of the controller's live dashboard, when it serves one. */
  get dashboardUrl(): string | undefined {
    return this.connection.dashboardUrl;
  }

  /** Registered engine ids, sorted; a fresh copy each time. */
  get ids(): number[] {
    return [...this.engines.keys()].sort((a, b) => a - b);
  }

  /** Msg ids submitted by this client, oldest first (the most recent 100 000). */
  get history(): string[] {
    return this.historyIds.list();
  }

  /** Msg ids still waiting for a result. */
  get outstandingIds(): string[] {
    return [...this.outstanding.keys()];
  }

  /**
   * A DirectView; targets default to all engines, re-evaluated at every call. One engine id
   * gives a view whose results are single values; anything else, lists (one value per engine).
   */
  view(targets: number): DirectView<true>;
  view(targets?: "all" | readonly number[] | string): DirectView<false>;
  view(targets?: TargetSpec): DirectView;
  view(targets: TargetSpec = "all"): DirectView {
    return new DirectView(this, targets);
  }

  /** `[...rc]`: a one-engine DirectView per registered engine, as iterating IPython Parallel's client gives. */
  *[Symbol.iterator](): IterableIterator<DirectView> {
    for (const id of this.ids) yield this.view(id);
  }

  /** Number of registered engines (`len(rc)`). */
  get length(): number {
    return this.engines.size;
  }

  /** A LoadBalancedView over all engines, or a subset. */
  loadBalancedView(targets?: number | number[] | string): LoadBalancedView {
    return new LoadBalancedView(this, targets);
  }

  /** An executor (like `concurrent.futures`) over a LoadBalancedView; `signal` cancels all its tasks. */
  executor(targets?: number | number[] | string, options: ExecutorOptions = {}): Executor<LoadBalancedView> {
    return new Executor(this.loadBalancedView(targets), options);
  }

  /**
   * Resolves when at least `n` engines are registered; rejects with TimeoutError after
   * `timeout` ms (default 60 000), or with the signal's reason when `signal` aborts.
   */
  async waitForEngines(n: number, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<number[]> {
    checkOptions(options, ["timeout", "signal"], "waitForEngines");
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`waitForEngines: n must be a non-negative integer, got ${n}`);
    const timeout = options.timeout ?? 60_000;
    if (!(timeout > 0)) throw new RangeError(`waitForEngines: timeout must be a positive number of ms, got ${timeout}`);
    validateSignal(options.signal, "waitForEngines: option signal");
    options.signal?.throwIfAborted();
    if (this.engines.size >= n) return this.ids;
    const signal = options.signal;
    return await new Promise<number[]>((resolve, reject) => {
      const check = () => {
        if (this.engines.size < n) return;
        cleanup();
        resolve(this.ids);
      };
      const onShutdown = () => {
        cleanup();
        reject(new ControllerLostError("the controller shut down while waiting for engines"));
      };
      const onFailed = (error: Error) => {
        cleanup();
        reject(error);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new TimeoutError(`only ${this.engines.size} of ${n} engines registered within ${timeout} ms`));
      }, timeout);
      const offAbort = signal
        ? onAbort(signal, () => {
            cleanup();
            reject(signal.reason as Error);
          })
        : () => undefined;
      const cleanup = () => {
        clearTimeout(timer);
        this.off("registration", check);
        this.off("shutdown", onShutdown);
        this.off("failed", onFailed);
        offAbort();
      };
      this.on("registration", check);
      this.on("shutdown", onShutdown);
      this.on("failed", onFailed);
    });
  }

  /** Queue status of engines (all, or `targets`), plus unassigned load-balanced tasks. */
  async queueStatus(targets?: number | number[]): Promise<QueueStatus> {
    const answer = await this.query("queue_status", targets === undefined ? {} : { targets: [targets].flat() });
    return answer.content;
  }

  /** Aborts queued tasks: the given msg ids / AsyncResults, or all queued tasks. */
  async abort(jobs?: string | AsyncResult | ReadonlyArray<string | AsyncResult>, targets?: number | number[]): Promise<string[]> {
    const msgIds = jobs === undefined ? undefined : msgIdsOf(jobs);
    // Tasks still waiting in the send window never reach the controller.
    const held = this.window.abort(msgIds, targets === undefined ? undefined : [targets].flat());
    for (const id of held) this.outstanding.delete(id);
    const answer = await this.query("abort", {
      ...(msgIds ? { msgIds } : {}),
      ...(targets === undefined ? {} : { targets: [targets].flat() }),
    });
    return [...held, ...answer.content.aborted];
  }

  /** Clears the namespaces of engines (all, or `targets`). */
  async clear(targets?: TargetSpec): Promise<void> {
    await this.view(targets ?? "all").clear();
  }

  /** Sends a signal, by name (`"SIGINT"`) or number (`2`), to the engines' processes (through their supervisors). */
  async sendSignal(signal: NodeJS.Signals | number = "SIGINT", targets?: number | number[]): Promise<number[]> {
    const answer = await this.query("signal", {
      signal: signalName(signal),
      ...(targets === undefined ? {} : { targets: [targets].flat() }),
    });
    return answer.content.signalled;
  }

  /** Sends SIGINT to the engines running the given tasks (see `AsyncResult.interrupt`). */
  async interrupt(jobs: string | AsyncResult | ReadonlyArray<string | AsyncResult>): Promise<number[]> {
    const answer = await this.query("signal", { signal: "SIGINT", msgIds: msgIdsOf(jobs) });
    return answer.content.signalled;
  }

  /** Stops engines (all, or `targets`) and, with `hub: true`, the controller. */
  async shutdown(options: { targets?: number | number[]; hub?: boolean } = {}): Promise<void> {
    checkOptions(options, ["targets", "hub"], "shutdown");
    checkBooleans(options, ["hub"], "shutdown");
    if (options.targets !== undefined && ![options.targets].flat().every((t) => Number.isInteger(t) && t >= 0))
      throw new TypeError(`shutdown: targets must be an engine id or a list of engine ids, got ${JSON.stringify(options.targets)}`);
    await this.query("shutdown", {
      hub: options.hub === true,
      ...(options.targets === undefined ? {} : { targets: [options.targets].flat() }),
    });
  }

  /**
   * Results by msg id (also of tasks submitted by other clients), by history index, or of an
   * AsyncResult (default: the last submitted). Returns at once; what this client does not hold
   * fills in from the hub's database, polling while the task still runs.
   */
  getResult<R = unknown>(job?: string | number): AsyncResult<R, true>;
  getResult<R = unknown>(jobs: ReadonlyArray<string | number | AsyncResult>): AsyncResult<R[], false>;
  getResult(job?: Jobs): AsyncResult;
  getResult(job: Jobs = -1): AsyncResult {
    const held = new Map<string, TaskEntry>();
    const ids = jobList(job, "getResult").flatMap((j) => {
      if (j instanceof AsyncResult) {
        for (const e of j.taskEntries) held.set(e.msgId, e);
        return j.msgIds;
      }
      return [this.msgIdOf(j)];
    });
    const entries = ids.map((id) => held.get(id) ?? this.outstanding.get(id) ?? new TaskEntry(id));
    void this.fillFromHub(entries.filter((e) => !held.has(e.msgId) && !this.outstanding.has(e.msgId)));
    return new AsyncResult(this, entries, { scalar: !Array.isArray(job) && ids.length === 1 });
  }

  /**
   * Waits for results of this client: `jobs` (msg ids, history indices, AsyncResults), or all
   * outstanding ones. Resolves to whether they are all done within `timeout` ms; ids that are
   * not outstanding (finished, or unknown) count as done, as in IPython Parallel. Aborting
   * `signal` cancels them and rejects with its reason.
   */
  async wait(jobs?: Jobs, options: WaitOptions = {}): Promise<boolean> {
    checkOptions(options, ["timeout", "signal"], "wait");
    const entries = this.pendingEntries(jobs);
    if (entries.length === 0) return true;
    return await new AsyncResult(this, entries, { scalar: false }).wait(options);
  }

  /** {@link wait} with a progress bar (see `AsyncResult.waitInteractive`). */
  async waitInteractive(jobs?: Jobs, options: WaitInteractiveOptions = {}): Promise<boolean> {
    const entries = this.pendingEntries(jobs);
    if (entries.length > 0) return await new AsyncResult(this, entries, { scalar: false }).waitInteractive(options);
    checkOptions(options, WAIT_INTERACTIVE_OPTIONS, "waitInteractive");
    return true;
  }

  /**
   * Warns once, through Node's warnings, that load-balanced work is submitted while no engine
   * is registered: it waits for engines, which may still come.
   */
  warnIfNoEngines(): void {
    if (this.engines.size > 0 || this.warnedNoEngines) return;
    this.warnedNoEngines = true;
    process.emitWarning(
      "no engines are registered: load-balanced tasks wait until engines register (start some, or await client.waitForEngines(n))",
      { code: "PARALLAX_NO_ENGINES" },
    );
  }

  /**
   * Submits tasks again under new msg ids (msg ids, history indices or AsyncResults; default
   * the last submitted); returns their result at once.
   */
  resubmit(jobs: Jobs = -1): AsyncResult {
    const ids = jobList(jobs, "resubmit").flatMap((j) => (j instanceof AsyncResult ? j.msgIds : [this.msgIdOf(j)]));
    this.assertUsable();
    const entries = ids.map(() => this.track(new TaskEntry(newMsgId())));
    this.query("resubmit", { msgIds: ids, newIds: entries.map((e) => e.msgId) }).catch((error: Error) => {
      for (const entry of entries) {
        this.outstanding.delete(entry.msgId);
        entry.fail(error);
      }
    });
    return new AsyncResult(this, entries, { scalar: ids.length === 1 && !Array.isArray(jobs) });
  }

  /** Msg ids the hub has recorded, oldest first. */
  async hubHistory(): Promise<string[]> {
    return (await this.query("history", {})).content.msgIds;
  }

  /**
   * Queries the hub's task database with MongoDB-style operators ($lt $gt $lte $gte $eq $ne
   * $in $nin $exists $glob) over msg_id, client, engine_id, balanced, submitted, started,
   * completed, phase, status, label, stdout and stderr. `keys` narrows the returned fields.
   */
  async dbQuery(query: Record<string, unknown>, keys?: string[]): Promise<Array<Record<string, unknown>>> {
    return (await this.query("db_query", { filter: query, ...(keys ? { keys } : {}) })).content.records;
  }

  /**
   * Asks the controller to check its invariants (engine loads equal the tasks in flight, no
   * finished task still queued) and throws an Error listing any violation. For tests and debugging.
   */
  async debugValidate(): Promise<void> {
    const violations = (await this.query("validate", {})).content.violations;
    if (violations.length > 0) throw new Error(`controller invariants violated:\n  ${violations.join("\n  ")}`);
  }

  /** Deletes finished records from the hub's database. */
  async purgeResults(jobs: "all" | string | AsyncResult | ReadonlyArray<string | AsyncResult>): Promise<number> {
    const msgIds = jobs === "all" ? "all" : msgIdsOf(jobs);
    return (await this.query("purge", { msgIds })).content.purged;
  }

  /**
   * Closes the connection. Outstanding results fail with ControllerLostError at once. Every
   * request submitted, including those still waiting in the send window, is handed to the
   * controller first: awaiting the returned promise waits until the controller has read them
   * all, for at most 2 s plus 1 ms per outstanding request.
   */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heart?.close();
    const lost = this.lostError !== undefined;
    const requests = this.outstanding.size;
    if (!lost) this.window.release();
    this.failEverything(new ControllerLostError("the client was closed before the result arrived"));
    return lost ? this.channel.close() : this.handOver(requests);
  }

  /** `await using client = …` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- used by views ----

  /** Throws if submitting is impossible now. */
  assertUsable(): void {
    if (this.lostError) throw new ControllerLostError(`cannot submit: ${this.lostError.message}`);
    if (this.closed) throw new ControllerLostError("cannot submit: the client is closed");
  }

  /** Engine ids for "all", failing clearly when there are none. */
  requireEngines(): number[] {
    const ids = this.ids;
    if (ids.length === 0) throw new NoEnginesRegistered("no engines are registered; start some or await client.waitForEngines(n)");
    return ids;
  }

  /** Sends task messages (through the send window) and tracks their entries. */
  submit(submissions: readonly Submission[]): void {
    this.assertUsable();
    for (const s of submissions) {
      // The controller would refuse it anyway; refusing here saves sending it.
      const size = s.buffers.reduce((n, b) => n + b.byteLength, 0);
      if (size > this.maxMessageBytes) {
        throw new ProtocolError(
          `request of ${size} bytes is over the controller's limit of ${this.maxMessageBytes} bytes (--max-message-bytes)`,
        );
      }
    }
    for (const s of submissions) {
      this.track(s.entry);
      this.window.submit(s);
    }
  }

  /**
   * Sends a hub query and waits for its answer. The query table types both: a wrong op,
   * arguments of another query, or reading a field its reply does not have do not compile.
   */
  query<Op extends QueryOp>(op: Op, args: QueryArgs<Op>, timeout = 30_000): Promise<QueryAnswer<Op>> {
    // The reply was checked against QUERY_REPLY[op] when it arrived.
    return this.ask("query_request", { op, ...args } as ContentOf<"query_request">, QUERY_REPLY[op], timeout, `the ${op} query`) as Promise<
      QueryAnswer<Op>
    >;
  }

  // ---- internals ----

  /** Sends a message and waits for the controller's answer to it, which must fit `check`. */
  private ask<T extends MsgType>(
    type: T,
    content: ContentOf<T>,
    check: Guard<unknown>,
    timeout: number,
    what: string,
  ): Promise<{ content: unknown; buffers: Buffer[] }> {
    if (this.lostError) return Promise.reject(new ControllerLostError(this.lostError.message));
    const msgId = newMsgId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.queries.delete(msgId);
        reject(new TimeoutError(`the controller did not answer ${what} within ${timeout} ms`));
      }, timeout);
      this.queries.set(msgId, {
        what,
        check,
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.send(type, content, {}, [], msgId);
    });
  }

  /**
   * Closing: the socket's linger cannot outlast a controller that reads slowly, so wait for
   * its answer to a ping sent after everything else (it reads each client's messages in
   * order), bounded by the work it may have to get through first.
   */
  private async handOver(requests: number): Promise<void> {
    await this.ask("ping", {}, EMPTY, HANDOVER_BASE_MS + requests * HANDOVER_PER_REQUEST_MS, "the closing ping").catch(() => {
      // A controller that is gone or too slow: what it has not read is lost, as documented.
    });
    await this.channel.close();
  }

  private track(entry: TaskEntry): TaskEntry {
    this.outstanding.set(entry.msgId, entry);
    this.historyIds.push(entry.msgId);
    return entry;
  }

  /** The entries of `jobs` still outstanding (all outstanding ones when `jobs` is undefined). */
  private pendingEntries(jobs: Jobs | undefined): TaskEntry[] {
    if (jobs === undefined) return [...this.outstanding.values()];
    return jobList(jobs, "wait").flatMap((j) => {
      if (j instanceof AsyncResult) return j.taskEntries.filter((e) => !e.settled);
      const entry = this.outstanding.get(this.msgIdOf(j));
      return entry ? [entry] : [];
    });
  }

  private msgIdOf(job: string | number): string {
    return typeof job === "number" ? this.historyAt(job) : job;
  }

  private historyAt(index: number): string {
    const id = this.historyIds.at(index);
    if (id === undefined) throw new RangeError(`history index ${index} is out of range (history has ${this.historyIds.length} entries)`);
    return id;
  }

  /** Settles entries from the hub's database, polling those whose tasks still run. */
  private async fillFromHub(entries: TaskEntry[]): Promise<void> {
    let waiting = entries;
    while (waiting.length > 0) {
      let answer: QueryAnswer<"get_result">;
      try {
        answer = await this.query("get_result", { msgIds: waiting.map((e) => e.msgId) });
      } catch (error) {
        for (const entry of waiting) entry.fail(error as Error);
        return;
      }
      const stored = answer.content.results;
      waiting = waiting.filter((entry, i) => !this.settleFromStored(entry, stored[i], answer.buffers));
      if (waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, RESULT_POLL_MS));
    }
  }

  /** Applies one stored record; returns false while the task is still pending. */
  private settleFromStored(entry: TaskEntry, stored: StoredResult | undefined, buffers: Buffer[]): boolean {
    if (stored === undefined) {
      entry.fail(new ProtocolError(`the hub's answer to get_result holds no entry for ${entry.msgId}`));
      return true;
    }
    if (stored.status === "pending") return false;
    if (stored.status === "unknown") {
      entry.fail(
        stored.culled
          ? new ResultCulled(`the result of ${entry.msgId} was culled from the hub's bounded task database`)
          : new ProtocolError(`the hub has no task ${entry.msgId}`),
      );
      return true;
    }
    const [start, end] = stored.frames;
    entry.metadata.submitted = stored.submitted;
    const content = stored.content;
    entry.settle(content, stored.metadata, () => decodeResult(buffers.slice(start, end), content.canned));
    return true;
  }

  private send<T extends MsgType>(type: T, content: ContentOf<T>, metadata: MetadataOf<T>, buffers: Buffer[], msgId: string): void {
    this.channel.sendFrames(this.codec.encode({ header: this.codec.header(type, msgId), parent: {}, metadata, content, buffers }));
  }

  private onMessage(incoming: Incoming): void {
    this.lastHeard = Date.now();
    const restarted = this.controllerSession !== undefined && incoming.header.session !== this.controllerSession;
    this.controllerSession = incoming.header.session;
    if (this.interrupted || restarted) this.resume();
    const message = this.gate.admit(incoming);
    if (message instanceof ProtocolError) {
      this.warnRefused(message);
      this.failRequest(incoming.parent.msgId, message);
      return;
    }
    const parentId = message.parent.msgId;
    switch (message.type) {
      case "apply_reply": {
        const entry = parentId ? this.outstanding.get(parentId) : undefined;
        if (!entry) return;
        this.outstanding.delete(entry.msgId);
        const { content } = message;
        entry.settle(content, message.metadata, () => decodeResult(message.buffers, content.canned));
        break;
      }
      case "stream": {
        const entry = parentId ? this.outstanding.get(parentId) : undefined;
        entry?.appendStream(message.content.name, message.content.text);
        break;
      }
      case "pong":
      case "query_reply":
        this.answered(parentId, message);
        break;
      case "error_reply":
        this.failRequest(parentId, fromWire(message.content.error, undefined));
        break;
      case "notification":
        this.onNotification(message.content);
        break;
    }
  }

  /**
   * A reply signed by the controller whose payload was altered on the way: what waits for it
   * fails with a ProtocolError instead of decoding it (damaged output is only dropped).
   */
  private onDamaged(message: Incoming): void {
    this.lastHeard = Date.now();
    if (message.header.msgType === "stream") return;
    const parentId = message.parent.msgId;
    this.failRequest(parentId, new ProtocolError(`the ${message.header.msgType} to ${parentId} was refused: ${message.damaged}`));
  }

  /** Settles the request a reply answers, once the reply fits the shape that request expects. */
  private answered(parentId: string | undefined, message: WireMessage<"pong" | "query_reply">): void {
    const pending = parentId ? this.queries.get(parentId) : undefined;
    if (!pending || !parentId) return;
    this.queries.delete(parentId);
    const problem = problemAt(pending.check, message.content, "content");
    if (problem === undefined) {
      pending.resolve({ content: message.content, buffers: message.buffers });
      return;
    }
    const error = new ProtocolError(`malformed ${message.type} ${message.header.msgId} to ${pending.what}: ${problem}`);
    this.gate.refused++;
    this.warnRefused(error);
    pending.reject(error);
  }

  /**
   * The controller refused a request (`error_reply`), or answered it with something this
   * client cannot accept: the request fails with the error, so no wait is left without a word.
   */
  private failRequest(parentId: string | undefined, error: Error): void {
    const pending = parentId ? this.queries.get(parentId) : undefined;
    const entry = parentId ? this.outstanding.get(parentId) : undefined;
    if (pending && parentId) {
      this.queries.delete(parentId);
      pending.reject(error);
    } else if (entry) {
      this.outstanding.delete(entry.msgId);
      entry.fail(error);
    }
  }

  /** Says once, through Node's warnings, that the controller sent what this client refuses; the gate counts them all. */
  private warnRefused(error: ProtocolError): void {
    if (this.warnedRefused) return;
    this.warnedRefused = true;
    process.emitWarning(`refused a message from the controller (later ones are counted, not shown): ${error.message}`, {
      code: "PARALLAX_PROTOCOL",
    });
  }

  private onNotification(note: NotificationContent): void {
    if (note.event === "registration") {
      this.engines.set(note.id, note.info);
      this.emit("registration", { id: note.id, ...note.info });
    } else if (note.event === "unregistration") {
      this.engines.delete(note.id);
      this.emit("unregistration", { id: note.id, ...note.info });
    } else {
      this.controllerLost(new ControllerLostError("the controller shut down"));
      this.emit("shutdown");
    }
  }

  private adoptEngines(engines: readonly EngineSummary[]): void {
    for (const e of engines) this.engines.set(e.id, { pid: e.pid, hostname: e.hostname });
  }

  /**
   * Pings the controller every heartbeat interval. Any message counts as an answer, and time
   * this process itself was stalled (a large message, a busy loop) is not counted as silence.
   */
  private startHeartbeat(): void {
    const interval = this.connection.heartbeatInterval;
    const stall = new StallMeter(interval);
    this.heartbeat = setInterval(() => {
      const now = Date.now();
      this.lastHeard = creditStall(this.lastHeard, stall.stalled(now), now);
      const silent = now - this.lastHeard;
      if (silent > this.controllerTimeout) {
        this.controllerLost(
          new ControllerLostError(
            `the controller at ${this.connection.url} did not answer for ${silent} ms (controllerTimeout ${this.controllerTimeout} ms)`,
          ),
        );
        return;
      }
      if (!this.interrupted && silent > interval * this.missedHeartbeats) {
        this.interrupted = true;
        this.emit("disconnected");
      }
      this.send("ping", {}, {}, [], newMsgId());
      this.heart?.ping();
    }, interval);
    this.heartbeat.unref();
  }

  /**
   * The controller answers again after a silence. If it was restarted, or the connection
   * dropped, results it sent meanwhile are gone: ask for those of every task it was sent.
   */
  private resume(): void {
    this.interrupted = false;
    const sent = [...this.outstanding.values()].filter((entry) => !this.window.isHeld(entry.msgId));
    this.emit("reconnected");
    if (sent.length === 0) return;
    this.query("get_result", { msgIds: sent.map((e) => e.msgId) }).then(
      (answer) => {
        const stored = answer.content.results;
        sent.forEach((entry, i) => {
          if (this.outstanding.get(entry.msgId) !== entry) return;
          // A request the controller never received (it died first) is sent again: messages on one
          // socket arrive in order, so it cannot still be on its way.
          const result = stored[i];
          const lost = result?.status === "unknown" && !result.culled;
          if (lost && this.window.resend(entry.msgId)) return;
          if (this.settleFromStored(entry, result, answer.buffers)) this.outstanding.delete(entry.msgId);
        });
      },
      () => {
        // Unanswered: the heartbeat goes on, and a later silence resumes again or gives up.
      },
    );
  }

  private controllerLost(error: ControllerLostError): void {
    if (this.lostError) return;
    this.lostError = error;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heart?.close();
    this.failEverything(error);
    // Nothing can be sent or answered any more; an open socket would keep a script that ends
    // after `cluster.stop()` without closing its client alive for ever.
    void this.channel.close();
  }

  private failEverything(error: Error): void {
    for (const entry of this.outstanding.values()) entry.fail(error);
    this.outstanding.clear();
    for (const pending of this.queries.values()) pending.reject(error);
    this.queries.clear();
    this.emit("failed", error);
  }
}

/**
 * Why connecting got no answer. A controller drops (and counts, in its log) every message
 * signed with another key without a word, so a running controller that stays silent most
 * likely holds a different key than the connection file.
 */
function unanswered(info: ConnectionInfo, file: string, timeout: number): string {
  const host = new URL(info.url.replace(/^tcp:/, "http:")).hostname;
  const local = ["127.0.0.1", "localhost", "::1", os.hostname()].includes(host);
  if (local && pidAlive(info.controllerPid)) {
    return (
      `the controller at ${info.url} (cluster ${info.clusterId}, pid ${info.controllerPid}) is running but did not answer within ${timeout} ms: ` +
      `the key in ${file} is most likely not its key (it drops messages with a bad signature, and its log counts the drops), or it is overloaded`
    );
  }
  return (
    `no controller answered at ${info.url} (cluster ${info.clusterId}) within ${timeout} ms: it is not running or not reachable from here, ` +
    `or the key in ${file} is not its key (it drops messages with a bad signature, and its log counts the drops)`
  );
}

/** A signal given by number (`2`, as IPython Parallel accepts) or by name, as its name. */
function signalName(signal: NodeJS.Signals | number): string {
  if (typeof signal !== "number") return signal;
  const name = Object.entries(os.constants.signals).find(([, number]) => number === signal)?.[0];
  if (name === undefined) throw new RangeError(`sendSignal: no signal has the number ${signal}`);
  return name;
}

function validateConnectOptions(options: ConnectOptions): void {
  const known = new Set([
    "profile",
    "profileDir",
    "clusterId",
    "connectionFile",
    "timeout",
    "missedHeartbeats",
    "controllerTimeout",
    "maxInFlight",
  ]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`Client.connect: unknown option ${JSON.stringify(key)} (valid: ${[...known].join(", ")})`);
  }
  for (const name of ["profile", "profileDir", "clusterId", "connectionFile"] as const) {
    const value: unknown = options[name];
    if (value !== undefined && (typeof value !== "string" || value === ""))
      throw new TypeError(`Client.connect: ${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  if (options.timeout !== undefined && !(options.timeout > 0))
    throw new RangeError(`Client.connect: timeout must be a positive number of ms, got ${options.timeout}`);
  if (options.missedHeartbeats !== undefined && !(Number.isInteger(options.missedHeartbeats) && options.missedHeartbeats >= 1)) {
    throw new RangeError(`Client.connect: missedHeartbeats must be an integer >= 1, got ${options.missedHeartbeats}`);
  }
  if (options.controllerTimeout !== undefined && !(Number.isFinite(options.controllerTimeout) && options.controllerTimeout > 0)) {
    throw new RangeError(`Client.connect: controllerTimeout must be a positive number of ms, got ${options.controllerTimeout}`);
  }
  if (options.maxInFlight !== undefined && !(Number.isInteger(options.maxInFlight) && options.maxInFlight >= 1)) {
    throw new RangeError(`Client.connect: maxInFlight must be an integer >= 1, got ${options.maxInFlight}`);
  }
}

/** Finds the client connection file the options point to. */
export function findConnectionFile(options: ConnectOptions): string {
  if (options.connectionFile) return path.resolve(options.connectionFile);
  const dir = profileDir(options.profile ?? kDefaultConnectOptions.profile, options.profileDir);
  if (options.clusterId) return clusterFiles(dir, options.clusterId).client;
  for (const id of listClusterIds(dir)) {
    const file = clusterFiles(dir, id).client;
    try {
      const info = readConnectionFile(file);
      if (info.controllerPid === 0 || pidAlive(info.controllerPid)) return file;
    } catch {
      continue;
    }
  }
  throw new ConfigurationError(
    `no running cluster found in profile ${JSON.stringify(options.profile ?? kDefaultConnectOptions.profile)} (${dir}); start one with \`parallax cluster start\``,
  );
}

function msgIdsOf(jobs: string | AsyncResult | ReadonlyArray<string | AsyncResult>): string[] {
  return jobList(jobs, "jobs").flatMap((j) => {
    if (typeof j === "number") throw new TypeError(`jobs: expected msg ids or AsyncResults, got the number ${j}`);
    return typeof j === "string" ? [j] : [...j.msgIds];
  });
}

/** `jobs` as a list, refusing anything but msg ids, history indices and AsyncResults. */
function jobList(jobs: Jobs, what: string): Array<string | number | AsyncResult> {
  const list = Array.isArray(jobs) ? (jobs as ReadonlyArray<string | number | AsyncResult>) : [jobs as string | number | AsyncResult];
  for (const j of list) {
    if (typeof j === "string" || j instanceof AsyncResult) continue;
    if (typeof j === "number" && Number.isInteger(j)) continue;
    throw new TypeError(
      `${what}: expected msg ids, history indices or AsyncResults, got ${j === null ? "null" : typeof j === "object" ? ((j as object).constructor?.name ?? "object") : typeof j}`,
    );
  }
  return [...list];
}
