/**
 * The owner watch: a controller or engine started for a process that is not daemonized stops
 * when that process is gone, however it ended (exit, Ctrl-C, SIGTERM, an uncaught error, even
 * SIGKILL, which leaves no chance to clean up from the inside). The owner's pid travels in an
 * environment variable, so that a test harness can also hand its own pid to a daemonized
 * `parallax cluster start`.
 */
import { readFileSync } from "node:fs";
import { pidAlive } from "./profile.js";

/** Environment variable holding the pid of the process whose death stops a cluster's processes. */
export const OWNER_PID_VARIABLE = "PARALLAX_OWNER_PID";

/** How often the owner is looked for; its death is noticed within this time. */
const OWNER_POLL_MS = 250;

/** A process's state letter from /proc (R, S, T, Z…); undefined where /proc is absent or it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}

/** Whether a process exists and is not a zombie (dead, waiting for its parent to reap it). */
export function ownerAlive(pid: number): boolean {
  return pidAlive(pid) && processState(pid) !== "Z";
}

/**
 * Calls `onGone` once the owner named by `PARALLAX_OWNER_PID` has gone, and returns its pid
 * (undefined when there is none). The variable is removed from this process's environment so
 * that nothing it starts (user code on engines) inherits the owner.
 */
export function watchOwner(onGone: (ownerPid: number) => void): number | undefined {
  const raw = process.env[OWNER_PID_VARIABLE];
  delete process.env[OWNER_PID_VARIABLE];
  if (raw === undefined || raw === "") return undefined;
  const pid = Number(raw);
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`${OWNER_PID_VARIABLE} must be a process id, got ${JSON.stringify(raw)}`);
  const timer = setInterval(() => {
    if (ownerAlive(pid)) return;
    clearInterval(timer);
    onGone(pid);
  }, OWNER_POLL_MS);
  // The watch alone must not keep a process alive that has nothing else to do.
  timer.unref();
  return pid;
}
