/**
 * Test clusters: real controller and engine processes in a temporary profile folder.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Cluster } from "../../src/index.js";
import type { Client, ClusterOptions } from "../../src/index.js";

/** A started cluster with a connected client. */
export interface TestCluster {
  cluster: Cluster;
  rc: Client;
  dir: string;
  stop(): Promise<void>;
}

/** Starts `n` engines in a fresh profile folder and waits for them. */
export async function startTestCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-test-"));
  const cluster = new Cluster({ n: 2, profileDir: dir, ...options });
  await cluster.start();
  const rc = await cluster.connectClient();
  await rc.waitForEngines(options.n ?? 2, { timeout: 30_000 });
  return {
    cluster,
    rc,
    dir,
    async stop() {
      await rc.close();
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Environment variables that tie processes a test starts some other way (the CLI, a daemonized
 * cluster, engines started by hand or on another "host" of this machine) to the test process:
 * they stop themselves when it is gone, as clusters started with `new Cluster()` do.
 */
export function ownedByTest(): { PARALLAX_OWNER_PID: string } {
  return { PARALLAX_OWNER_PID: String(process.pid) };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
