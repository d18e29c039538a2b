#!/usr/bin/env node
// Bundles the script of the HTML task-graph page (viz/browser/graph-page.ts with dagre-d3-es,
// d3 and the shared view code) into viz/assets/graph-page.js. visualize() inlines that file
// into every HTML page it writes, so the page works offline and needs no CDN.
// Usage: node scripts/build-viz-assets.mjs
import { build } from "esbuild";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outfile = `${root}viz/assets/graph-page.js`;

const result = await build({
  entryPoints: [`${root}viz/browser/graph-page.ts`],
  outfile,
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

// The bundle is inlined in a <script> element: these sequences would end or derail it.
const code = await readFile(outfile, "utf8");
for (const forbidden of [/<\/script/i, /<!--/]) {
  if (forbidden.test(code)) {
    console.error(`${outfile} contains ${forbidden}, which cannot be inlined in a <script> element`);
    process.exit(1);
  }
}
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(`viz assets: ${outfile} (${(bytes / 1024).toFixed(0)} KiB)`);
