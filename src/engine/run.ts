/**
 * Starts an engine from command-line arguments. By default it runs the supervisor, which forks
 * the engine entry point again with `--supervised-child` to run the engine itself.
 */
import path from "node:path";
import type { Command } from "commander";
import { specCommand } from "../connection/command.js";
import type { OptionSpecs, OptionValues } from "../connection/command.js";
import { LOG_LEVEL_OPTION, Logger, parseLogLevel } from "../connection/logger.js";
import { watchOwner } from "../connection/owner.js";
import { readConnectionFile } from "../connection/profile.js";
import { Engine } from "./engine.js";
import { runSupervisor } from "./supervisor.js";

/** Options understood by `parallax engine` and the launchers. */
export const ENGINE_ARG_SPEC = {
  file: {
    type: "string",
    env: "PARALLAX_ENGINE_FILE",
    description: "engine connection file (security/engine-<cluster id>.json in the profile)",
    value: "<file>",
  },
  "supervised-child": { type: "boolean", default: false, hidden: true, description: "run the engine itself (what the supervisor starts)" },
  "no-supervisor": {
    type: "boolean",
    default: false,
    description: "run without the supervisor process (the engine answers heartbeats itself)",
  },
  "requested-id": { type: "string", hidden: true, description: "engine id to ask for", value: "<id>" },
  mpi: { type: "boolean", default: false, description: "take the engine id from the MPI rank; bind mpiRank and mpiSize" },
  cwd: { type: "string", hidden: true, description: "working directory", value: "<dir>" },
  "registration-timeout": {
    type: "string",
    default: "30000",
    description: "ms to wait for the controller to answer the registration",
    value: "<ms>",
  },
  "controller-timeout": {
    type: "string",
    default: "60000",
    description: "ms without an answer from the controller before the engine stops",
    value: "<ms>",
  },
  "max-memory": { type: "string", description: "heap limit of the engine in MiB", value: "<MiB>" },
  "log-level": LOG_LEVEL_OPTION,
} as const satisfies OptionSpecs;

/** Parsed engine options. */
export type EngineOptions = OptionValues<typeof ENGINE_ARG_SPEC>;

/** The engine as a command (`parallax engine`, and the entry point launchers start). */
export function engineCommand(): Command {
  // An engine connection file lives in <profile>/security/: the config file is two levels up.
  return specCommand(
    "engine",
    "run an engine (with its supervisor)",
    ENGINE_ARG_SPEC,
    (values) => (values.file ? path.dirname(path.dirname(path.resolve(values.file))) : undefined),
    runEngine,
  );
}

/** MPI launchers put the rank in one of these variables. */
const RANK_VARIABLES = ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"] as const;
const SIZE_VARIABLES = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"] as const;

function firstInteger(names: readonly string[]): number | undefined {
  for (const name of names) {
    const value = process.env[name];
    if (value !== undefined && /^\d+$/.test(value)) return Number(value);
  }
  return undefined;
}

function positiveMs(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive number of ms, got ${raw}`);
  return value;
}

/** Runs an engine (or its supervisor) as described by command-line arguments. */
export async function runEngine(values: EngineOptions, argv: string[]): Promise<void> {
  const file = values.file;
  if (!file) throw new Error("parallax engine needs --file <engine connection file> (or PARALLAX_ENGINE_FILE)");
  const log = new Logger(
    values["supervised-child"] || values["no-supervisor"] ? "engine" : "supervisor",
    parseLogLevel(values["log-level"]),
  );
  const info = readConnectionFile(file);
  if (!values["supervised-child"]) {
    // Started for a process that is now gone: stop as `parallax cluster stop` would (the
    // supervisor passes SIGTERM on to its engine). The engine itself never sees the variable.
    watchOwner((owner) => {
      log.warn(`the process that started this engine (pid ${owner}) is gone: stopping`);
      process.kill(process.pid, "SIGTERM");
    });
  }
  if (!values["supervised-child"] && !values["no-supervisor"]) {
    process.exitCode = await runSupervisor({
      url: info.url,
      key: info.key,
      curveServerKey: info.curveServerKey,
      engineArgs: [...argv, "--supervised-child"],
      controllerTimeout: positiveMs("controller-timeout", values["controller-timeout"]),
      maxMemoryMiB: values["max-memory"] === undefined ? undefined : positiveMs("max-memory", values["max-memory"]),
      log,
    });
    return;
  }
  const rank = values.mpi ? firstInteger(RANK_VARIABLES) : undefined;
  const size = values.mpi ? firstInteger(SIZE_VARIABLES) : undefined;
  const requested = values["requested-id"] !== undefined ? Number(values["requested-id"]) : rank;
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 0)) {
    throw new Error(`--requested-id must be a non-negative integer, got ${values["requested-id"]}`);
  }
  if (values.cwd) process.chdir(values.cwd);
  process.removeAllListeners("warning");
  const engine = new Engine({
    url: info.url,
    key: info.key,
    curveServerKey: info.curveServerKey,
    cwd: process.cwd(),
    selfBeat: Boolean(values["no-supervisor"]),
    ...(requested === undefined ? {} : { requestedId: requested }),
    seed: rank === undefined ? {} : { mpiRank: rank, mpiSize: size },
    onRegistered: (id, heartbeatInterval) => {
      log.rename(`engine ${id}`);
      log.info(`registered with the controller at ${info.url} (pid ${process.pid})`);
      process.send?.({ type: "registered", id, heartbeatInterval });
    },
    registrationTimeout: positiveMs("registration-timeout", values["registration-timeout"]),
    onRegistrationTimeout: (message) => {
      log.error(message);
      process.exit(2);
    },
  });
  process.on("SIGTERM", () => {
    log.info("stopping (SIGTERM)");
    void engine.stop().then(() => process.exit(0));
  });
  // SIGINT interrupts the running task; the engine stays up. The acknowledgement, sent once
  // the task thread is free again, tells the supervisor not to stop the engine.
  process.on("SIGINT", () => {
    log.info("interrupting the running task (SIGINT)");
    void engine.interrupt().then((interrupted) => process.send?.({ type: "interrupt-ack", interrupted }));
  });
  // User code runs in the task thread, which handles what escapes it; this thread only logs.
  const escaped = (error: unknown) => {
    log.error(`unexpected error: ${String((error as Error)?.stack ?? error)}`);
  };
  process.on("uncaughtException", escaped);
  process.on("unhandledRejection", escaped);
  process.on("message", (message: { type?: string }) => {
    if (message?.type === "reregister") engine.reregister();
  });
  engine.start();
}
