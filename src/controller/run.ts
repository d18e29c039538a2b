/**
 * Starts a controller from command-line style options: binds the hub, writes the client and
 * engine connection files (0600, atomically) and serves until told to stop.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import type { Command } from "commander";
import * as zmq from "zeromq";
import { specCommand } from "../connection/command.js";
import type { OptionSpecs, OptionValues } from "../connection/command.js";
import { LOG_LEVEL_OPTION, Logger, parseLogLevel } from "../connection/logger.js";
import {
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_PROFILE,
  clusterFiles,
  logDir,
  newClusterId,
  profileDir,
  readConnectionFile,
  readJsonSecure,
  securityDir,
  writeJsonAtomic,
} from "../connection/profile.js";
import { watchOwner } from "../connection/owner.js";
import type { ConnectionInfo } from "../connection/profile.js";
import { newKey } from "../protocol/message.js";
import { registerScheme } from "../scheduler/schemes.js";
import { parseHwm } from "../scheduler/task-scheduler.js";
import type { Hwm } from "../scheduler/task-scheduler.js";
import type { Scheme } from "../scheduler/schemes.js";
import { startHeart } from "../transport/heart.js";
import { Dashboard, newDashboardToken, tokenOf } from "./dashboard.js";
import { Hub } from "./hub.js";
import { SqliteTaskDatabase } from "./sqlite-db.js";
import { DEFAULT_DB_LIMITS, MemoryTaskDatabase } from "./task-db.js";

/**
 * How far the controller's JavaScript heap may grow past what its last full garbage collection
 * left, in percent (`--heap-growth`). See {@link setHeapGrowth}. 100 rather than 50: in three
 * rounds of 200,000-task soaks on a quiet machine the two gave the same RSS (154–159 against
 * 152–157 MB) and 50 cost about a tenth more controller CPU per task.
 */
export const DEFAULT_HEAP_GROWTH_PERCENT = 100;

/** How many liveness limits a restored controller waits at most for its engines to register again. */
const RESTORE_WINDOW_LIMITS = 3;

/** Options of `parallax controller` (and of the controller entry point the cluster starts). */
export const CONTROLLER_ARG_SPEC = {
  profile: { type: "string", default: DEFAULT_PROFILE, description: "profile name", value: "<name>" },
  "profile-dir": { type: "string", description: "profile folder (default ~/.parallax/profile_<name>)", value: "<dir>" },
  "cluster-id": { type: "string", description: "cluster id (default: a new one)", value: "<id>" },
  ip: { type: "string", default: "127.0.0.1", description: "interface to bind (0.0.0.0 or * for all)", value: "<address>" },
  location: { type: "string", description: "host name or address written into the connection files", value: "<host>" },
  scheme: {
    type: "string",
    default: "leastload",
    description: "load-balancing scheme: leastload, lru, weighted, plainrandom, twobin or a module path",
    value: "<name>",
  },
  hwm: {
    type: "string",
    default: "1",
    description: "outstanding load-balanced tasks per engine (0 = unlimited; auto = prefetch short tasks)",
    value: "<n|auto>",
  },
  "heartbeat-interval": {
    type: "string",
    default: String(DEFAULT_HEARTBEAT_INTERVAL),
    description: "ms between heartbeats",
    value: "<ms>",
  },
  "missed-beats": { type: "string", default: "3", description: "heartbeats an engine may miss before it is declared dead", value: "<n>" },
  "max-message-bytes": { type: "string", default: String(1024 * 1024 * 1024), description: "largest accepted request", value: "<bytes>" },
  db: { type: "string", default: "memory", description: "task database: memory, sqlite or none", value: "<backend>" },
  "db-path": { type: "string", description: "SQLite file (default: tasks-<cluster id>.sqlite in the profile)", value: "<file>" },
  restore: {
    type: "boolean",
    default: false,
    description: "replace a dead controller of this cluster on its ports and key, adopting its engines",
  },
  dashboard: { type: "string", description: "serve the live dashboard (a free port unless given)", value: "[port]" },
  curve: { type: "boolean", default: false, description: "encrypt and authenticate every connection with CURVE" },
  "db-max-records": {
    type: "string",
    default: String(DEFAULT_DB_LIMITS.maxRecords),
    description: "records the memory database keeps",
    value: "<n>",
  },
  "db-max-bytes": {
    type: "string",
    default: String(DEFAULT_DB_LIMITS.maxBytes),
    description: "bytes of results the memory database keeps",
    value: "<n>",
  },
  "heap-growth": {
    type: "string",
    default: String(DEFAULT_HEAP_GROWTH_PERCENT),
    description: "how far the JavaScript heap may grow past its live size between full collections, in percent (0: V8's choice)",
    value: "<percent>",
  },
  "log-level": LOG_LEVEL_OPTION,
} as const satisfies OptionSpecs;

/** Parsed controller options. */
export type ControllerOptions = OptionValues<typeof CONTROLLER_ARG_SPEC>;

/** The controller as a command (`parallax controller`, and the entry point clusters start). */
export function controllerCommand(): Command {
  return specCommand(
    "controller",
    "run a controller in the foreground",
    CONTROLLER_ARG_SPEC,
    (values) => profileDir(values.profile, values["profile-dir"]),
    async (values) => await runController(values),
  );
}

function integerOption(name: string, raw: string, min: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new RangeError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

function hwmOption(raw: string): Hwm {
  const value = parseHwm(raw);
  if (value === undefined) throw new RangeError(`--hwm must be an integer >= 0 or "auto", got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * Sets how far V8 lets the old generation grow past what a full collection left. V8 picks up to
 * four times when objects are promoted fast compared with how fast it collects, which is the
 * controller's case: every task's record outlives a few young-generation collections, so a
 * long run of small tasks held 110–135 MB of heap for 22–30 MB live. A fixed growth costs more
 * full collections, of a heap that small. 0 leaves the choice to V8.
 */
function setHeapGrowth(percent: number): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** The address to bind for `--ip`, in ZeroMQ's spelling (`*` for every interface). */
function bindHost(ip: string): string {
  return ip === "0.0.0.0" ? "*" : ip;
}

/** Where clients and engines should connect, given the bind address. */
function connectHost(ip: string, location: string | undefined): string {
  if (location) return location;
  return ip === "0.0.0.0" || ip === "*" ? os.hostname() : ip;
}

/**
 * A scheme given as a module path (`--scheme ./my-scheme.js`) is imported and registered under
 * that path; its default export is `(loads, random) => index`.
 */
async function loadUserScheme(scheme: string): Promise<void> {
  if (!/[/\\]|\.[cm]?js$/.test(scheme)) return;
  const module = (await import(pathToFileURL(path.resolve(scheme)).href)) as { default?: unknown };
  if (typeof module.default !== "function")
    throw new TypeError(`--scheme ${scheme}: the module must export a default function (loads, random) => index`);
  registerScheme(scheme, module.default as Scheme);
}

/**
 * The controller's CURVE key pair: new, or (restoring) the predecessor's, so that running
 * engines can reconnect. The secret stays in a 0600 file of the security folder.
 */
function curveKeys(file: string, restore: boolean): { publicKey: string; secretKey: string } {
  if (!zmq.capability.curve) throw new Error("--curve: this zeromq build has no CURVE support");
  if (restore) {
    try {
      return readJsonSecure<{ publicKey: string; secretKey: string }>(file);
    } catch {
      // No previous key pair: the predecessor ran without --curve; start with a new one.
    }
  }
  const pair = zmq.curveKeyPair();
  writeJsonAtomic(file, pair);
  return pair;
}

/**
 * Serves the dashboard on the controller's interface; `port` "" or "0" picks a free one. A
 * restored controller keeps its predecessor's token, so an open page's address stays valid.
 */
async function startDashboard(
  hub: Hub,
  where: { ip: string; host: string; port: string },
  logs: { dir: string; clusterId: string },
  previousToken: string | undefined,
): Promise<Dashboard> {
  const dashboard = new Dashboard(hub, { token: previousToken ?? newDashboardToken(), logs });
  await dashboard.listen(
    where.ip === "*" ? "0.0.0.0" : where.ip,
    integerOption("dashboard", where.port === "" ? "0" : where.port, 0),
    where.host,
  );
  return dashboard;
}

/** Key and ports of the controller that ran this cluster before (for --restore). */
function previousController(files: { client: string; engine: string }): {
  key: string;
  ports: { client: number; engine: number };
  heartPort?: number;
  dashboardToken?: string;
} {
  const port = (url: string) => Number(url.split(":").at(-1));
  let client: ConnectionInfo;
  let engine: ConnectionInfo;
  try {
    client = readConnectionFile(files.client);
    engine = readConnectionFile(files.engine);
  } catch (error) {
    throw new Error(`--restore needs the connection files of the previous controller: ${(error as Error).message}`, { cause: error });
  }
  const dashboardToken = tokenOf(client.dashboardUrl);
  return {
    key: engine.key,
    ports: { client: port(client.url), engine: port(engine.url) },
    ...(client.heartbeatUrl ? { heartPort: port(client.heartbeatUrl) } : {}),
    ...(dashboardToken ? { dashboardToken } : {}),
  };
}

/** Runs a controller until SIGTERM/SIGINT or a client's shutdown request. */
export async function runController(values: ControllerOptions): Promise<Hub> {
  const log = new Logger("controller", parseLogLevel(values["log-level"]));
  const heartbeatInterval = integerOption("heartbeat-interval", values["heartbeat-interval"], 10);
  setHeapGrowth(integerOption("heap-growth", values["heap-growth"], 0));
  if (!["memory", "none", "sqlite"].includes(values.db))
    throw new RangeError(`--db must be memory, sqlite or none, got ${JSON.stringify(values.db)}`);
  const dir = profileDir(values.profile, values["profile-dir"]);
  securityDir(dir);
  const clusterId = values["cluster-id"] ?? newClusterId();
  const files = clusterFiles(dir, clusterId);
  const previous = values.restore ? previousController(files) : undefined;
  const key = previous?.key ?? newKey();
  const usedIds = new Set<number>();
  const db =
    values.db === "sqlite"
      ? await SqliteTaskDatabase.open(values["db-path"] ?? path.join(dir, `tasks-${clusterId}.sqlite`), {
          clusterId,
          restore: previous !== undefined,
        })
      : values.db === "none"
        ? new MemoryTaskDatabase({ maxRecords: 0, maxBytes: 0 })
        : new MemoryTaskDatabase({
            maxRecords: integerOption("db-max-records", values["db-max-records"], 0),
            maxBytes: integerOption("db-max-bytes", values["db-max-bytes"], 0),
          });
  if (previous && db instanceof SqliteTaskDatabase) {
    // Engine ids handed out before the restart must not be given to new engines.
    db.engineIds().forEach((id) => usedIds.add(id));
  } else if (db instanceof SqliteTaskDatabase) {
    db.abandonUnfinished();
  }
  await loadUserScheme(values.scheme);
  const curve = values.curve ? curveKeys(path.join(dir, "security", `controller-${clusterId}.json`), previous !== undefined) : undefined;
  const hub = new Hub({
    ip: values.ip,
    key,
    heartbeatInterval,
    db,
    ...(curve ? { curveSecretKey: curve.secretKey } : {}),
    adoptEngines: previous !== undefined,
    ...(previous ? { ports: previous.ports } : {}),
    missedBeats: integerOption("missed-beats", values["missed-beats"], 1),
    maxMessageBytes: integerOption("max-message-bytes", values["max-message-bytes"], 1024),
    scheduler: { scheme: values.scheme, hwm: hwmOption(values.hwm), impossibleGraceMs: heartbeatInterval * 5 },
  });
  hub.registry.markUsed(usedIds);
  if (db instanceof SqliteTaskDatabase) {
    if (previous) {
      // Live engines beat within the liveness limit, are asked to register again, and claim what
      // they hold; the restored tasks wait for the engines that were registered, a while longer.
      const unfinished = db.restoreUnfinished();
      hub.restore(unfinished, db.registeredEngines(), RESTORE_WINDOW_LIMITS * heartbeatInterval * (hub.options.missedBeats + 1));
      log.info(
        `restored the task database ${db.path}: ${unfinished.length} unfinished task(s) run again, engine ids ${[...usedIds].join(", ") || "none"} kept`,
      );
    }
    hub.on("registration", (engine) => db.engineRegistered(engine.id, true));
    hub.on("unregistration", (engine) => db.engineRegistered(engine.id, false));
  }
  const endpoints = await hub.start();
  const heart = await startHeart(`tcp://${bindHost(values.ip)}:${previous?.heartPort ?? "*"}`, curve?.secretKey);
  const host = connectHost(values.ip, values.location);
  const dashboard =
    values.dashboard === undefined
      ? undefined
      : await startDashboard(
          hub,
          { ip: values.ip, host, port: values.dashboard },
          { dir: logDir(dir), clusterId },
          previous?.dashboardToken,
        );
  const base: Omit<ConnectionInfo, "url"> = {
    key,
    signatureScheme: "hmac-sha256",
    clusterId,
    profile: values.profile,
    heartbeatInterval,
    controllerPid: process.pid,
    ...(curve ? { curveServerKey: curve.publicKey } : {}),
  };
  writeJsonAtomic(files.engine, { ...base, url: endpoints.engine.replace(/\/\/[^:]+:/, `//${host}:`) });
  // Only clients get the dashboard's address: it carries the token.
  writeJsonAtomic(files.client, {
    ...base,
    url: endpoints.client.replace(/\/\/[^:]+:/, `//${host}:`),
    heartbeatUrl: heart.endpoint.replace(/\/\/[^:]+:/, `//${host}:`),
    ...(dashboard ? { dashboardUrl: dashboard.url } : {}),
  });
  logEvents(hub, log);
  log.info(
    `cluster ${clusterId} listening for clients on ${endpoints.client} and engines on ${endpoints.engine}${previous ? " (restored: the running engines are adopted)" : ""}`,
  );
  // The controller's log is private (0600), like Jupyter's: the address with its token goes there.
  if (dashboard) log.info(`dashboard: ${dashboard.url}`);
  const stop = async () => {
    await dashboard?.close();
    await heart.stop();
    await hub.stop();
    for (const file of [files.client, files.engine, path.join(dir, "security", `controller-${clusterId}.json`)])
      fs.rmSync(file, { force: true });
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  hub.on("shutdown-requested", () => void stop());
  watchOwner((owner) => {
    // The process that started this cluster is gone and cannot stop it: the controller stops
    // its engines (wherever a launcher put them) and removes the cluster file itself.
    log.warn(`the process that started this cluster (pid ${owner}) is gone: stopping its engines and this controller`);
    void hub.stopEngines().then(() => {
      fs.rmSync(files.cluster, { force: true });
      return stop();
    });
  });
  return hub;
}

/**
 * Logs what happens to engines and tasks, one line each: registrations, deaths, failed tasks,
 * and dropped or refused messages without flooding the log (the first one, then a summary of the
 * counters at most once a minute).
 */
function logEvents(hub: Hub, log: Logger): void {
  hub.on("registration", (engine) => log.info(`engine ${engine.id} registered (pid ${engine.pid} on ${engine.hostname})`));
  hub.on("unregistration", (engine, reason) => {
    // An engine that exited with code 0 was stopped on purpose (shutdown, cluster stop).
    if (/exited \(code 0\)/.test(reason)) log.info(`engine ${engine.id} stopped: ${reason}`);
    else log.warn(`engine ${engine.id} is gone: ${reason}`);
  });
  hub.on("task-dispatched", (msgId, engineId) => log.debug(`task ${msgId} sent to engine ${engineId}`));
  hub.on("task-requeued", (msgId) => log.info(`task ${msgId} is queued again (retry or unmet dependency)`));
  hub.on("task-done", (msgId, record) => {
    const reply = record.reply?.content;
    if (reply?.status === "ok") log.debug(`task ${msgId} done on engine ${record.engineId ?? "-"}`);
    else
      log.info(
        `task ${msgId} ${reply?.status === "aborted" ? "aborted" : "failed"}${record.engineId === undefined ? "" : ` on engine ${record.engineId}`}: ${reply?.error?.ename ?? "?"}: ${reply?.error?.evalue ?? ""}`,
      );
  });
  let lastLogged = 0;
  hub.on("dropped", (counts) => {
    const now = Date.now();
    if (lastLogged !== 0 && now - lastLogged < 60_000) return;
    lastLogged = now;
    log.warn(`dropped unverified messages (counts by reason: ${counts}); a peer may hold the wrong key; the key is not logged`);
  });
  // A peer holding the key but sending what the hub cannot accept (another version, a bug).
  let refused = 0;
  let refusedLogged = 0;
  hub.on("refused", (error) => {
    refused++;
    const now = Date.now();
    if (refusedLogged !== 0 && now - refusedLogged < 60_000) return;
    refusedLogged = now;
    log.warn(`refused a message (${refused} so far): ${error.message}`);
  });
  hub.on("shutdown", () => log.info("stopped"));
}
