/**
 * IPython's `%px` family for Node: run code on a DirectView's engines and show what came back
 * the way IPython does: streamed `[stdout:N]` lines, `Out[N:count]` values and one error line
 * per failed engine. `parallax repl` builds its `.px` commands on {@link PxSession}; code uses
 * the {@link makePx} template tag.
 */
import util from "node:util";
import { ParallaxError, RemoteError } from "../errors.js";
import type { AsyncResult } from "./async-result.js";
import type { ClientPort } from "./client-port.js";
import type { DirectView } from "./direct-view.js";
import { validateTargetSpec } from "./targets.js";
import type { TargetSpec } from "./targets.js";
import type { TaskEntry } from "./task-entry.js";
import { checkBooleans, checkOptions } from "../options.js";

/** Flags of `.px`, `.pxcell` and `.pxconfig` (IPython's `%%px` options). */
export interface PxFlags {
  /** Engines to run on, instead of the session's default. */
  targets?: TargetSpec;
  /** Wait for the engines and show their output (default), or return at once. */
  block?: boolean;
  /** Also run the code in the REPL's own context, after submitting it to the engines. */
  local?: boolean;
}

/** A flag or argument of a px command that cannot be used; the message names it. */
export class PxUsageError extends ParallaxError {
  override readonly code = "PX_USAGE_ERROR";
}

/** Where px output goes and how values look. */
export interface PxDisplay {
  /** Receives text that already ends with a newline. */
  write(text: string): void;
  /** Renders a result value after `Out[N:count]: `. */
  inspect(value: unknown): string;
}

/** Which command a flag string belongs to: `.pxconfig` takes no `--local` and no code. */
export type PxCommand = "px" | "pxconfig";

const FLAG_HELP = "--targets/-t <spec>, --block/-b, --noblock/-a, --local";

/**
 * Splits `[flags] code` into flags and code. Flags come first; `--` ends them (for code that
 * starts with a dash). Throws {@link PxUsageError} naming the first bad flag or value.
 */
export function parsePxFlags(input: string, command: PxCommand = "px"): { flags: PxFlags; code: string } {
  const flags: PxFlags = {};
  let rest = input.trimStart();
  for (;;) {
    const token = /^\S+/.exec(rest)?.[0];
    if (token === undefined || !isFlagToken(token)) break;
    rest = rest.slice(token.length).trimStart();
    if (token === "--") break;
    rest = applyFlag(flags, token, rest, command);
  }
  const code = rest.trim();
  if (command === "pxconfig" && code !== "")
    throw new PxUsageError(`.pxconfig takes only flags (${FLAG_HELP.replace(", --local", "")}), got ${JSON.stringify(code)}`);
  return { flags, code };
}

/** A token that looks like a flag; `-1`, `-.5` and a lone `-` start code instead. */
function isFlagToken(token: string): boolean {
  return token === "--" || /^--?[A-Za-z]/.test(token);
}

/** Records one flag; returns the input left after the flag's value, if it takes one. */
function applyFlag(flags: PxFlags, token: string, rest: string, command: PxCommand): string {
  const [name = token, inline] = token.startsWith("--") && token.includes("=") ? splitOnce(token, "=") : [token, undefined];
  switch (name) {
    case "--targets":
    case "-t": {
      const value = inline ?? /^\S+/.exec(rest)?.[0];
      if (value === undefined || value === "") throw new PxUsageError(`flag ${name} needs a value (all, 1, 0,2, [0,2], 0:2, ::2 …)`);
      flags.targets = parseTargets(value, name);
      return inline === undefined ? rest.slice(value.length).trimStart() : rest;
    }
    case "--block":
    case "-b":
      flags.block = true;
      break;
    case "--noblock":
    case "-a":
      flags.block = false;
      break;
    case "--local":
      if (command === "pxconfig") throw new PxUsageError("flag --local is only for .px and .pxcell, not .pxconfig");
      flags.local = true;
      break;
    default:
      throw new PxUsageError(`unknown flag ${name} (flags: ${FLAG_HELP}; put -- before code that starts with a dash)`);
  }
  if (inline !== undefined) throw new PxUsageError(`flag ${name} takes no value, got ${JSON.stringify(token)}`);
  return rest;
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return [text.slice(0, at), text.slice(at + separator.length)];
}

/**
 * Reads a `--targets` value: `all`, one id (`1`), a list (`0,2` or `[0,2]`) or a slice string
 * (`0:2`, `::2`, `:-1`) evaluated against the registered ids at each run.
 */
export function parseTargets(raw: string, flag = "--targets"): TargetSpec {
  const text = raw.trim();
  if (text === "all") return "all";
  if (/^-?\d+$/.test(text)) return Number(text);
  if (/^\[.*\]$|,/.test(text)) {
    const items = text
      .replace(/^\[|\]$/g, "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    if (items.length > 0 && items.every((s) => /^-?\d+$/.test(s))) return items.map(Number);
    throw new PxUsageError(`flag ${flag}: ${JSON.stringify(raw)} is not a list of engine ids like 0,2 or [0,2]`);
  }
  try {
    validateTargetSpec(text);
  } catch {
    throw new PxUsageError(`flag ${flag}: ${JSON.stringify(raw)} is not all, an engine id, a list like 0,2 or a slice like 0:2 or ::2`);
  }
  return text;
}

/** Shows a target spec the way it is typed. */
export function formatTargets(spec: TargetSpec): string {
  return Array.isArray(spec) ? `[${spec.join(",")}]` : String(spec);
}

/** Per-engine execution counts, shared by every px of a client, like a kernel's `In[n]`. */
const executionCounts = new WeakMap<ClientPort, Map<number, number>>();

function countExecutions(client: ClientPort, engineIds: ReadonlyArray<number | undefined>): number[] {
  let counts = executionCounts.get(client);
  if (!counts) executionCounts.set(client, (counts = new Map()));
  const table = counts;
  return engineIds.map((id) => {
    if (id === undefined) return 0;
    const next = (table.get(id) ?? 0) + 1;
    table.set(id, next);
    return next;
  });
}

/** One px execution: the code, where it went, and its result. */
export class PxRun {
  constructor(
    /** The code that was sent. */
    readonly code: string,
    /** The execute result, one message per engine in target order. */
    readonly result: AsyncResult,
    /** Execution count of this run on each engine, aligned with `engineIds`. */
    readonly counts: readonly number[],
  ) {}

  /** Engines the code was sent to, in target order. */
  get engineIds(): number[] {
    return this.result.engineIds.filter((id): id is number => id !== undefined);
  }

  /** IPython's `engine:count` label of each message, aligned with the entries. */
  get labels(): string[] {
    return this.result.taskEntries.map((e, i) => `${e.metadata.engineId ?? "?"}:${this.counts[i] ?? "?"}`);
  }
}

/** How often outputs that arrived while waiting are printed. */
const STREAM_INTERVAL_MS = 50;

/**
 * Prints the streamed output of running messages as `[stdout:N] line`, only whole lines
 * while a message runs (so a line is never split across two prefixes) and the rest once it ends.
 */
class OutputFollower {
  private readonly printed = new Map<TaskEntry, { stdout: number; stderr: number }>();
  private stopped = false;

  constructor(
    private readonly entries: readonly TaskEntry[],
    private readonly write: (text: string) => void,
  ) {}

  /** Prints what arrived since the last call. */
  pump(): void {
    if (this.stopped) return;
    let text = "";
    for (const entry of this.entries) {
      const offsets = this.printed.get(entry) ?? { stdout: 0, stderr: 0 };
      this.printed.set(entry, offsets);
      for (const name of ["stdout", "stderr"] as const) {
        const all = entry.metadata[name];
        const end = entry.settled ? all.length : all.lastIndexOf("\n") + 1;
        if (end <= offsets[name]) continue;
        text += prefixLines(all.slice(offsets[name], end), `[${name}:${entry.metadata.engineId ?? "?"}] `);
        offsets[name] = end;
      }
    }
    if (text) this.write(text);
  }

  /** Prints the last whole lines and goes quiet: after an interrupted wait the prompt is back. */
  stop(): void {
    this.pump();
    this.stopped = true;
  }
}

function prefixLines(text: string, prefix: string): string {
  return (
    text
      .replace(/\n$/, "")
      .split("\n")
      .map((line) => prefix + line)
      .join("\n") + "\n"
  );
}

/** The error line of a failed engine, without the `[engine N]` prefix the message carries. */
function describeError(error: Error): string {
  if (error instanceof RemoteError) return `${error.ename}: ${error.evalue}`;
  return `${error.name}: ${error.message}`;
}

/** Options of a {@link PxSession}. */
export interface PxSessionOptions {
  /**
   * Where output goes and how values look.
   * @default process.stdout, values via util.inspect
   */
  readonly display?: Partial<PxDisplay>;
  /**
   * Default targets.
   * @default the view's own
   */
  readonly targets?: TargetSpec;
  /**
   * Default blocking mode.
   * @default true
   */
  readonly block?: boolean;
}

/** Checks the options px sessions and tags share, naming `where`, the option and the value. */
function checkPxOptions(options: PxSessionOptions & PxOptions, known: readonly string[], where: string): void {
  checkOptions(options, known, where);
  checkBooleans(options, ["block", "quiet"], where);
  if (options.targets !== undefined) validateTargetSpec(options.targets);
  const display: unknown = options.display;
  if (display === undefined) return;
  if (display === null || typeof display !== "object")
    throw new TypeError(`${where}: display must be an object with write and inspect functions, got ${JSON.stringify(display)}`);
  for (const name of ["write", "inspect"] as const) {
    const value: unknown = (display as Record<string, unknown>)[name];
    if (value !== undefined && typeof value !== "function")
      throw new TypeError(`${where}: display.${name} must be a function, got ${JSON.stringify(value)}`);
  }
}

/**
 * The state behind the px commands: a view, default flags (`.pxconfig`), the last run
 * (`.pxresult`), and the display of runs.
 */
export class PxSession {
  /** Default targets of runs without `--targets`. */
  targets: TargetSpec;
  /** Whether runs without `--block`/`--noblock` wait for the engines. */
  block: boolean;
  /** The most recent run, for `.pxresult`. */
  last: PxRun | undefined;
  private readonly display: PxDisplay;

  constructor(
    readonly view: DirectView,
    options: PxSessionOptions = {},
  ) {
    checkPxOptions(options, ["display", "targets", "block"], "PxSession");
    this.targets = options.targets ?? view.targets;
    this.block = options.block ?? true;
    this.display = {
      write: options.display?.write ?? ((text) => void process.stdout.write(text)),
      inspect: options.display?.inspect ?? ((value) => util.inspect(value, { depth: 4 })),
    };
  }

  /** Applies `.pxconfig` flags to the defaults. */
  configure(flags: PxFlags): void {
    if (flags.targets !== undefined) this.targets = flags.targets;
    if (flags.block !== undefined) this.block = flags.block;
  }

  /** The defaults as `.pxconfig` prints them. */
  describe(): string {
    return `targets ${formatTargets(this.targets)}, ${this.block ? "block" : "noblock"}`;
  }

  /** Whether a run with these flags waits. */
  blocks(flags: PxFlags): boolean {
    return flags.block ?? this.block;
  }

  /** Sends `code` to the targets; throws at once when the targets select no registered engine. */
  submit(code: string, flags: PxFlags = {}): PxRun {
    const result = this.view.view(flags.targets ?? this.targets).execute(code);
    const run = new PxRun(code, result, countExecutions(this.view.client, result.engineIds));
    this.last = run;
    return run;
  }

  /**
   * Waits for a run, printing its output as it streams in (unless `stream` is false). Resolves
   * true once every engine answered, false when `signal` aborted the wait first (the run goes on).
   */
  async follow(run: PxRun, options: { signal?: AbortSignal; stream?: boolean } = {}): Promise<boolean> {
    const finished = Promise.race([run.result.wait(), aborted(options.signal)]);
    if (options.stream === false) return await finished;
    const follower = new OutputFollower(run.result.taskEntries, this.display.write);
    const timer = setInterval(() => follower.pump(), STREAM_INTERVAL_MS);
    for (const entry of run.result.taskEntries) entry.onSettled(() => follower.pump());
    try {
      return await finished;
    } finally {
      clearInterval(timer);
      follower.stop();
    }
  }

  /** Prints `Out[N:count]: value` or `[N:count] Error: message` per engine, in target order. */
  showResults(run: PxRun): void {
    const labels = run.labels;
    let text = "";
    run.result.taskEntries.forEach((entry, i) => {
      if (!entry.settled) return;
      if (entry.error) text += `[${labels[i]}] ${describeError(entry.error)}\n`;
      else if (entry.value !== undefined) text += `Out[${labels[i]}]: ${this.display.inspect(entry.value)}\n`;
    });
    if (text) this.display.write(text);
  }

  /** Prints a finished run again: all its output, then its results (`.pxresult`). */
  showAll(run: PxRun): void {
    run.result.displayOutputs(this.display.write);
    this.showResults(run);
  }

  /** Writes a line to the session's output. */
  print(line: string): void {
    this.display.write(`${line}\n`);
  }
}

function aborted(signal: AbortSignal | undefined): Promise<false> {
  if (!signal) return new Promise<false>(() => {});
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<false>((resolve) => signal.addEventListener("abort", () => resolve(false), { once: true }));
}

/** Options of {@link makePx}. */
export interface PxOptions {
  /**
   * Engines to run on.
   * @default the view's targets
   */
  readonly targets?: TargetSpec;
  /**
   * Print nothing; only return the values.
   * @default false
   */
  readonly quiet?: boolean;
  /**
   * Where output goes and how values look.
   * @default process.stdout, values via util.inspect
   */
  readonly display?: Partial<PxDisplay>;
}

/** A template tag that runs its code on a view's engines; see {@link makePx}. */
export interface PxTag {
  (strings: TemplateStringsArray, ...values: unknown[]): Promise<unknown>;
  /** The session behind the tag: its defaults and last run. */
  readonly session: PxSession;
}

/**
 * Makes a template tag bound to `view` that does what `.px` does:
 * `await px\`a = ${5}\`` executes on every engine, prints `[stdout:N]` lines and `Out[N:count]`
 * values, and resolves with the completion values (a list, or a scalar on a single-integer
 * view). The template is read raw, like `String.raw`, so escapes reach the engines as written.
 * Interpolated values are pushed to the engines as `__px0`, `__px1`, … and the code refers to
 * them, so any value a push can carry (functions, buffers, nested objects) can be interpolated.
 * When engines fail, their errors are printed and the call rejects with the RemoteError or
 * CompositeError that awaiting the result gives.
 */
export function makePx(view: DirectView, options: PxOptions = {}): PxTag {
  checkPxOptions(options, ["targets", "quiet", "display"], "makePx");
  const quiet = { write: () => {} };
  const session = new PxSession(view, {
    ...(options.targets === undefined ? {} : { targets: options.targets }),
    display: options.quiet ? { ...options.display, ...quiet } : (options.display ?? {}),
  });
  const tag = async (strings: TemplateStringsArray, ...values: unknown[]): Promise<unknown> => {
    const { code, pushed } = templateCode(strings, values);
    const push = values.length > 0 ? view.view(session.targets).push(pushed) : undefined;
    // The engines run messages in arrival order, so the push lands before the code runs.
    const run = session.submit(code);
    await session.follow(run);
    session.showResults(run);
    if (push) await push;
    return await run.result;
  };
  return Object.assign(tag, { session });
}

/** Joins a template's raw strings, naming each interpolated value `__pxN`. */
function templateCode(strings: TemplateStringsArray, values: readonly unknown[]): { code: string; pushed: Record<string, unknown> } {
  const pushed: Record<string, unknown> = {};
  let code = strings.raw[0] ?? "";
  values.forEach((value, i) => {
    pushed[`__px${i}`] = value;
    code += `__px${i}${strings.raw[i + 1] ?? ""}`;
  });
  return { code, pushed };
}
