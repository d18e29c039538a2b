import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Cluster, ConfigurationError, ControllerLostError } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";

/** Asserts that restoring the controller fails with a ConfigurationError naming the file and the way out. */
async function refusesRestore(cluster: Cluster, file: string, problem: RegExp): Promise<void> {
  await assert.rejects(cluster.startController({ restore: true }), (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, String(error));
    assert.ok((error as Error).message.includes(`task database ${file} `), (error as Error).message);
    assert.match((error as Error).message, problem);
    assert.match(
      (error as Error).message,
      /To start fresh, move or delete it \(with its -wal and -shm files\), or start the controller without --restore/,
    );
    return true;
  });
}

test("a restore refuses a task database that is emptied, lost its WAL, is garbled or missing, naming the file and how to start fresh", async () => {
  const t = await startTestCluster({ n: 1, db: "sqlite", heartbeatInterval: 200 });
  const file = path.join(t.dir, `tasks-${t.cluster.clusterId}.sqlite`);
  const killController = () => process.kill(t.cluster.controller?.pid as number, "SIGKILL");
  try {
    assert.equal(await t.rc.view(0).apply(() => 1), 1);
    await t.rc.close();
    killController();
    const saved = fs.readFileSync(file);
    fs.rmSync(`${file}-wal`);
    fs.rmSync(`${file}-shm`, { force: true });
    await refusesRestore(
      t.cluster,
      file,
      /holds no Parallax cluster id \(it was emptied, lost its -wal file, or is not a Parallax task database\)/,
    );
    fs.truncateSync(file, 0);
    await refusesRestore(t.cluster, file, /is empty, so it holds none of cluster .*'s tasks/);
    fs.writeFileSync(file, Buffer.alloc(saved.byteLength, "garbage "));
    await refusesRestore(t.cluster, file, /cannot be read as a Parallax task database \(file is not a database\)/);
    fs.rmSync(file);
    await refusesRestore(t.cluster, file, /does not exist/);
    assert.equal(fs.existsSync(file), false, "a refused restore creates no file");
  } finally {
    await t.stop();
  }
});

test("a database of another cluster is refused; unfinished tasks of a controller started again without --restore fail at once", async () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-db-"));
  const dbPath = path.join(outside, "tasks.sqlite");
  const t = await startTestCluster({ n: 1, db: "sqlite", dbPath, heartbeatInterval: 200 });
  const other = new Cluster({ n: 0, profileDir: t.dir, db: "sqlite", dbPath });
  try {
    const hanging = t.rc.view(0).apply(() => new Promise(() => {}));
    assert.equal((await t.rc.queueStatus(0))[0]?.queue, 1);
    await t.rc.close();
    process.kill(t.cluster.controller?.pid as number, "SIGKILL");
    await assert.rejects(other.startController(), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError, String(error));
      assert.match(
        (error as Error).message,
        new RegExp(`task database ${dbPath} belongs to cluster ${t.cluster.clusterId}, not ${other.clusterId}`),
      );
      assert.match((error as Error).message, /or give another --db-path/);
      return true;
    });
    await t.cluster.startController();
    const rc = await t.cluster.connectClient();
    try {
      await assert.rejects(rc.getResult(hanging.msgIds[0] as string), (error: unknown) => {
        assert.ok(error instanceof ControllerLostError, String(error));
        assert.match((error as Error).message, /started again without --restore/);
        return true;
      });
    } finally {
      await rc.close();
    }
  } finally {
    await other.stop();
    await t.stop();
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test("the SQLite file and its -wal and -shm files are readable by their owner only, wherever --db-path puts them", async () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-db-"));
  fs.chmodSync(outside, 0o755);
  const dbPath = path.join(outside, "tasks.sqlite");
  // A companion left by an earlier run with a wide mode is narrowed too.
  fs.writeFileSync(`${dbPath}-shm`, "", { mode: 0o644 });
  const previous = process.umask(0o022);
  let t: Awaited<ReturnType<typeof startTestCluster>> | undefined;
  try {
    t = await startTestCluster({ n: 1, db: "sqlite", dbPath });
    assert.equal(await t.rc.view(0).apply((x: string) => x, "secret argument"), "secret argument");
    for (const file of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) {
      assert.equal((fs.statSync(file).mode & 0o777).toString(8), "600", file);
    }
  } finally {
    process.umask(previous);
    await t?.stop();
    fs.rmSync(outside, { recursive: true, force: true });
  }
});
