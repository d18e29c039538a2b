/**
 * A machine without Chromium, mpiexec, sshd or Slurm passes `npm test`: the tests that need
 * them skip and say how to install them. CI sets PARALLAX_REQUIRE_SYSTEM_DEPS=1, which turns
 * each such skip into a failure. Checked by running real test files with a component hidden.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";

const ROOT = path.join(import.meta.dirname, "../..");

/** Runs one test file with extra environment variables; its exit code and TAP output. */
async function runTestFile(file: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  // A test run of its own, not a subtest of this one's runner.
  const { NODE_TEST_CONTEXT: _runner, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", file], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, out };
}

const NO_CHROMIUM = { PARALLAX_CHROMIUM: "/nonexistent/chromium" };
// mpiexec is looked for on PATH: an empty one hides it (Node itself is found by its full path).
const NO_MPI = { PATH: "/nonexistent" };

test("without Chromium the browser tests skip, saying how to install it", async () => {
  const { code, out } = await runTestFile("test/integration/viz-html.test.ts", { ...NO_CHROMIUM, PARALLAX_REQUIRE_SYSTEM_DEPS: "" });
  assert.equal(code, 0, out);
  assert.match(out, /# SKIP needs Chromium at \/nonexistent\/chromium \(apt-get install chromium, or set PARALLAX_CHROMIUM/);
  assert.match(out, /# pass 0\n# fail 0\n# cancelled 0\n# skipped 4/);
});

test("with PARALLAX_REQUIRE_SYSTEM_DEPS=1 a missing Chromium fails the browser tests", async () => {
  const { code, out } = await runTestFile("test/integration/viz-html.test.ts", { ...NO_CHROMIUM, PARALLAX_REQUIRE_SYSTEM_DEPS: "1" });
  assert.notEqual(code, 0);
  assert.match(out, /needs Chromium .* \(PARALLAX_REQUIRE_SYSTEM_DEPS=1: a missing system component fails the test\)/);
  assert.match(out, /# skipped 0/);
});

test("without mpiexec the MPI tests skip, and fail with PARALLAX_REQUIRE_SYSTEM_DEPS=1", async () => {
  const skipped = await runTestFile("test/launchers/mpi.test.ts", { ...NO_MPI, PARALLAX_REQUIRE_SYSTEM_DEPS: "" });
  assert.equal(skipped.code, 0, skipped.out);
  assert.match(skipped.out, /# SKIP needs mpiexec on PATH \(apt-get install openmpi-bin; see scripts\/ci-system-deps\.sh\)/);
  const required = await runTestFile("test/launchers/mpi.test.ts", { ...NO_MPI, PARALLAX_REQUIRE_SYSTEM_DEPS: "1" });
  assert.notEqual(required.code, 0);
  assert.match(required.out, /needs mpiexec on PATH .*PARALLAX_REQUIRE_SYSTEM_DEPS=1/);
});
