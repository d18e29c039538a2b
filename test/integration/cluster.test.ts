import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { Client, Cluster, ConfigurationError } from "../../src/index.js";
import { alive, ownedByTest, startTestCluster } from "../helpers/cluster.js";

const run = promisify(execFile);
const CLI = [path.join(import.meta.dirname, "../../src/cli/main.ts")];
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "parallax-cluster-"));

async function engineProcessPids(rc: Client): Promise<number[]> {
  return (await rc.view().apply(() => process.pid)) as number[];
}

test("start, connect, wait, stop: files are private and no process is left behind", async () => {
  const dir = tempDir();
  const cluster = new Cluster({ n: 2, profileDir: dir });
  await cluster.start();
  const security = path.join(dir, "security");
  assert.equal(fs.statSync(security).mode & 0o777, 0o700);
  for (const file of Object.values(cluster.files)) assert.equal(fs.statSync(file).mode & 0o777, 0o600, file);
  const rc = await cluster.connectClient();
  assert.deepEqual(await rc.waitForEngines(2, { timeout: 20_000 }), [0, 1]);
  const enginePids = await engineProcessPids(rc);
  const supervisorPids = Object.values(cluster.engineSets).flatMap((s) => s.pids);
  const controllerPid = cluster.controller?.pid as number;
  assert.equal(supervisorPids.length, 1, "one supervisor watches the set's engines");
  await rc.close();
  await cluster.stop();
  for (const pid of [...enginePids, ...supervisorPids, controllerPid]) assert.equal(alive(pid), false, `process ${pid} still alive`);
  assert.equal(fs.existsSync(cluster.files.cluster), false);
});

test("startAndConnect with await using stops the cluster on dispose", async () => {
  const dir = tempDir();
  let pids: number[];
  {
    await using rc = await Cluster.startAndConnect({ n: 2, profileDir: dir });
    assert.deepEqual(rc.ids, [0, 1]);
    pids = [...(await engineProcessPids(rc)), rc.cluster.controller?.pid as number];
  }
  for (const pid of pids) assert.equal(alive(pid), false);
});

test("Client.connect finds the newest running cluster of a profile; Cluster.fromFile attaches and stops it", async () => {
  const root = tempDir();
  const previous = process.env.PARALLAX_DIR;
  process.env.PARALLAX_DIR = root;
  try {
    const cluster = new Cluster({ n: 1, profile: "nbserver" });
    await cluster.start();
    assert.ok(cluster.files.client.startsWith(path.join(root, "profile_nbserver", "security")));
    const rc = await Client.connect({ profile: "nbserver" });
    await rc.waitForEngines(1, { timeout: 20_000 });
    assert.equal(rc.connection.clusterId, cluster.clusterId);
    const rc2 = await Client.connect({ connectionFile: cluster.files.client });
    assert.equal(await rc2.view(0).apply(() => 7), 7);
    await rc.close();
    await rc2.close();
    const attached = Cluster.fromFile({ profile: "nbserver" });
    assert.equal(attached.clusterId, cluster.clusterId);
    assert.equal(attached.controller?.pid, cluster.controller?.pid);
    await attached.stop();
    assert.equal(alive(cluster.controller?.pid as number), false);
    assert.throws(() => Cluster.fromFile({ profile: "nbserver" }), ConfigurationError);
    await assert.rejects(Client.connect({ profile: "nbserver" }), /no running cluster found in profile "nbserver"/);
  } finally {
    if (previous === undefined) delete process.env.PARALLAX_DIR;
    else process.env.PARALLAX_DIR = previous;
  }
});

test("Node flags a worker thread refuses (--trace-gc) stay with the engine's main thread: tasks still run", async () => {
  const before = process.env.PARALLAX_NODE_ARGS;
  process.env.PARALLAX_NODE_ARGS = "--trace-gc";
  try {
    const t = await startTestCluster({ n: 1 });
    try {
      assert.equal(
        await t.rc
          .loadBalancedView()
          .apply(() => 6 * 7)
          .get({ timeout: 30_000 }),
        42,
      );
      assert.deepEqual(await t.rc.view(0).apply(() => process.execArgv.includes("--trace-gc")), false, "the task thread runs without it");
    } finally {
      await t.stop();
    }
  } finally {
    if (before === undefined) delete process.env.PARALLAX_NODE_ARGS;
    else process.env.PARALLAX_NODE_ARGS = before;
  }
});

test("a world-readable connection file is refused", async () => {
  const dir = tempDir();
  const file = path.join(dir, "client.json");
  fs.writeFileSync(file, JSON.stringify({ url: "tcp://127.0.0.1:1", key: "k", clusterId: "x" }), { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  await assert.rejects(Client.connect({ connectionFile: file }), /readable by other users \(mode 644\)/);
});

test("every Cluster option is validated with its name and value", () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ n: -1 }, /option n must be an integer >= 0, got -1/],
    [{ n: 1.5 }, /option n must be an integer/],
    [{ hwm: -2 }, /option hwm must be an integer >= 0 or "auto", got -2/],
    [{ hwm: "fast" }, /option hwm must be an integer >= 0 or "auto", got "fast"/],
    [{ heartbeatInterval: 1 }, /option heartbeatInterval/],
    [{ engineTimeout: 0 }, /option engineTimeout/],
    [{ scheme: "fastest" }, /option scheme must be one of .*got "fastest"/],
    [{ db: "mongo" }, /option db must be/],
    [{ engines: "kubernetes" }, /option engines must be one of .*got "kubernetes"/],
    [{ controller: "ssh" }, /option controller must be "local"/],
    [{ profile: "" }, /option profile must be a non-empty string/],
    [{ clusterId: "a b" }, /option clusterId may only use/],
    [{ controllerIp: 5 }, /option controllerIp must be a non-empty string/],
    [{ location: "" }, /option location/],
    [{ profileDir: "" }, /option profileDir/],
    [{ dbPath: "" }, /option dbPath/],
    [{ cwd: "" }, /option cwd/],
    [{ controllerArgs: "x" }, /option controllerArgs must be an array of strings/],
    [{ engineArgs: [1] }, /option engineArgs/],
    [{ restartDeadEngines: "yes" }, /option restartDeadEngines must be a boolean/],
    [{ shutdownAtExit: "no" }, /option shutdownAtExit must be a boolean, got "no"/],
    [{ heartbeatInterval: 0 }, /option heartbeatInterval must be an integer >= 10, got 0/],
    [{ env: "A=1" }, /option env must be an object of strings .*got "A=1"/],
    [{ env: { A: 1 } }, /option env must be an object of strings/],
    [{ curve: 1 }, /option curve must be a boolean/],
    [{ dashboard: "on" }, /option dashboard must be a boolean or a port number/],
    [{ nope: 1 }, /unknown Cluster option "nope"/],
  ];
  for (const [options, message] of cases) assert.throws(() => new Cluster(options as never), message, JSON.stringify(options));
});

test("Client.connect options are validated", async () => {
  await assert.rejects(Client.connect({ timeout: -1 }), /timeout must be a positive number of ms, got -1/);
  await assert.rejects(Client.connect({ missedHeartbeats: 0 }), /missedHeartbeats must be an integer >= 1/);
  await assert.rejects(Client.connect({ controllerTimeout: 0 }), /controllerTimeout must be a positive number of ms, got 0/);
  await assert.rejects(Client.connect({ controllerTimeout: Number.NaN }), /controllerTimeout must be a positive number of ms, got NaN/);
  await assert.rejects(Client.connect({ maxInFlight: 0 }), /maxInFlight must be an integer >= 1, got 0/);
  await assert.rejects(Client.connect({ maxInFlight: 2.5 }), /maxInFlight must be an integer >= 1, got 2.5/);
  await assert.rejects(Client.connect({ bogus: 1 } as never), /unknown option "bogus"/);
  for (const name of ["profile", "profileDir", "clusterId", "connectionFile"]) {
    await assert.rejects(Client.connect({ [name]: "" }), new RegExp(`Client.connect: ${name} must be a non-empty string, got ""`));
    await assert.rejects(Client.connect({ [name]: 7 } as never), new RegExp(`Client.connect: ${name} must be a non-empty string, got 7`));
  }
});

test("CLI: cluster start --daemonize, list, engines and stop", async () => {
  const root = tempDir();
  const env = { ...process.env, ...ownedByTest(), PARALLAX_DIR: root };
  const node = (args: string[]) => run(process.execPath, ["--import", "tsx", ...CLI, ...args], { env, timeout: 60_000 });
  const started = await node(["cluster", "start", "-n", "2", "--profile", "cli", "--cluster-id", "c1", "--daemonize"]);
  assert.match(started.stdout, /cluster c1 started: controller pid \d+, 2 engine\(s\)/);
  const rc = await Client.connect({ profileDir: path.join(root, "profile_cli") });
  await rc.waitForEngines(2, { timeout: 20_000 });
  await node(["cluster", "engines", "-n", "1", "--profile", "cli", "--cluster-id", "c1"]);
  await rc.waitForEngines(3, { timeout: 20_000 });
  assert.deepEqual(rc.ids, [0, 1, 2]);
  const pids = (await rc.view().apply(() => process.pid)) as number[];
  const listed = await node(["cluster", "list", "--profile", "cli"]);
  assert.match(listed.stdout, /cli\s+c1\s+true\s+3/);
  await rc.close();
  const stopped = await node(["cluster", "stop", "--profile", "cli"]);
  assert.match(stopped.stdout, /cluster c1 stopped/);
  for (const pid of pids) assert.equal(alive(pid), false);
  const empty = await node(["cluster", "list", "--profile", "cli", "--json"]);
  assert.deepEqual(JSON.parse(empty.stdout), []);
});

test("CLI: controller and engine commands run the processes in the foreground", async () => {
  const root = tempDir();
  const env = { ...process.env, ...ownedByTest(), PARALLAX_DIR: root };
  const { spawn } = await import("node:child_process");
  const controller = spawn(process.execPath, ["--import", "tsx", ...CLI, "controller", "--profile", "fg", "--cluster-id", "fg1"], {
    env,
    stdio: "ignore",
  });
  const clientFile = path.join(root, "profile_fg", "security", "client-fg1.json");
  const engineFile = path.join(root, "profile_fg", "security", "engine-fg1.json");
  // The controller writes the engine file first, then the client file.
  while (!fs.existsSync(clientFile)) await new Promise((r) => setTimeout(r, 20));
  const engine = spawn(process.execPath, ["--import", "tsx", ...CLI, "engine", "--file", engineFile], { env, stdio: "ignore" });
  const exited = [controller, engine].map((child) => new Promise((r) => child.once("exit", r)));
  const rc = await Client.connect({ connectionFile: clientFile });
  await rc.waitForEngines(1, { timeout: 20_000 });
  assert.equal(await rc.view(0).apply(() => 40 + 2), 42);
  await rc.shutdown({ hub: true });
  await Promise.all(exited);
  assert.equal(fs.existsSync(clientFile), false, "the controller removes its connection files on shutdown");
  await rc.close();
});

test("controllerIp 0.0.0.0 binds every interface and writes the given location into the connection files", async () => {
  const dir = tempDir();
  const cluster = new Cluster({ n: 1, profileDir: dir, controllerIp: "0.0.0.0", location: "127.0.0.1" });
  await cluster.start();
  try {
    const { readConnectionFile } = await import("../../src/connection/profile.js");
    const urls = [cluster.files.client, cluster.files.engine].map((f) => readConnectionFile(f).url);
    for (const url of urls) assert.match(url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    const listening = fs
      .readFileSync("/proc/net/tcp", "utf8")
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[3] === "0A");
    for (const url of urls) {
      const hex = Number(url.split(":").at(-1)).toString(16).toUpperCase().padStart(4, "0");
      assert.ok(
        listening.some((f) => f[1] === `00000000:${hex}`),
        `port ${url} listens on all interfaces`,
      );
    }
    const rc = await cluster.connectClient();
    await rc.waitForEngines(1, { timeout: 20_000 });
    assert.equal(await rc.view(0).apply(() => "reachable"), "reachable");
    await rc.close();
  } finally {
    await cluster.stop();
  }
});

test("CLI: cluster start in the foreground stops its cluster on Ctrl-C", async () => {
  const root = tempDir();
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, ["--import", "tsx", ...CLI, "cluster", "start", "-n", "1", "--profile", "fg"], {
    env: { ...process.env, ...ownedByTest(), PARALLAX_DIR: root },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("press Ctrl-C")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`cluster start exited early (${code}): ${out}`)));
  });
  const rc = await Client.connect({ profileDir: path.join(root, "profile_fg") });
  await rc.waitForEngines(1, { timeout: 20_000 });
  const pids = [...((await rc.view().apply(() => process.pid)) as number[]), Number(/controller pid (\d+)/.exec(out)?.[1])];
  await rc.close();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  assert.equal(await exited, 0);
  assert.match(out, /stopped/);
  for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} still alive`);
});
