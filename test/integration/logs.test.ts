/**
 * The controller's and engines' logs (one leveled line per event, in the profile's log/), their
 * levels, and the profile's config file.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { Cluster, EngineError } from "../../src/index.js";
import { ownedByTest } from "../helpers/cluster.js";
import { waitUntil } from "../helpers/system.js";

const run = promisify(execFile);
const CLI = [path.join(import.meta.dirname, "../../src/cli/main.ts")];
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "parallax-logs-"));
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, ["--import", "tsx", ...CLI, ...args], { env: { ...process.env, ...ownedByTest(), ...env }, timeout: 60_000 });

/** Every line of a log file, or none yet. */
function lines(file: string): string[] {
  try {
    return fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

test("the controller and engine logs say, one line each, what happened: registrations, failed tasks, deaths", async () => {
  const dir = tempDir();
  await using rc = await Cluster.startAndConnect({ n: 2, profileDir: dir });
  await assert.rejects(
    rc.view(0).apply(() => {
      throw new Error("a failing task");
    }),
  );
  const pid1 = (await rc.view(1).apply(() => process.pid)) as number;
  const running = rc.view(1).apply(() => new Promise((r) => setTimeout(r, 30_000)));
  process.kill(pid1, "SIGKILL");
  await assert.rejects(running, EngineError);
  const log = path.join(dir, "log");
  const controllerLog = path.join(log, `controller-${rc.cluster.clusterId}.log`);
  await waitUntil("the controller to log the dead engine", 10_000, () =>
    lines(controllerLog).some((l) => /WARN {2}controller: engine 1 is gone/.test(l)),
  );
  const text = lines(controllerLog);
  const line = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) [\w ]+\d*: \S/;
  for (const l of text) assert.match(l, line, "every line has a time, a level and who speaks");
  assert.ok(
    text.some((l) => /INFO {2}controller: engine 0 registered \(pid \d+ on /.test(l)),
    text.join("\n"),
  );
  assert.ok(
    text.some((l) => /INFO {2}controller: task \S+ failed on engine 0: Error: a failing task/.test(l)),
    text.join("\n"),
  );
  assert.ok(!text.some((l) => l.includes("DEBUG")), "debug lines only at --log-level debug");
  const engineLog = lines(path.join(log, `engine-${rc.cluster.clusterId}-0-0.log`)).concat(
    lines(path.join(log, `engine-${rc.cluster.clusterId}-0-1.log`)),
  );
  assert.ok(
    engineLog.some((l) => /INFO {2}engine \d: registered with the controller at tcp:/.test(l)),
    engineLog.join("\n"),
  );
  await waitUntil("the supervisor to log its engine's death", 10_000, () =>
    [0, 1]
      .flatMap((i) => lines(path.join(log, `engine-${rc.cluster.clusterId}-0-${i}.log`)))
      .some((l) => /WARN {2}supervisor: engine 1 exited \(signal SIGKILL\)/.test(l)),
  );
});

test("the profile's parallax.json fills options not given; flags and PARALLAX_LOG_LEVEL (set by logLevel) win over it", async () => {
  const dir = tempDir();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "parallax.json"), JSON.stringify({ controller: { "log-level": "warn", hwm: 0 }, cluster: { n: 1 } }));
  const debug = new Cluster({ profileDir: dir, n: 1, logLevel: "debug" });
  await debug.start();
  try {
    const rc = await debug.connectClient();
    await rc.waitForEngines(1, { timeout: 30_000 });
    await rc.loadBalancedView().apply(() => 1);
    const file = path.join(dir, "log", `controller-${debug.clusterId}.log`);
    await waitUntil("a debug line", 10_000, () => lines(file).some((l) => /DEBUG controller: task \S+ sent to engine 0/.test(l)));
    await rc.close();
  } finally {
    await debug.stop();
  }
  // No level given: the file's "warn" holds, so the controller writes no INFO line.
  const started = await cli(["cluster", "start", "--profile-dir", dir, "--daemonize"]);
  assert.match(started.stdout, /1 engine\(s\)/, "n comes from the cluster section");
  const clusterId = /cluster (\S+) started/.exec(started.stdout)?.[1] as string;
  const quiet = path.join(dir, "log", `controller-${clusterId}.log`);
  await cli(["cluster", "stop", "--profile-dir", dir, "--cluster-id", clusterId]);
  assert.ok(!lines(quiet).some((l) => l.includes(" INFO ")), lines(quiet).join("\n"));
  const flagged = await cli(["cluster", "start", "--profile-dir", dir, "-n", "0", "--daemonize"]);
  assert.match(flagged.stdout, /0 engine\(s\)/, "-n on the command line wins over the file");
  await cli(["cluster", "stop", "--all", "--profile-dir", dir]);
  fs.writeFileSync(path.join(dir, "parallax.json"), JSON.stringify({ controller: { loud: true } }));
  await assert.rejects(
    cli(["controller", "--profile-dir", dir]),
    /parallax\.json: unknown option "loud" for controller \(options: profile, /,
  );
  assert.throws(
    () => new Cluster({ logLevel: "loud" as never }),
    /Cluster option logLevel must be one of debug, info, warn, error, got "loud"/,
  );
});
