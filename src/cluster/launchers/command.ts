/**
 * Running the external programs that launchers drive (`mpiexec`, `ssh`, `sbatch`…): one-shot
 * commands whose output is parsed, long-lived ones whose output goes to a log file, and
 * quoting for the shell scripts some of them are handed.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";

/** What a finished command printed and how it ended. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when a signal ended it. */
  code: number | null;
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Written to the command's standard input, which is then closed. */
  input?: string;
  /** Killed (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Quotes a string for a POSIX shell: single quotes, with embedded ones closed and escaped. */
export function shellQuote(value: string): string {
  if (/^[\w@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command line as one shell-safe string. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/** Describes a command for error messages. */
function describe(command: string, args: readonly string[]): string {
  return shellJoin([command, ...args]);
}

/**
 * Runs a command to completion and collects its output. Rejects when it cannot be started
 * (naming the command, so a missing `sbatch` says so) or when it outlives `timeoutMs`; a
 * non-zero exit is reported in the result, not thrown, because callers word that error best.
 */
export function runCommand(command: string, args: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`${describe(command, args)} did not finish within ${options.timeoutMs} ms`));
          }, options.timeoutMs);
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(startError(command, error));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
    // A command that exits without reading its input must not crash us with EPIPE.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** Runs a command and returns its standard output; a non-zero exit rejects with its stderr. */
export async function runChecked(command: string, args: readonly string[], options: RunCommandOptions = {}): Promise<string> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    const detail = (result.stderr.trim() || result.stdout.trim()).slice(-2000);
    throw new Error(`${describe(command, args)} exited with ${result.code ?? "a signal"}${detail ? `: ${detail}` : ""}`);
  }
  return result.stdout;
}

function startError(command: string, error: NodeJS.ErrnoException): Error {
  if (error.code === "ENOENT") return new Error(`cannot run ${JSON.stringify(command)}: not found on PATH (${process.env.PATH ?? ""})`);
  return new Error(`cannot run ${JSON.stringify(command)}: ${error.message}`);
}

/**
 * Starts a long-lived command in its own process group with stdout and stderr appended to
 * `logFile`; resolves once it is running and rejects (naming the command) if it cannot start.
 */
export function spawnLogged(
  command: string,
  args: readonly string[],
  options: { logFile: string; cwd: string; env: NodeJS.ProcessEnv },
): Promise<ChildProcess> {
  const out = fs.openSync(options.logFile, "a", 0o600);
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ["ignore", out, out],
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
    });
    return new Promise((resolve, reject) => {
      child.once("spawn", () => resolve(child));
      child.once("error", (error: NodeJS.ErrnoException) => reject(startError(command, error)));
    });
  } finally {
    fs.closeSync(out);
  }
}

/** Pids of the processes whose parent is `pid` (Linux `/proc`; empty elsewhere). */
export function childPids(pid: number): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === pid) children.push(Number(entry));
    } catch {
      continue;
    }
  }
  return children;
}
