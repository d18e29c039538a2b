/**
 * SshLauncher through the real OpenSSH client against an sshd the test starts on a loopback
 * port, with its own host key, an ed25519 client key and a config in a temporary folder.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Cluster, SshLauncher } from "../../src/index.js";
import { alive, ownedByTest } from "../helpers/cluster.js";
import { assertSignalInterrupts, freePort, missingRequirements, skipWithout, startDaemon, waitUntil, which } from "../helpers/system.js";
import type { Daemon } from "../helpers/system.js";

/** A private sshd on 127.0.0.1 and the ssh arguments that log in to it with a fresh key. */
async function startSshd(dir: string): Promise<{ daemon: Daemon; sshArgs: string[] }> {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "client_key")]);
  fs.copyFileSync(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${path.join(dir, "host_key")}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  // sshd's privilege separation needs this folder; it is created by the service, which is not running.
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const sshd = which("sshd") as string;
  const daemon = await startDaemon("sshd", sshd, ["-D", "-e", "-f", path.join(dir, "sshd_config")], {
    logFile: path.join(dir, "sshd.log"),
  });
  const sshArgs = [
    "-F",
    "/dev/null",
    "-i",
    path.join(dir, "client_key"),
    "-p",
    String(port),
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=5",
  ];
  await waitUntil("sshd to accept logins", 15_000, () => {
    try {
      return (
        execFileSync("ssh", [...sshArgs, "127.0.0.1", "echo ok"], { stdio: ["ignore", "pipe", "ignore"] })
          .toString()
          .trim() === "ok"
      );
    } catch {
      return false;
    }
  });
  return { daemon, sshArgs };
}

test(
  "ssh starts engines on two host entries, they run work, and stop kills them and fetches their logs",
  { timeout: 90_000 },
  async (t) => {
    const why = missingRequirements(["ssh", "sshd", "ssh-keygen"], { root: true, packages: "openssh-server openssh-client" });
    if (skipWithout(t, why)) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-ssh-"));
    const user = os.userInfo().username;
    let sshd: Daemon | undefined;
    let cluster: Cluster | undefined;
    try {
      const started = await startSshd(dir);
      sshd = started.daemon;
      // Two entries for the same machine: "user@address" and a bare name resolved by ssh.
      const hosts = { [`${user}@127.0.0.1`]: 2, localhost: 1 };
      cluster = new Cluster({
        n: 3,
        profileDir: path.join(dir, "profile"),
        engines: new SshLauncher({ hosts, sshArgs: started.sshArgs }),
        env: ownedByTest(),
      });
      await cluster.start();
      const rc = await cluster.connectClient();
      try {
        assert.deepEqual(await rc.waitForEngines(3, { timeout: 45_000 }), [0, 1, 2]);
        // Every engine was started through an ssh session.
        const sessions = (await rc.view().apply(() => process.env.SSH_CONNECTION ?? null)) as Array<string | null>;
        assert.ok(
          sessions.every((s) => typeof s === "string" && s.startsWith("127.0.0.1 ")),
          JSON.stringify(sessions),
        );
        // Written past the output capture, straight to the engine process's stderr: its log file.
        await rc.view().apply(() => (require("node:fs") as typeof fs).writeSync(2, "hello from the engine\n"));
        assert.deepEqual(await rc.view().map((x: number) => x * x, [1, 2, 3, 4, 5, 6]), [1, 4, 9, 16, 25, 36]);
        // The set's signal() reaches the engines: SIGINT interrupts a running task and the engine stays.
        await assertSignalInterrupts(rc, cluster);
        const enginePids = (await rc.view().apply(() => process.pid)) as number[];
        const set = Object.values(cluster.engineSets)[0];
        const remote = (set?.data?.hosts ?? []) as Array<{ host: string; pids: number[]; dir: string }>;
        assert.deepEqual(
          remote.map((h) => h.pids.length),
          [1, 1],
          "one supervisor per host",
        );
        const remoteDirs = remote.map((h) => h.dir);
        for (const remoteDir of remoteDirs) assert.equal(fs.statSync(path.join(remoteDir, "engine.json")).mode & 0o777, 0o600);
        await rc.close();
        await cluster.stopEngines();
        await waitUntil("engines to exit", 10_000, () => enginePids.every((pid) => !alive(pid)));
        for (const remoteDir of remoteDirs) assert.equal(fs.existsSync(remoteDir), false, `${remoteDir} left behind`);
        const copied = fs.readdirSync(path.join(dir, "profile", "log")).filter((f) => f.startsWith(`engine-${cluster?.clusterId}-0-`));
        const logs = copied.filter((f) => !f.endsWith("-supervisor.log"));
        assert.equal(logs.length, 3, copied.join(", "));
        assert.equal(copied.length, 5, `a log per engine and per host's supervisor: ${copied.join(", ")}`);
        const text = logs.map((f) => fs.readFileSync(path.join(dir, "profile", "log", f), "utf8")).join("");
        assert.equal(text.split("hello from the engine").length - 1, 3, text);
      } finally {
        await rc.close();
      }
    } finally {
      await cluster?.stop().catch(() => undefined);
      await sshd?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  "a host that refuses the login fails start() with ssh's message and leaves the other host's engines stopped",
  { timeout: 60_000 },
  async (t) => {
    const why = missingRequirements(["ssh", "sshd", "ssh-keygen"], { root: true, packages: "openssh-server openssh-client" });
    if (skipWithout(t, why)) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-ssh-"));
    let sshd: Daemon | undefined;
    let cluster: Cluster | undefined;
    try {
      const started = await startSshd(dir);
      sshd = started.daemon;
      const hosts = { "127.0.0.1": 1, "nobody-here@127.0.0.1": 1 };
      cluster = new Cluster({
        n: 2,
        profileDir: path.join(dir, "profile"),
        engines: new SshLauncher({ hosts, sshArgs: started.sshArgs }),
        env: ownedByTest(),
      });
      await assert.rejects(cluster.start(), /SshLauncher could not start engines: .*nobody-here@127\.0\.0\.1.*Permission denied/s);
      const leftovers = fs
        .readdirSync("/tmp")
        .filter((f) => f.startsWith("parallax-") && fs.existsSync(path.join("/tmp", f, "engine.json")))
        .filter((f) => fs.readFileSync(path.join("/tmp", f, "engine.json"), "utf8").includes(cluster?.clusterId as string));
      assert.deepEqual(leftovers, []);
    } finally {
      await cluster?.stop().catch(() => undefined);
      await sshd?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
