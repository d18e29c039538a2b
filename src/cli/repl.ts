/**
 * `parallax repl`: a Node REPL (top-level await included) connected to a cluster, with `rc`,
 * `dview`, `lview` and `px` defined and IPython's parallel magics as dot-commands: `.px`,
 * `.pxcell`, `.pxresult`, `.pxconfig` and `.autopx`. See docs/repl.md.
 */
import { once } from "node:events";
import readline from "node:readline";
import repl from "node:repl";
import type { REPLEval, REPLServer } from "node:repl";
import { PassThrough } from "node:stream";
import util from "node:util";
import vm from "node:vm";
import { InvalidArgumentError } from "commander";
import type { Command } from "commander";
import { Client } from "../client/client.js";
import { PxSession, PxUsageError, makePx, parsePxFlags } from "../client/px.js";
import type { PxFlags, PxRun } from "../client/px.js";
import { Cluster } from "../cluster/cluster.js";
import { addClusterOptions } from "./cluster-options.js";
import type { ClusterSelection } from "./cluster-options.js";

/** Options of `parallax repl`. */
export interface ReplCommandOptions extends ClusterSelection {
  /** Start a local cluster with this many engines (stopped on exit) instead of connecting. */
  n?: number;
}

const PROMPT = "parallax> ";
const AUTOPX_PROMPT = "parallax[px]> ";
const CELL_PROMPT = "...px> ";

/** Adds the `repl` command to the `parallax` program. */
export function addReplCommand(program: Command): void {
  addClusterOptions(
    program.command("repl").description("Node REPL connected to a cluster, with .px, .pxcell, .pxresult, .pxconfig and .autopx"),
    "cluster id (default: the newest running cluster of the profile)",
  )
    .option("-n, --n <count>", "start a local cluster with this many engines, stopped on exit", engineCount)
    .action(runRepl);
}

function engineCount(raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`expected an integer >= 1, got ${raw}`);
  return value;
}

/** Connects (or starts a cluster), runs the REPL until `.exit` or end of input, then cleans up. */
export async function runRepl(options: ReplCommandOptions): Promise<void> {
  const target = await openClusterUninterrupted(options);
  if (!target) return;
  say(target.description);
  say("rc, dview (all engines), lview and px are defined; .help lists .px, .pxcell, .pxresult, .pxconfig and .autopx");
  const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const gate = new InputGate();
  // Without a terminal, lines are handed over one at a time so that piped input waits for
  // each `.px` (the REPL itself would read ahead and run the next lines concurrently).
  const input = terminal ? process.stdin : feedLines(process.stdin, gate);
  const server = repl.start({ prompt: PROMPT, input, output: process.stdout, terminal, useColors: terminal });
  gate.watch(server, terminal);
  const dview = target.rc.view();
  const session = new PxSession(dview, { display: { inspect: (value) => util.inspect(value, { colors: terminal, depth: 4 }) } });
  const magics = new PxMagics(server, session, gate);
  const bindings = { rc: target.rc, dview, lview: target.rc.loadBalancedView(), px: makePx(dview) };
  Object.assign(server.context, bindings);
  // `.clear` gives the REPL a fresh context; the cluster handles should survive it.
  server.on("reset", (context: object) => Object.assign(context, bindings));
  const onInterrupt = () => (magics.interrupt() ? undefined : server.close());
  const onTerminate = () => server.close();
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onTerminate);
  await once(server, "exit");
  process.off("SIGINT", onInterrupt);
  process.off("SIGTERM", onTerminate);
  gate.close();
  if (!terminal) process.stdin.destroy();
  await target.close();
}

/**
 * Opens the cluster with SIGINT and SIGTERM deferred: a cluster started by `-n` has detached
 * processes, which must be stopped rather than left behind when startup is cut short.
 * Resolves undefined when a signal arrived meanwhile (and the cluster is closed again).
 */
async function openClusterUninterrupted(options: ReplCommandOptions): Promise<OpenCluster | undefined> {
  let signalled = false;
  const defer = () => void (signalled = true);
  process.on("SIGINT", defer);
  process.on("SIGTERM", defer);
  try {
    const target = await openCluster(options);
    if (!signalled) return target;
    await target.close();
    return undefined;
  } finally {
    process.off("SIGINT", defer);
    process.off("SIGTERM", defer);
  }
}

/** A connected client, and how to let go of it. */
interface OpenCluster {
  rc: Client;
  /** One line on what the REPL is connected to. */
  description: string;
  close(): Promise<void>;
}

async function openCluster(options: ReplCommandOptions): Promise<OpenCluster> {
  const where = {
    profile: options.profile,
    ...(options.profileDir ? { profileDir: options.profileDir } : {}),
    ...(options.clusterId ? { clusterId: options.clusterId } : {}),
  };
  if (options.n === undefined) {
    const rc = await Client.connect(where);
    const description = `connected to cluster ${rc.connection.clusterId} (profile ${options.profile}): engines [${rc.ids.join(", ")}]`;
    return { rc, description, close: () => rc.close() };
  }
  const cluster = new Cluster({ ...where, n: options.n });
  await cluster.start();
  let rc: Client | undefined;
  try {
    rc = await cluster.connectClient();
    await rc.waitForEngines(options.n);
  } catch (error) {
    await rc?.close();
    await cluster.stop();
    throw error;
  }
  const client = rc;
  return {
    rc: client,
    description: `started cluster ${cluster.clusterId} (profile ${options.profile}): engines [${client.ids.join(", ")}]; it stops when the REPL exits`,
    async close() {
      await client.close();
      await cluster.stop();
      say(`cluster ${cluster.clusterId} stopped`);
    },
  };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Decides when the next input line may reach the REPL. Piped input goes in one line at a time,
 * each after the REPL shows its prompt again: the REPL would otherwise read ahead and run later
 * lines while a `.px` (or an `await`) still waits. In a terminal the REPL already buffers keys
 * during its own awaits, so only px work holds typed lines back.
 */
class InputGate {
  private idle = true;
  private closed = false;
  private readonly waiters: Array<() => void> = [];

  /** Releases the gate whenever the REPL shows its prompt; in a terminal, routes typed lines through it. */
  watch(server: REPLServer, terminal: boolean): void {
    const displayPrompt = server.displayPrompt.bind(server);
    server.displayPrompt = (preserveCursor?: boolean) => {
      displayPrompt(preserveCursor);
      this.release();
    };
    if (terminal) this.holdLines(server);
  }

  /** Marks the REPL busy until its next prompt. */
  hold(): void {
    this.idle = false;
  }

  /** Waits until the REPL is idle and marks it busy; false once the REPL has exited. */
  async acquire(): Promise<boolean> {
    await this.whenIdle();
    this.idle = false;
    return !this.closed;
  }

  /** Lets every waiter go (the REPL has exited). */
  close(): void {
    this.closed = true;
    this.release();
  }

  private async whenIdle(): Promise<void> {
    while (!this.idle && !this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private release(): void {
    this.idle = true;
    for (const wake of this.waiters.splice(0)) wake();
  }

  /**
   * Re-routes the REPL's `line` handlers so that lines typed during px work wait for it. Other
   * lines go through at once: the REPL pairs them with keys of the same chunk (`.editor`, ^D).
   */
  private holdLines(server: REPLServer): void {
    const handlers = server.listeners("line") as Array<(line: string) => void>;
    server.removeAllListeners("line");
    const dispatch = (line: string) => {
      for (const handler of handlers) handler.call(server, line);
    };
    const held: string[] = [];
    let draining = false;
    const drain = async () => {
      draining = true;
      while (held.length > 0) {
        await this.whenIdle();
        const line = held.shift();
        if (line !== undefined) dispatch(line);
      }
      draining = false;
    };
    server.on("line", (line: string) => {
      if (this.idle && held.length === 0) return dispatch(line);
      held.push(line);
      if (!draining) void drain();
    });
  }
}

/** Reads lines from `source` and writes them to the returned stream as the gate lets them in. */
function feedLines(source: NodeJS.ReadableStream, gate: InputGate): PassThrough {
  const sink = new PassThrough();
  const lines = readline.createInterface({ input: source, crlfDelay: Infinity });
  void (async () => {
    for await (const line of lines) {
      if (!(await gate.acquire())) return;
      sink.write(`${line}\n`);
    }
    // Ending the stream closes the REPL: let the last line finish first.
    if (await gate.acquire()) sink.end();
  })();
  return sink;
}

/**
 * The px dot-commands and the input routing behind `.autopx` and `.pxcell`, on top of a
 * {@link PxSession}.
 */
class PxMagics {
  private autopx = false;
  private cell: { flags: PxFlags; lines: string[] } | undefined;
  private waiting: AbortController | undefined;
  /** The REPL's own evaluator: top-level await, multi-line input, `_`. */
  private readonly evaluate: REPLEval;

  constructor(
    private readonly server: REPLServer,
    private readonly session: PxSession,
    private readonly gate: InputGate,
  ) {
    this.evaluate = server.eval;
    // REPLServer reads `this.eval` for every line; `eval` is typed readonly only to discourage
    // this, and a custom `eval` option would lose the built-in top-level await.
    (server as { eval: REPLEval }).eval = (code, context, file, done) => this.route(code, context, file, done);
    this.define();
  }

  /** Stops waiting for a blocking run and interrupts its engines; false when nothing waits. */
  interrupt(): boolean {
    if (!this.waiting) return false;
    this.waiting.abort();
    return true;
  }

  private define(): void {
    const command = (help: string, action: (rest: string) => Promise<void>) => ({
      help,
      action: (rest: string) => void this.work(() => action(rest)).then(() => this.server.displayPrompt()),
    });
    this.server.defineCommand(
      "px",
      command("[--targets T] [--block|--noblock] [--local] <code>: run code on the engines", (rest) => this.px(rest)),
    );
    this.server.defineCommand(
      "pxcell",
      command("[flags]: run the lines that follow, up to a blank line, on the engines", async (rest) => this.startCell(rest)),
    );
    this.server.defineCommand(
      "pxresult",
      command("show the last .px result again (waits for it)", (rest) => this.pxresult(rest)),
    );
    this.server.defineCommand(
      "pxconfig",
      command("[--targets T] [--block|--noblock]: set the defaults of .px", async (rest) => this.pxconfig(rest)),
    );
    this.server.defineCommand(
      "autopx",
      command("send every input to the engines, until .autopx again", async () => this.toggleAutopx()),
    );
  }

  /**
   * Runs px work: input waits until the prompt comes back, and a failure is printed as one line
   * instead of reaching the REPL.
   */
  private async work(action: () => Promise<void>): Promise<void> {
    this.gate.hold();
    try {
      await action();
    } catch (error) {
      const e = error as Error;
      this.session.print(e instanceof PxUsageError ? `px: ${e.message}` : `px: ${e.name}: ${e.message}`);
    }
  }

  private async px(rest: string): Promise<void> {
    const { flags, code } = parsePxFlags(rest);
    if (code === "") throw new PxUsageError("no code given (usage: .px [flags] <code>)");
    await this.execute(code, flags);
  }

  private startCell(rest: string): void {
    const { flags, code } = parsePxFlags(rest);
    this.cell = { flags, lines: code === "" ? [] : [code] };
    this.server.setPrompt(CELL_PROMPT);
  }

  private async pxresult(rest: string): Promise<void> {
    if (rest.trim() !== "") throw new PxUsageError(`.pxresult takes no arguments, got ${JSON.stringify(rest.trim())}`);
    const run = this.session.last;
    if (!run) throw new PxUsageError("no .px result yet");
    if (!(await this.waitFor(run, false))) return await this.signalEngines(run);
    this.session.showAll(run);
  }

  private pxconfig(rest: string): void {
    this.session.configure(parsePxFlags(rest, "pxconfig").flags);
    this.session.print(`px defaults: ${this.session.describe()}`);
  }

  private toggleAutopx(): void {
    this.autopx = !this.autopx;
    this.server.setPrompt(this.autopx ? AUTOPX_PROMPT : PROMPT);
    this.session.print(`autopx ${this.autopx ? "enabled" : "disabled"}`);
  }

  /** Submits, runs locally with `--local`, then waits and shows the results when blocking. */
  private async execute(code: string, flags: PxFlags): Promise<void> {
    const run = this.session.submit(code, flags);
    if (flags.local) await this.runLocally(code);
    if (!this.session.blocks(flags)) {
      this.session.print(`submitted to engines [${run.engineIds.join(", ")}]; .pxresult shows the result`);
      return;
    }
    if (!(await this.waitFor(run, true))) return await this.signalEngines(run);
    this.session.showResults(run);
  }

  /** Waits for a run; Ctrl-C (SIGINT, or the terminal's ^C) ends the wait early. */
  private async waitFor(run: PxRun, stream: boolean): Promise<boolean> {
    const abort = new AbortController();
    this.waiting = abort;
    // A terminal's ^C reaches the REPL as a readline event, whose own handlers would clear the
    // line or offer to exit: while engines run, it means "interrupt them" instead.
    const handlers = this.server.listeners("SIGINT") as Array<() => void>;
    this.server.removeAllListeners("SIGINT");
    const onInterrupt = () => abort.abort();
    this.server.on("SIGINT", onInterrupt);
    try {
      return await this.session.follow(run, { signal: abort.signal, stream });
    } finally {
      this.waiting = undefined;
      this.server.off("SIGINT", onInterrupt);
      for (const handler of handlers) this.server.on("SIGINT", handler);
    }
  }

  private async signalEngines(run: PxRun): Promise<void> {
    const signalled = await this.session.view.client.sendSignal("SIGINT", run.engineIds);
    this.session.print(`KeyboardInterrupt sent to engines [${signalled.join(", ")}]; .pxresult shows what they answered`);
  }

  /** `--local`: the same code in the REPL's own context, printed apart from the engines'. */
  private runLocally(code: string): Promise<void> {
    return new Promise((resolve) => {
      this.evaluate.call(this.server, `${code}\n`, this.server.context, "px-local", (error, value) => {
        if (error) this.session.print(`[local] ${error.name}: ${error.message}`);
        else if (value !== undefined) this.session.print(`Out[local]: ${this.server.writer(value)}`);
        resolve();
      });
    });
  }

  /**
   * Input that is not a dot-command: collected by `.pxcell`, sent to the engines under
   * `.autopx`, otherwise the REPL's own. Only whole input lines (they end with a newline) are
   * re-routed: completion and previews evaluate fragments locally.
   */
  private route(code: string, context: object, file: string, done: (error: Error | null, result?: unknown) => void): void {
    const fromLine = code.endsWith("\n");
    if (fromLine && this.cell) return this.collectCell(code, done);
    if (fromLine && this.autopx) return this.autoExecute(code, done);
    this.evaluate.call(this.server, code, context, file, done);
  }

  private collectCell(code: string, done: (error: Error | null) => void): void {
    const cell = this.cell;
    if (!cell) return done(null);
    if (code.trim() !== "") {
      cell.lines.push(code.replace(/\n$/, ""));
      return done(null);
    }
    this.cell = undefined;
    this.server.setPrompt(this.autopx ? AUTOPX_PROMPT : PROMPT);
    const source = cell.lines.join("\n");
    const work =
      source.trim() === ""
        ? Promise.resolve(this.session.print("px: empty cell, nothing sent"))
        : this.work(() => this.execute(source, cell.flags));
    void work.then(() => done(null));
  }

  private autoExecute(code: string, done: (error: Error | null) => void): void {
    if (code.trim() === "") return done(null);
    if (isIncomplete(code)) return done(new repl.Recoverable(new SyntaxError("incomplete input")));
    void this.work(() => this.execute(code.trim(), {})).then(() => done(null));
  }
}

/** Whether code stops mid-statement, so that `.autopx` should read another line first. */
function isIncomplete(code: string): boolean {
  try {
    new vm.Script(code);
    return false;
  } catch (error) {
    return error instanceof SyntaxError && /Unexpected end of input|Unterminated template/.test(error.message);
  }
}
