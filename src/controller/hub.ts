/**
 * The hub: the controller's only listening process. It registers engines, tracks their
 * liveness through their supervisors, routes direct-view requests to one engine's FIFO,
 * hands load-balanced requests to the task scheduler, records every task, answers client
 * queries and pushes notifications.
 */
import { EventEmitter } from "node:events";
import { EngineError, ParallaxError, ProtocolError, toWire } from "../errors.js";
import type {
  ApplyContent,
  ControlContent,
  EngineBeatContent,
  NotificationContent,
  RegistrationContent,
  RequestMetadata,
  SuperviseContent,
} from "../protocol/contents.js";
import type { Codec } from "../protocol/message.js";
import { RAW_CONTENT, RAW_METADATA } from "../protocol/message.js";
import type { Header, Incoming, MsgType } from "../protocol/message.js";
import { WireGate, outgoing } from "../protocol/wire.js";
import type { ContentOf, MetadataOf, WireMessage } from "../protocol/wire.js";
import type { Outcome } from "../scheduler/decisions.js";
import { Ledger, controllerOutcome } from "../scheduler/ledger.js";
import type { EngineLoss } from "../scheduler/ledger.js";
import type { SchedulerOptions, TaskScheduler } from "../scheduler/task-scheduler.js";
import type { EngineRecord, TaskRecord } from "../scheduler/records.js";
import { Channel, bindRouter, newCodec } from "../transport/channel.js";
import { StallMeter, creditStall } from "../transport/stall.js";
import { MsgIdSet } from "./msg-id-set.js";
import { EngineRegistry } from "./registry.js";
import { SharedJson } from "./shared-json.js";
import { MemoryTaskDatabase } from "./task-db.js";
import type { TaskDatabase } from "./task-db.js";
import { answerQuery } from "./queries.js";

/** How the hub listens and behaves. */
export interface HubOptions {
  /** Interface to bind: `127.0.0.1` (default), `0.0.0.0` or `*` for all. */
  ip: string;
  key: string;
  /** Milliseconds between heartbeats. */
  heartbeatInterval: number;
  /** Heartbeats an engine may miss before it is declared dead. */
  missedBeats: number;
  /** Largest accepted request, in bytes. */
  maxMessageBytes: number;
  scheduler: SchedulerOptions;
  db?: TaskDatabase;
  /** Re-register engines that beat without being known (controller restored with --restore). */
  adoptEngines?: boolean;
  /** Ports to bind (a restored controller reuses its predecessor's); 0 or absent picks free ones. */
  ports?: { client: number; engine: number };
  /** CURVE secret key: encrypt and authenticate every connection (clients and engines need the public key). */
  curveSecretKey?: string;
}

/** Addresses the hub listens on. */
export interface HubEndpoints {
  client: string;
  engine: string;
}

interface ClientRecord {
  identity: Buffer;
  /** The identity as the key of {@link Hub.clients}: one string per client that its task records share. */
  key: string;
  lastSeen: number;
}

/** Events the hub emits for the process that hosts it (logging, dashboard). */
export interface HubEvents {
  registration: [EngineRecord];
  unregistration: [EngineRecord, string];
  shutdown: [];
  "shutdown-requested": [];
  /** A task was recorded. */
  "task-added": [string];
  /** A task was sent to an engine (msg id, engine id). */
  "task-dispatched": [string, number];
  /** A load-balanced task came back from an engine to be tried again (retry, unmet dependency). */
  "task-requeued": [string];
  /** A task reached its terminal state (the record is given: a bounded database may drop it at once). */
  "task-done": [string, TaskRecord];
  /** A message failed verification (reason counts so far); the key is never part of it. */
  dropped: [string];
  /** A verified message was refused: unknown type or malformed content (the error says which field). */
  refused: [ProtocolError];
}

const CLIENT_FORGET_MS = 60_000;
/**
 * Messages read ahead from one client before its connection waits. Clients keep at most
 * `maxInFlight` tasks here; this bounds the controller's intake from one that does not.
 */
const CLIENT_INTAKE_PER_PEER = 10_000;
/** Room for headers on top of the payload limit when bounding single frames. */
const FRAME_SLACK = 64 * 1024;

/** The hub. */
export class Hub extends EventEmitter<HubEvents> {
  readonly codec: Codec;
  readonly registry = new EngineRegistry();
  readonly db: TaskDatabase;
  readonly scheduler: TaskScheduler;
  /** The one writer of task state and engine loads; the hub tells it facts and sends what it says. */
  private readonly ledger: Ledger;
  private readonly clients = new Map<string, ClientRecord>();
  /** Every apply msg id ever received, for the life of the controller. */
  private readonly acceptedIds = new MsgIdSet();
  /** Request and reply contents and metadata that task records keep, one object per distinct frame. */
  private readonly sharedJson = new SharedJson();
  /** What clients may send, and what engines and supervisors may send: checked once, here. */
  private readonly clientGate = new WireGate(["ping", "apply_request", "query_request"]);
  private readonly engineGate = new WireGate([
    "registration_request",
    "apply_reply",
    "stream",
    "supervise_request",
    "engine_beat",
    "supervisor_beat",
    "engine_exit",
  ]);
  private clientChannel!: Channel;
  private engineChannel!: Channel;
  private monitor: NodeJS.Timeout | undefined;
  private stall!: StallMeter;
  /** Unfinished tasks of a dead predecessor, until their engines had the chance to claim them. */
  private readonly restoring = new Map<string, TaskRecord>();
  /** Engines of the predecessor that have not registered again yet. */
  private readonly awaited = new Set<number>();
  /** Restored, and the engines of the predecessor may still register again. */
  private restoreOpen = false;
  private restoreWindowMs = 0;
  private restoreTimer: NodeJS.Timeout | undefined;
  /** Direct requests for engines of the predecessor that have not registered again yet, by engine id. */
  private readonly heldDirect = new Map<number, TaskRecord[]>();
  /** Bound addresses, once started. */
  endpoints!: HubEndpoints;
  readonly started = Date.now();

  constructor(readonly options: HubOptions) {
    super();
    this.db = options.db ?? new MemoryTaskDatabase();
    // The hub only passes payloads on, so it checks their digests' signature and leaves the
    // bytes to the engine or client that uses them. Not with a database that gives buffers back
    // as new objects (SQLite): the digests they came with would be lost and the hub would sign
    // digests of bytes nobody checked, so every buffer is verified on arrival instead.
    this.codec = newCodec(options.key, this.db instanceof MemoryTaskDatabase ? "forward" : "verify");
    this.ledger = new Ledger(this.db, this.registry, options.scheduler, {
      dispatched: (record, engine) => this.sendToEngine(engine, record),
      requeued: (record) => this.emit("task-requeued", record.msgId),
      finished: (record) => this.taskFinished(record),
    });
    this.scheduler = this.ledger.scheduler;
  }

  /** Binds both sockets on free ports and starts the liveness monitor. */
  async start(): Promise<HubEndpoints> {
    const host = this.options.ip === "0.0.0.0" ? "*" : this.options.ip;
    // One frame over the whole-message limit can never be accepted: libzmq drops its sender
    // before buffering it. Messages of several frames are checked against the limit on arrival.
    const frameLimit = this.options.maxMessageBytes + FRAME_SLACK;
    const client = await bindRouter(
      `tcp://${host}:${this.options.ports?.client || "*"}`,
      frameLimit,
      this.options.curveSecretKey,
      CLIENT_INTAKE_PER_PEER,
    );
    const engine = await bindRouter(`tcp://${host}:${this.options.ports?.engine || "*"}`, frameLimit, this.options.curveSecretKey);
    this.clientChannel = new Channel(client.socket, this.codec);
    this.engineChannel = new Channel(engine.socket, this.codec);
    const onDrop = () => this.emit("dropped", JSON.stringify(this.codec.dropped));
    this.clientChannel.start(
      (m) => this.onClientMessage(m),
      (e) => this.emit("dropped", String(e)),
      onDrop,
    );
    this.engineChannel.start(
      (m) => this.onEngineMessage(m),
      (e) => this.emit("dropped", String(e)),
      onDrop,
    );
    this.stall = new StallMeter(this.options.heartbeatInterval);
    this.monitor = setInterval(() => this.checkLiveness(), this.options.heartbeatInterval);
    this.endpoints = { client: client.endpoint, engine: engine.endpoint };
    if (this.restoreOpen && this.awaited.size === 0) this.rerunRestored();
    else if (this.restoreOpen) this.restoreTimer = setTimeout(() => this.rerunRestored(), this.restoreWindowMs);
    return this.endpoints;
  }

  /** Tells clients, closes sockets. Engines are left running (a restarted controller can adopt them). */
  async stop(): Promise<void> {
    if (this.monitor) clearInterval(this.monitor);
    clearTimeout(this.restoreTimer);
    this.scheduler.close();
    this.notifyClients({ event: "shutdown" });
    await this.clientChannel.flush(500);
    await Promise.all([this.clientChannel.close(), this.engineChannel.close()]);
    this.db.close();
    this.emit("shutdown");
  }

  // ---- messages from clients ----

  private onClientMessage(incoming: Incoming): void {
    const identity = incoming.identities[0];
    if (identity === undefined) return;
    this.touchClient(identity);
    const message = this.clientGate.admit(incoming);
    if (message instanceof ProtocolError) {
      this.emit("refused", message);
      this.sendToClient(identity, "error_reply", { error: toWire(message, "controller") }, incoming.header.msgId);
      return;
    }
    switch (message.type) {
      case "ping":
        this.sendToClient(identity, "pong", {}, message.header.msgId);
        break;
      case "apply_request":
        this.onApplyRequest(
          identity,
          {
            header: message.header,
            metadata: this.sharedJson.share(message.raw[RAW_METADATA], message.metadata),
            content: this.sharedJson.share(message.raw[RAW_CONTENT], message.content),
            buffers: message.buffers,
          },
          message.raw.reduce((sum, frame) => sum + frame.byteLength, 0),
        );
        break;
      case "query_request":
        this.onQuery(identity, message);
        break;
    }
  }

  /** Records a request of `size` bytes (as received) and sends it on or queues it. */
  private onApplyRequest(
    identity: Buffer,
    message: { header: Header; content: ApplyContent; metadata: RequestMetadata; buffers: Buffer[] },
    size: number,
  ): void {
    const metadata = message.metadata;
    // Every field from the start, those set later too: V8 then keeps them all inside the object,
    // with no separate property array nor change of shape as the task goes on.
    const record: TaskRecord = {
      msgId: message.header.msgId,
      client: this.clientKey(identity),
      engineId: undefined,
      balanced: metadata.engine === undefined,
      submitted: message.header.date,
      started: undefined,
      completed: undefined,
      phase: "queued",
      requestMetadata: metadata,
      requestContent: message.content,
      requestBuffers: message.buffers,
      reply: undefined,
      resubmitted: undefined,
    };
    if (!this.acceptedIds.add(record.msgId) || this.db.get(record.msgId)) {
      // A resent msg id must never produce a second result, even once its record is gone
      // (purged, culled) or the sender's clock is far ahead of ours. The database answers for
      // ids recorded before a restore.
      this.sendReply(
        record,
        controllerOutcome(record, toWire(new ProtocolError(`msg id ${record.msgId} was already submitted`), "controller")),
      );
      return;
    }
    this.ledger.open(record);
    this.emit("task-added", record.msgId);
    if (size > this.options.maxMessageBytes) {
      this.ledger.fail(
        record,
        toWire(
          new ProtocolError(`request ${record.msgId} is ${size} bytes, over the limit of ${this.options.maxMessageBytes} bytes`),
          "controller",
        ),
      );
      return;
    }
    if (metadata.engine === undefined) {
      this.ledger.submit(record);
      return;
    }
    this.sendDirect(record, "is not registered");
  }

  /**
   * Puts a direct-view task in its engine's queue. While a restored controller waits for the
   * engines of its predecessor, a task for one of them waits for it to register again;
   * otherwise a task for an absent engine fails.
   */
  private sendDirect(record: TaskRecord, absence: string): void {
    const engineId = record.requestMetadata.engine as number;
    const engine = this.registry.get(engineId);
    if (!engine && this.awaited.has(engineId)) {
      const held = this.heldDirect.get(engineId);
      if (held) held.push(record);
      else this.heldDirect.set(engineId, [record]);
      return;
    }
    if (!engine) {
      this.ledger.fail(
        record,
        toWire(new EngineError(`engine ${engineId} ${absence} (registered: [${this.registry.ids().join(", ")}])`), "controller"),
      );
      return;
    }
    this.ledger.sendDirect(record, engine);
  }

  /**
   * Takes over the unfinished tasks of a dead predecessor (--restore). Its engines (`engineIds`)
   * that register again keep the tasks they hold, and resend the replies the predecessor may not
   * have recorded. Once they all did, or after `windowMs`, the rest runs again: load-balanced
   * tasks through the scheduler (dependencies, retries and all), direct ones on their engine, or
   * they fail with EngineError when that engine did not come back. Called before `start()`, so
   * that no engine registers before its tasks are known.
   */
  restore(records: readonly TaskRecord[], engineIds: readonly number[], windowMs: number): void {
    for (const record of records) this.restoring.set(record.msgId, record);
    for (const id of engineIds) this.awaited.add(id);
    this.restoreWindowMs = windowMs;
    this.restoreOpen = true;
  }

  /**
   * The restore window closed (every engine of the predecessor is back, or its time is up): the
   * rest of the predecessor's tasks run again, and direct requests still held for an engine
   * that did not come back fail.
   */
  private rerunRestored(): void {
    clearTimeout(this.restoreTimer);
    this.restoreOpen = false;
    this.awaited.clear();
    const records = [...this.restoring.values()];
    this.restoring.clear();
    for (const record of records) {
      if (record.balanced) this.ledger.submit(record);
      else this.sendDirect(record, "did not come back after the controller was restored, so the task did not run");
    }
    const held = [...this.heldDirect.values()].flat();
    this.heldDirect.clear();
    for (const record of held)
      this.sendDirect(record, `did not register again within ${this.restoreWindowMs} ms after the controller was restored`);
  }

  /**
   * An engine of the predecessor registered again: the predecessor's direct tasks it does not
   * hold go to it first (it never received them), then the requests that waited for it, in
   * the order they came.
   */
  private releaseDirect(engine: EngineRecord): void {
    for (const record of [...this.restoring.values()]) {
      if (record.balanced || record.requestMetadata.engine !== engine.id) continue;
      this.restoring.delete(record.msgId);
      this.sendDirect(record, "is not registered");
    }
    const held = this.heldDirect.get(engine.id) ?? [];
    this.heldDirect.delete(engine.id);
    for (const record of held) this.sendDirect(record, "is not registered");
  }

  /** A re-registering engine still holds these tasks of the predecessor: they stay with it. */
  private adoptHeld(engine: EngineRecord, held: readonly string[]): void {
    for (const msgId of held) {
      const record = this.restoring.get(msgId);
      if (!record) continue;
      this.restoring.delete(msgId);
      this.ledger.adopt(record, engine);
    }
  }

  private onQuery(identity: Buffer, message: WireMessage<"query_request">): void {
    try {
      const { content, buffers } = answerQuery(this, identity, message.content);
      this.sendToClient(identity, "query_reply", content, message.header.msgId, buffers);
    } catch (error) {
      // A query the hub cannot answer (unknown engine, bad filter…) is refused by name.
      const refused = error instanceof ParallaxError ? error : new ProtocolError((error as Error).message);
      this.sendToClient(identity, "error_reply", { error: toWire(refused, "controller") }, message.header.msgId);
    }
  }

  /**
   * Checks the hub's invariants: every task an engine holds is running there, and the
   * scheduler agrees with the ledger. Returns the violations (none is good).
   */
  violations(): string[] {
    return this.ledger.violations(this.registry.all());
  }

  /** Aborts queued load-balanced tasks (all when `msgIds` is undefined); returns the ids aborted. */
  abortQueued(msgIds?: readonly string[]): string[] {
    return this.ledger.abort(msgIds);
  }

  /** Submits a stored request again under a new msg id, for `client.resubmit`. */
  resubmit(record: TaskRecord, identity: Buffer, msgId: string): string {
    const message = {
      header: this.codec.header("apply_request", msgId),
      parent: {},
      metadata: record.requestMetadata,
      content: record.requestContent,
      buffers: record.requestBuffers,
    };
    this.onApplyRequest(
      identity,
      message,
      record.requestBuffers.reduce((sum, frame) => sum + frame.byteLength, 0),
    );
    record.resubmitted = msgId;
    this.db.update(record);
    return msgId;
  }

  // ---- messages from engines and supervisors ----

  private onEngineMessage(incoming: Incoming): void {
    const identity = incoming.identities[0];
    if (identity === undefined) return;
    // Any message shows the engine is alive: a beat queued behind a large reply is no reason
    // to declare it dead.
    const sender = this.registry.byRoutingIdentity(identity);
    if (sender) {
      sender.lastBeat = Date.now();
      sender.bytesIn += frameBytes(incoming.raw);
    }
    const message = this.engineGate.admit(incoming);
    if (message instanceof ProtocolError) {
      this.emit("refused", message);
      return;
    }
    switch (message.type) {
      case "registration_request":
        this.onRegistration(identity, message.content);
        break;
      case "apply_reply":
        this.onApplyReply(identity, message);
        break;
      case "stream":
        this.onStream(message);
        break;
      case "supervise_request":
        this.onSupervise(identity, message.content);
        break;
      case "engine_beat":
        this.onBeat(identity, message.content);
        this.send(this.engineChannel, identity, "pong", {});
        break;
      case "supervisor_beat":
        for (const beat of message.content.beats) this.onBeat(identity, beat);
        // One answer a beat message: it tells the supervisor its controller is alive (it
        // gives up after a long silence).
        this.send(this.engineChannel, identity, "pong", {});
        break;
      case "engine_exit": {
        const { engineId, code, signal, reason } = message.content;
        const how = signal ? `signal ${signal}` : `code ${code ?? "?"}`;
        this.engineLost(engineId, `engine ${engineId} exited (${how})${reason ? `: ${reason}` : ""}`, "exited");
        break;
      }
    }
  }

  private onRegistration(identity: Buffer, info: RegistrationContent): void {
    const engine = this.registry.register(identity, {
      pid: info.pid,
      hostname: info.hostname,
      cwd: info.cwd,
      ...(info.requestedId === undefined ? {} : { requestedId: info.requestedId }),
      readopt: info.readopt === true,
    });
    this.send(this.engineChannel, identity, "registration_reply", { id: engine.id, heartbeatInterval: this.options.heartbeatInterval });
    if (info.readopt === true && info.held !== undefined) this.adoptHeld(engine, info.held);
    this.ledger.engineAdded(engine);
    if (this.awaited.delete(engine.id)) {
      this.releaseDirect(engine);
      if (this.awaited.size === 0) this.rerunRestored();
    }
    this.notifyClients({ event: "registration", id: engine.id, info: { pid: engine.pid, hostname: engine.hostname } });
    this.emit("registration", engine);
  }

  private onSupervise(identity: Buffer, content: SuperviseContent): void {
    const engine = this.registry.get(content.engineId);
    if (!engine) return;
    engine.supervisor = identity;
    engine.supervisorPid = content.supervisorPid;
    engine.lastBeat = Date.now();
  }

  private onBeat(identity: Buffer, content: EngineBeatContent): void {
    const engine = this.registry.get(content.engineId);
    if (!engine) {
      // An engine of a previous controller (restored on the same ports) is asked to register
      // again under its id; otherwise an unknown engine was declared dead and must leave.
      // A supervisor watches several engines: the request names which one.
      this.send(this.engineChannel, identity, "control_request", {
        op: this.options.adoptEngines ? "reregister" : "forgotten",
        engineId: content.engineId,
      });
      return;
    }
    engine.lastBeat = Date.now();
    if (content.stats) engine.stats = content.stats;
    // After a re-registration the supervisor is known by its beats.
    if (!engine.supervisor && !identity.equals(engine.identity)) engine.supervisor = identity;
  }

  private onStream(message: WireMessage<"stream">): void {
    const record = message.parent.msgId ? this.db.get(message.parent.msgId) : undefined;
    if (record) this.relay(record, message);
  }

  private onApplyReply(identity: Buffer, message: WireMessage<"apply_reply">): void {
    const engine = this.registry.byRoutingIdentity(identity);
    const record = message.parent.msgId ? this.db.get(message.parent.msgId) : undefined;
    const seq = message.metadata.replySeq;
    if (engine && seq !== undefined) engine.replySeq = Math.max(engine.replySeq, seq);
    if (!record || record.phase === "done" || !engine || record.engineId !== engine.id) return;
    const content = this.sharedJson.share(message.raw[RAW_CONTENT], message.content);
    this.ledger.answer(record, engine, { content, metadata: message.metadata, buffers: message.buffers });
  }

  /**
   * Passes an engine's message on to the task's client in the hub's own envelope: the client
   * then hears one session only, whose numbering keeps replies valid however long they wait
   * in its socket. The buffers keep the engine's digests, which the client checks.
   */
  private relay(record: TaskRecord, message: WireMessage<"stream">): void {
    this.send(
      this.clientChannel,
      Buffer.from(record.client, "latin1"),
      message.type,
      message.content,
      message.metadata,
      record.msgId,
      message.buffers,
    );
  }

  // ---- liveness ----

  private checkLiveness(): void {
    const now = Date.now();
    // While this process was paused or busy, the engines' beats waited unread in the socket:
    // that time is not theirs to account for.
    const stalled = this.stall.stalled(now);
    const limit = this.options.heartbeatInterval * (this.options.missedBeats + 1);
    for (const engine of [...this.registry.all()]) {
      engine.lastBeat = creditStall(engine.lastBeat, stalled, now);
      if (now - engine.lastBeat > limit)
        this.engineLost(engine.id, `engine ${engine.id} missed ${this.options.missedBeats} heartbeats`, "silent");
      else this.acknowledgeReplies(engine);
    }
    for (const [key, client] of this.clients) {
      client.lastSeen = creditStall(client.lastSeen, stalled, now);
      if (now - client.lastSeen > CLIENT_FORGET_MS) this.clients.delete(key);
    }
    this.ledger.tick(now);
  }

  /**
   * Tells an engine which of its replies are recorded (once per heartbeat, not per reply): it
   * keeps the later ones to send again should this controller die and be restored.
   */
  private acknowledgeReplies(engine: EngineRecord): void {
    if (engine.replySeq <= engine.ackedSeq) return;
    engine.ackedSeq = engine.replySeq;
    this.control(engine, { op: "ack", seq: engine.replySeq });
  }

  /**
   * Removes a dead engine and fails (or reschedules) everything it owed. `loss` says whether its
   * process is known to have ended (its supervisor saw it) or it only fell silent.
   */
  engineLost(engineId: number, reason: string, loss: EngineLoss): void {
    const engine = this.registry.remove(engineId);
    if (!engine) return;
    // Clients hear of the unregistration first, so that by the time a task's EngineError
    // arrives, the engine has already left their ids.
    this.notifyClients({ event: "unregistration", id: engineId, info: { reason } });
    this.ledger.engineLost(engine, reason, loss);
    this.emit("unregistration", engine, reason);
  }

  // ---- what the ledger decided ----

  private sendToEngine(engine: EngineRecord, record: TaskRecord): void {
    const frames = this.requestFrames(record, engine);
    engine.bytesOut += frameBytes(frames);
    this.engineChannel.sendFrames(frames);
    this.emit("task-dispatched", record.msgId, engine.id);
  }

  /**
   * A request as sent to an engine: signed by the hub when it is sent, not when the client sent
   * it, so a request held any length of time (queued, retried, restored) is still accepted, while
   * the client's own frames stay refused as replays. The payload buffers are the client's, not
   * copies, and so are their digests: the hub never hashed them, the engine checks them. The results of tasks passed as arguments are appended, so the engine can put the
   * values where the futures were.
   */
  private requestFrames(record: TaskRecord, engine: EngineRecord): Buffer[] {
    let content = record.requestContent;
    let buffers = record.requestBuffers;
    const refs = record.requestMetadata.argRefs;
    // Futures are arguments of calls and maps only.
    if (refs?.length && (content.op === "call" || content.op === "map")) {
      buffers = [...buffers];
      const refFrames: Record<string, [number, number]> = {};
      for (const id of refs) {
        const frames = this.db.get(id)?.reply?.buffers ?? [];
        refFrames[id] = [buffers.length, buffers.length + frames.length];
        buffers.push(...frames);
      }
      content = { ...content, argFrames: record.requestBuffers.length, refFrames };
    }
    return this.codec.encode(
      {
        header: this.codec.header("apply_request", record.msgId),
        parent: {},
        metadata: record.requestMetadata,
        content,
        buffers,
      },
      [engine.identity],
    );
  }

  /** A task reached its terminal state: its client hears the outcome. */
  private taskFinished(record: TaskRecord): void {
    this.emit("task-done", record.msgId, record);
    if (record.reply) this.sendReply(record, record.reply);
  }

  /** Sends a task's reply to its client in the hub's own envelope. */
  private sendReply(record: TaskRecord, outcome: Outcome): void {
    this.send(
      this.clientChannel,
      Buffer.from(record.client, "latin1"),
      "apply_reply",
      outcome.content,
      outcome.metadata,
      record.msgId,
      outcome.buffers,
    );
  }

  /** Sends a control request to an engine (abort, shutdown) or to its supervisor (signal). */
  control(engine: EngineRecord, content: ControlContent, toSupervisor = false): boolean {
    const target = toSupervisor ? engine.supervisor : engine.identity;
    if (!target) return false;
    // A supervisor watches every engine of its set: the request names which one.
    this.send(this.engineChannel, target, "control_request", toSupervisor ? { ...content, engineId: engine.id } : content);
    return true;
  }

  /** Asks every registered engine to shut down, and waits (briefly) until the requests are sent. */
  async stopEngines(): Promise<void> {
    for (const engine of this.registry.all()) this.control(engine, { op: "shutdown" });
    await this.engineChannel.flush(500);
  }

  /** Pushes a notification to every client seen recently. */
  notifyClients(content: NotificationContent): void {
    for (const client of this.clients.values()) this.send(this.clientChannel, client.identity, "notification", content);
  }

  private touchClient(identity: Buffer): void {
    const key = identity.toString("latin1");
    const existing = this.clients.get(key);
    if (existing) existing.lastSeen = Date.now();
    else this.clients.set(key, { identity, key, lastSeen: Date.now() });
  }

  /**
   * A client's identity as a record keeps it: the string of its entry in `clients` when it has
   * one, so that every record of a client shares one string instead of holding a copy each.
   */
  private clientKey(identity: Buffer): string {
    const key = identity.toString("latin1");
    return this.clients.get(key)?.key ?? key;
  }

  private sendToClient<T extends MsgType>(
    identity: Buffer,
    type: T,
    content: ContentOf<T>,
    parentId: string,
    buffers: Buffer[] = [],
  ): void {
    this.send(this.clientChannel, identity, type, content, {}, parentId, buffers);
  }

  private send<T extends MsgType>(
    channel: Channel,
    identity: Buffer,
    type: T,
    content: ContentOf<T>,
    metadata: MetadataOf<T> = {},
    parentId?: string,
    buffers: Buffer[] = [],
  ): void {
    channel.sendFrames(this.codec.encode(outgoing(this.codec, type, content, { metadata, parentId, buffers }), [identity]));
  }
}

function frameBytes(frames: readonly Buffer[]): number {
  return frames.reduce((sum, frame) => sum + frame.byteLength, 0);
}
