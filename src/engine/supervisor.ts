/**
 * The engine supervisor: a small parent process that starts the engine, answers for its
 * liveness (so a CPU-bound task never looks dead), reports its exit at once, and delivers signals.
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { getHeapStatistics } from "node:v8";
import type { Logger } from "../connection/logger.js";
import { processState } from "../connection/owner.js";
import { DEFAULT_HEARTBEAT_INTERVAL } from "../connection/profile.js";
import type { Codec } from "../protocol/message.js";
import type { Incoming, MsgType } from "../protocol/message.js";
import { Channel, connectDealer, newCodec } from "../transport/channel.js";
import { StallMeter, creditStall } from "../transport/stall.js";
import { ProcessSampler } from "./process-stats.js";

/** What the supervisor needs: where the controller is, and how to start the engine. */
export interface SupervisorOptions {
  url: string;
  key: string;
  /** The controller's CURVE public key, when connections are encrypted. */
  curveServerKey?: string | undefined;
  /** Arguments passed on to the engine process. */
  engineArgs: string[];
  /**
   * Stop the engine when the controller has not answered a heartbeat for this long (ms). Long
   * enough by default for a controller restarted with --restore to adopt the engine first.
   */
  controllerTimeout: number;
  /** Heap limit of the engine in MiB (Node's --max-old-space-size); none when undefined. */
  maxMemoryMiB?: number | undefined;
  /** Where the supervisor says what happened to its engine. */
  log: Logger;
}

// Running from source (tsx), the engine entry is the .ts file; built, the .js file.
const ENGINE_MAIN = fileURLToPath(new URL(`./main.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url));

/** Runs the supervisor until the engine exits; resolves with the exit code to use. */
export function runSupervisor(options: SupervisorOptions): Promise<number> {
  return new Promise((resolve) => {
    const execArgv =
      options.maxMemoryMiB === undefined ? process.execArgv : [...process.execArgv, `--max-old-space-size=${options.maxMemoryMiB}`];
    const child = fork(ENGINE_MAIN, options.engineArgs, { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv });
    const link = new SupervisorLink(options, child);
    child.on("message", (message: { type?: string; id?: number; heartbeatInterval?: number }) => {
      if (message.type === "registered" && typeof message.id === "number")
        link.attach(message.id, message.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL);
      if (message.type === "interrupt-ack") link.interruptAnswered();
    });
    child.on("exit", (code, signal) => {
      void link.reportExit(code, signal).then(() => resolve(code ?? (signal ? 128 + signalNumber(signal) : 1)));
    });
    for (const signal of ["SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2"] as const) {
      process.on(signal, () => forward(child, signal));
    }
    // An engine busy in synchronous code cannot run its SIGTERM handler: it is killed after a grace period.
    process.once("SIGTERM", () => setTimeout(() => forward(child, "SIGKILL"), STOP_GRACE_MS).unref());
    process.on("SIGINT", () => link.interrupt());
  });
}

/** Whether a process is stopped (state T in /proc/<pid>/stat); false where /proc is absent. */
function isStopped(pid: number | undefined): boolean {
  return pid !== undefined && processState(pid) === "T";
}

/** How long an engine may take to stop after SIGTERM before it is killed. */
const STOP_GRACE_MS = 3000;

/** How long an engine may take to answer SIGINT before it is taken to be stuck. */
const INTERRUPT_GRACE_MS = 1000;

function forward(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}

/** The supervisor's own connection to the controller, opened once the engine has an id. */
class SupervisorLink {
  private readonly codec: Codec;
  private channel: Channel | undefined;
  private engineId: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private interruptTimer: NodeJS.Timeout | undefined;
  private lastAnswer = Date.now();
  private exitReason: string | undefined;

  constructor(
    private readonly options: SupervisorOptions,
    private readonly child: ChildProcess,
  ) {
    this.codec = newCodec(options.key);
  }

  attach(engineId: number, heartbeatInterval: number): void {
    this.engineId = engineId;
    this.channel = new Channel(
      connectDealer(this.options.url, `supervisor-${this.codec.session}`, 1000, this.options.curveServerKey),
      this.codec,
    );
    this.channel.start((message) => this.onMessage(message));
    this.send("supervise_request", { engine_id: engineId, pid: this.child.pid, supervisor_pid: process.pid });
    // A stopped engine (SIGSTOP, a debugger) cannot work: stop vouching for it, so the hub
    // declares it dead after the usual missed beats instead of waiting forever.
    this.lastAnswer = Date.now();
    const stall = new StallMeter(heartbeatInterval);
    const sampler = this.child.pid === undefined ? undefined : new ProcessSampler(this.child.pid);
    this.timer = setInterval(() => {
      // Time this process itself was stopped is not the controller's silence.
      const now = Date.now();
      this.lastAnswer = creditStall(this.lastAnswer, stall.stalled(now), now);
      if (now - this.lastAnswer > this.options.controllerTimeout) {
        this.exitReason = `the controller did not answer for ${this.options.controllerTimeout} ms`;
        forward(this.child, "SIGKILL");
        return;
      }
      // The engine's CPU and memory ride on the beat (for the dashboard).
      const stats = sampler?.sample();
      if (!isStopped(this.child.pid)) this.send("engine_beat", { engine_id: engineId, ...(stats ? { stats } : {}) });
    }, heartbeatInterval);
  }

  /**
   * Delivers SIGINT. The engine interrupts its task and answers once it is ready for the next
   * one; an engine that cannot (its task thread could not be broken out of its code) is killed
   * after a grace period, so that its task fails with EngineError instead of blocking forever.
   */
  interrupt(): void {
    forward(this.child, "SIGINT");
    if (this.interruptTimer) return;
    this.interruptTimer = setTimeout(() => {
      this.exitReason = `it did not answer an interrupt within ${INTERRUPT_GRACE_MS} ms (its task could not be interrupted)`;
      forward(this.child, "SIGKILL");
    }, INTERRUPT_GRACE_MS);
  }

  /** The engine handled SIGINT. */
  interruptAnswered(): void {
    clearTimeout(this.interruptTimer);
    this.interruptTimer = undefined;
  }

  async reportExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // V8 aborts when the heap limit is reached: name the likely cause and the way to raise it.
    if (signal === "SIGABRT" || code === 134) {
      // The engine runs with this process's Node flags, so their heap limit is the engine's.
      const limit = this.options.maxMemoryMiB ?? Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
      this.exitReason ??= `it probably ran out of memory (heap limit ${limit} MiB; raise it with the engine option --max-memory <MiB>)`;
    }
    clearTimeout(this.interruptTimer);
    const what = `engine ${this.engineId ?? "(not registered)"} exited (${signal ? `signal ${signal}` : `code ${code}`})${this.exitReason ? `: ${this.exitReason}` : ""}`;
    if (code === 0) this.options.log.info(what);
    else this.options.log.warn(what);
    if (this.channel === undefined) return;
    this.send("engine_exit", { engine_id: this.engineId, code, signal, ...(this.exitReason ? { reason: this.exitReason } : {}) });
    await this.channel.flush(1000);
    await this.channel.close();
  }

  private onMessage(message: Incoming): void {
    this.lastAnswer = Date.now();
    if (message.header.msg_type !== "control_request") return;
    const { op, signal } = message.content as { op?: string; signal?: NodeJS.Signals };
    if (op === "reregister") this.child.send?.({ type: "reregister" });
    else if (op === "forgotten") {
      // The hub declared this engine dead (it was stopped, or cut off): it must not come back
      // under its old id, so it leaves.
      this.exitReason = "the hub had already declared it dead";
      forward(this.child, "SIGKILL");
    } else if (op === "signal" && signal === "SIGINT") this.interrupt();
    else if (op === "signal" && typeof signal === "string") forward(this.child, signal);
  }

  private send(type: MsgType, content: object): void {
    this.channel?.sendFrames(this.codec.encode({ header: this.codec.header(type), parent: {}, metadata: {}, content, buffers: [] }));
  }
}
