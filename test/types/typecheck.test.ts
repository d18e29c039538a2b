// The whole project typechecks under the test configuration: sources, examples, benchmarks,
// tests, and the type tests in this folder, whose `@ts-expect-error` lines must each fail.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

const root = path.resolve(import.meta.dirname, "../..");

test("tsc -p tsconfig.test.json reports no error (the type tests in test/types included)", () => {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  // Incremental, with the build info outside the checkout: a rerun checks only what changed.
  const buildInfo = path.join(os.tmpdir(), `parallax-tsc-${createHash("sha256").update(root).digest("hex").slice(0, 12)}.tsbuildinfo`);
  const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.test.json", "--incremental", "--tsBuildInfoFile", buildInfo], {
    cwd: root,
    encoding: "utf8",
  });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
});
