#!/usr/bin/env node
// Fails when the files under src/ and viz/ import each other in a cycle. ESLint's import-x/no-cycle
// skips `import type`, but a cycle of types still ties two files together, so this check follows
// every relative import and re-export.
import fs from "node:fs";
import path from "node:path";

const ROOTS = ["src", "viz"];
const SPECIFIER = /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g;

function sourceFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "assets" ? [] : sourceFiles(full);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

function importsOf(file, known) {
  const text = fs.readFileSync(file, "utf8");
  const targets = new Set();
  for (const match of text.matchAll(SPECIFIER)) {
    const target = path.join(path.dirname(file), (match[1] ?? "").replace(/\.js$/, ".ts"));
    if (known.has(target)) targets.add(target);
  }
  return [...targets];
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph) {
  const order = new Map();
  const low = new Map();
  const stack = [];
  const found = [];
  const visit = (file) => {
    order.set(file, order.size);
    low.set(file, order.get(file));
    stack.push(file);
    for (const next of graph.get(file)) {
      if (!order.has(next)) visit(next);
      if (stack.includes(next)) low.set(file, Math.min(low.get(file), low.get(next)));
    }
    if (low.get(file) !== order.get(file)) return;
    const component = stack.splice(stack.indexOf(file));
    if (component.length > 1) found.push(component.sort());
  };
  for (const file of graph.keys()) if (!order.has(file)) visit(file);
  return found;
}

const files = ROOTS.flatMap(sourceFiles);
const known = new Set(files);
const graph = new Map(files.map((file) => [file, importsOf(file, known)]));
const found = cycles(graph);
for (const component of found) console.error(`import cycle: ${component.join(" <-> ")}`);
process.exit(found.length === 0 ? 0 : 1);
