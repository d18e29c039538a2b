/**
 * The SSH launcher: engines on other hosts, started through the system `ssh` (so
 * `~/.ssh/config`, agents, ProxyJump and known_hosts all apply). For each host it pipes a
 * `sh -` script that writes the engine connection file to a private temporary folder, starts
 * one engine supervisor with nohup in the background, which starts and watches that host's
 * engines (each with its own log in the folder), and prints its pid. Stopping stops that
 * supervisor's process group over ssh, copies the logs into the local log folder and removes
 * the folder.
 *
 * The engines must reach the controller at the address in the engine connection file: start
 * the cluster with `controllerIp: "0.0.0.0"` and a `location` the hosts can reach.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import PQueue from "p-queue";
import { ConfigurationError } from "../../errors.js";
import { entryCommand } from "../processes.js";
import { runChecked, shellJoin, shellQuote } from "./command.js";
import type { EngineLauncher, EngineSet, EngineSetInfo, LaunchContext } from "./launcher.js";
import { OptionChecker } from "./options.js";
import { fillDefaults } from "../../options.js";

/** Options of the SSH launcher. */
export interface SshLauncherOptions {
  /**
   * Engines per host: `{ "node1": 4, "user@node2": 2 }`.
   * @default none: required to start engines
   */
  readonly hosts?: Readonly<Record<string, number>>;
  /**
   * The ssh client.
   * @default "ssh"
   */
  readonly sshCommand?: string;
  /**
   * Arguments placed before the host (`-p`, `-i`, `-o`…).
   * @default []
   */
  readonly sshArgs?: readonly string[];
  /**
   * Node executable on the remote hosts.
   * @default this process's path, as on a shared install
   */
  readonly remoteNode?: string;
  /**
   * Node arguments that run the engine entry point remotely.
   * @default this installation's
   */
  readonly remoteEntry?: readonly string[];
  /**
   * Working directory of the remote engines.
   * @default the cluster's `cwd`
   */
  readonly remoteCwd?: string;
  /**
   * Where the remote temporary folder is made.
   * @default "/tmp"
   */
  readonly remoteTmpDir?: string;
  /**
   * Extra arguments for every engine.
   * @default []
   */
  readonly engineArgs?: readonly string[];
  /**
   * Milliseconds one ssh command may take.
   * @default 30000
   */
  readonly sshTimeout?: number;
  /**
   * ssh commands run at once when starting, signalling or stopping engines on many hosts
   * (more hosts wait their turn, so a large host list does not open hundreds of connections).
   * @default 16
   */
  readonly sshConcurrency?: number;
}

/** The SSH launcher options that have a fixed default. */
type DefaultedSshOption = "sshCommand" | "sshArgs" | "remoteTmpDir" | "engineArgs" | "sshTimeout" | "sshConcurrency";

/** SSH launcher options with their defaults in place. */
export type FilledSshLauncherOptions = SshLauncherOptions & Required<Pick<SshLauncherOptions, DefaultedSshOption>>;

/** The defaults of {@link SshLauncherOptions} (the others depend on the installation or the cluster). */
export const kDefaultSshLauncherOptions: Readonly<Pick<FilledSshLauncherOptions, DefaultedSshOption>> = Object.freeze({
  sshCommand: "ssh",
  sshArgs: [],
  remoteTmpDir: "/tmp",
  engineArgs: [],
  sshTimeout: 30_000,
  sshConcurrency: 16,
});

const OPTION_NAMES = [
  "hosts",
  "sshCommand",
  "sshArgs",
  "remoteNode",
  "remoteEntry",
  "remoteCwd",
  "remoteTmpDir",
  "engineArgs",
  "sshTimeout",
  "sshConcurrency",
] as const;

/** `[user@]host[:…]`, never starting with '-' (ssh would take it for an option). */
const HOST_PATTERN = /^[A-Za-z0-9_.[\]:%][A-Za-z0-9_.@[\]:%-]*$/;

function checkHosts(value: unknown): { kind: "type" | "range"; expected: string; value?: unknown } | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return { kind: "type", expected: "an object mapping host names to engine counts" };
  const entries = Object.entries(value);
  if (entries.length === 0) return { kind: "range", expected: "an object with at least one host" };
  for (const [host, count] of entries) {
    if (!HOST_PATTERN.test(host))
      return { kind: "range", expected: 'host names like "node1" or "user@node2" (letters, digits, . _ - @ : [ ])', value: host };
    if (typeof count !== "number") return { kind: "type", expected: `engine counts that are integers >= 1 (host ${host})`, value: count };
    if (!Number.isInteger(count) || count < 1)
      return { kind: "range", expected: `engine counts that are integers >= 1 (host ${host})`, value: count };
  }
  return undefined;
}

/** Validates SSH launcher options; throws a TypeError or RangeError naming the option and value. */
export function validateSshOptions(options: SshLauncherOptions): void {
  OptionChecker.of("SshLauncher", options, OPTION_NAMES)
    .custom("hosts", checkHosts)
    .string("sshCommand")
    .stringArray("sshArgs")
    .string("remoteNode")
    .stringArray("remoteEntry")
    .string("remoteCwd", { test: /^\//, describe: "an absolute path" })
    .string("remoteTmpDir", { test: /^\//, describe: "an absolute path" })
    .stringArray("engineArgs")
    .integer("sshTimeout", 1)
    .integer("sshConcurrency", 1);
}

/** How many engines go to each host: hosts are filled in order, each up to its count. */
export function placeEngines(n: number, hosts: Record<string, number>): Array<{ host: string; count: number }> {
  const total = Object.values(hosts).reduce((a, b) => a + b, 0);
  if (n > total) throw new RangeError(`SshLauncher cannot place ${n} engines: hosts ${JSON.stringify(hosts)} offer ${total}`);
  const placed: Array<{ host: string; count: number }> = [];
  let left = n;
  for (const [host, slots] of Object.entries(hosts)) {
    if (left === 0) break;
    const count = Math.min(slots, left);
    placed.push({ host, count });
    left -= count;
  }
  return placed;
}

/** What is known of the engines started on one host (kept in the cluster file). */
export interface SshHostEngines {
  host: string;
  /** Remote pids: the host's engine supervisor (whose process group holds its engines). */
  pids: number[];
  /** Remote temporary folder with the connection file and the logs. */
  dir: string;
}

/** Everything an attached set needs to stop engines, whatever options the launcher had. */
interface SshSetData extends Record<string, unknown> {
  hosts: SshHostEngines[];
  sshCommand: string;
  sshArgs: string[];
  sshTimeout: number;
  sshConcurrency: number;
}

/** The script that starts one supervisor of `count` engines on one host and prints its pid. */
export function startScript(options: {
  connectionFile: string;
  count: number;
  node: string;
  entry: readonly string[];
  engineArgs: readonly string[];
  cwd: string;
  tmpDir: string;
  env: Record<string, string>;
}): string {
  const lines = [
    "set -e",
    `cd ${shellQuote(options.cwd)}`,
    // The connection file holds the cluster key: private from the moment it exists.
    "umask 077",
    `dir=$(mktemp -d ${shellQuote(`${options.tmpDir.replace(/\/+$/, "")}/parallax-XXXXXXXX`)})`,
    `echo "__parallax_dir=$dir"`,
    `printf '%s\\n' ${shellQuote(options.connectionFile)} > "$dir/engine.json"`,
    ...Object.entries(options.env).map(([key, value]) => `export ${key}=${shellQuote(value)}`),
    // setsid puts the supervisor in its own process group, so stopping it reaches its engines too.
    `if command -v setsid >/dev/null 2>&1; then detach=setsid; else detach=; fi`,
  ];
  const command = shellJoin([options.node, ...options.entry]);
  const args = shellJoin(["--engines", String(options.count), ...options.engineArgs]);
  lines.push(
    `nohup $detach ${command} --file "$dir/engine.json" --engine-log "$dir/engine-{index}.log" ${args} > "$dir/supervisor.log" 2>&1 < /dev/null &`,
    `echo "__parallax_pid=$!"`,
  );
  return `${lines.join("\n")}\n`;
}

/**
 * The script that stops engines: TERM to each engine's process group (or the pid), a few
 * seconds' grace, KILL for what is left, then the logs between boundary lines, then cleanup.
 */
export function stopScript(engines: SshHostEngines, boundary: string): string {
  const pids = engines.pids.join(" ");
  const dir = shellQuote(engines.dir);
  return [
    `pids=${shellQuote(pids)}`,
    `for p in $pids; do kill -TERM -- -$p 2>/dev/null || kill -TERM $p 2>/dev/null || true; done`,
    "i=0",
    "while [ $i -lt 50 ]; do",
    "  alive=; for p in $pids; do kill -0 $p 2>/dev/null && alive=1; done",
    '  [ -z "$alive" ] && break',
    "  sleep 0.1 2>/dev/null || sleep 1; i=$((i+1))",
    "done",
    `for p in $pids; do kill -KILL -- -$p 2>/dev/null || kill -KILL $p 2>/dev/null || true; done`,
    `for f in ${dir}/*.log; do [ -f "$f" ] || continue; echo "${boundary} $(basename "$f")"; cat "$f"; echo; done`,
    `rm -rf ${dir}`,
    "",
  ].join("\n");
}

/**
 * Splits the output of {@link stopScript} into log files by name. The script ends each log
 * with one newline of its own (so the next boundary starts a line); it is taken off here.
 */
export function splitLogs(output: string, boundary: string): Map<string, string> {
  const logs = new Map<string, string[]>();
  let current: string[] | undefined;
  const lines = output.split("\n");
  if (output.endsWith("\n")) lines.pop();
  for (const line of lines) {
    if (line.startsWith(`${boundary} `)) {
      current = [];
      logs.set(line.slice(boundary.length + 1), current);
    } else {
      current?.push(line);
    }
  }
  return new Map([...logs].map(([name, content]) => [name, content.join("\n")]));
}

/** Parses the supervisor's pid and the folder printed by {@link startScript}. */
export function parseStartOutput(host: string, output: string): SshHostEngines {
  const pids = [...output.matchAll(/^__parallax_pid=(\d+)$/gm)].map((m) => Number(m[1]));
  const dir = /^__parallax_dir=(\/.+)$/m.exec(output)?.[1];
  if (dir === undefined || pids.length !== 1) {
    throw new Error(
      `ssh ${host}: expected a folder and the engine supervisor's pid from the start script, got: ${output.trim().slice(-2000) || "(nothing)"}`,
    );
  }
  return { host, pids, dir };
}

/** A file-name-safe form of a host name. */
function hostLabel(host: string): string {
  return host.replace(/[^\w.-]+/g, "_");
}

class SshEngineSet implements EngineSet {
  constructor(
    readonly id: string,
    readonly info: EngineSetInfo & { data: SshSetData },
    private readonly context: LaunchContext,
  ) {}

  private ssh(host: string, script: string): Promise<string> {
    return sshQueue(this.info.data).add(() => runSsh(this.info.data, host, script));
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    // The supervisors handle signals (SIGINT interrupts the running tasks) and pass them to their engines.
    const name = signal.replace(/^SIG/, "");
    await Promise.all(
      this.info.data.hosts
        .filter((h) => h.pids.length > 0)
        .map((h) => this.ssh(h.host, `kill -s ${name} ${h.pids.join(" ")} 2>/dev/null || true\n`)),
    );
  }

  async stop(): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      this.info.data.hosts.map(async (engines) => {
        try {
          await this.stopHost(engines);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }),
    );
    if (failures.length > 0) throw new Error(`SshLauncher could not stop every engine: ${failures.join("; ")}`);
    this.info.pids = [];
  }

  private async stopHost(engines: SshHostEngines): Promise<void> {
    if (engines.pids.length === 0) return;
    const boundary = `__parallax_log_${randomBytes(8).toString("hex")}`;
    const output = await this.ssh(engines.host, stopScript(engines, boundary));
    for (const [name, content] of splitLogs(output, boundary)) {
      const local = path.join(
        this.context.logDir,
        `engine-${this.context.clusterId}-${this.id}-${hostLabel(engines.host)}-${name.replace(/^engine-/, "")}`,
      );
      fs.writeFileSync(local, content, { mode: 0o600 });
    }
    engines.pids = [];
  }
}

/** Starts engines on other hosts over the system `ssh`. */
export class SshLauncher implements EngineLauncher {
  readonly kind = "ssh";
  private readonly options: FilledSshLauncherOptions;

  constructor(options: SshLauncherOptions = {}) {
    validateSshOptions(options);
    this.options = fillDefaults(kDefaultSshLauncherOptions, { ...options, ...(options.hosts ? { hosts: { ...options.hosts } } : {}) });
  }

  async start(n: number, context: LaunchContext): Promise<EngineSet> {
    if (!this.options.hosts) throw new ConfigurationError('SshLauncher needs hosts ({ "node1": 4, "user@node2": 2 }) to start engines');
    const placed = placeEngines(n, this.options.hosts);
    const data: SshSetData = {
      hosts: [],
      sshCommand: this.options.sshCommand,
      sshArgs: [...this.options.sshArgs],
      sshTimeout: this.options.sshTimeout,
      sshConcurrency: this.options.sshConcurrency,
    };
    const set = new SshEngineSet(context.setId, { launcher: this.kind, n, pids: [], data }, context);
    const connectionFile = fs.readFileSync(context.engineFile, "utf8").trim();
    const results = await Promise.allSettled(
      placed.map(async ({ host, count }) => {
        const script = startScript({
          connectionFile,
          count,
          node: this.options.remoteNode ?? process.execPath,
          entry: this.options.remoteEntry ?? entryCommand("engine/main"),
          engineArgs: this.options.engineArgs,
          cwd: this.options.remoteCwd ?? context.cwd,
          tmpDir: this.options.remoteTmpDir,
          env: definedEnv(context.env),
        });
        const output = await sshQueue(data).add(() => runSsh(data, host, script));
        data.hosts.push(parseStartOutput(host, output));
      }),
    );
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length > 0) {
      // Leave nothing running on the hosts that did start.
      await set.stop().catch(() => undefined);
      throw new Error(`SshLauncher could not start engines: ${failed.map((f) => (f.reason as Error).message).join("; ")}`);
    }
    return set;
  }

  attach(id: string, info: EngineSetInfo, context: LaunchContext): EngineSet {
    const data = info.data as Partial<SshSetData> | undefined;
    const full: SshSetData = {
      hosts: (data?.hosts ?? []).map((h) => ({ ...h, pids: [...h.pids] })),
      sshCommand: data?.sshCommand ?? this.options.sshCommand,
      sshArgs: [...(data?.sshArgs ?? this.options.sshArgs)],
      sshTimeout: data?.sshTimeout ?? this.options.sshTimeout,
      sshConcurrency: data?.sshConcurrency ?? this.options.sshConcurrency,
    };
    return new SshEngineSet(id, { ...info, pids: [...info.pids], data: full }, context);
  }
}

/** One queue per engine set's settings: its ssh commands run at most `sshConcurrency` at once. */
const queues = new WeakMap<SshSetData, PQueue>();

function sshQueue(data: SshSetData): PQueue {
  let queue = queues.get(data);
  if (!queue) queues.set(data, (queue = new PQueue({ concurrency: data.sshConcurrency })));
  return queue;
}

/** Pipes `script` into `sh -` on `host`. */
function runSsh(data: SshSetData, host: string, script: string): Promise<string> {
  return runChecked(data.sshCommand, [...data.sshArgs, host, "sh -"], { input: script, timeoutMs: data.sshTimeout });
}

/** Environment entries that are set, with names a shell accepts. */
function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && /^[A-Za-z_]\w*$/.test(e[0])));
}
