/**
 * The Slurm launcher: a batch script rendered from a template is submitted with
 * `sbatch --parsable`; inside the allocation `srun` starts one engine per task (or, with
 * `array: true`, each task of a job array runs one engine). Engines register as the job
 * starts. Stopping is `scancel <job id>` followed by polling `squeue` until the job is gone.
 * The controller can run as a one-task job of its own ({@link SlurmControllerLauncher}),
 * rendered and submitted the same way.
 *
 * Compute nodes must see the engine connection file (a shared file system, as Slurm sites
 * have) and run the same Node and Parallax (`remoteNode`, `remoteEntry` when paths differ).
 */
import fs from "node:fs";
import path from "node:path";
import { ConfigurationError } from "../../errors.js";
import { entryCommand, fileReady } from "../processes.js";
import { runChecked, runCommand, shellJoin, shellQuote } from "./command.js";
import type { EngineLauncher, EngineSet, EngineSetInfo, LaunchContext } from "./launcher.js";
import { OptionChecker } from "./options.js";
import { fillDefaults } from "../../options.js";

/** Options of the Slurm launcher. */
export interface SlurmLauncherOptions {
  /**
   * `--job-name` of the engine job.
   * @default "parallax-engines"
   */
  readonly jobName?: string;
  /**
   * `--partition`.
   * @default the cluster's default partition
   */
  readonly partition?: string;
  /**
   * `--account`.
   * @default the user's default account
   */
  readonly account?: string;
  /**
   * `--qos`.
   * @default the account's default
   */
  readonly qos?: string;
  /**
   * `--time`, in a Slurm time format: `"30"`, `"1:00:00"`, `"2-12"`, `"1-00:00:00"`.
   * @default the partition's limit
   */
  readonly timeLimit?: string;
  /**
   * Extra sbatch options, one per `#SBATCH` line: `"--mem=2G"` (a leading `#SBATCH ` is allowed).
   * @default []
   */
  readonly sbatchArgs?: readonly string[];
  /**
   * Extra `srun` arguments (ignored with `array`).
   * @default []
   */
  readonly srunArgs?: readonly string[];
  /**
   * A job array of `n` one-engine tasks instead of one `srun` over `n` tasks.
   * @default false
   */
  readonly array?: boolean;
  /**
   * A whole batch script with `{placeholders}` (see {@link SLURM_PLACEHOLDERS}); `${VAR}` is
   * left for the shell.
   * @default {@link DEFAULT_SLURM_TEMPLATE}
   */
  readonly template?: string;
  /**
   * Node executable on the compute nodes.
   * @default this process's path
   */
  readonly remoteNode?: string;
  /**
   * Node arguments that run the engine entry point on the compute nodes.
   * @default this installation's
   */
  readonly remoteEntry?: readonly string[];
  /**
   * Extra arguments for every engine.
   * @default []
   */
  readonly engineArgs?: readonly string[];
  /**
   * The submit command: a name on PATH or a full path.
   * @default "sbatch"
   */
  readonly sbatchCommand?: string;
  /**
   * The cancel command.
   * @default "scancel"
   */
  readonly scancelCommand?: string;
  /**
   * The queue command.
   * @default "squeue"
   */
  readonly squeueCommand?: string;
  /**
   * Milliseconds `stop()` waits for the job to leave the queue.
   * @default 30000
   */
  readonly stopTimeout?: number;
  /**
   * `--job-name` of the controller job (`controller: "slurm"`).
   * @default "parallax-controller"
   */
  readonly controllerJobName?: string;
  /**
   * The controller job's batch script, with the same placeholders; there `{launch}` and
   * `{engineCommand}` run the controller.
   * @default {@link DEFAULT_SLURM_TEMPLATE}
   */
  readonly controllerTemplate?: string;
  /**
   * Node arguments that run the controller entry point on the compute node.
   * @default this installation's
   */
  readonly remoteControllerEntry?: readonly string[];
}

/** The Slurm launcher options that have a fixed default. */
type DefaultedSlurmOption =
  | "jobName"
  | "sbatchArgs"
  | "srunArgs"
  | "array"
  | "template"
  | "engineArgs"
  | "sbatchCommand"
  | "scancelCommand"
  | "squeueCommand"
  | "stopTimeout"
  | "controllerJobName"
  | "controllerTemplate";

/** Slurm launcher options with their defaults in place. */
export type FilledSlurmLauncherOptions = SlurmLauncherOptions & Required<Pick<SlurmLauncherOptions, DefaultedSlurmOption>>;

const OPTION_NAMES = [
  "jobName",
  "partition",
  "account",
  "qos",
  "timeLimit",
  "sbatchArgs",
  "srunArgs",
  "array",
  "template",
  "remoteNode",
  "remoteEntry",
  "engineArgs",
  "sbatchCommand",
  "scancelCommand",
  "squeueCommand",
  "stopTimeout",
  "controllerJobName",
  "controllerTemplate",
  "remoteControllerEntry",
] as const;

/** Names a template may use, each written `{name}`. */
export const SLURM_PLACEHOLDERS = [
  "jobName",
  "n",
  "lastIndex",
  "partition",
  "account",
  "qos",
  "timeLimit",
  "output",
  "sbatchLines",
  "engineCommand",
  "launch",
  "cwd",
  "engineFile",
  "clusterId",
  "setId",
] as const;

/** The default batch script: every option as `#SBATCH` lines, then the launch line. */
export const DEFAULT_SLURM_TEMPLATE = "#!/bin/sh\n{sbatchLines}\ncd {cwd}\n{launch}\n";

/** The defaults of {@link SlurmLauncherOptions} (the others are left to Slurm or the installation). */
export const kDefaultSlurmLauncherOptions: Readonly<Pick<FilledSlurmLauncherOptions, DefaultedSlurmOption>> = Object.freeze({
  jobName: "parallax-engines",
  sbatchArgs: [],
  srunArgs: [],
  array: false,
  template: DEFAULT_SLURM_TEMPLATE,
  engineArgs: [],
  sbatchCommand: "sbatch",
  scancelCommand: "scancel",
  squeueCommand: "squeue",
  stopTimeout: 30_000,
  controllerJobName: "parallax-controller",
  controllerTemplate: DEFAULT_SLURM_TEMPLATE,
});

/** `{name}` not preceded by `$` (so the shell's `${VAR}` passes through untouched). */
const PLACEHOLDER = /(?<!\$)\{([A-Za-z]\w*)\}/g;

/** Slurm's `--time` formats: minutes, m:s, h:m:s, d-h, d-h:m, d-h:m:s, or unlimited. */
const TIME_LIMIT = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/i;

/** Job states in which processes may still run or start. */
const ACTIVE_STATES = new Set([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
  "REQUEUE_HOLD",
  "REQUEUE_FED",
  "RESIZING",
  "SIGNALING",
  "STAGE_OUT",
  "STOPPED",
  "RESV_DEL_HOLD",
  "SPECIAL_EXIT",
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

/**
 * Validates Slurm launcher options; throws a TypeError or RangeError naming `owner` (the
 * launcher class in messages), the option and the value.
 */
export function validateSlurmOptions(options: SlurmLauncherOptions, owner = "SlurmLauncher"): void {
  const word = { test: /^[^\s'"\\]+$/, describe: "a word without spaces or quotes" };
  OptionChecker.of(owner, options, OPTION_NAMES)
    .string("jobName", word)
    .string("controllerJobName", word)
    .string("partition", word)
    .string("account", word)
    .string("qos", word)
    .string("timeLimit", { test: TIME_LIMIT, describe: 'a Slurm time limit such as "30", "1:00:00" or "1-00:00:00"' })
    .stringArray("sbatchArgs")
    .custom("sbatchArgs", (value) => {
      const bad = (value as string[]).find((v) => !/^(#SBATCH\s+)?-/.test(v) || /[\r\n]/.test(v));
      return bad === undefined
        ? undefined
        : { kind: "range", expected: 'sbatch options such as "--mem=2G" (one per #SBATCH line)', value: bad };
    })
    .stringArray("srunArgs")
    .boolean("array")
    .custom("template", checkTemplate)
    .custom("controllerTemplate", checkTemplate)
    .string("remoteNode")
    .stringArray("remoteEntry")
    .stringArray("remoteControllerEntry")
    .stringArray("engineArgs")
    .string("sbatchCommand")
    .string("scancelCommand")
    .string("squeueCommand")
    .integer("stopTimeout", 0);
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

/** Everything needed to watch and stop a submitted job, whatever options its launcher had (kept in the cluster file). */
export interface SlurmJobData extends Record<string, unknown> {
  jobId: string;
  scancelCommand: string;
  squeueCommand: string;
  stopTimeout: number;
  /** The submitted batch script. */
  script: string;
}

/** A submitted Slurm job: its state in `squeue`, signals and cancellation through `scancel`. */
export class SlurmJob {
  constructor(
    readonly data: SlurmJobData,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * Rebuilds a job from a cluster file entry; commands the entry lacks come from `options`.
   * `what` names the entry in the error thrown when it has no job id.
   */
  static fromData(
    data: Partial<SlurmJobData> | undefined,
    options: FilledSlurmLauncherOptions,
    env: NodeJS.ProcessEnv,
    what: string,
  ): SlurmJob {
    if (typeof data?.jobId !== "string") throw new ConfigurationError(`${what} has no job id in its cluster file entry`);
    return new SlurmJob(
      {
        jobId: data.jobId,
        scancelCommand: data.scancelCommand ?? options.scancelCommand,
        squeueCommand: data.squeueCommand ?? options.squeueCommand,
        stopTimeout: data.stopTimeout ?? options.stopTimeout,
        script: data.script ?? "",
      },
      env,
    );
  }

  /** The Slurm job id. */
  get jobId(): string {
    return this.data.jobId;
  }

  /**
   * The job's state from `squeue -j <id> -h -o %T` (`PENDING`, `RUNNING`, `COMPLETING`…; for
   * an array, the first active task's), or undefined once Slurm no longer lists the job.
   */
  async state(): Promise<string | undefined> {
    const result = await runCommand(this.data.squeueCommand, ["-j", this.jobId, "-h", "-o", "%T"], {
      env: this.commandEnv(),
      timeoutMs: 30_000,
    });
    // squeue fails with "Invalid job id specified" once the job has aged out of the controller.
    if (result.code !== 0) {
      if (/invalid job id/i.test(result.stderr)) return undefined;
      throw new Error(`squeue -j ${this.jobId} exited with ${result.code ?? "a signal"}: ${result.stderr.trim()}`);
    }
    const states = result.stdout
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
    return states.find((s) => ACTIVE_STATES.has(s)) ?? states[0];
  }

  /** True while the job is queued or its processes may still run. */
  async active(): Promise<boolean> {
    const state = await this.state();
    return state !== undefined && ACTIVE_STATES.has(state);
  }

  /** `scancel --signal=<sig>`: signals the job's steps. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    await runChecked(this.data.scancelCommand, [`--signal=${signal.replace(/^SIG/, "")}`, this.jobId], {
      env: this.commandEnv(),
      timeoutMs: 30_000,
    });
  }

  /** `scancel`, then polls `squeue` until the job has left the active states (its processes are gone). */
  async stop(): Promise<void> {
    if (!(await this.active())) return;
    await runChecked(this.data.scancelCommand, [this.jobId], { env: this.commandEnv(), timeoutMs: 30_000 });
    const deadline = Date.now() + this.data.stopTimeout;
    for (;;) {
      const state = await this.state();
      if (state === undefined || !ACTIVE_STATES.has(state)) return;
      if (Date.now() > deadline) throw new Error(`Slurm job ${this.jobId} is still ${state} ${this.data.stopTimeout} ms after scancel`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Polls until the job has written `file` (and its text passes `ready`). Rejects, naming the
   * job and its state, when the job ends first or after `timeoutMs`; `what` starts the message.
   */
  async waitForFile(file: string, timeoutMs: number, what: string, ready: (text: string) => boolean = () => true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (fileReady(file, ready)) return;
      // squeue asks slurmctld, so the job is polled less often than the file.
      const state = await this.state();
      if (state === undefined || !ACTIVE_STATES.has(state)) {
        if (fileReady(file, ready)) return;
        throw new Error(
          `${what} (Slurm job ${this.jobId}) ended before writing ${file}: the job is ${state ?? "no longer listed by squeue"}`,
        );
      }
      if (Date.now() > deadline)
        throw new Error(`${what} (Slurm job ${this.jobId}) did not write ${file} within ${timeoutMs} ms: the job is ${state}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private commandEnv(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.env };
  }
}

/** A submitted job of engines. */
export class SlurmEngineSet implements EngineSet {
  private readonly job: SlurmJob;

  constructor(
    readonly id: string,
    readonly info: EngineSetInfo & { data: SlurmJobData },
    env: NodeJS.ProcessEnv,
  ) {
    this.job = new SlurmJob(info.data, env);
  }

  /** The Slurm job id. */
  get jobId(): string {
    return this.job.jobId;
  }

  /** The job's state (see {@link SlurmJob.state}), or undefined once Slurm no longer lists it. */
  async state(): Promise<string | undefined> {
    return await this.job.state();
  }

  /** True while the job is queued or its processes may still run. */
  async active(): Promise<boolean> {
    return await this.job.active();
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    // Signals the job's steps (the engines), not the batch shell.
    await this.job.signal(signal);
  }

  async stop(): Promise<void> {
    await this.job.stop();
  }
}

/** What differs between the engine and the controller jobs in their scripts. */
interface JobShape {
  template: string;
  jobName: string;
  /** Tasks: how many, and the `#SBATCH` lines that ask for them. */
  n: number;
  taskLines: string[];
  output: string;
  /** The command the job runs (shell-quoted), and the line that launches it. */
  command: string;
  launch: string;
}

/** Renders a batch script: the shared `#SBATCH` lines from `options`, then the job's own parts. */
function renderJobScript(options: FilledSlurmLauncherOptions, job: JobShape, context: LaunchContext): string {
  const o = options;
  const lines = [
    `--job-name=${job.jobName}`,
    ...job.taskLines,
    `--output=${job.output}`,
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...(o.account ? [`--account=${o.account}`] : []),
    ...(o.qos ? [`--qos=${o.qos}`] : []),
    ...(o.timeLimit ? [`--time=${o.timeLimit}`] : []),
    ...o.sbatchArgs.map((a) => a.replace(/^#SBATCH\s+/, "")),
  ];
  return renderTemplate(job.template, {
    jobName: job.jobName,
    n: String(job.n),
    lastIndex: String(job.n - 1),
    partition: o.partition ?? "",
    account: o.account ?? "",
    qos: o.qos ?? "",
    timeLimit: o.timeLimit ?? "",
    output: job.output,
    sbatchLines: lines.map((l) => `#SBATCH ${l}`).join("\n"),
    engineCommand: job.command,
    launch: job.launch,
    cwd: shellQuote(context.cwd),
    engineFile: shellQuote(context.engineFile),
    clusterId: context.clusterId,
    setId: context.setId,
  });
}

/** Writes `script` to `scriptFile` and submits it with `sbatch --parsable`. */
async function submitJob(
  options: FilledSlurmLauncherOptions,
  script: string,
  scriptFile: string,
  context: LaunchContext,
): Promise<SlurmJob> {
  fs.writeFileSync(scriptFile, script, { mode: 0o700 });
  // sbatch passes its own environment on to the job (--export=ALL), cluster `env` included.
  const output = await runChecked(options.sbatchCommand, ["--parsable", scriptFile], {
    env: { ...process.env, ...context.env },
    cwd: context.cwd,
    timeoutMs: 60_000,
  });
  return SlurmJob.fromData({ jobId: parseJobId(output), script: scriptFile }, options, context.env, "a submitted Slurm job");
}

/** Submits engine sets as Slurm batch jobs. */
export class SlurmLauncher implements EngineLauncher {
  readonly kind = "slurm";
  private readonly options: FilledSlurmLauncherOptions;

  constructor(options: SlurmLauncherOptions = {}) {
    validateSlurmOptions(options);
    this.options = fillDefaults(kDefaultSlurmLauncherOptions, options);
  }

  /** The command that runs one engine on a compute node. */
  engineCommand(context: Pick<LaunchContext, "engineFile">): string {
    return shellJoin([
      this.options.remoteNode ?? process.execPath,
      ...(this.options.remoteEntry ?? entryCommand("engine/main")),
      "--file",
      context.engineFile,
      ...this.options.engineArgs,
    ]);
  }

  /** The batch script that starts `n` engines. */
  renderScript(n: number, context: LaunchContext): string {
    const o = this.options;
    const command = this.engineCommand(context);
    return renderJobScript(
      o,
      {
        template: o.template,
        jobName: o.jobName,
        n,
        taskLines: o.array ? [`--array=0-${n - 1}`, "--ntasks=1"] : [`--ntasks=${n}`],
        output: path.join(context.logDir, `engines-${context.clusterId}-${context.setId}-slurm-${o.array ? "%A_%a" : "%j"}.log`),
        // In a job array each task runs one engine itself; otherwise srun starts one per task.
        command,
        launch: o.array ? `exec ${command}` : ["srun", ...o.srunArgs.map(shellQuote), command].join(" "),
      },
      context,
    );
  }

  async start(n: number, context: LaunchContext): Promise<EngineSet> {
    if (n < 1) throw new RangeError(`SlurmLauncher submits jobs of at least 1 engine, got n = ${n}`);
    const scriptFile = path.join(context.logDir, `engines-${context.clusterId}-${context.setId}-slurm.sh`);
    const job = await submitJob(this.options, this.renderScript(n, context), scriptFile, context);
    return new SlurmEngineSet(context.setId, { launcher: this.kind, n, pids: [], data: job.data }, context.env);
  }

  attach(id: string, info: EngineSetInfo, context: LaunchContext): EngineSet {
    const job = SlurmJob.fromData(info.data as Partial<SlurmJobData> | undefined, this.options, context.env, `Slurm engine set ${id}`);
    return new SlurmEngineSet(id, { ...info, pids: [], data: job.data }, context.env);
  }
}

/** Where the controller job is started from: a launch context whose set id is `"controller"`. */
export type ControllerLaunchContext = Omit<LaunchContext, "setId">;

/**
 * Runs the controller as a one-task Slurm batch job, like IPython Parallel's
 * SlurmControllerLauncher. It takes the same options as {@link SlurmLauncher} (one
 * `launcherOptions` object serves both jobs); the engine-only ones are ignored.
 */
export class SlurmControllerLauncher {
  readonly kind = "slurm";
  private readonly options: FilledSlurmLauncherOptions;

  constructor(options: SlurmLauncherOptions = {}) {
    validateSlurmOptions(options, "SlurmControllerLauncher");
    this.options = fillDefaults(kDefaultSlurmLauncherOptions, options);
  }

  /** The batch script that runs the controller with `args` (everything after its entry point). */
  renderScript(args: readonly string[], context: ControllerLaunchContext): string {
    const o = this.options;
    const command = shellJoin([o.remoteNode ?? process.execPath, ...(o.remoteControllerEntry ?? entryCommand("controller/main")), ...args]);
    return renderJobScript(
      o,
      {
        template: o.controllerTemplate,
        jobName: o.controllerJobName,
        n: 1,
        taskLines: ["--ntasks=1"],
        output: this.logFile(context, "%j"),
        // exec: scancel's SIGTERM then reaches the controller itself, which removes its connection files.
        command,
        launch: `exec ${command}`,
      },
      { ...context, setId: "controller" },
    );
  }

  /** Submits the controller job. */
  async start(args: readonly string[], context: ControllerLaunchContext): Promise<SlurmJob> {
    const scriptFile = path.join(context.logDir, `controller-${context.clusterId}-slurm.sh`);
    return await submitJob(this.options, this.renderScript(args, context), scriptFile, { ...context, setId: "controller" });
  }

  /** Re-attaches to the controller job recorded in a cluster file. */
  attach(data: Partial<SlurmJobData> | undefined, env: NodeJS.ProcessEnv): SlurmJob {
    return SlurmJob.fromData(data, this.options, env, "the Slurm controller");
  }

  /** The job's output file (`jobId` fills `%j`). */
  logFile(context: Pick<ControllerLaunchContext, "logDir" | "clusterId">, jobId: string): string {
    return path.join(context.logDir, `controller-${context.clusterId}-slurm-${jobId}.log`);
  }
}
