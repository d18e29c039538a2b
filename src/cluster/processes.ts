/**
 * Spawning and stopping Parallax's own processes. Entry points run as built JavaScript, or as
 * TypeScript through tsx when Parallax itself runs from source (tests, development).
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { pidAlive } from "../connection/profile.js";
import { typeScriptLoaderArgs } from "../engine/typescript-loader.js";

const FROM_SOURCE = import.meta.url.endsWith(".ts");

/**
 * Node arguments that run one of our entry points (`engine/main`, `controller/main`, `cli/main`).
 * A TypeScript loader this process runs under (tsx, or Node's type stripping) is passed on, so
 * that engines can import the `.ts` task modules the client names (`fromModule("./tasks.ts")`).
 */
export function entryCommand(entry: "engine/main" | "controller/main" | "cli/main"): string[] {
  const file = fileURLToPath(new URL(`../${entry}.${FROM_SOURCE ? "ts" : "js"}`, import.meta.url));
  // tsx is resolved here, so the child finds it whatever its working directory.
  return FROM_SOURCE ? ["--import", import.meta.resolve("tsx"), file] : [...typeScriptLoaderArgs(process.execArgv), file];
}

/** Spawns a detached Node process (its own process group) with output appended to `logFile`. */
export function spawnNode(args: string[], options: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv }): ChildProcess {
  const out = fs.openSync(options.logFile, "a", 0o600);
  try {
    // PARALLAX_NODE_ARGS passes extra Node flags to every cluster process (e.g. --cpu-prof).
    const extra = process.env.PARALLAX_NODE_ARGS ? process.env.PARALLAX_NODE_ARGS.split(" ").filter(Boolean) : [];
    return spawn(process.execPath, [...extra, ...args], {
      detached: true,
      stdio: ["ignore", out, out],
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, ...options.env },
    });
  } finally {
    fs.closeSync(out);
  }
}

/** Sends a signal to a process group (falling back to the process); ignores processes already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
      return;
    } catch {
      continue;
    }
  }
}

/** Resolves once `pid` has exited, or false after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number, child?: ChildProcess): Promise<boolean> {
  if (child && (child.exitCode !== null || child.signalCode !== null)) return true;
  const deadline = Date.now() + timeoutMs;
  if (child) {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !pidAlive(pid);
}

/** SIGTERM to the group, then SIGKILL if it is still there after `graceMs`. */
export async function terminate(pid: number, graceMs = 5000, child?: ChildProcess): Promise<void> {
  signalGroup(pid, "SIGTERM");
  if (await waitForExit(pid, graceMs, child)) {
    signalGroup(pid, "SIGKILL");
    return;
  }
  signalGroup(pid, "SIGKILL");
  await waitForExit(pid, 2000, child);
}

/** True when `file` exists and its text passes `ready`. */
export function fileReady(file: string, ready: (text: string) => boolean = () => true): boolean {
  try {
    return ready(fs.readFileSync(file, "utf8"));
  } catch {
    return false;
  }
}

/** Polls until `file` exists (and its text passes `ready`); fails early when `child` exits. */
export async function waitForFile(
  file: string,
  timeoutMs: number,
  child?: ChildProcess,
  describe = "process",
  ready: (text: string) => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fileReady(file, ready)) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${describe} exited (${child.exitCode ?? child.signalCode}) before writing ${file}`);
    }
    if (Date.now() > deadline) throw new Error(`${describe} did not write ${file} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
