/**
 * Two hosts on one machine: two network namespaces joined by a veth pair. The controller runs
 * in one, bound to 0.0.0.0 with `location` set to its veth address; an engine started in the
 * other with `ip netns exec` reaches it through the address written in the connection file.
 * Both addresses exist only inside the namespaces the test makes, and those are always removed.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { test } from "node:test";
import { entryCommand } from "../../src/cluster/processes.js";
import { alive, ownedByTest } from "../helpers/cluster.js";
import { missingRequirements, signalGroup, skipWithout, waitUntil } from "../helpers/system.js";

const CONTROLLER_ADDRESS = "10.231.0.1";
const ENGINE_ADDRESS = "10.231.0.2";
const FIXTURE = path.join(import.meta.dirname, "fixtures", "netns-controller.ts");

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Two namespaces, each holding one end of a veth pair with its address, links up. */
function makeHosts(controllerNs: string, engineNs: string): void {
  ip("netns", "add", controllerNs);
  ip("netns", "add", engineNs);
  ip("link", "add", controllerNs, "type", "veth", "peer", "name", engineNs);
  ip("link", "set", controllerNs, "netns", controllerNs);
  ip("link", "set", engineNs, "netns", engineNs);
  for (const [ns, address] of [
    [controllerNs, CONTROLLER_ADDRESS],
    [engineNs, ENGINE_ADDRESS],
  ] as const) {
    ip("-n", ns, "addr", "add", `${address}/30`, "dev", ns);
    ip("-n", ns, "link", "set", ns, "up");
    ip("-n", ns, "link", "set", "lo", "up");
  }
}

/** Removes a namespace (which takes its end of the veth pair, and so the pair, with it). */
function removeNamespace(ns: string): void {
  try {
    ip("netns", "del", ns);
  } catch {
    // not created, or already gone
  }
}

/** Starts a process group inside a namespace, output to `logFile`. */
function spawnIn(ns: string, args: string[], logFile: string, stdout: "pipe" | "log"): ChildProcess {
  const out = fs.openSync(logFile, "a");
  try {
    return spawn("ip", ["netns", "exec", ns, process.execPath, ...args], {
      detached: true,
      stdio: ["ignore", stdout === "pipe" ? "pipe" : out, out],
      env: { ...process.env, ...ownedByTest() },
    });
  } finally {
    fs.closeSync(out);
  }
}

/** The next JSON line a process prints. */
function nextReport(lines: AsyncIterator<string>, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no report within ${timeoutMs} ms`)), timeoutMs);
    void lines.next().then((next) => {
      clearTimeout(timer);
      if (next.done) reject(new Error("the controller side exited without reporting"));
      else resolve(JSON.parse(next.value) as Record<string, unknown>);
    }, reject);
  });
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  signalGroup(child.pid, "SIGTERM");
  const timer = setTimeout(() => signalGroup(child.pid as number, "SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

test(
  "an engine in another network namespace reaches a controller bound to 0.0.0.0 through its written location",
  { timeout: 90_000 },
  async (t) => {
    const why = missingRequirements(["ip"], { root: true, packages: "iproute2" });
    if (skipWithout(t, why)) return;
    const controllerNs = `pxc${process.pid}`;
    const engineNs = `pxe${process.pid}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-netns-"));
    let controllerSide: ChildProcess | undefined;
    let engine: ChildProcess | undefined;
    try {
      try {
        makeHosts(controllerNs, engineNs);
      } catch (error) {
        const reason = `network namespaces are not available here: ${String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim()}`;
        if (skipWithout(t, reason)) return;
      }
      controllerSide = spawnIn(
        controllerNs,
        ["--import", import.meta.resolve("tsx"), FIXTURE, path.join(dir, "profile"), CONTROLLER_ADDRESS],
        path.join(dir, "controller-side.log"),
        "pipe",
      );
      const lines = readline.createInterface({ input: controllerSide.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
      const started = await nextReport(lines, 30_000);
      assert.equal(started.error, undefined, String(started.error));
      assert.match(String(started.url), new RegExp(`^tcp://${CONTROLLER_ADDRESS.replace(/\./g, "\\.")}:\\d+$`));
      engine = spawnIn(
        engineNs,
        [...entryCommand("engine/main"), "--file", String(started.engineFile)],
        path.join(dir, "engine.log"),
        "log",
      );
      const result = await nextReport(lines, 45_000);
      assert.equal(
        result.error,
        undefined,
        `${String(result.error)}\nengine log: ${fs.readFileSync(path.join(dir, "engine.log"), "utf8")}`,
      );
      assert.deepEqual(result.ids, [0]);
      const addresses = result.addresses as string[];
      assert.ok(addresses.includes(ENGINE_ADDRESS), `the engine runs in the engine namespace: ${addresses.join(", ")}`);
      assert.ok(!addresses.includes(CONTROLLER_ADDRESS), `the engine does not share the controller's namespace: ${addresses.join(", ")}`);
      assert.deepEqual(result.squares, [1, 4, 9, 16]);
      // The controller side stops its cluster and exits by itself.
      await waitUntil("the controller side to exit", 15_000, () => controllerSide?.exitCode !== null);
      assert.equal(controllerSide.exitCode, 0);
    } finally {
      await stopProcess(engine);
      await stopProcess(controllerSide);
      removeNamespace(controllerNs);
      removeNamespace(engineNs);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const namespaces = execFileSync("ip", ["netns", "list"]).toString();
    assert.ok(!namespaces.includes(controllerNs) && !namespaces.includes(engineNs), namespaces);
    if (engine?.pid) assert.equal(alive(engine.pid), false);
  },
);
