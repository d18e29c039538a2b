/**
 * Starts engines from command-line arguments. By default it runs the supervisor, which starts
 * `--engines` engine processes and watches them; `--no-supervisor` runs one engine in this
 * process instead.
 */
import path from "node:path";
import type { Command } from "commander";
import { specCommand } from "../connection/command.js";
import type { OptionSpecs, OptionValues } from "../connection/command.js";
import { LOG_LEVEL_OPTION, Logger, parseLogLevel } from "../connection/logger.js";
import { watchOwner } from "../connection/owner.js";
import { readConnectionFile } from "../connection/profile.js";
import { runEngineProcess } from "./engine-process.js";
import type { EngineProcessConfig } from "./engine-process.js";
import { runSupervisor } from "./supervisor.js";

/** Options understood by `parallax engine` and the launchers. */
export const ENGINE_ARG_SPEC = {
  file: {
    type: "string",
    env: "PARALLAX_ENGINE_FILE",
    description: "engine connection file (security/engine-<cluster id>.json in the profile)",
    value: "<file>",
  },
  "no-supervisor": {
    type: "boolean",
    default: false,
    description: "run one engine without the supervisor process (the engine answers heartbeats itself)",
  },
  engines: { type: "string", default: "1", description: "engines this supervisor starts and watches", value: "<n>" },
  restart: { type: "boolean", default: false, description: "replace an engine that dies after registering (it gets a new id)" },
  "engine-log": {
    type: "string",
    description: "file for each engine's output, {index} replaced by its place in the set (default: this process's output)",
    value: "<file>",
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
    "run engines under one supervisor (or one engine alone)",
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

/** Runs a supervisor and its engines, or one engine alone, as described by command-line arguments. */
export async function runEngine(values: EngineOptions): Promise<void> {
  const file = values.file;
  if (!file) throw new Error("parallax engine needs --file <engine connection file> (or PARALLAX_ENGINE_FILE)");
  const alone = values["no-supervisor"];
  const engines = Number(values.engines);
  if (!Number.isInteger(engines) || engines < 1) throw new Error(`--engines must be an integer >= 1, got ${values.engines}`);
  if (alone && (engines !== 1 || values.restart || values["engine-log"] !== undefined)) {
    throw new Error("--no-supervisor runs one engine in this process: it cannot take --engines, --restart or --engine-log");
  }
  if (engines > 1 && (values.mpi || values["requested-id"] !== undefined)) {
    throw new Error("--mpi and --requested-id name one engine id: they cannot take --engines above 1");
  }
  const logLevel = parseLogLevel(values["log-level"]);
  const log = new Logger(alone ? "engine" : "supervisor", logLevel);
  const config = engineConfig(values, file, logLevel);
  // Started for a process that is now gone: stop as `parallax cluster stop` would (the
  // supervisor passes SIGTERM on to its engines). The engines themselves never see the variable.
  watchOwner((owner) => {
    log.warn(`the process that started ${alone ? "this engine" : "these engines"} (pid ${owner}) is gone: stopping`);
    process.kill(process.pid, "SIGTERM");
  });
  if (alone) {
    runEngineProcess(config);
    return;
  }
  process.exitCode = await runSupervisor({
    engine: config,
    file: path.resolve(file),
    engines,
    restart: values.restart,
    engineLog: values["engine-log"],
    controllerTimeout: positiveMs("controller-timeout", values["controller-timeout"]),
    maxMemoryMiB: values["max-memory"] === undefined ? undefined : positiveMs("max-memory", values["max-memory"]),
    log,
  });
}

/** What each engine runs with, from the options and the connection file. */
function engineConfig(values: EngineOptions, file: string, logLevel: EngineProcessConfig["logLevel"]): EngineProcessConfig {
  const info = readConnectionFile(file);
  const rank = values.mpi ? firstInteger(RANK_VARIABLES) : undefined;
  const size = values.mpi ? firstInteger(SIZE_VARIABLES) : undefined;
  const requested = values["requested-id"] !== undefined ? Number(values["requested-id"]) : rank;
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 0)) {
    throw new Error(`--requested-id must be a non-negative integer, got ${values["requested-id"]}`);
  }
  return {
    url: info.url,
    key: info.key,
    curveServerKey: info.curveServerKey,
    cwd: values.cwd,
    requestedId: requested,
    seed: rank === undefined ? {} : { mpiRank: rank, mpiSize: size },
    registrationTimeout: positiveMs("registration-timeout", values["registration-timeout"]),
    logLevel,
  };
}
