/**
 * The engine supervisor: one small process that starts every engine of a set on its host,
 * answers for their liveness (so a CPU-bound task never looks dead), reports each engine's
 * exit at once, delivers signals and interrupts, and replaces engines that die when asked to.
 * One process and one connection to the controller serve the whole set, instead of a Node
 * process per engine: that process cost as much memory and start time as the engine itself.
 */
import { spawn } from "node:child_process";
import type { ChildProcess, StdioOptions } from "node:child_process";
import fs from "node:fs";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { getHeapStatistics } from "node:v8";
import { Logger } from "../connection/logger.js";
import { processState } from "../connection/owner.js";
import { ProtocolError } from "../errors.js";
import type { EngineBeatContent } from "../protocol/contents.js";
import type { Codec, Incoming, MsgType } from "../protocol/message.js";
import { WireGate, outgoing } from "../protocol/wire.js";
import type { ContentOf } from "../protocol/wire.js";
import { Channel, connectDealer, newCodec } from "../transport/channel.js";
import { StallMeter, creditStall } from "../transport/stall.js";
import type { EngineProcessConfig, FromSupervisor, ToSupervisor } from "./engine-process.js";
import { ProcessSampler } from "./process-stats.js";
import { LINK_FD, SupervisorLink } from "./supervisor-link.js";

/** What the supervisor needs: where the controller is, and how to start its engines. */
export interface SupervisorOptions {
  /** What every engine is started with (the controller's address and key among it). */
  engine: EngineProcessConfig;
  /** The engine connection file, named in each engine's command line for the process list. */
  file: string;
  /** Engines to start and watch. */
  engines: number;
  /** Replace an engine that dies after it registered (the replacement registers with a new id). */
  restart: boolean;
  /**
   * Where each engine's output and what the supervisor says of it go: `{index}` is replaced
   * by the engine's place in the set. Undefined: the supervisor's own output.
   */
  engineLog?: string | undefined;
  /**
   * Stop the engines when the controller has not answered a heartbeat for this long (ms). Long
   * enough by default for a controller restarted with --restore to adopt the engines first.
   */
  controllerTimeout: number;
  /** Heap limit of each engine in MiB (Node's --max-old-space-size); none when undefined. */
  maxMemoryMiB?: number | undefined;
  /** Where the supervisor says what happened to the set as a whole. */
  log: Logger;
}

/**
 * The engine entry. Running from source (tsx), the .ts file; built, the one CommonJS file that
 * `npm run build` bundles from child.js and what it imports (scripts/build-engine-bundle.mjs),
 * which starts without Node's ES module loader; child.js where only tsc has run.
 */
function engineEntry(): string {
  if (import.meta.url.endsWith(".ts")) return fileURLToPath(new URL("./child.ts", import.meta.url));
  const bundle = fileURLToPath(new URL("./child.cjs", import.meta.url));
  return fs.existsSync(bundle) ? bundle : fileURLToPath(new URL("./child.js", import.meta.url));
}
const ENGINE_CHILD = engineEntry();

/**
 * V8 flags for every engine, before this process's own (which may override them). V8's memory
 * reducer runs full garbage collections in a process that turns idle after allocating: an engine
 * of a large set is idle between most of its tasks, and each of 64 engines spent about 3 ms of
 * CPU a second on it for 10 s after every burst of tasks (none with the reducer off), 10 % of
 * their CPU per no-op task.
 */
const ENGINE_V8_FLAGS = ["--no-memory-reducer"];

/** How long engines may take to stop after SIGTERM before they are killed. */
const STOP_GRACE_MS = 3000;

/** How long an engine may take to answer SIGINT before it is taken to be stuck. */
const INTERRUPT_GRACE_MS = 1000;

/** Signals passed on to every engine as they are (SIGTSTP stops the engines, not this process). */
const FORWARDED = ["SIGHUP", "SIGUSR1", "SIGUSR2", "SIGTSTP", "SIGCONT"] as const;

/** Runs the supervisor until every engine has exited for good; resolves with the exit code to use. */
export function runSupervisor(options: SupervisorOptions): Promise<number> {
  return new Promise((resolve) => {
    const supervisor = new Supervisor(options, resolve);
    process.on("SIGTERM", () => supervisor.stop());
    process.on("SIGINT", () => supervisor.interruptAll());
    for (const signal of FORWARDED) process.on(signal, () => supervisor.forwardAll(signal));
    supervisor.start();
  });
}

/** Whether a process is stopped (state T in /proc/<pid>/stat); false where /proc is absent. */
function isStopped(pid: number | undefined): boolean {
  return pid !== undefined && processState(pid) === "T";
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}

/** One engine process of the set, at one place (`index`); a replacement takes a new slot at the same place. */
class EngineSlot {
  engineId: number | undefined;
  exitReason: string | undefined;
  interruptTimer: NodeJS.Timeout | undefined;
  sampler: ProcessSampler | undefined;

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
    readonly link: SupervisorLink<ToSupervisor, FromSupervisor>,
    readonly log: Logger,
  ) {}

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** The engine's name in messages: its id once registered. */
  get name(): string {
    return `engine ${this.engineId ?? `(index ${this.index}, not registered)`}`;
  }
}

class Supervisor {
  private readonly codec: Codec;
  /** What the hub may send a supervisor: checked once, here. */
  private readonly gate = new WireGate(["control_request", "pong"]);
  private channel: Channel | undefined;
  private readonly slots = new Map<number, EngineSlot>();
  /** Per-engine log files by index, kept open across replacements. */
  private readonly logFds = new Map<number, number>();
  private readonly exits: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastAnswer = Date.now();
  private stopping = false;
  private lastCode = 0;
  /** The place of the next engine of the set to start: they start one per event-loop turn. */
  private nextIndex = 0;

  constructor(
    private readonly options: SupervisorOptions,
    private readonly done: (code: number) => void,
  ) {
    this.codec = newCodec(options.engine.key);
  }

  /**
   * Starts the set's engines one per event-loop turn. A fork blocks this process until the
   * child has started Node (70 ms on a busy 2-core machine): 64 in one loop kept it from
   * hearing the first engines' registrations and from beating for them for longer than the hub
   * waits for a beat, which declared them dead.
   */
  start(): void {
    if (this.stopping || this.nextIndex >= this.options.engines) return;
    this.spawn(this.nextIndex++);
    setImmediate(() => this.start());
  }

  /** Whether every engine of the set has been started, or no more will be. */
  private get allStarted(): boolean {
    return this.stopping || this.nextIndex >= this.options.engines;
  }

  private spawn(index: number): void {
    const fd = this.logFd(index);
    const execArgv = [
      ...ENGINE_V8_FLAGS,
      ...process.execArgv,
      ...(this.options.maxMemoryMiB === undefined ? [] : [`--max-old-space-size=${this.options.maxMemoryMiB}`]),
    ];
    const output = fd ?? "inherit";
    const stdio: StdioOptions = ["ignore", output, output, "pipe"];
    const child = spawn(process.execPath, [...execArgv, ENGINE_CHILD, "--file", this.options.file, "--index", String(index)], {
      // The engine's link to this process is its file descriptor LINK_FD (see supervisor-link.ts).
      stdio,
      // Each engine in a session of its own, as when each had its own supervisor: Linux's
      // autogroup scheduler shares the CPU between sessions, so a whole set in one session would
      // get one process's share on a busy machine. Signals reach engines through this process,
      // and an engine stops when this process is gone (its link closes).
      detached: true,
    });
    const log =
      fd === undefined ? this.options.log : new Logger("supervisor", this.options.engine.logLevel, (line) => void fs.writeSync(fd, line));
    const link = new SupervisorLink<ToSupervisor, FromSupervisor>(child.stdio[LINK_FD] as Socket);
    const slot = new EngineSlot(index, child, link, log);
    this.slots.set(index, slot);
    link.onMessage((message) => {
      if (message.type === "registered") this.registered(slot, message.id, message.heartbeatInterval);
      else if (message.type === "interrupt-ack") this.interruptAnswered(slot);
    });
    child.on("exit", (code, signal) => void this.exited(slot, code, signal));
    // A process that could not be started exits too (code -2), which is what the set reports.
    child.on("error", () => undefined);
    link.send({ type: "config", config: this.options.engine });
  }

  private logFd(index: number): number | undefined {
    const pattern = this.options.engineLog;
    if (pattern === undefined) return undefined;
    let fd = this.logFds.get(index);
    if (fd === undefined) {
      fd = fs.openSync(pattern.replaceAll("{index}", String(index)), "a", 0o600);
      this.logFds.set(index, fd);
    }
    return fd;
  }

  private connect(): Channel {
    if (this.channel) return this.channel;
    const e = this.options.engine;
    this.channel = new Channel(connectDealer(e.url, `supervisor-${this.codec.session}`, 1000, e.curveServerKey), this.codec);
    this.channel.start((message) => this.onMessage(message));
    return this.channel;
  }

  private registered(slot: EngineSlot, engineId: number, heartbeatInterval: number): void {
    slot.engineId = engineId;
    slot.sampler = slot.child.pid === undefined ? undefined : new ProcessSampler(slot.child.pid);
    this.connect();
    this.send("supervise_request", {
      engineId,
      ...(slot.child.pid === undefined ? {} : { pid: slot.child.pid }),
      supervisorPid: process.pid,
    });
    if (this.timer === undefined) this.startBeats(heartbeatInterval);
  }

  /**
   * One timer watches the controller's silence and beats for every registered engine, in one
   * message: the hub's cost of a host's beats does not grow with its engines.
   */
  private startBeats(heartbeatInterval: number): void {
    this.lastAnswer = Date.now();
    const stall = new StallMeter(heartbeatInterval);
    this.timer = setInterval(() => {
      // Time this process itself was stopped is not the controller's silence.
      const now = Date.now();
      this.lastAnswer = creditStall(this.lastAnswer, stall.stalled(now), now);
      if (now - this.lastAnswer > this.options.controllerTimeout) {
        this.giveUp(`the controller did not answer for ${this.options.controllerTimeout} ms`);
        return;
      }
      const beats: EngineBeatContent[] = [];
      for (const slot of this.slots.values()) {
        // A stopped engine (SIGSTOP, a debugger) cannot work: it is not vouched for, so the
        // hub declares it dead after the usual missed beats instead of waiting forever.
        if (slot.engineId === undefined || !slot.alive || isStopped(slot.child.pid)) continue;
        // The engine's CPU and memory ride on the beat (for the dashboard).
        const stats = slot.sampler?.sample();
        beats.push({ engineId: slot.engineId, ...(stats ? { stats } : {}) });
      }
      if (beats.length > 0) this.send("supervisor_beat", { beats });
    }, heartbeatInterval);
  }

  /** The controller is gone for good: every engine is stopped and none is replaced. */
  private giveUp(reason: string): void {
    this.stopping = true;
    clearInterval(this.timer);
    for (const slot of this.slots.values()) {
      slot.exitReason ??= reason;
      slot.kill("SIGKILL");
    }
  }

  /** SIGTERM: every engine stops; one busy in synchronous code is killed after a grace period. */
  stop(): void {
    this.stopping = true;
    // Stopped while the set was starting, with none of its engines alive: no exit will end this process.
    if (this.slots.size === 0 && this.nextIndex < this.options.engines) void this.finish();
    this.forwardAll("SIGTERM");
    setTimeout(() => this.forwardAll("SIGKILL"), STOP_GRACE_MS).unref();
  }

  forwardAll(signal: NodeJS.Signals): void {
    for (const slot of this.slots.values()) slot.kill(signal);
  }

  interruptAll(): void {
    for (const slot of this.slots.values()) this.interrupt(slot);
  }

  /**
   * Delivers SIGINT. The engine interrupts its task and answers once it is ready for the next
   * one; an engine that cannot (its task thread could not be broken out of its code) is killed
   * after a grace period, so that its task fails with EngineError instead of blocking forever.
   */
  private interrupt(slot: EngineSlot): void {
    slot.kill("SIGINT");
    if (slot.interruptTimer) return;
    slot.interruptTimer = setTimeout(() => {
      slot.exitReason = `it did not answer an interrupt within ${INTERRUPT_GRACE_MS} ms (its task could not be interrupted)`;
      slot.kill("SIGKILL");
    }, INTERRUPT_GRACE_MS);
  }

  private interruptAnswered(slot: EngineSlot): void {
    clearTimeout(slot.interruptTimer);
    slot.interruptTimer = undefined;
  }

  private async exited(slot: EngineSlot, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    clearTimeout(slot.interruptTimer);
    // V8 aborts when the heap limit is reached: name the likely cause and the way to raise it.
    if (signal === "SIGABRT" || code === 134) {
      // The engine runs with this process's Node flags, so their heap limit is the engine's.
      const limit = this.options.maxMemoryMiB ?? Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
      slot.exitReason ??= `it probably ran out of memory (heap limit ${limit} MiB; raise it with the engine option --max-memory <MiB>)`;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const what = `${slot.name} exited (${how})${slot.exitReason ? `: ${slot.exitReason}` : ""}`;
    if (code === 0) slot.log.info(what);
    else slot.log.warn(what);
    if (slot.engineId !== undefined) {
      this.send("engine_exit", { engineId: slot.engineId, code, signal, ...(slot.exitReason ? { reason: slot.exitReason } : {}) });
    }
    // An engine that never registered would fail the same way again: only registered ones are replaced.
    if (this.options.restart && !this.stopping && slot.engineId !== undefined) {
      slot.log.info(`starting a replacement for ${slot.name}`);
      this.spawn(slot.index);
      return;
    }
    this.slots.delete(slot.index);
    this.exits.push(`engine ${slot.index} ${signal ? `by ${signal}` : `with code ${code}`}`);
    this.lastCode = code ?? (signal ? 128 + signalNumber(signal) : 1);
    if (this.slots.size === 0 && this.allStarted) await this.finish();
  }

  /** Every engine has exited for good: say how, tell the controller, and end. */
  private async finish(): Promise<void> {
    clearInterval(this.timer);
    const failed = this.exits.some((e) => !e.endsWith("with code 0"));
    const summary = `every engine process exited (${this.exits.join(", ")})`;
    if (failed) this.options.log.warn(summary);
    else this.options.log.info(summary);
    if (this.channel) {
      await this.channel.flush(1000);
      await this.channel.close();
    }
    for (const fd of this.logFds.values()) fs.closeSync(fd);
    // One engine: its own exit code, as when the engine ran alone; several: whether all stopped cleanly.
    this.done(this.options.engines === 1 ? this.lastCode : failed ? 1 : 0);
  }

  private onMessage(incoming: Incoming): void {
    this.lastAnswer = Date.now();
    const message = this.gate.admit(incoming);
    if (message instanceof ProtocolError) {
      this.options.log.warn(`refused a message from the controller (${this.gate.refused} so far): ${message.message}`);
      return;
    }
    if (message.type !== "control_request") return;
    const control = message.content;
    // Every request names its engine; one that does not (an older controller) is meant for all of them.
    const targets = [...this.slots.values()].filter((s) => control.engineId === undefined || s.engineId === control.engineId);
    for (const slot of targets) {
      if (control.op === "reregister") slot.link.send({ type: "reregister" });
      else if (control.op === "forgotten") {
        // The hub declared this engine dead (it was stopped, or cut off): it must not come back
        // under its old id, so it leaves.
        slot.exitReason = "the hub had already declared it dead";
        slot.kill("SIGKILL");
      } else if (control.op === "signal" && control.signal === "SIGINT") this.interrupt(slot);
      else if (control.op === "signal") slot.kill(control.signal as NodeJS.Signals);
    }
  }

  private send<T extends MsgType>(type: T, content: ContentOf<T>): void {
    this.channel?.sendFrames(this.codec.encode(outgoing(this.codec, type, content)));
  }
}
