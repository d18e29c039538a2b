/**
 * Starts an engine from command-line arguments. By default it runs the supervisor, which forks
 * the engine entry point again with `--supervised-child` to run the engine itself.
 */
import { parseArgs } from "node:util";
import { watchOwner } from "../connection/owner.js";
import { readConnectionFile } from "../connection/profile.js";
import { Engine } from "./engine.js";
import { runSupervisor } from "./supervisor.js";

/** Options understood by `parallax engine` and the launchers. */
export const ENGINE_ARG_SPEC = {
  file: { type: "string" },
  "supervised-child": { type: "boolean", default: false },
  "no-supervisor": { type: "boolean", default: false },
  "requested-id": { type: "string" },
  mpi: { type: "boolean", default: false },
  cwd: { type: "string" },
  "registration-timeout": { type: "string", default: "30000" },
  "controller-timeout": { type: "string", default: "60000" },
  "max-memory": { type: "string" },
} as const;

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
export async function runEngine(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: ENGINE_ARG_SPEC, strict: true });
  const file = values.file ?? process.env.PARALLAX_ENGINE_FILE;
  if (!file) throw new Error("parallax engine needs --file <engine connection file> (or PARALLAX_ENGINE_FILE)");
  const info = readConnectionFile(file);
  if (!values["supervised-child"]) {
    // Started for a process that is now gone: stop as `parallax cluster stop` would (the
    // supervisor passes SIGTERM on to its engine). The engine itself never sees the variable.
    watchOwner(() => process.kill(process.pid, "SIGTERM"));
  }
  if (!values["supervised-child"] && !values["no-supervisor"]) {
    process.exitCode = await runSupervisor({
      url: info.url, key: info.key, curveServerKey: info.curveServerKey, engineArgs: [...argv, "--supervised-child"],
      controllerTimeout: positiveMs("controller-timeout", values["controller-timeout"]),
      maxMemoryMiB: values["max-memory"] === undefined ? undefined : positiveMs("max-memory", values["max-memory"]),
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
    onRegistered: (id, heartbeatInterval) => process.send?.({ type: "registered", id, heartbeatInterval }),
    registrationTimeout: positiveMs("registration-timeout", values["registration-timeout"]),
    onRegistrationTimeout: (message) => {
      process.stderr.write(`parallax engine: ${message}\n`);
      process.exit(2);
    },
  });
  process.on("SIGTERM", () => void engine.stop().then(() => process.exit(0)));
  // SIGINT interrupts the running task; the engine stays up. The acknowledgement, sent once
  // the task thread is free again, tells the supervisor not to stop the engine.
  process.on("SIGINT", () => {
    void engine.interrupt().then((interrupted) => process.send?.({ type: "interrupt-ack", interrupted }));
  });
  // User code runs in the task thread, which handles what escapes it; this thread only logs.
  const escaped = (error: unknown) => {
    process.stderr.write(`parallax engine: unexpected error: ${String((error as Error)?.stack ?? error)}\n`);
  };
  process.on("uncaughtException", escaped);
  process.on("unhandledRejection", escaped);
  process.on("message", (message: { type?: string }) => {
    if (message?.type === "reregister") engine.reregister();
  });
  engine.start();
}

