/**
 * Profiles and connection files: `~/.parallax/profile_<name>/security/` (0700) holds
 * `cluster-<id>.json`, `client-<id>.json` and `engine-<id>.json` (0600, written atomically).
 * `PARALLAX_DIR` overrides the root.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigurationError } from "../errors.js";

/** What a client or engine needs to reach the controller. */
export interface ConnectionInfo {
  /** `tcp://host:port` to connect to. */
  url: string;
  /** HMAC-SHA256 key. */
  key: string;
  signatureScheme: "hmac-sha256";
  clusterId: string;
  profile: string;
  /** Milliseconds between heartbeats. */
  heartbeatInterval: number;
  /** `tcp://host:port` of the controller's heart, which echoes clients' pings (client files only). */
  heartbeatUrl?: string;
  controllerPid: number;
  /** Dashboard address, when served. */
  dashboardUrl?: string;
  /** The controller's CURVE public key, when connections are encrypted. */
  curveServerKey?: string;
}

/** Exit code of a controller that refused its configuration (EX_CONFIG); its log says why. */
export const CONFIGURATION_EXIT_CODE = 78;

/** Root folder of all profiles. */
export function parallaxDir(): string {
  return process.env.PARALLAX_DIR ?? path.join(os.homedir(), ".parallax");
}

/** The profile used when none is named, by every command and option that takes one. */
export const DEFAULT_PROFILE = "default";

/** Milliseconds between heartbeats, when the controller is not told otherwise (`--heartbeat-interval`). */
export const DEFAULT_HEARTBEAT_INTERVAL = 1000;

/** Folder of one profile (`profileDir` wins when given). */
export function profileDir(profile = DEFAULT_PROFILE, explicitDir?: string): string {
  if (!/^[\w.-]+$/.test(profile))
    throw new ConfigurationError(`profile name ${JSON.stringify(profile)} may only use letters, digits, '.', '_' and '-'`);
  return explicitDir ?? path.join(parallaxDir(), `profile_${profile}`);
}

/** Creates (0700) and returns a profile's security folder. */
export function securityDir(dir: string): string {
  const security = path.join(dir, "security");
  fs.mkdirSync(security, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  fs.chmodSync(security, 0o700);
  return security;
}

/** Creates (0700) and returns a profile's log folder. */
export function logDir(dir: string): string {
  const log = path.join(dir, "log");
  fs.mkdirSync(log, { recursive: true, mode: 0o700 });
  return log;
}

/** Paths of one cluster's files. */
export function clusterFiles(dir: string, clusterId: string): { cluster: string; client: string; engine: string } {
  const security = path.join(dir, "security");
  return {
    cluster: path.join(security, `cluster-${clusterId}.json`),
    client: path.join(security, `client-${clusterId}.json`),
    engine: path.join(security, `engine-${clusterId}.json`),
  };
}

/** A fresh cluster id: time-ordered, so the newest sorts last. */
export function newClusterId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/**
 * Writes JSON with mode 0600 from the moment the file exists: a temporary file opened 0600
 * in the same folder, then renamed over the target.
 */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = fs.openSync(tmp, "wx", 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Reads a JSON file written by {@link writeJsonAtomic}, refusing files others can read. */
export function readJsonSecure<T>(file: string): T {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new ConfigurationError(`connection file ${file} does not exist`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new ConfigurationError(
      `connection file ${file} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 on it`,
    );
  }
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch (error) {
    throw new ConfigurationError(`connection file ${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Reads and checks a client or engine connection file. */
export function readConnectionFile(file: string): ConnectionInfo {
  const info = readJsonSecure<Partial<ConnectionInfo>>(file);
  for (const field of ["url", "key", "clusterId"] as const) {
    if (typeof info[field] !== "string" || info[field] === "") {
      throw new ConfigurationError(`connection file ${file} lacks the field ${field}`);
    }
  }
  return {
    signatureScheme: "hmac-sha256",
    profile: DEFAULT_PROFILE,
    heartbeatInterval: DEFAULT_HEARTBEAT_INTERVAL,
    controllerPid: 0,
    ...info,
  } as ConnectionInfo;
}

/** Cluster ids of a profile that have a client connection file, newest first. */
export function listClusterIds(dir: string): string[] {
  const security = path.join(dir, "security");
  let names: string[];
  try {
    names = fs.readdirSync(security);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith("client-") && n.endsWith(".json"))
    .map((n) => ({ id: n.slice("client-".length, -".json".length), mtime: fs.statSync(path.join(security, n)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime)
    .map((e) => e.id);
}

/** True when a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
