/**
 * The engine: registers with the controller, then executes requests one at a time in arrival
 * order inside its persistent namespace. Control requests (abort, shutdown) bypass the queue.
 */
import os from "node:os";
import { UnmetDependency } from "../errors.js";
import type { RemoteErrorInfo } from "../errors.js";
import { uncanValue } from "../protocol/canning.js";
import type { ApplyContent, RegistrationContent, ReplyContent, ReplyMetadata, TaskStatus } from "../protocol/contents.js";
import { Codec } from "../protocol/message.js";
import type { Incoming, MsgType } from "../protocol/message.js";
import { decodeValue, encodeValue } from "../protocol/serialize.js";
import { Channel, connectDealer } from "../transport/channel.js";
import { OutputCapture } from "./capture.js";
import { Namespace } from "./namespace.js";

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

/** A function whose synchronous part returned within this many ms is not made interruptible again. */
const QUICK_CALL_MS = 5;

/** Streamed output is flushed at most this often while a task runs. */
const STREAM_FLUSH_MS = 100;

/** A running engine. */
export class Engine {
  private readonly codec: Codec;
  private readonly channel: Channel;
  private readonly capture = new OutputCapture();
  private readonly queue: Incoming[] = [];
  private namespace: Namespace | undefined;
  private busy = false;
  private current: Incoming | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  /** Functions that returned quickly once; they are called without the interruptible wrapper. */
  private readonly quickFunctions = new WeakSet<Function>();
  /** Rejects the running task's wait when it is interrupted (SIGINT) or runs out of time. */
  private abortCurrent: ((error: Error) => void) | undefined;
  /** Id assigned by the hub, once registered. */
  id = -1;
  private registered!: (id: number) => void;
  /** Resolves with the engine id once the controller answered the registration. */
  readonly ready = new Promise<number>((resolve) => (this.registered = resolve));

  constructor(private readonly options: EngineOptions) {
    this.codec = new Codec(options.key);
    this.channel = new Channel(connectDealer(options.url, `engine-${this.codec.session}`, 500, options.curveServerKey), this.codec);
  }

  /** Connects and sends the registration request. */
  start(): void {
    this.channel.start((message) => this.onMessage(message));
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
      const timer = setTimeout(() => this.options.onRegistrationTimeout?.(
        `no registration reply from ${this.options.url} within ${limit} ms: check that the controller runs there and that the key in the engine connection file is the controller's`,
      ), limit);
      void this.ready.then(() => clearTimeout(timer));
    }
  }

  /** Closes the socket; the process may then exit. */
  async stop(): Promise<void> {
    if (this.beatTimer) clearInterval(this.beatTimer);
    await this.channel.flush(500);
    await this.channel.close();
  }

  private onMessage(message: Incoming): void {
    switch (message.header.msg_type) {
      case "registration_reply":
        this.onRegistration(message);
        break;
      case "apply_request":
        this.queue.push(message);
        if (!this.busy) void this.drain();
        break;
      case "control_request":
        this.onControl(message);
        break;
      default:
        break;
    }
  }

  private onRegistration(message: Incoming): void {
    const { id, heartbeatInterval, error } = message.content as { id: number; heartbeatInterval: number; error?: string };
    if (this.id >= 0) {
      // A re-registration with a restored controller: the namespace is kept; so is the id
      // unless the hub had to hand out another one.
      if (error === undefined && id !== this.id) {
        this.id = id;
        this.namespace?.push({ engineId: id });
      }
      return;
    }
    if (error !== undefined) {
      process.stderr.write(`registration refused: ${error}\n`);
      process.exitCode = 1;
      void this.stop();
      return;
    }
    this.id = id;
    this.namespace = new Namespace(this.options.cwd ?? process.cwd(), { engineId: id, UnmetDependency, ...this.options.seed });
    if (this.options.selfBeat) {
      this.beatTimer = setInterval(() => this.send("engine_beat", { engine_id: id }), heartbeatInterval);
      this.beatTimer.unref();
    }
    this.options.onRegistered?.(id, heartbeatInterval);
    this.registered(id);
    if (!this.busy) void this.drain();
  }

  private onControl(message: Incoming): void {
    const { op, msgIds } = message.content as { op: string; msgIds?: string[] };
    if (op === "abort") this.abortQueued(msgIds);
    else if (op === "reregister") this.reregister();
    else if (op === "forgotten") void this.stop().then(() => process.exit(1));
    else if (op === "shutdown") void this.stop().then(() => process.exit(0));
  }

  /** Registers again with the same id (the controller was restarted with --restore). */
  reregister(): void {
    if (this.id < 0) return;
    const content: RegistrationContent = { pid: process.pid, hostname: os.hostname(), cwd: this.options.cwd ?? process.cwd(), requestedId: this.id, readopt: true };
    this.send("registration_request", content);
  }

  private abortQueued(msgIds: string[] | undefined): void {
    const wanted = msgIds === undefined ? undefined : new Set(msgIds);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const request = this.queue[i] as Incoming;
      if (wanted && !wanted.has(request.header.msg_id)) continue;
      this.queue.splice(i, 1);
      const now = Date.now();
      this.reply(request, "aborted", [], { started: now, completed: now, stdout: "", stderr: "" }, {
        ename: "TaskAborted", evalue: `task ${request.header.msg_id} was aborted before it ran`, remoteStack: "", code: "TASK_ABORTED",
      });
    }
  }

  private async drain(): Promise<void> {
    if (this.namespace === undefined) return;
    this.busy = true;
    try {
      for (let request = this.queue.shift(); request; request = this.queue.shift()) await this.execute(request);
    } finally {
      this.busy = false;
    }
  }

  private async execute(request: Incoming): Promise<void> {
    this.current = request;
    const pending = { stdout: "", stderr: "" };
    const flusher = setInterval(() => this.flushStreams(request, pending), STREAM_FLUSH_MS);
    this.capture.begin((name, text) => (pending[name] += text));
    const started = Date.now();
    let status: TaskStatus = "ok";
    let buffers: Buffer[] = [];
    let error: (RemoteErrorInfo & { code?: string }) | undefined;
    let unmet = false;
    try {
      const limit = execTimeoutOf(request);
      const value = await this.guarded(this.perform(request.content as unknown as ApplyContent, request.buffers, limit), limit);
      buffers = encodeValue(value, `result of ${describeRequest(request.content as unknown as ApplyContent)}`);
    } catch (thrown) {
      status = "error";
      error = this.errorInfo(thrown);
      unmet = error.ename === "UnmetDependency";
    } finally {
      clearInterval(flusher);
    }
    const output = this.capture.end();
    this.current = undefined;
    const metadata: ReplyMetadata = { started, completed: Date.now(), stdout: output.stdout, stderr: output.stderr, ...(unmet ? { unmet } : {}) };
    this.reply(request, status, buffers, metadata, error);
  }

  private flushStreams(request: Incoming, pending: { stdout: string; stderr: string }): void {
    for (const name of ["stdout", "stderr"] as const) {
      if (pending[name] === "") continue;
      this.send("stream", { name, text: pending[name] }, {}, request.header.msg_id);
      pending[name] = "";
    }
  }

  /**
   * An exception escaped user code (a throw in a timer callback, an unhandled rejection): the
   * running task fails with it and the engine goes on. Returns whether a task took the blame.
   */
  failCurrent(error: unknown): boolean {
    if (!this.abortCurrent) return false;
    // Errors from the namespace come from another realm: instanceof Object is false for them.
    this.abortCurrent(typeof error === "object" && error !== null ? (error as Error) : new Error(String(error)));
    return true;
  }

  /** Interrupts the running task, if any (SIGINT). Returns whether there was one to interrupt. */
  interrupt(): boolean {
    if (!this.abortCurrent) return false;
    this.abortCurrent(namedError("TaskInterrupted", `task ${this.current?.header.msg_id} was interrupted on engine ${this.id}`, "TASK_INTERRUPTED"));
    return true;
  }

  /** Waits for a task, unless it is interrupted or exceeds `limit` ms. */
  private async guarded(work: Promise<unknown>, limit: number | undefined): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const stop = new Promise<never>((_resolve, reject) => {
      this.abortCurrent = reject;
      if (limit !== undefined) {
        timer = setTimeout(() => reject(namedError("ExecutionTimeout", `task ${this.current?.header.msg_id} ran longer than its execTimeout of ${limit} ms on engine ${this.id}`, "EXECUTION_TIMEOUT")), limit);
      }
    });
    try {
      return await Promise.race([work, stop]);
    } finally {
      clearTimeout(timer);
      this.abortCurrent = undefined;
      // An abandoned task may still settle later; its outcome no longer matters.
      work.catch(() => {});
    }
  }

  private async perform(content: ApplyContent, buffers: Buffer[], limit?: number): Promise<unknown> {
    const ns = this.namespace as Namespace;
    const values = () => {
      const decoded = decodeValue(content.argFrames === undefined ? buffers : buffers.slice(0, content.argFrames));
      if (!content.canned) return decoded;
      return uncanValue(decoded, (canned) => {
        if (canned.__parallax_can__ !== "result") return ns.revive(canned);
        const range = content.refFrames?.[canned.msgId];
        if (!range) throw new Error(`the result of task ${canned.msgId} was not delivered with this task`);
        return decodeValue(buffers.slice(range[0], range[1]));
      });
    };
    switch (content.op) {
      case "call": {
        const fn = await ns.resolveFunction(content.fn!);
        return await this.invokeBounded(fn, values() as unknown[], limit);
      }
      case "map":
        return await this.mapPartition(await ns.resolveFunction(content.fn!), values() as unknown[][]);
      case "execute":
        return await ns.execute(content.code ?? "", content.filename);
      case "push":
        ns.push(values() as Record<string, unknown>);
        return undefined;
      case "pull":
        return Array.isArray(content.names) ? content.names.map((n) => ns.evaluate(n)) : ns.evaluate(content.names ?? "");
      case "clear":
        ns.reset();
        return undefined;
      case "require":
        return await ns.requireModules(content.modules ?? {});
      default:
        throw new TypeError(`unknown engine operation ${JSON.stringify(content.op)}`);
    }
  }

  private async mapPartition(fn: Function, sequences: unknown[][]): Promise<unknown[]> {
    const ns = this.namespace as Namespace;
    const length = Math.min(...sequences.map((s) => s.length));
    const out = new Array<unknown>(Number.isFinite(length) ? length : 0);
    for (let i = 0; i < out.length; i++) {
      const value = ns.invoke(fn, sequences.map((s) => s[i]));
      out[i] = isThenable(value) ? await value : value;
    }
    return out;
  }

  /**
   * Calls a task's function. A function not yet seen to return quickly runs so that SIGINT can
   * break its synchronous part; once it has returned within {@link QUICK_CALL_MS}, later calls
   * go direct (the interruptible path costs about 0.2 ms a call). A quick function that one day
   * hangs is still stopped: the supervisor kills an engine that does not answer SIGINT.
   */
  private invokeBounded(fn: Function, args: unknown[], limit: number | undefined): unknown {
    const interruptible = !this.quickFunctions.has(fn);
    const started = performance.now();
    try {
      const value = (this.namespace as Namespace).invoke(fn, args, { timeoutMs: limit, interruptible });
      if (interruptible && performance.now() - started < QUICK_CALL_MS) this.quickFunctions.add(fn);
      return value;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === "ERR_SCRIPT_EXECUTION_TIMEOUT") {
        throw namedError("ExecutionTimeout", `task ${this.current?.header.msg_id} ran longer than its execTimeout of ${limit} ms on engine ${this.id}`, "EXECUTION_TIMEOUT");
      }
      if (code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") {
        // vm took the signal instead of our SIGINT listener: answer the supervisor ourselves.
        process.send?.({ type: "interrupt-ack", interrupted: true });
        throw namedError("TaskInterrupted", `task ${this.current?.header.msg_id} was interrupted on engine ${this.id}`, "TASK_INTERRUPTED");
      }
      throw error;
    }
  }

  private errorInfo(thrown: unknown): RemoteErrorInfo & { code?: string } {
    // Errors thrown by user code come from the namespace's realm, so instanceof Error is false.
    const error = (typeof thrown === "object" && thrown !== null ? thrown : new Error(String(thrown))) as Error & { code?: unknown };
    const ename = typeof error.name === "string" ? error.name : "Error";
    let evalue = typeof error.message === "string" ? error.message : String(thrown);
    const free = ename === "ReferenceError" ? /^(\S+) is not defined$/.exec(evalue) : null;
    if (free) {
      evalue = `${free[1]} is not defined on engine ${this.id}: functions run in the engine's namespace, ` +
        `so push it first (view.push({ ${free[1]} })) or pass it as an argument`;
    }
    return {
      ename,
      evalue,
      remoteStack: typeof error.stack === "string" ? error.stack : `${ename}: ${evalue}`,
      engineId: this.id,
      ...(typeof error.code === "string" ? { code: error.code } : {}),
    };
  }

  private reply(request: Incoming, status: TaskStatus, buffers: Buffer[], metadata: ReplyMetadata, error?: RemoteErrorInfo & { code?: string }): void {
    const content: ReplyContent = error ? { status, error } : { status };
    this.send("apply_reply", content, { ...metadata, engine_id: this.id }, request.header.msg_id, buffers);
  }

  private send(type: MsgType, content: object, metadata: object = {}, parentId?: string, buffers: Buffer[] = []): void {
    const frames = this.codec.encode({
      header: this.codec.header(type),
      parent: parentId === undefined ? {} : { msg_id: parentId },
      metadata,
      content,
      buffers,
    });
    this.channel.sendFrames(frames);
  }
}

function execTimeoutOf(request: Incoming): number | undefined {
  const limit = (request.metadata as { execTimeout?: unknown }).execTimeout;
  return typeof limit === "number" && limit > 0 ? limit : undefined;
}

function namedError(name: string, message: string, code: string): Error {
  return Object.assign(new Error(message), { name, code });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function describeRequest(content: ApplyContent): string {
  if (content.fn && "name" in content.fn) return content.fn.name;
  if (content.fn && "exportName" in content.fn) return content.fn.exportName;
  return content.op;
}
