// The whole project typechecks under the test configuration: sources, examples, benchmarks,
// tests, and the type tests in this folder, whose `@ts-expect-error` lines must each fail.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { test } from "node:test";

test("tsc -p tsconfig.test.json reports no error (the type tests in test/types included)", () => {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.test.json"], { encoding: "utf8" });
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
});
