/**
 * The `parallax` command: version, help of the `controller` and `engine` commands (their
 * options live on commander), and what `parallax cluster list` shows.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { ownedByTest } from "../helpers/cluster.js";

const run = promisify(execFile);
const CLI = [path.join(import.meta.dirname, "../../src/cli/main.ts")];
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "parallax-logs-"));
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, ["--import", "tsx", ...CLI, ...args], { env: { ...process.env, ...ownedByTest(), ...env }, timeout: 60_000 });

test("parallax --version, parallax engine --help and parallax controller --help work", async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "../../package.json"), "utf8")) as { version: string };
  const [version, engine, controller] = await Promise.all([cli(["--version"]), cli(["engine", "--help"]), cli(["controller", "--help"])]);
  assert.equal(version.stdout.trim(), pkg.version);
  assert.match(engine.stdout, /Usage: parallax engine \[options\]/);
  for (const option of [
    "--file <file>",
    "--engines <n>",
    "--restart",
    "--engine-log <file>",
    "--no-supervisor",
    "--mpi",
    "--max-memory <MiB>",
    "--controller-timeout <ms>",
    "--log-level <level>",
  ])
    assert.ok(engine.stdout.includes(option), option);
  assert.doesNotMatch(engine.stdout, /supervised-child/, "options for Parallax's own use are not in the help");
  assert.match(controller.stdout, /Usage: parallax controller \[options\]/);
  for (const option of ["--ip <address>", "--scheme <name>", "--db <backend>", "--restore", "--dashboard [port]", "--log-level <level>"])
    assert.ok(controller.stdout.includes(option), option);
  await Promise.all([
    assert.rejects(cli(["controller", "--bogus"]), /error: unknown option '--bogus'/),
    assert.rejects(
      cli(["controller", "--profile-dir", tempDir(), "--log-level", "loud"]),
      /--log-level must be one of debug, info, warn, error, got "loud"/,
    ),
  ]);
});

test("every command that picks a cluster offers --profile, --profile-dir and --cluster-id with the same help", async () => {
  const commands = [["cluster", "start"], ["cluster", "stop"], ["cluster", "engines"], ["repl"], ["cluster", "list"]];
  const helps = await Promise.all(commands.map((command) => cli([...command, "--help"])));
  const line = (help: string, option: string) =>
    help
      .split("\n")
      .find((l) => l.trimStart().startsWith(option))
      ?.trim();
  for (const [i, { stdout }] of helps.entries()) {
    const name = commands[i]?.join(" ");
    assert.match(line(stdout, "--profile <name>") ?? "", /^--profile <name>\s+profile \(default: "default"\)$/, name);
    assert.match(line(stdout, "--profile-dir <dir>") ?? "", /^--profile-dir <dir>\s+profile folder$/, name);
    const clusterId = line(stdout, "--cluster-id <id>");
    if (name === "cluster list") assert.equal(clusterId, undefined, "a whole profile is listed");
    else if (name === "repl") assert.match(clusterId ?? "", /^--cluster-id <id>\s+cluster id \(default: the newest running cluster/);
    else assert.match(clusterId ?? "", /^--cluster-id <id>\s+cluster id$/, name);
  }
  const stopped = await cli(["cluster", "stop", "--all", "--profile", "nothing-here", "--profile-dir", tempDir()]);
  assert.match(stopped.stdout, /no cluster running in profile nothing-here/, "the options reach the command");
});

test("parallax engine checks --engines, and refuses it beside the options that mean one engine", async () => {
  const file = path.join(tempDir(), "engine.json");
  const engine = (...args: string[]) => cli(["engine", "--file", file, ...args]);
  await Promise.all([
    assert.rejects(engine("--engines", "0"), /--engines must be an integer >= 1, got 0/),
    assert.rejects(engine("--engines", "two"), /--engines must be an integer >= 1, got two/),
    assert.rejects(
      engine("--engines", "2", "--no-supervisor"),
      /--no-supervisor runs one engine in this process: it cannot take --engines, --restart or --engine-log/,
    ),
    assert.rejects(engine("--restart", "--no-supervisor"), /--no-supervisor runs one engine in this process/),
    assert.rejects(engine("--engines", "2", "--mpi"), /--mpi and --requested-id name one engine id: they cannot take --engines above 1/),
  ]);
});

test("--hwm takes an integer >= 0 or auto, in the controller and cluster start commands", async () => {
  await Promise.all([
    assert.rejects(cli(["controller", "--hwm", "fast", "--profile-dir", tempDir()]), /--hwm must be an integer >= 0 or "auto", got "fast"/),
    assert.rejects(cli(["cluster", "start", "--hwm", "-1", "--profile-dir", tempDir()]), /expected an integer >= 0 or "auto", got -1/),
  ]);
});

test("parallax cluster list shows the dashboard URL", async () => {
  const root = tempDir();
  const env = { PARALLAX_DIR: root };
  const started = await cli(["cluster", "start", "-n", "0", "--profile", "dash", "--dashboard", "--daemonize"], env);
  const url = /dashboard: (\S+)/.exec(started.stdout)?.[1] as string;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  try {
    const listed = await cli(["cluster", "list", "--profile", "dash"], env);
    assert.match(listed.stdout, /DASHBOARD/);
    assert.ok(listed.stdout.includes(url), listed.stdout);
  } finally {
    await cli(["cluster", "stop", "--all", "--profile", "dash"], env);
  }
});
