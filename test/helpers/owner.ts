/**
 * Programs that start a cluster and then end, for the tests of clusters stopping with the
 * process that started them.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { alive } from "./cluster.js";
import { waitUntil } from "./system.js";

const OWNER = path.join(import.meta.dirname, "../fixtures/cluster-owner.ts");

export interface OwnerProcesses {
  controller: number;
  engines: number[];
  supervisors: number[];
  clusterFile: string;
}

/** Runs the owner program until it has printed its cluster's processes. */
export async function startOwner(mode: "wait" | "throw" | "return", attach = false) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-owner-"));
  const child = spawn(process.execPath, ["--import", "tsx", OWNER, mode, dir, ...(attach ? ["attach"] : [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const processes = await new Promise<OwnerProcesses>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0] as string) as OwnerProcesses);
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`the owner program ended (${code ?? signal}) before starting its cluster: ${err}`)),
    );
  });
  return { child, exited, processes, dir, stderr: () => err };
}

/** Waits until none of the cluster's processes is left, and its cluster file is gone. */
export async function assertClusterGone(processes: OwnerProcesses): Promise<void> {
  const pids = [processes.controller, ...processes.engines, ...processes.supervisors];
  assert.ok(
    pids.every((pid) => Number.isInteger(pid) && pid > 0),
    JSON.stringify(processes),
  );
  await waitUntil(`processes ${pids.join(", ")} to end`, 10_000, () => pids.every((pid) => !alive(pid)));
  await waitUntil("the cluster file to be removed", 5_000, () => !fs.existsSync(processes.clusterFile));
}
