// zeromq.js's addon loader, found without Node's package-exports resolver, is the file Node
// finds, and Node's CommonJS loader takes it from its path cache when zeromq.js asks for it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { zeromqLoaderResolution } from "../../src/transport/zeromq-resolve.js";

const require = createRequire(import.meta.url);

test("zeromq.js's addon loader is found where Node's resolver finds it", () => {
  const resolution = zeromqLoaderResolution();
  assert.ok(resolution, "found");
  const byNode = createRequire(require.resolve("zeromq")).resolve("cmake-ts/build/loader");
  assert.equal(resolution.file, byNode);
  assert.ok(resolution.key.startsWith("cmake-ts/build/loader\0"));
});

test("Node's loader takes zeromq.js's addon loader from the entry the resolution puts in its path cache", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-zeromq-resolve-"));
  try {
    // A stand-in loader under the same cache key: zeromq.js loads it only if the key is Node's.
    const standIn = path.join(dir, "loader.cjs");
    const real = createRequire(require.resolve("zeromq")).resolve("cmake-ts/build/loader");
    fs.writeFileSync(standIn, `globalThis.standInLoaded = true;\nmodule.exports = require(${JSON.stringify(real)});\n`);
    const script = `
      import Module, { createRequire } from "node:module";
      const { zeromqLoaderResolution } = await import(${JSON.stringify(pathToFileURL(path.resolve("src/transport/zeromq-resolve.ts")).href)});
      Module._pathCache[zeromqLoaderResolution().key] = ${JSON.stringify(standIn)};
      const zmq = createRequire(${JSON.stringify(import.meta.url)})("zeromq");
      console.log(JSON.stringify({ standIn: globalThis.standInLoaded === true, works: typeof zmq.Dealer === "function" }));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    assert.deepEqual(JSON.parse(out), { standIn: true, works: true });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
