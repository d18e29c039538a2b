#!/usr/bin/env node
// Fails when the files under src/ and viz/ import each other in a cycle, or when their folders do
// (src/controller importing viz while a viz file imports src/controller is an upward import even
// if no two files close a loop). ESLint's import-x/no-cycle skips `import type`, but a cycle of
// types still ties two files together, so this check follows every relative import and re-export.
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

/** The layer a file belongs to: its folder under src/ (src/controller), viz, or a top-level file. */
function folderOf(file) {
  const parts = file.split(path.sep);
  if (parts[0] === "viz") return "viz";
  return parts.length > 2 ? parts.slice(0, 2).join("/") : file;
}

/** The folder graph, with one file import named for each folder edge so a failure says where. */
function foldersOf(graph) {
  const folders = new Map();
  const witness = new Map();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    if (!folders.has(from)) folders.set(from, []);
    for (const target of targets) {
      const to = folderOf(target);
      if (from === to || folders.get(from).includes(to)) continue;
      folders.get(from).push(to);
      witness.set(`${from} ${to}`, `${file} -> ${target}`);
    }
  }
  for (const targets of folders.values()) for (const to of targets) if (!folders.has(to)) folders.set(to, []);
  return { folders, witness };
}

const files = ROOTS.flatMap(sourceFiles);
const known = new Set(files);
const graph = new Map(files.map((file) => [file, importsOf(file, known)]));
const found = cycles(graph);
for (const component of found) console.error(`import cycle: ${component.join(" <-> ")}`);
const { folders, witness } = foldersOf(graph);
const folderCycles = cycles(folders);
for (const component of folderCycles) {
  const edges = component.flatMap((from) =>
    folders
      .get(from)
      .filter((to) => component.includes(to))
      .map((to) => witness.get(`${from} ${to}`)),
  );
  console.error(`folder cycle (an upward import): ${component.join(" <-> ")}\n  ${edges.join("\n  ")}`);
}
process.exit(found.length === 0 && folderCycles.length === 0 ? 0 : 1);
