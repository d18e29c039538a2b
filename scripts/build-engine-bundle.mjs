#!/usr/bin/env node
// Bundles what an engine process loads at start (dist/src/engine/child.js and the modules it
// imports) into one CommonJS file beside it, dist/src/engine/child.cjs, which the supervisor
// starts. Every engine of a host pays for its start: an ES module entry makes Node load and run
// its ES module loader (resolution, module jobs, file reads through fs/promises) before the
// engine's first line, which cost about as much CPU as the engine's own modules; one CommonJS
// file needs none of it. Packages stay outside the bundle (ZeroMQ loads a native addon).
// Run after tsc: node scripts/build-engine-bundle.mjs
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const engineDir = fileURLToPath(new URL("../dist/src/engine/", import.meta.url));

await build({
  entryPoints: [`${engineDir}child.js`],
  outfile: `${engineDir}child.cjs`,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  packages: "external",
  // The bundle sits beside child.js, so addresses made from import.meta.url (the task thread's
  // entry, the engine's own sources in stack traces) are the same as in the modules it holds.
  define: { "import.meta.url": "__engineBundleUrl" },
  banner: { js: '"use strict";\nconst __engineBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: "linked",
  logLevel: "warning",
  // Anything else of import.meta (empty in CommonJS) would fail at run time: refuse it here.
  logOverride: { "empty-import-meta": "error" },
});
console.log(`engine bundle: ${engineDir}child.cjs`);
