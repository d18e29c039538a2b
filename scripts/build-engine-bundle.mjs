#!/usr/bin/env node
// Bundles what an engine process loads at start (dist/src/engine/child.js and the modules it
// imports) into one CommonJS file beside it, dist/src/engine/child.cjs, which the supervisor
// starts, and the engine's task thread (task-worker.js) into task-worker.cjs, which the engine
// starts with its first task. Every engine of a host pays for its start: an ES module entry makes
// Node load and run its ES module loader (resolution, module jobs, file reads through
// fs/promises, which start libuv's thread pool) before the entry's first line, which cost about
// as much CPU as the engine's own modules, and in the task thread about 1.5 MB of memory; one
// CommonJS file needs none of it. Packages stay outside the bundles (ZeroMQ loads a native addon).
// Run after tsc: node scripts/build-engine-bundle.mjs
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const engineDir = fileURLToPath(new URL("../dist/src/engine/", import.meta.url));

await build({
  entryPoints: [`${engineDir}child.js`, `${engineDir}task-worker.js`],
  outdir: engineDir,
  outExtension: { ".js": ".cjs" },
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  packages: "external",
  // The bundles sit beside the modules they hold, so addresses made from import.meta.url (the
  // task thread's entry, the engine's own sources in stack traces) are the same as in those.
  define: { "import.meta.url": "__engineBundleUrl" },
  banner: { js: '"use strict";\nconst __engineBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: "linked",
  logLevel: "warning",
  // Anything else of import.meta (empty in CommonJS) would fail at run time: refuse it here.
  logOverride: { "empty-import-meta": "error" },
});
console.log(`engine bundles: ${engineDir}child.cjs, ${engineDir}task-worker.cjs`);
