/**
 * The Slurm launcher: a batch script rendered from a template is submitted with
 * `sbatch --parsable`; inside the allocation `srun` starts one engine per task (or, with
 * `array: true`, each task of a job array runs one engine). Engines register as the job
 * starts. Stopping is `scancel <job id>` followed by polling `squeue` until the job is gone.
 *
 * Compute nodes must see the engine connection file (a shared file system, as Slurm sites
 * have) and run the same Node and Parallax (`remoteNode`, `remoteEntry` when paths differ).
 */
import fs from "node:fs";
import path from "node:path";
import { ConfigurationError } from "../../errors.js";
import { entryCommand } from "../processes.js";
import { runChecked, runCommand, shellJoin, shellQuote } from "./command.js";
import type { EngineLauncher, EngineSet, EngineSetInfo, LaunchContext } from "./launcher.js";
import { OptionChecker } from "./options.js";

/** Options of the Slurm launcher. */
export interface SlurmLauncherOptions {
  /** `--job-name` (default `"parallax-engines"`). */
  jobName?: string;
  /** `--partition`. */
  partition?: string;
  /** `--account`. */
  account?: string;
  /** `--qos`. */
  qos?: string;
  /** `--time`, in a Slurm time format: `"30"`, `"1:00:00"`, `"2-12"`, `"1-00:00:00"`. */
  timeLimit?: string;
  /** Extra sbatch options, one per `#SBATCH` line: `"--mem=2G"` (a leading `#SBATCH ` is allowed). */
  sbatchArgs?: string[];
  /** Extra `srun` arguments (ignored with `array`). */
  srunArgs?: string[];
  /** A job array of `n` one-engine tasks instead of one `srun` over `n` tasks. */
  array?: boolean;
  /**
   * A whole batch script with `{placeholders}` (see {@link SLURM_PLACEHOLDERS}); `${VAR}` is
   * left for the shell. Default: {@link DEFAULT_SLURM_TEMPLATE}.
   */
  template?: string;
  /** Node executable on the compute nodes (default: this process's path). */
  remoteNode?: string;
  /** Node arguments that run the engine entry point on the compute nodes (default: this installation's). */
  remoteEntry?: string[];
  /** Extra arguments for every engine. */
  engineArgs?: string[];
  /** The submit command (default `"sbatch"`): a name on PATH or a full path. */
  sbatchCommand?: string;
  /** The cancel command (default `"scancel"`). */
  scancelCommand?: string;
  /** The queue command (default `"squeue"`). */
  squeueCommand?: string;
  /** Milliseconds `stop()` waits for the job to leave the queue (default 30000). */
  stopTimeout?: number;
}

const OPTION_NAMES = [
  "jobName", "partition", "account", "qos", "timeLimit", "sbatchArgs", "srunArgs", "array", "template", "remoteNode", "remoteEntry",
  "engineArgs", "sbatchCommand", "scancelCommand", "squeueCommand", "stopTimeout",
] as const;

/** Names a template may use, each written `{name}`. */
export const SLURM_PLACEHOLDERS = [
  "jobName", "n", "lastIndex", "partition", "account", "qos", "timeLimit", "output", "sbatchLines", "engineCommand", "launch",
  "cwd", "engineFile", "clusterId", "setId",
] as const;

/** The default batch script: every option as `#SBATCH` lines, then the launch line. */
export const DEFAULT_SLURM_TEMPLATE = "#!/bin/sh\n{sbatchLines}\ncd {cwd}\n{launch}\n";

/** `{name}` not preceded by `$` (so the shell's `${VAR}` passes through untouched). */
const PLACEHOLDER = /(?<!\$)\{([A-Za-z]\w*)\}/g;

/** Slurm's `--time` formats: minutes, m:s, h:m:s, d-h, d-h:m, d-h:m:s, or unlimited. */
const TIME_LIMIT = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/i;

/** Job states in which processes may still run or start. */
const ACTIVE_STATES = new Set([
  "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING",
  "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "SPECIAL_EXIT",
]);

function checkTemplate(value: unknown): { kind: "type" | "range"; expected: string; value?: unknown } | undefined {
  if (typeof value !== "string") return { kind: "type", expected: "a string" };
  if (value.trim() === "") return { kind: "range", expected: "a non-empty batch script" };
  for (const match of value.matchAll(PLACEHOLDER)) {
    const name = match[1] as string;
    if (!(SLURM_PLACEHOLDERS as readonly string[]).includes(name)) {
      return { kind: "range", expected: `a script whose placeholders are among {${SLURM_PLACEHOLDERS.join("}, {")}}`, value: `{${name}}` };
    }
  }
  return undefined;
}

/** Validates Slurm launcher options; throws a TypeError or RangeError naming the option and value. */
export function validateSlurmOptions(options: SlurmLauncherOptions): void {
  const word = { test: /^[^\s'"\\]+$/, describe: "a word without spaces or quotes" };
  OptionChecker.of("SlurmLauncher", options, OPTION_NAMES)
    .string("jobName", word).string("partition", word).string("account", word).string("qos", word)
    .string("timeLimit", { test: TIME_LIMIT, describe: "a Slurm time limit such as \"30\", \"1:00:00\" or \"1-00:00:00\"" })
    .stringArray("sbatchArgs").custom("sbatchArgs", (value) => {
      const bad = (value as string[]).find((v) => !/^(#SBATCH\s+)?-/.test(v) || /[\r\n]/.test(v));
      return bad === undefined ? undefined : { kind: "range", expected: "sbatch options such as \"--mem=2G\" (one per #SBATCH line)", value: bad };
    })
    .stringArray("srunArgs").boolean("array").custom("template", checkTemplate)
    .string("remoteNode").stringArray("remoteEntry").stringArray("engineArgs")
    .string("sbatchCommand").string("scancelCommand").string("squeueCommand").integer("stopTimeout", 0);
}

/** Fills `{placeholders}`; every name must be known (templates are checked up front). */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new RangeError(`Slurm template placeholder ${whole} is unknown`);
    return value;
  });
}

/** Parses `sbatch --parsable` output: `<job id>` or `<job id>;<cluster>`. */
export function parseJobId(output: string): string {
  const line = output.trim().split("\n").at(-1)?.trim() ?? "";
  const match = /^(\d+)(?:;\S+)?$/.exec(line);
  if (!match) throw new Error(`sbatch --parsable printed no job id: ${JSON.stringify(output.trim().slice(-500))}`);
  return match[1] as string;
}

/** Everything an attached set needs to watch and stop its job, whatever options the launcher had. */
interface SlurmSetData extends Record<string, unknown> {
  jobId: string;
  scancelCommand: string;
  squeueCommand: string;
  stopTimeout: number;
  script: string;
}

/** A submitted job of engines. */
export class SlurmEngineSet implements EngineSet {
  constructor(readonly id: string, readonly info: EngineSetInfo & { data: SlurmSetData }, private readonly env: NodeJS.ProcessEnv) {}

  /** The Slurm job id. */
  get jobId(): string {
    return this.info.data.jobId;
  }

  /**
   * The job's state from `squeue -j <id> -h -o %T` (`PENDING`, `RUNNING`, `COMPLETING`…; for
   * an array, the first active task's), or undefined once Slurm no longer lists the job.
   */
  async state(): Promise<string | undefined> {
    const result = await runCommand(this.info.data.squeueCommand, ["-j", this.jobId, "-h", "-o", "%T"], { env: this.commandEnv(), timeoutMs: 30_000 });
    // squeue fails with "Invalid job id specified" once the job has aged out of the controller.
    if (result.code !== 0) {
      if (/invalid job id/i.test(result.stderr)) return undefined;
      throw new Error(`squeue -j ${this.jobId} exited with ${result.code ?? "a signal"}: ${result.stderr.trim()}`);
    }
    const states = result.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
    return states.find((s) => ACTIVE_STATES.has(s)) ?? states[0];
  }

  /** True while the job is queued or its processes may still run. */
  async active(): Promise<boolean> {
    const state = await this.state();
    return state !== undefined && ACTIVE_STATES.has(state);
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    // Signals the job's steps (the engines), not the batch shell.
    await runChecked(this.info.data.scancelCommand, [`--signal=${signal.replace(/^SIG/, "")}`, this.jobId], { env: this.commandEnv(), timeoutMs: 30_000 });
  }

  async stop(): Promise<void> {
    if (!(await this.active())) return;
    await runChecked(this.info.data.scancelCommand, [this.jobId], { env: this.commandEnv(), timeoutMs: 30_000 });
    const deadline = Date.now() + this.info.data.stopTimeout;
    for (;;) {
      const state = await this.state();
      if (state === undefined || !ACTIVE_STATES.has(state)) return;
      if (Date.now() > deadline) throw new Error(`Slurm job ${this.jobId} is still ${state} ${this.info.data.stopTimeout} ms after scancel`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private commandEnv(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.env };
  }
}

/** Submits engine sets as Slurm batch jobs. */
export class SlurmLauncher implements EngineLauncher {
  readonly kind = "slurm";
  private readonly options: SlurmLauncherOptions;

  constructor(options: SlurmLauncherOptions = {}) {
    validateSlurmOptions(options);
    this.options = { ...options };
  }

  /** The command that runs one engine on a compute node. */
  engineCommand(context: Pick<LaunchContext, "engineFile">): string {
    return shellJoin([
      this.options.remoteNode ?? process.execPath, ...(this.options.remoteEntry ?? entryCommand("engine/main")),
      "--file", context.engineFile, ...(this.options.engineArgs ?? []),
    ]);
  }

  /** The batch script that starts `n` engines. */
  renderScript(n: number, context: LaunchContext): string {
    const o = this.options;
    const output = path.join(context.logDir, `engines-${context.clusterId}-${context.setId}-slurm-${o.array ? "%A_%a" : "%j"}.log`);
    const lines = [
      `--job-name=${o.jobName ?? "parallax-engines"}`,
      ...(o.array ? [`--array=0-${n - 1}`, "--ntasks=1"] : [`--ntasks=${n}`]),
      `--output=${output}`,
      ...(o.partition ? [`--partition=${o.partition}`] : []),
      ...(o.account ? [`--account=${o.account}`] : []),
      ...(o.qos ? [`--qos=${o.qos}`] : []),
      ...(o.timeLimit ? [`--time=${o.timeLimit}`] : []),
      ...(o.sbatchArgs ?? []).map((a) => a.replace(/^#SBATCH\s+/, "")),
    ];
    const engineCommand = this.engineCommand(context);
    // In a job array each task runs one engine itself; otherwise srun starts one per task.
    const launch = o.array ? `exec ${engineCommand}` : ["srun", ...(o.srunArgs ?? []).map(shellQuote), engineCommand].join(" ");
    return renderTemplate(o.template ?? DEFAULT_SLURM_TEMPLATE, {
      jobName: o.jobName ?? "parallax-engines", n: String(n), lastIndex: String(n - 1), partition: o.partition ?? "", account: o.account ?? "",
      qos: o.qos ?? "", timeLimit: o.timeLimit ?? "", output, sbatchLines: lines.map((l) => `#SBATCH ${l}`).join("\n"),
      engineCommand, launch, cwd: shellQuote(context.cwd), engineFile: shellQuote(context.engineFile), clusterId: context.clusterId, setId: context.setId,
    });
  }

  async start(n: number, context: LaunchContext): Promise<EngineSet> {
    if (n < 1) throw new RangeError(`SlurmLauncher submits jobs of at least 1 engine, got n = ${n}`);
    const script = this.renderScript(n, context);
    const scriptFile = path.join(context.logDir, `engines-${context.clusterId}-${context.setId}-slurm.sh`);
    fs.writeFileSync(scriptFile, script, { mode: 0o700 });
    const env = { ...process.env, ...context.env };
    // sbatch passes its own environment on to the job (--export=ALL), cluster `env` included.
    const output = await runChecked(this.options.sbatchCommand ?? "sbatch", ["--parsable", scriptFile], { env, cwd: context.cwd, timeoutMs: 60_000 });
    const data: SlurmSetData = {
      jobId: parseJobId(output), scancelCommand: this.options.scancelCommand ?? "scancel", squeueCommand: this.options.squeueCommand ?? "squeue",
      stopTimeout: this.options.stopTimeout ?? 30_000, script: scriptFile,
    };
    return new SlurmEngineSet(context.setId, { launcher: this.kind, n, pids: [], data }, context.env);
  }

  attach(id: string, info: EngineSetInfo, context: LaunchContext): EngineSet {
    const data = info.data as Partial<SlurmSetData> | undefined;
    if (typeof data?.jobId !== "string") throw new ConfigurationError(`Slurm engine set ${id} has no job id in its cluster file entry`);
    return new SlurmEngineSet(id, {
      ...info, pids: [], data: {
        jobId: data.jobId, scancelCommand: data.scancelCommand ?? this.options.scancelCommand ?? "scancel",
        squeueCommand: data.squeueCommand ?? this.options.squeueCommand ?? "squeue", stopTimeout: data.stopTimeout ?? this.options.stopTimeout ?? 30_000,
        script: data.script ?? "",
      },
    }, context.env);
  }
}
