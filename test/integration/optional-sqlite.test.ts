// better-sqlite3 is optional: only `--db sqlite` loads it, and without it the controller
// stops with a ConfigurationError that says how to install it. Other databases never need it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { CONFIGURATION_EXIT_CODE } from "../../src/connection/profile.js";

const root = path.resolve(import.meta.dirname, "../..");
const hide = path.join(root, "test/fixtures/without-better-sqlite3.mjs");

/** Runs a controller in a process where better-sqlite3 cannot be found; resolves once it wrote its connection file or exited. */
function controllerWithoutSqlite(db: string, dir: string): Promise<{ code: number | null; stderr: string; started: boolean }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--import", hide, path.join(root, "src/controller/main.ts"), "--profile-dir", dir, "--cluster-id", "c", "--db", db],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const clientFile = path.join(dir, "security", "client-c.json");
  let started = false;
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (!fs.existsSync(clientFile)) return;
      clearInterval(poll);
      started = true;
      child.kill("SIGTERM");
    }, 20);
    child.once("exit", (code) => {
      clearInterval(poll);
      resolve({ code, stderr, started });
    });
  });
}

test("without better-sqlite3, --db sqlite fails naming the fix; --db memory does not need it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-test-"));
  try {
    const sqlite = await controllerWithoutSqlite("sqlite", path.join(dir, "a"));
    assert.equal(sqlite.code, CONFIGURATION_EXIT_CODE, "a ConfigurationError: the exit code of a configuration problem");
    assert.equal(sqlite.started, false);
    assert.match(
      sqlite.stderr,
      /sqlite task database .* needs the optional package better-sqlite3, which could not be loaded \(Cannot find package 'better-sqlite3'/,
    );
    assert.match(sqlite.stderr, /npm install better-sqlite3/);
    const memory = await controllerWithoutSqlite("memory", path.join(dir, "b"));
    assert.equal(memory.started, true, `a memory controller starts without better-sqlite3:\n${memory.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
