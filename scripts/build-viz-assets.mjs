#!/usr/bin/env node
// Bundles the browser scripts into viz/assets/: graph-page.js (the HTML task-graph page:
// viz/browser/graph-page.ts with dagre-d3-es, d3 and the shared view code), which visualize()
// inlines into every HTML page it writes, and dashboard.js (viz/browser/dashboard.ts, no
// library), which the controller inlines into the live dashboard. No page needs a CDN.
// Usage: node scripts/build-viz-assets.mjs
import { build } from "esbuild";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = `${root}viz/assets`;

const result = await build({
  entryPoints: [`${root}viz/browser/graph-page.ts`, `${root}viz/browser/dashboard.ts`],
  outdir,
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["chrome100", "firefox100", "safari15"],
  minify: true,
  // The bundle is redistributed inside every page, so the d3, lodash and dagre licence
  // notices travel with it.
  legalComments: "eof",
  charset: "utf8",
  metafile: true,
  logLevel: "warning",
});

// The bundles are inlined in <script> elements: these sequences would end or derail them.
for (const [outfile, output] of Object.entries(result.metafile.outputs)) {
  const code = await readFile(outfile, "utf8");
  for (const forbidden of [/<\/script/i, /<!--/]) {
    if (forbidden.test(code)) {
      console.error(`${outfile} contains ${forbidden}, which cannot be inlined in a <script> element`);
      process.exit(1);
    }
  }
  console.log(`viz assets: ${outfile} (${(output.bytes / 1024).toFixed(0)} KiB)`);
}
