import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Cluster } from "../../src/index.js";

test("a controller given a --heap-growth that is not a whole percentage refuses to start and says why", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-test-"));
  const cluster = new Cluster({ n: 1, profileDir: dir, controllerArgs: ["--heap-growth", "half"] });
  try {
    await assert.rejects(cluster.startController(), /--heap-growth must be an integer >= 0, got "half"/);
  } finally {
    await cluster.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
