/**
 * The engine: registers with the controller, then executes requests one at a time in arrival
 * order inside its persistent namespace. Control requests (abort, shutdown) bypass the queue.
 */
import os from "node:os";
import { ProtocolError, TaskAborted, toWire } from "../errors.js";
import type { WireError } from "../errors.js";
import type {
  ControlContent,
  RegistrationContent,
  RegistrationReplyContent,
  ReplyContent,
  ReplyMetadata,
  TaskStatus,
} from "../protocol/contents.js";
import type { Codec } from "../protocol/message.js";
import type { Incoming, MsgType } from "../protocol/message.js";
import { WireGate, outgoing } from "../protocol/wire.js";
import type { ContentOf, OutgoingParts, WireMessage } from "../protocol/wire.js";
import { Channel, connectDealer, newCodec } from "../transport/channel.js";
import { failureInfo } from "./failure.js";
import { TaskThread } from "./task-thread.js";
import type { TaskOutcome } from "./task-thread.js";

/** How an engine finds and joins its controller. */
export interface EngineOptions {
  /** The controller's engine-facing address. */
  url: string;
  /** Signing key from the connection file. */
  key: string;
  /** The controller's CURVE public key, when connections are encrypted. */
  curveServerKey?: string | undefined;
  /** Working directory: `require` and module paths resolve from here. */
  cwd?: string;
  /** Ask for this id (MPI rank, or a restored engine). */
  requestedId?: number;
  /** Beat from this process (only when no supervisor does it). */
  selfBeat?: boolean;
  /** Extra namespace bindings (`mpiRank`, `mpiSize`…). */
  seed?: Record<string, unknown>;
  /** Called once registered, with the assigned id. */
  onRegistered?: (id: number, heartbeatInterval: number) => void;
  /** Give up when the controller has not answered the registration within this many ms. */
  registrationTimeout?: number;
  /** Called when registration timed out (the process should exit non-zero). */
  onRegistrationTimeout?: (message: string) => void;
}

/** Streamed output is flushed at most this often while a task runs. */
const STREAM_FLUSH_MS = 100;

/** Exit code of a process that V8 aborted (SIGABRT): how the supervisor recognises running out of memory. */
const OUT_OF_MEMORY_EXIT = 134;

/** A reply the controller has not acknowledged yet (it may die before recording it). */
interface UnackedReply {
  parentId: string;
  content: ReplyContent;
  metadata: ReplyMetadata;
  buffers: Buffer[];
}

/** A request as the engine queues it: checked at the entrance. */
type Request = WireMessage<"apply_request">;

/** A running engine. */
export class Engine {
  private readonly codec: Codec;
  private readonly channel: Channel;
  /** What the hub may send an engine: checked once, here. */
  private readonly gate = new WireGate(["registration_reply", "apply_request", "control_request", "pong"]);
  private readonly queue: Request[] = [];
  /**
   * Runs user code in the namespace; started by the first task, not at registration: a thread
   * costs an engine about as much start time and memory as its process, and an engine that
   * never runs a task needs neither.
   */
  private thread: TaskThread | undefined;
  private busy = false;
  private current: Request | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  /** Replies sent so far; each carries its number (`replySeq`) for the hub to acknowledge. */
  private replySeq = 0;
  /** Replies by number, oldest first, until the hub acknowledges them. */
  private readonly unacked = new Map<number, UnackedReply>();
  /** Id assigned by the hub, once registered. */
  id = -1;
  private registered!: (id: number) => void;
  /** Resolves with the engine id once the controller answered the registration. */
  readonly ready = new Promise<number>((resolve) => (this.registered = resolve));

  constructor(private readonly options: EngineOptions) {
    this.codec = newCodec(options.key);
    this.channel = new Channel(connectDealer(options.url, `engine-${this.codec.session}`, 500, options.curveServerKey), this.codec);
  }

  /** Connects and sends the registration request. */
  start(): void {
    this.channel.start(
      (message) => this.onMessage(message),
      undefined,
      undefined,
      (message) => this.onDamaged(message),
    );
    const content: RegistrationContent = {
      pid: process.pid,
      hostname: os.hostname(),
      cwd: this.options.cwd ?? process.cwd(),
      ...(this.options.requestedId === undefined ? {} : { requestedId: this.options.requestedId }),
    };
    this.send("registration_request", content);
    const limit = this.options.registrationTimeout;
    if (limit !== undefined) {
      // Messages signed with the wrong key are dropped silently by the controller, so silence
      // is the only symptom: say what to check instead of waiting forever.
      const timer = setTimeout(
        () =>
          this.options.onRegistrationTimeout?.(
            `no registration reply from ${this.options.url} within ${limit} ms: check that the controller runs there and that the key in the engine connection file is the controller's`,
          ),
        limit,
      );
      void this.ready.then(() => clearTimeout(timer));
    }
  }

  /** Closes the socket; the process may then exit. */
  async stop(): Promise<void> {
    if (this.beatTimer) clearInterval(this.beatTimer);
    await this.channel.flush(500);
    await this.channel.close();
  }

  private onMessage(incoming: Incoming): void {
    const message = this.gate.admit(incoming);
    if (message instanceof ProtocolError) {
      this.refused(incoming, message);
      return;
    }
    switch (message.type) {
      case "registration_reply":
        this.onRegistration(message.content);
        break;
      case "apply_request":
        this.queue.push(message);
        if (!this.busy) void this.drain();
        break;
      case "control_request":
        this.onControl(message.content);
        break;
      case "pong":
        break;
    }
  }

  /**
   * A message from the hub that is not what an engine accepts is logged and counted; a request
   * among them is answered with the ProtocolError, so that its task still ends.
   */
  private refused(incoming: Incoming, error: ProtocolError): void {
    process.stderr.write(`parallax engine ${this.id}: refused a message (${this.gate.refused} so far): ${error.message}\n`);
    if (incoming.header.msgType !== "apply_request") return;
    const now = Date.now();
    this.reply(incoming, "error", [], { started: now, completed: now, stdout: "", stderr: "" }, toWire(error, "engine", this.id));
  }

  /**
   * A request signed by the hub whose payload was altered on the way: it is answered with a
   * ProtocolError and never runs. Anything else damaged is only dropped.
   */
  private onDamaged(message: Incoming): void {
    if (message.header.msgType !== "apply_request") return;
    const now = Date.now();
    this.reply(
      message,
      "error",
      [],
      { started: now, completed: now, stdout: "", stderr: "" },
      toWire(new ProtocolError(`task ${message.header.msgId} was refused: ${message.damaged}`), "engine", this.id),
    );
  }

  private onRegistration({ id, heartbeatInterval }: RegistrationReplyContent): void {
    if (this.id >= 0) {
      // A re-registration with a restored controller: the namespace is kept; so is the id
      // unless the hub had to hand out another one.
      if (id !== this.id) {
        this.id = id;
        this.thread?.push({ engineId: id });
      }
      return;
    }
    this.id = id;
    if (this.options.selfBeat) {
      this.beatTimer = setInterval(() => this.send("engine_beat", { engineId: id }), heartbeatInterval);
      this.beatTimer.unref();
    }
    this.options.onRegistered?.(id, heartbeatInterval);
    this.registered(id);
    if (!this.busy) void this.drain();
  }

  private onControl(control: ControlContent): void {
    switch (control.op) {
      case "ack":
        this.acknowledged(control.seq);
        break;
      case "abort":
        this.abortQueued(control.msgIds);
        break;
      case "reregister":
        this.reregister();
        break;
      case "forgotten":
        void this.stop().then(() => process.exit(1));
        break;
      case "shutdown":
        void this.stop().then(() => process.exit(0));
        break;
      case "signal":
        // Signals are delivered by the supervisor, which owns the process.
        break;
    }
  }

  /**
   * Registers again with the same id (the controller was restarted with --restore), naming the
   * tasks this engine holds so that they are not run twice, then sends again the replies the
   * dead controller may not have recorded.
   */
  reregister(): void {
    if (this.id < 0) return;
    const held = [
      ...[...this.unacked.values()].map((r) => r.parentId),
      ...(this.current ? [this.current.header.msgId] : []),
      ...this.queue.map((r) => r.header.msgId),
    ];
    const content: RegistrationContent = {
      pid: process.pid,
      hostname: os.hostname(),
      cwd: this.options.cwd ?? process.cwd(),
      requestedId: this.id,
      readopt: true,
      held,
    };
    this.send("registration_request", content);
    for (const reply of this.unacked.values())
      this.send("apply_reply", reply.content, { metadata: reply.metadata, parentId: reply.parentId, buffers: reply.buffers });
  }

  /** The hub recorded every reply up to number `seq`: they need not be kept any longer. */
  private acknowledged(seq: number): void {
    for (const n of this.unacked.keys()) {
      if (n > seq) break;
      this.unacked.delete(n);
    }
  }

  private abortQueued(msgIds: string[]): void {
    const wanted = new Set(msgIds);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const request = this.queue[i] as Request;
      if (!wanted.has(request.header.msgId)) continue;
      this.queue.splice(i, 1);
      const now = Date.now();
      this.reply(
        request,
        "aborted",
        [],
        { started: now, completed: now, stdout: "", stderr: "" },
        toWire(new TaskAborted(`task ${request.header.msgId} was aborted before it ran`), "engine", this.id),
      );
    }
  }

  /** The task thread, started on first use with the engine's current id in its namespace. */
  private taskThread(): TaskThread {
    this.thread ??= new TaskThread(
      { cwd: this.options.cwd ?? process.cwd(), seed: { engineId: this.id, ...this.options.seed } },
      (code, error) => {
        // User code called process.exit, or the thread ran out of memory: the namespace is gone.
        if (error) process.stderr.write(`parallax engine: task thread failed: ${error.message}\n`);
        process.exit((error as { code?: unknown } | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY" ? OUT_OF_MEMORY_EXIT : code);
      },
    );
    return this.thread;
  }

  private async drain(): Promise<void> {
    // Requests that arrive before the registration reply wait for it (the namespace needs the id).
    if (this.id < 0) return;
    this.busy = true;
    try {
      for (let request = this.queue.shift(); request; request = this.queue.shift()) await this.execute(request);
    } finally {
      this.busy = false;
    }
  }

  private async execute(request: Request): Promise<void> {
    this.current = request;
    const pending = { stdout: "", stderr: "" };
    const output = { stdout: "", stderr: "" };
    const flusher = setInterval(() => this.flushStreams(request, pending), STREAM_FLUSH_MS);
    const started = Date.now();
    const limit = execTimeoutOf(request);
    const timer =
      limit === undefined
        ? undefined
        : setTimeout(() => {
            void this.thread?.stop(
              namedError(
                "ExecutionTimeout",
                `task ${request.header.msgId} ran longer than its execTimeout of ${limit} ms on engine ${this.id}`,
                "EXECUTION_TIMEOUT",
              ),
            );
          }, limit);
    const outcome = await this.runInThread(request, (name, text) => {
      pending[name] += text;
      output[name] += text;
    });
    clearTimeout(timer);
    clearInterval(flusher);
    let status: TaskStatus = "ok";
    let buffers: Buffer[] = [];
    let canned = false;
    let error: WireError | undefined;
    let unmet = false;
    if (outcome.error === undefined) ({ buffers, canned = false } = outcome);
    else {
      status = "error";
      error = failureInfo(outcome.error, { engineId: this.id, cwd: this.options.cwd ?? process.cwd(), op: request.content.op });
      unmet = error.ename === "UnmetDependency";
    }
    this.current = undefined;
    const metadata: ReplyMetadata = {
      started,
      completed: Date.now(),
      stdout: output.stdout,
      stderr: output.stderr,
      ...(unmet ? { unmet } : {}),
    };
    this.reply(request, status, buffers, metadata, error, canned);
  }

  /** Runs a request in the task thread; a thread that cannot start or take it ends the task with that error instead of losing it. */
  private async runInThread(request: Request, onOutput: (name: "stdout" | "stderr", text: string) => void): Promise<TaskOutcome> {
    try {
      return await this.taskThread().run(request.content, request.buffers, onOutput);
    } catch (error) {
      process.stderr.write(`parallax engine ${this.id}: task ${request.header.msgId} could not be run: ${String(error)}\n`);
      return { error: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  private flushStreams(request: Request, pending: { stdout: string; stderr: string }): void {
    for (const name of ["stdout", "stderr"] as const) {
      if (pending[name] === "") continue;
      this.send("stream", { name, text: pending[name] }, { parentId: request.header.msgId });
      pending[name] = "";
    }
  }

  /**
   * Interrupts the running task, if any (SIGINT). Resolves with whether there was one to
   * interrupt, once the engine is ready for its next task.
   */
  interrupt(): Promise<boolean> {
    return (
      this.thread?.stop(
        namedError("TaskInterrupted", `task ${this.current?.header.msgId} was interrupted on engine ${this.id}`, "TASK_INTERRUPTED"),
      ) ?? Promise.resolve(false)
    );
  }

  private reply(
    request: Pick<Incoming, "header">,
    status: TaskStatus,
    buffers: Buffer[],
    metadata: ReplyMetadata,
    error?: WireError,
    canned = false,
  ): void {
    const content: ReplyContent = error ? { status, error } : { status, ...(canned ? { canned } : {}) };
    const reply: UnackedReply = {
      parentId: request.header.msgId,
      content,
      metadata: { ...metadata, engineId: this.id, replySeq: ++this.replySeq },
      buffers,
    };
    this.unacked.set(this.replySeq, reply);
    this.send("apply_reply", content, { metadata: reply.metadata, parentId: reply.parentId, buffers });
  }

  private send<T extends MsgType>(type: T, content: ContentOf<T>, parts?: OutgoingParts<T>): void {
    this.channel.sendFrames(this.codec.encode(outgoing(this.codec, type, content, parts)));
  }
}

function execTimeoutOf(request: Request): number | undefined {
  const limit = request.metadata.execTimeout;
  return limit !== undefined && limit > 0 ? limit : undefined;
}

function namedError(name: string, message: string, code: string): Error {
  return Object.assign(new Error(message), { name, code });
}
