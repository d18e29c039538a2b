/**
 * System components for launcher tests: finding programs, free ports, and daemons that the
 * test starts in the foreground (so it owns and reaps them) and always stops.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { TestContext } from "node:test";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

/** The full path of a program on PATH (or an absolute path that exists), else undefined. */
export function which(program: string): string | undefined {
  if (program.includes("/")) return fs.existsSync(program) ? program : undefined;
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    const full = path.join(dir, program);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * Why a test cannot run here, or undefined when it can: the programs it needs are missing,
 * or it needs root and this is not root.
 */
export function missingRequirements(programs: string[], options: { root?: boolean; packages?: string } = {}): string | undefined {
  if (options.root && process.getuid?.() !== 0) return `needs root (running as uid ${process.getuid?.()})`;
  const missing = programs.filter((p) => which(p) === undefined);
  if (missing.length > 0)
    return `needs ${missing.join(", ")} on PATH (apt-get install ${options.packages ?? programs.join(" ")}; see scripts/ci-system-deps.sh)`;
  return undefined;
}

/**
 * Set (to 1) by CI, where every system component is installed: a missing one then fails the
 * tests that need it instead of skipping them.
 */
export const REQUIRE_SYSTEM_DEPS = process.env.PARALLAX_REQUIRE_SYSTEM_DEPS === "1";

/**
 * Skips a test that cannot run here (`why` says what is missing and how to install it), or,
 * with PARALLAX_REQUIRE_SYSTEM_DEPS=1, fails it. True when the test must stop.
 */
export function skipWithout(t: TestContext, why: string | undefined): boolean {
  if (why === undefined) return false;
  if (REQUIRE_SYSTEM_DEPS) throw new Error(`${why} (PARALLAX_REQUIRE_SYSTEM_DEPS=1: a missing system component fails the test)`);
  t.skip(why);
  return true;
}

/** Chromium for the browser tests: Debian's package, or the binary PARALLAX_CHROMIUM names. */
export const CHROMIUM = process.env.PARALLAX_CHROMIUM ?? "/usr/bin/chromium";

/** Why the browser tests cannot run here, or undefined when Chromium is installed. */
/** Launches headless Chromium for a browser test, quiet: no sync, updates or background traffic. */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export function missingChromium(): string | undefined {
  if (fs.existsSync(CHROMIUM)) return undefined;
  return `needs Chromium at ${CHROMIUM} (apt-get install chromium, or set PARALLAX_CHROMIUM to a Chromium binary)`;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value, or fails after `timeoutMs` with `what`. */
export async function waitUntil<T>(what: string, timeoutMs: number, check: () => T | Promise<T>): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A foreground daemon started by a test. */
export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  /** Stops the daemon's process group (TERM, then KILL) and waits for it. */
  stop(): Promise<void>;
}

/** Starts a daemon in its own process group with its output in `logFile`. */
export async function startDaemon(
  name: string,
  command: string,
  args: string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv },
): Promise<Daemon> {
  const out = fs.openSync(options.logFile, "a");
  const child = spawn(command, args, { detached: true, stdio: ["ignore", out, out], env: { ...process.env, ...options.env } });
  fs.closeSync(out);
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child.pid as number, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child.pid as number, "SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Signals a process group, ignoring one already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Stops daemons in reverse start order, whatever fails. */
export async function stopAll(daemons: Daemon[]): Promise<void> {
  for (const daemon of [...daemons].reverse()) await daemon.stop().catch(() => undefined);
}

/**
 * Checks that a launcher's `signal()` reaches engine 0: a task that announced it started (a
 * latch on its streamed output) is interrupted with SIGINT, and the engine goes on serving.
 */
export async function assertSignalInterrupts(
  rc: import("../../src/index.js").Client,
  cluster: import("../../src/index.js").Cluster,
): Promise<void> {
  const { TaskInterrupted } = await import("../../src/index.js");
  const assert: typeof import("node:assert/strict") = (await import("node:assert/strict")).default;
  const long = rc.view(0).apply(() => {
    console.log("started");
    return new Promise((r) => setTimeout(r, 30_000));
  });
  await waitUntil("the long task to start", 10_000, () => String(long.stdout).includes("started"));
  await cluster.signalEngines("SIGINT");
  await assert.rejects(long, TaskInterrupted);
  assert.equal(await rc.view(0).apply(() => "still here"), "still here");
}
