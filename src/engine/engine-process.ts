/**
 * Runs an engine in this process: the engine itself, its signal handlers and, when a
 * supervisor started it, the link to that supervisor. Kept apart from the command line (no
 * commander, no option parsing) because every engine process loads it: what it imports is
 * paid once per engine at start.
 */
import { Logger } from "../connection/logger.js";
import type { LogLevel } from "../connection/logger.js";
import { Engine } from "./engine.js";
import type { SupervisorLink } from "./supervisor-link.js";

/** How long an engine asked to stop (SIGTERM) may take to flush its replies and close its socket. */
const STOP_LIMIT_MS = 3000;

/** Everything an engine process needs; a supervisor sends it over its link to the engine (supervisor-link.ts). */
export interface EngineProcessConfig {
  url: string;
  key: string;
  curveServerKey?: string | undefined;
  /** Working directory to change to before anything runs. */
  cwd?: string | undefined;
  /** Engine id to ask for (an MPI rank). */
  requestedId?: number | undefined;
  /** Extra namespace bindings (`mpiRank`, `mpiSize`). */
  seed: Record<string, unknown>;
  /** ms to wait for the controller to answer the registration. */
  registrationTimeout: number;
  logLevel: LogLevel;
}

/** What an engine tells its supervisor over their link. */
export type ToSupervisor = { type: "registered"; id: number; heartbeatInterval: number } | { type: "interrupt-ack"; interrupted: boolean };

/** What a supervisor tells its engine. */
export type FromSupervisor = { type: "config"; config: EngineProcessConfig } | { type: "reregister" };

/**
 * Starts an engine in this process. `supervisor`: the link to the supervisor that beats for it,
 * is told of its registration and interrupts, and whose disappearance ends the engine.
 */
export function runEngineProcess(config: EngineProcessConfig, supervisor?: SupervisorLink<FromSupervisor, ToSupervisor>): Engine {
  const log = new Logger("engine", config.logLevel);
  if (config.cwd) process.chdir(config.cwd);
  process.removeAllListeners("warning");
  const tell = (message: ToSupervisor): void => supervisor?.send(message);
  const engine = new Engine({
    url: config.url,
    key: config.key,
    curveServerKey: config.curveServerKey,
    cwd: process.cwd(),
    selfBeat: supervisor === undefined,
    ...(config.requestedId === undefined ? {} : { requestedId: config.requestedId }),
    seed: config.seed,
    onRegistered: (id, heartbeatInterval) => {
      log.rename(`engine ${id}`);
      log.info(`registered with the controller at ${config.url} (pid ${process.pid})`);
      tell({ type: "registered", id, heartbeatInterval });
    },
    registrationTimeout: config.registrationTimeout,
    onRegistrationTimeout: (message) => {
      log.error(message);
      process.exit(2);
    },
  });
  process.on("SIGTERM", () => {
    log.info("stopping (SIGTERM)");
    // Flushing and closing the socket is bounded, but a stop must never depend on it.
    setTimeout(() => process.exit(0), STOP_LIMIT_MS).unref();
    void engine.stop().then(() => process.exit(0));
  });
  // SIGINT interrupts the running task; the engine stays up. The acknowledgement, sent once
  // the task thread is free again, tells the supervisor not to stop the engine.
  process.on("SIGINT", () => {
    log.info("interrupting the running task (SIGINT)");
    void engine.interrupt().then((interrupted) => tell({ type: "interrupt-ack", interrupted }));
  });
  // User code runs in the task thread, which handles what escapes it; this thread only logs.
  const escaped = (error: unknown) => {
    log.error(`unexpected error: ${String((error as Error)?.stack ?? error)}`);
  };
  process.on("uncaughtException", escaped);
  process.on("unhandledRejection", escaped);
  if (supervisor !== undefined) {
    supervisor.onMessage((message) => {
      if (message?.type === "reregister") engine.reregister();
    });
    // The supervisor was killed outright: nothing beats for this engine any more, so the hub
    // will declare it dead; it leaves now instead of running on as an orphan.
    supervisor.onClose(() => {
      log.warn("its supervisor is gone: stopping");
      process.exit(1);
    });
  }
  engine.start();
  return engine;
}
