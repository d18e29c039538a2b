#!/usr/bin/env node
// Runs every test file under test/ with node:test through tsx. Node 20's --test does not
// expand globs, so the files are listed here. Extra arguments narrow the run to matching paths.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

function collect(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return collect(full);
    return entry.name.endsWith(".test.ts") ? [full] : [];
  });
}

const filters = process.argv.slice(2);
const files = collect("test")
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  process.exit(1);
}
const concurrency = process.env.PARALLAX_TEST_CONCURRENCY ?? "2";
// Node 20 applies --test-timeout to each file as a whole: a file of thirty fault scenarios on
// a busy two-core machine needs minutes, so the bound is ten minutes a file, not two.
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, "--test-timeout=600000", ...files],
  {
    stdio: "inherit",
    env: {
      ...process.env,
      PARALLAX_DIR: process.env.PARALLAX_DIR ?? fs.mkdtempSync(path.join((await import("node:os")).tmpdir(), "parallax-test-")),
    },
  },
);
process.exit(result.status ?? 1);
