/**
 * Launcher option validation and the pure parts of the launchers: placement, scripts,
 * templates and output parsing. No daemons needed.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Cluster, ConfigurationError, LocalLauncher, MpiLauncher, SlurmLauncher, SshLauncher } from "../../src/index.js";
import { shellJoin, shellQuote } from "../../src/cluster/launchers/command.js";
import { parseJobId, renderTemplate, SlurmControllerLauncher } from "../../src/cluster/launchers/slurm.js";
import { parseStartOutput, placeEngines, splitLogs, stopScript } from "../../src/cluster/launchers/ssh.js";
import type { LaunchContext } from "../../src/cluster/launchers/launcher.js";

type Ctor = new (options: never) => unknown;

/** Asserts that constructing with `options` throws `kind` with a message matching `message`. */
function rejects(Launcher: Ctor, options: unknown, kind: typeof TypeError | typeof RangeError, message: RegExp): void {
  assert.throws(
    () => new Launcher(options as never),
    (error: unknown) => {
      assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
      assert.match((error as Error).message, message);
      return true;
    },
  );
}

const context = (dir: string): LaunchContext => ({
  engineFile: path.join(dir, "security", "engine-c1.json"),
  profileDir: dir,
  logDir: path.join(dir, "log"),
  clusterId: "c1",
  setId: "3",
  cwd: "/work dir",
  env: {},
});

test("LocalLauncher validates every option, naming the option and the value", () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ restartDeadEngines: "yes" }, /LocalLauncher option restartDeadEngines must be a boolean, got "yes"/],
    [{ engineArgs: "--no-supervisor" }, /LocalLauncher option engineArgs must be an array of strings, got "--no-supervisor"/],
    [{ engineArgs: ["a\0b"] }, /LocalLauncher option engineArgs must be strings without NUL characters/],
    [{ hosts: { node1: 1 } }, /unknown LocalLauncher option "hosts"/],
  ];
  for (const [options, message] of cases) assert.throws(() => new LocalLauncher(options as never), message, JSON.stringify(options));
  assert.throws(() => new Cluster({ restartDeadEngines: "yes" as never }), /option restartDeadEngines must be a boolean/);
  assert.ok(new LocalLauncher({ restartDeadEngines: true, engineArgs: ["--no-supervisor"] }));
});

test("MpiLauncher validates every option, naming the option and the value", () => {
  rejects(MpiLauncher, null, TypeError, /MpiLauncher options must be an object, got null/);
  rejects(MpiLauncher, { mpiComand: "mpirun" }, TypeError, /unknown MpiLauncher option "mpiComand" \(valid: mpiCommand, /);
  rejects(MpiLauncher, { mpiCommand: 5 }, TypeError, /MpiLauncher option mpiCommand must be a string, got 5/);
  rejects(MpiLauncher, { mpiCommand: "" }, RangeError, /MpiLauncher option mpiCommand must be a non-empty single-line string, got ""/);
  rejects(
    MpiLauncher,
    { mpiArgs: "--oversubscribe" },
    TypeError,
    /MpiLauncher option mpiArgs must be an array of strings, got "--oversubscribe"/,
  );
  rejects(MpiLauncher, { mpiArgs: ["-x", 3] }, TypeError, /MpiLauncher option mpiArgs must be an array of strings, got \["-x",3\]/);
  rejects(MpiLauncher, { engineArgs: [true] }, TypeError, /MpiLauncher option engineArgs must be an array of strings/);
  rejects(MpiLauncher, { node: "node\n" }, RangeError, /MpiLauncher option node must be a non-empty single-line string/);
  rejects(MpiLauncher, { stopTimeout: -1 }, RangeError, /MpiLauncher option stopTimeout must be an integer >= 0, got -1/);
  rejects(MpiLauncher, { stopTimeout: "5s" }, TypeError, /MpiLauncher option stopTimeout must be an integer >= 0, got "5s"/);
  assert.ok(
    new MpiLauncher({ mpiCommand: "mpirun", mpiArgs: ["--hostfile", "hosts"], engineArgs: [], node: "/usr/bin/node", stopTimeout: 0 }),
  );
});

test("MpiLauncher runs mpiexec -n N, its arguments, then one engine with --mpi", () => {
  const dir = "/tmp/p";
  const line = new MpiLauncher({ mpiArgs: ["--oversubscribe"], engineArgs: ["--no-supervisor"] }).commandLine(4, context(dir));
  assert.deepEqual(line.slice(0, 5), ["mpiexec", "-n", "4", "--oversubscribe", process.execPath]);
  assert.deepEqual(line.slice(-4), ["--file", context(dir).engineFile, "--mpi", "--no-supervisor"]);
  assert.match(line.join(" "), /engine\/main\.(ts|js) --file/);
});

test("SshLauncher validates every option, naming the option and the value", () => {
  rejects(
    SshLauncher,
    { hosts: ["node1"] },
    TypeError,
    /SshLauncher option hosts must be an object mapping host names to engine counts, got \["node1"\]/,
  );
  rejects(SshLauncher, { hosts: {} }, RangeError, /SshLauncher option hosts must be an object with at least one host, got \{\}/);
  rejects(
    SshLauncher,
    { hosts: { "-oProxyCommand=sh": 1 } },
    RangeError,
    /SshLauncher option hosts must be host names .*, got "-oProxyCommand=sh"/,
  );
  rejects(SshLauncher, { hosts: { "node 1": 1 } }, RangeError, /got "node 1"/);
  rejects(
    SshLauncher,
    { hosts: { node1: 0 } },
    RangeError,
    /SshLauncher option hosts must be engine counts that are integers >= 1 \(host node1\), got 0/,
  );
  rejects(SshLauncher, { hosts: { node1: 1.5 } }, RangeError, /\(host node1\), got 1.5/);
  rejects(SshLauncher, { hosts: { node1: "2" } }, TypeError, /\(host node1\), got "2"/);
  rejects(SshLauncher, { sshCommand: ["ssh"] }, TypeError, /SshLauncher option sshCommand must be a string, got \["ssh"\]/);
  rejects(SshLauncher, { sshArgs: "-p 22" }, TypeError, /SshLauncher option sshArgs must be an array of strings, got "-p 22"/);
  rejects(SshLauncher, { remoteNode: 1 }, TypeError, /SshLauncher option remoteNode must be a string, got 1/);
  rejects(SshLauncher, { remoteEntry: "engine.js" }, TypeError, /SshLauncher option remoteEntry must be an array of strings/);
  rejects(SshLauncher, { remoteCwd: "work" }, RangeError, /SshLauncher option remoteCwd must be an absolute path, got "work"/);
  rejects(SshLauncher, { remoteTmpDir: "tmp" }, RangeError, /SshLauncher option remoteTmpDir must be an absolute path, got "tmp"/);
  rejects(SshLauncher, { sshTimeout: 0 }, RangeError, /SshLauncher option sshTimeout must be an integer >= 1, got 0/);
  rejects(SshLauncher, { sshConcurrency: 0 }, RangeError, /SshLauncher option sshConcurrency must be an integer >= 1, got 0/);
  rejects(SshLauncher, { sshConcurrency: "4" }, TypeError, /SshLauncher option sshConcurrency must be an integer >= 1, got "4"/);
  rejects(SshLauncher, { host: { a: 1 } }, TypeError, /unknown SshLauncher option "host"/);
  assert.ok(
    new SshLauncher({ hosts: { node1: 4, "user@node2": 2, "[::1]": 1 }, sshArgs: ["-p", "2222"], remoteCwd: "/srv", sshTimeout: 5 }),
  );
});

test("SshLauncher fills hosts in order up to their counts, and refuses more engines than slots", async () => {
  const hosts = { node1: 4, "user@node2": 2 };
  assert.deepEqual(placeEngines(6, hosts), [
    { host: "node1", count: 4 },
    { host: "user@node2", count: 2 },
  ]);
  assert.deepEqual(placeEngines(5, hosts), [
    { host: "node1", count: 4 },
    { host: "user@node2", count: 1 },
  ]);
  assert.deepEqual(placeEngines(3, hosts), [{ host: "node1", count: 3 }]);
  assert.deepEqual(placeEngines(0, hosts), []);
  assert.throws(() => placeEngines(7, hosts), /SshLauncher cannot place 7 engines: hosts \{"node1":4,"user@node2":2\} offer 6/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-opts-"));
  try {
    await assert.rejects(new SshLauncher().start(1, context(dir)), ConfigurationError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("shell quoting survives sh for awkward strings", () => {
  const values = ["plain", "with space", "it's", "$HOME", "`id`", 'a"b', "new\nline", "*", "", "--flag=x"];
  const printed = execFileSync("sh", ["-c", `printf '%s\\0' ${values.map(shellQuote).join(" ")}`]).toString();
  assert.deepEqual(printed.split("\0").slice(0, -1), values);
  assert.equal(shellJoin(["node", "a b"]), "node 'a b'");
});

test("the SSH stop script returns each remote log intact and removes the folder", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-opts-"));
  const remote = path.join(dir, "remote");
  fs.mkdirSync(remote);
  const logs = { "engine-0.log": "no trailing newline", "engine-1.log": "two\nlines\n", "engine-2.log": "", "supervisor.log": "x" };
  for (const [name, content] of Object.entries(logs)) fs.writeFileSync(path.join(remote, name), content);
  try {
    const boundary = "__parallax_log_test";
    const output = execFileSync("sh", ["-"], { input: stopScript({ host: "h", pids: [], dir: remote }, boundary) }).toString();
    assert.deepEqual(Object.fromEntries(splitLogs(output, boundary)), logs);
    assert.equal(fs.existsSync(remote), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the SSH start output must hold the folder and the pid of the host's one supervisor", () => {
  assert.deepEqual(parseStartOutput("h", "__parallax_dir=/tmp/parallax-x\n__parallax_pid=10\n"), {
    host: "h",
    dir: "/tmp/parallax-x",
    pids: [10],
  });
  assert.throws(
    () => parseStartOutput("node1", "__parallax_dir=/tmp/x\n__parallax_pid=10\n__parallax_pid=11\n"),
    /ssh node1: expected a folder and the engine supervisor's pid/,
  );
  assert.throws(() => parseStartOutput("node1", "__parallax_pid=10\n"), /ssh node1: expected a folder/);
});

test("SlurmLauncher validates every option, naming the option and the value", () => {
  rejects(
    SlurmLauncher,
    { jobName: "my job" },
    RangeError,
    /SlurmLauncher option jobName must be a word without spaces or quotes, got "my job"/,
  );
  rejects(SlurmLauncher, { partition: 3 }, TypeError, /SlurmLauncher option partition must be a string, got 3/);
  rejects(SlurmLauncher, { account: "a'b" }, RangeError, /SlurmLauncher option account must be a word/);
  rejects(SlurmLauncher, { qos: "" }, RangeError, /SlurmLauncher option qos must be a non-empty single-line string, got ""/);
  rejects(SlurmLauncher, { timeLimit: "soon" }, RangeError, /SlurmLauncher option timeLimit must be a Slurm time limit .*, got "soon"/);
  rejects(SlurmLauncher, { timeLimit: 60 }, TypeError, /SlurmLauncher option timeLimit must be a string, got 60/);
  rejects(SlurmLauncher, { sbatchArgs: ["mem=2G"] }, RangeError, /SlurmLauncher option sbatchArgs must be sbatch options .*, got "mem=2G"/);
  rejects(SlurmLauncher, { sbatchArgs: "--mem=2G" }, TypeError, /SlurmLauncher option sbatchArgs must be an array of strings/);
  rejects(SlurmLauncher, { srunArgs: [1] }, TypeError, /SlurmLauncher option srunArgs must be an array of strings/);
  rejects(SlurmLauncher, { array: "yes" }, TypeError, /SlurmLauncher option array must be a boolean, got "yes"/);
  rejects(SlurmLauncher, { template: 1 }, TypeError, /SlurmLauncher option template must be a string, got 1/);
  rejects(SlurmLauncher, { template: " \n" }, RangeError, /SlurmLauncher option template must be a non-empty batch script/);
  rejects(
    SlurmLauncher,
    { template: "#!/bin/sh\nsrun {engine}\n" },
    RangeError,
    /SlurmLauncher option template must be a script whose placeholders are among \{jobName\}, .*, got "\{engine\}"/,
  );
  rejects(SlurmLauncher, { stopTimeout: 1.5 }, RangeError, /SlurmLauncher option stopTimeout must be an integer >= 0, got 1.5/);
  rejects(SlurmLauncher, { sbatchCommand: "" }, RangeError, /SlurmLauncher option sbatchCommand must be a non-empty/);
  rejects(SlurmLauncher, { partiton: "debug" }, TypeError, /unknown SlurmLauncher option "partiton"/);
  for (const timeLimit of ["30", "1:00:00", "2-12", "1-00:00:00", "UNLIMITED", "5:30"]) assert.ok(new SlurmLauncher({ timeLimit }));
});

test("the default Slurm script has every option as #SBATCH lines and srun's the engine", () => {
  const script = new SlurmLauncher({
    jobName: "px",
    partition: "debug",
    account: "proj",
    qos: "low",
    timeLimit: "1:00:00",
    sbatchArgs: ["--mem=2G", "#SBATCH --exclusive"],
    srunArgs: ["--cpu-bind=none"],
  }).renderScript(3, context("/p"));
  const lines = script.split("\n");
  assert.equal(lines[0], "#!/bin/sh");
  assert.deepEqual(
    lines.filter((l) => l.startsWith("#SBATCH")),
    [
      "#SBATCH --job-name=px",
      "#SBATCH --ntasks=3",
      "#SBATCH --output=/p/log/engines-c1-3-slurm-%j.log",
      "#SBATCH --partition=debug",
      "#SBATCH --account=proj",
      "#SBATCH --qos=low",
      "#SBATCH --time=1:00:00",
      "#SBATCH --mem=2G",
      "#SBATCH --exclusive",
    ],
  );
  assert.ok(lines.includes("cd '/work dir'"));
  assert.match(script, /\nsrun --cpu-bind=none \S+ .*engine\/main\.(ts|js) --file \/p\/security\/engine-c1\.json\n$/);
  const array = new SlurmLauncher({ array: true }).renderScript(4, context("/p"));
  assert.match(array, /#SBATCH --array=0-3\n#SBATCH --ntasks=1\n#SBATCH --output=\/p\/log\/engines-c1-3-slurm-%A_%a\.log\n/);
  assert.match(array, /\nexec \S+ .*--file \/p\/security\/engine-c1\.json\n$/);
});

test("a user Slurm template gets its placeholders filled and the shell's ${VAR} left alone", () => {
  const template =
    "#!/bin/bash\n#SBATCH -J {jobName}\n#SBATCH --array=0-{lastIndex}\nmodule load node\necho ${HOME} {n} {clusterId}-{setId}\n{engineCommand}\n";
  const script = new SlurmLauncher({ template, jobName: "mine" }).renderScript(5, context("/p"));
  assert.match(
    script,
    /^#!\/bin\/bash\n#SBATCH -J mine\n#SBATCH --array=0-4\nmodule load node\necho \$\{HOME\} 5 c1-3\n\S+ .*--file \/p\/security\/engine-c1\.json\n$/,
  );
  assert.throws(() => renderTemplate("{nope}", {}), /Slurm template placeholder \{nope\} is unknown/);
});

test("the Slurm controller job shares the #SBATCH options, runs one task and execs the controller", () => {
  const launcher = new SlurmControllerLauncher({
    partition: "debug",
    account: "proj",
    timeLimit: "2:00:00",
    sbatchArgs: ["--mem=1G"],
    array: true,
    srunArgs: ["-v"],
  });
  const script = launcher.renderScript(["--profile", "default", "--ip", "0.0.0.0"], context("/p"));
  assert.deepEqual(
    script.split("\n").filter((l) => l.startsWith("#SBATCH")),
    [
      "#SBATCH --job-name=parallax-controller",
      "#SBATCH --ntasks=1",
      "#SBATCH --output=/p/log/controller-c1-slurm-%j.log",
      "#SBATCH --partition=debug",
      "#SBATCH --account=proj",
      "#SBATCH --time=2:00:00",
      "#SBATCH --mem=1G",
    ],
  );
  assert.match(script, /\nexec \S+ .*controller\/main\.(ts|js) --profile default --ip 0\.0\.0\.0\n$/);
  const custom = new SlurmControllerLauncher({
    controllerJobName: "ctl",
    controllerTemplate: "#!/bin/bash\n#SBATCH -J {jobName}\nmodule load node\n{launch} # {setId}\n",
  }).renderScript([], context("/p"));
  assert.match(custom, /^#!\/bin\/bash\n#SBATCH -J ctl\nmodule load node\nexec \S+ .*controller\/main\.(ts|js) # controller\n$/);
  rejects(
    SlurmControllerLauncher,
    { controllerJobName: "a b" },
    RangeError,
    /SlurmControllerLauncher option controllerJobName must be a word without spaces or quotes, got "a b"/,
  );
  rejects(
    SlurmControllerLauncher,
    { controllerTemplate: "{ctl}" },
    RangeError,
    /SlurmControllerLauncher option controllerTemplate must be a script whose placeholders are among .*, got "\{ctl\}"/,
  );
  rejects(
    SlurmControllerLauncher,
    { remoteControllerEntry: "main.js" },
    TypeError,
    /SlurmControllerLauncher option remoteControllerEntry must be an array of strings/,
  );
});

test('controller: "slurm" is validated with the Slurm launcherOptions', () => {
  assert.throws(
    () => new Cluster({ controller: "pbs" as never }),
    (error: unknown) =>
      error instanceof RangeError && /Cluster option controller must be "local" or "slurm", got "pbs"/.test(error.message),
  );
  assert.throws(
    () => new Cluster({ controller: "slurm", launcherOptions: { timeLimit: "forever" } }),
    /SlurmControllerLauncher option timeLimit must be a Slurm time limit .*, got "forever"/,
  );
  assert.throws(
    () => new Cluster({ controller: "slurm", launcherOptions: { hosts: { node1: 1 } } }),
    /unknown SlurmControllerLauncher option "hosts"/,
  );
  assert.ok(
    new Cluster({ controller: "slurm", engines: "slurm", launcherOptions: { partition: "debug", controllerJobName: "ctl", array: true } }),
  );
});

test("sbatch --parsable output gives the job id", () => {
  assert.equal(parseJobId("1234\n"), "1234");
  assert.equal(parseJobId("1234;cluster-a\n"), "1234");
  assert.equal(parseJobId("sbatch: warning: something\n77\n"), "77");
  assert.throws(() => parseJobId("Submitted batch job 12\n"), /sbatch --parsable printed no job id: "Submitted batch job 12"/);
});

test("named launchers take launcherOptions, checked when the Cluster is made", () => {
  assert.throws(
    () => new Cluster({ engines: "ssh", launcherOptions: { hosts: { node1: 0 } } }),
    /SshLauncher option hosts must be engine counts that are integers >= 1 \(host node1\), got 0/,
  );
  assert.throws(() => new Cluster({ engines: "mpi", launcherOptions: { mpiArgs: 5 } as never }), TypeError);
  assert.throws(() => new Cluster({ engines: "slurm", launcherOptions: { timeLimit: "forever" } }), RangeError);
  assert.throws(
    () => new Cluster({ engines: "mpi", launcherOptions: [] as never }),
    /Cluster option launcherOptions must be an object, got \[\]/,
  );
  assert.throws(() => new Cluster({ engines: "mpi", launcherOptions: { bogus: 1 } }), /unknown MpiLauncher option "bogus"/);
  assert.ok(new Cluster({ engines: "ssh", launcherOptions: { hosts: { node1: 2 } } }));
  assert.ok(new Cluster({ engines: "slurm", launcherOptions: { partition: "debug", array: true } }));
});

test("a missing mpiexec, ssh or sbatch fails start() with the command's name", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-opts-"));
  fs.mkdirSync(path.join(dir, "log"));
  fs.mkdirSync(path.join(dir, "security"));
  fs.writeFileSync(context(dir).engineFile, "{}\n", { mode: 0o600 });
  const ctx = { ...context(dir), cwd: dir };
  try {
    await assert.rejects(
      new MpiLauncher({ mpiCommand: "/nonexistent/mpiexec" }).start(2, ctx),
      /cannot run "\/nonexistent\/mpiexec": not found/,
    );
    await assert.rejects(
      new SshLauncher({ hosts: { node1: 1 }, sshCommand: "/nonexistent/ssh" }).start(1, ctx),
      /SshLauncher could not start engines: cannot run "\/nonexistent\/ssh"/,
    );
    await assert.rejects(new SlurmLauncher({ sbatchCommand: "/nonexistent/sbatch" }).start(1, ctx), /cannot run "\/nonexistent\/sbatch"/);
    await assert.rejects(new SlurmLauncher().start(0, ctx), /SlurmLauncher submits jobs of at least 1 engine, got n = 0/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
