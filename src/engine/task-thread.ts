/**
 * The engine's side of its task thread. User code runs in a worker thread that owns the
 * namespace; the main thread keeps the socket, so an interrupt or an execTimeout is always
 * heard, whatever the task does, and the task thread is broken out of it without losing the
 * namespace.
 *
 * Why a thread, measured on Node 20 (bench/engine-overhead.ts):
 * - vm's `breakOnSigint` (and its `timeout`) only covers the synchronous part of one vm call,
 *   and starts a watchdog thread each time: 40–180 µs a call (about 35 µs of CPU), against
 *   1 µs for a plain call.
 *   It cannot reach promise continuations (`await x; for (;;) {}`, `for (;;) await null`) nor
 *   timer callbacks, which run from the event loop outside any vm call.
 * - A context with `microtaskMode: "afterEvaluate"` drains its own microtasks inside the vm
 *   call, but continuations woken from outside it (a host timer, I/O, `await fetch()`) wait in
 *   that queue until some later vm call: ordinary async code would hang.
 * - Terminating JavaScript on the main thread (the inspector's `Runtime.terminateExecution`)
 *   drops every pending microtask of the thread, the engine's own included.
 * In a worker thread, termination only drops the task's own pending work, and V8 cancels it as
 * soon as the interrupted code has unwound: the thread, its event loop and its namespace go on.
 * A message round trip to the thread costs about 30 µs of CPU per task, less than
 * `breakOnSigint` on every call, which would still miss the asynchronous cases. The thread runs with
 * `--no-force-async-hooks-checks`, because code cut off inside a timer or I/O callback leaves
 * the async-hooks stack unbalanced and Node would otherwise abort the process.
 */
import fs from "node:fs";
import type { Session } from "node:inspector";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Worker } from "node:worker_threads";
import type { ApplyContent } from "../protocol/contents.js";
import { forTransfer } from "./transfer.js";
import { runsUnderTsx, typeScriptLoaderArgs } from "./typescript-loader.js";

/** What the task thread starts with. */
export interface TaskThreadData {
  cwd: string;
  seed: Record<string, unknown>;
}

/** Messages to the task thread. */
export type ToTaskThread =
  | { type: "run"; seq: number; content: ApplyContent; buffers: Uint8Array[] }
  | { type: "push"; values: Record<string, unknown> }
  | { type: "ping"; seq: number };

/** A thrown value, as far as a reply needs it. */
export interface ErrorFields {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** In a map chunk: the index of the item whose call threw. */
  item?: number;
  /** What was thrown was not an Error: `message` describes it and `thrown` keeps it when JSON can carry it. */
  nonError?: boolean;
  thrown?: unknown;
}

/** Messages from the task thread. */
export type FromTaskThread =
  | { type: "output"; seq: number; name: "stdout" | "stderr"; text: string }
  | { type: "done"; seq: number; buffers?: Uint8Array[]; canned?: boolean; error?: ErrorFields }
  | { type: "pong"; seq: number };

/** How a task ended: its encoded value, or what it threw (or why it was stopped). */
export type TaskOutcome = { buffers: Buffer[]; canned?: boolean; error?: undefined } | { error: ErrorFields | Error };

/** An idle thread answers a ping within this many ms; one that does not is busy in user code. */
const PROBE_MS = 150;

/** After this many ms a thread that could not be broken out of user code is given up (the engine exits). */
const RELEASE_LIMIT_MS = 5000;

// Running from source (tsx), the thread loads the .ts entry through tsx's loader.
const FROM_SOURCE = import.meta.url.endsWith(".ts");
/** tsx's hooks do not reach worker threads: the task thread registers it itself when the engine runs under tsx. */
const REGISTER_TSX = FROM_SOURCE || runsUnderTsx(process.execArgv);

/**
 * The task thread's entry. Running from source, the .ts file; built, the one CommonJS file that
 * `npm run build` bundles from task-worker.js and what it imports, which starts without Node's ES
 * module loader (about 1.5 MB less in every engine's thread, and no libuv thread pool started
 * for the loader's file reads); task-worker.js where only tsc has run.
 */
function workerEntry(): URL {
  if (FROM_SOURCE) return new URL("./task-worker.ts", import.meta.url);
  const bundle = new URL("./task-worker.cjs", import.meta.url);
  return fs.existsSync(bundle) ? bundle : new URL("./task-worker.js", import.meta.url);
}

// V8's process-wide flags apply to every thread already (the heap limit included), and Worker
// refuses them in its execArgv; loaders and other Node flags are passed on.
const PROCESS_WIDE_FLAG =
  /^--((no-)?memory-reducer|max-old-space-size|max-semi-space-size|stack-size|v8-pool-size|title|max-http-header-size)\b/;

/**
 * tsx's registration API as an ES module (`tsx/esm/api` under the `import` condition, as
 * `import.meta.resolve` finds it from this file): the engine's built entry is one CommonJS file,
 * without `import.meta.resolve`, and tsx's CommonJS build of that API cannot register its hooks
 * in a worker thread.
 */
function tsxApi(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve("tsx/package.json");
  const { exports } = require(manifest) as { exports?: Record<string, { import?: { default?: string } }> };
  const target = exports?.["./esm/api"]?.import?.default;
  if (target === undefined) throw new Error(`tsx in ${path.dirname(manifest)} exports no ES module build of tsx/esm/api`);
  return pathToFileURL(path.join(path.dirname(manifest), target)).href;
}

/** Starts the thread; Node flags a Worker refuses (tracing flags such as `--trace-gc`) stay with the engine's main thread. */
function startWorker(data: TaskThreadData): Worker {
  const flags = process.execArgv.filter((flag) => !PROCESS_WIDE_FLAG.test(flag));
  try {
    return newWorker(data, flags);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ERR_WORKER_INVALID_EXEC_ARGV") throw error;
    process.stderr.write(`parallax engine: ${(error as Error).message}: the task thread starts with the TypeScript loader's flags only\n`);
    return newWorker(data, typeScriptLoaderArgs(process.execArgv));
  }
}

function newWorker(data: TaskThreadData, flags: string[]): Worker {
  const execArgv = [...flags, "--no-force-async-hooks-checks"];
  // Loaded here, with the first task, not when the engine starts: every engine of a host pays
  // for what it loads at start, and one that never runs a task needs neither module.
  const { Worker } = process.getBuiltinModule("node:worker_threads");
  const entry = workerEntry();
  return REGISTER_TSX
    ? new Worker(`import(${JSON.stringify(tsxApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`, {
        eval: true,
        workerData: data,
        execArgv,
      })
    : new Worker(fileURLToPath(entry), { workerData: data, execArgv });
}

interface Running {
  seq: number;
  settle: (outcome: TaskOutcome) => void;
  onOutput: (name: "stdout" | "stderr", text: string) => void;
}

/** The worker thread that runs an engine's tasks, one at a time. */
export class TaskThread {
  private readonly worker: Worker;
  /** Attached when a task must first be terminated, not with the thread: most engines never need it. */
  private inspectorSession: Promise<WorkerSession | undefined> | undefined;
  private running: Running | undefined;
  /** Settles once the thread is free again after a task was stopped. */
  private released: Promise<boolean> = Promise.resolve(true);
  private seq = 0;
  private readonly pongs = new Map<number, () => void>();

  /**
   * @param onExit called when the thread ends (user code called `process.exit`, or it ran out
   * of memory); the engine cannot go on without its namespace.
   */
  constructor(data: TaskThreadData, onExit: (code: number, error?: Error) => void) {
    this.worker = startWorker(data);
    let failure: Error | undefined;
    this.worker.on("error", (error) => (failure = error));
    this.worker.on("exit", (code) => onExit(code, failure));
    this.worker.on("message", (message: FromTaskThread) => this.onMessage(message));
  }

  /** Runs one task; `onOutput` sees what it writes as it goes. */
  async run(content: ApplyContent, buffers: Buffer[], onOutput: Running["onOutput"]): Promise<TaskOutcome> {
    await this.released;
    const seq = ++this.seq;
    const outcome = new Promise<TaskOutcome>((settle) => (this.running = { seq, settle, onOutput }));
    const moving = forTransfer(buffers);
    this.post({ type: "run", seq, content, buffers: moving.buffers }, moving.transfer);
    return await outcome;
  }

  /** Binds values in the namespace. */
  push(values: Record<string, unknown>): void {
    this.post({ type: "push", values });
  }

  /**
   * Ends the running task with `reason` at once, then frees the thread: if it does not answer
   * a ping it is busy in user code, which is terminated. Resolves with whether there was a task
   * to stop, once the thread is free again; never resolves if the thread cannot be freed (the
   * engine then exits, see {@link RELEASE_LIMIT_MS}).
   */
  async stop(reason: Error): Promise<boolean> {
    const running = this.running;
    if (running === undefined) {
      await this.released;
      return false;
    }
    this.running = undefined;
    running.settle({ error: reason });
    this.released = this.release();
    return await this.released;
  }

  private async release(): Promise<boolean> {
    if (await this.ping(PROBE_MS)) return true;
    // The inspector reaches a thread busy in user code: attaching to it and terminating its
    // code are handled outside its JavaScript. Without an inspector (Node built without it)
    // nothing can break the thread out of its code; the engine exits instead (below).
    this.inspectorSession ??= WorkerSession.attach(this.worker.threadId);
    const terminated = this.inspectorSession.then((session) => session?.terminateExecution() ?? new Promise<never>(() => {}));
    // An idle thread reports the termination when it next runs code: give it some.
    this.post({ type: "ping", seq: 0 });
    const freed = await Promise.race([terminated.then(() => true), delay(RELEASE_LIMIT_MS).then(() => false)]);
    if (!freed) {
      process.stderr.write(`parallax engine: the task thread could not be interrupted within ${RELEASE_LIMIT_MS} ms; exiting\n`);
      process.exit(1);
    }
    return true;
  }

  private ping(limit: number): Promise<boolean> {
    const seq = ++this.seq;
    this.post({ type: "ping", seq });
    return Promise.race([
      new Promise<boolean>((resolve) => this.pongs.set(seq, () => resolve(true))),
      delay(limit).then(() => false),
    ]).finally(() => this.pongs.delete(seq));
  }

  private onMessage(message: FromTaskThread): void {
    if (message.type === "pong") {
      this.pongs.get(message.seq)?.();
      return;
    }
    const running = this.running;
    // Outcomes and output of a task that was stopped arrive late, if at all: they are dropped.
    if (running?.seq !== message.seq) return;
    if (message.type === "output") {
      running.onOutput(message.name, message.text);
      return;
    }
    this.running = undefined;
    running.settle(
      message.error
        ? { error: message.error }
        : {
            buffers: (message.buffers ?? []).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
            ...(message.canned ? { canned: true } : {}),
          },
    );
  }

  private post(message: ToTaskThread, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** An inspector session on the main thread, attached to the task thread. */
class WorkerSession {
  private requests = 0;
  private readonly answers = new Map<number, () => void>();

  private constructor(
    private readonly session: Session,
    private readonly sessionId: string,
  ) {
    session.on("NodeWorker.receivedMessageFromWorker", ({ params }) => {
      const { id } = JSON.parse(params.message) as { id?: number };
      if (id !== undefined) this.answers.get(id)?.();
    });
  }

  /** Attaches to the worker thread `threadId`; undefined when this Node has no inspector. */
  static attach(threadId: number): Promise<WorkerSession | undefined> {
    let session: Session;
    try {
      session = new (process.getBuiltinModule("node:inspector").Session)();
      session.connect();
    } catch {
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      session.on("NodeWorker.attachedToWorker", ({ params }) => {
        if (params.workerInfo.workerId === String(threadId)) resolve(new WorkerSession(session, params.sessionId));
      });
      session.post("NodeWorker.enable", { waitForDebuggerOnStart: false }, (error) => {
        if (error) resolve(undefined);
      });
    });
  }

  /**
   * Stops the JavaScript running on the thread (or the next it runs). Resolves once V8 has
   * unwound it and cancelled the termination, which it does when the outermost call returns.
   */
  terminateExecution(): Promise<void> {
    const id = ++this.requests;
    return new Promise((resolve) => {
      this.answers.set(id, () => {
        this.answers.delete(id);
        resolve();
      });
      this.session.post("NodeWorker.sendMessageToWorker", {
        sessionId: this.sessionId,
        message: JSON.stringify({ id, method: "Runtime.terminateExecution" }),
      });
    });
  }
}
