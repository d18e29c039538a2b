/**
 * Finds, before zeromq.js loads, the one module it requires through a package's `exports` map
 * (cmake-ts's addon loader, `require("cmake-ts/build/loader")`), and hands the answer to Node's
 * CommonJS path cache. The first `exports` resolution of a process costs Node 20 about 5 ms of
 * CPU (its resolver's functions and case-insensitive regular expressions compiled on first
 * use; 8–15 ms on a loaded 2-core machine), which every engine of a host paid at start for this
 * one file: as much as its own modules. Found here, it costs a few file checks. When anything
 * differs from what this expects (another layout of cmake-ts, a Node without that cache), it
 * does nothing, and Node resolves the module as before.
 */
import fs from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";

/** What zeromq.js asks for, and where cmake-ts's `exports` map sends it under the `require` condition. */
const REQUEST = "cmake-ts/build/loader";
const EXPORTED_AS = { key: "./build/*", target: "./build/*.js", file: "build/loader.js" } as const;

/** Node's CommonJS resolver internals this relies on (stable since Node 12, undocumented). */
interface ModuleInternals {
  _pathCache?: Record<string, string>;
  _nodeModulePaths?: (from: string) => string[];
  globalPaths?: string[];
}

/**
 * The file `require("cmake-ts/build/loader")` loads from zeromq.js's own modules, found as
 * Node would, and the key of Node's path cache for that request; undefined when it cannot be
 * found that way.
 */
export function zeromqLoaderResolution(): { key: string; file: string } | undefined {
  const internals = Module as unknown as ModuleInternals;
  if (typeof internals._nodeModulePaths !== "function" || !Array.isArray(internals.globalPaths)) return undefined;
  let zeromqDir: string;
  try {
    // zeromq.js has no `exports` map: this is the cheap, classic resolution.
    zeromqDir = path.dirname(createRequire(import.meta.url).resolve("zeromq"));
  } catch {
    return undefined;
  }
  // The lookup paths Node builds for a bare request from a module in zeromqDir.
  const paths = [...internals._nodeModulePaths(zeromqDir), ...internals.globalPaths];
  const found = paths.map((dir) => path.join(dir, "cmake-ts")).find((dir) => fs.existsSync(path.join(dir, "package.json")));
  if (found === undefined) return undefined;
  const file = path.join(found, EXPORTED_AS.file);
  if (exportedTarget(found) !== EXPORTED_AS.target || !fs.existsSync(file)) return undefined;
  return { key: `${REQUEST}\x00${paths.join("\x00")}`, file: fs.realpathSync(file) };
}

/** What cmake-ts's `exports` map gives for `./build/*` under `require`, if it reads as expected. */
function exportedTarget(packageDir: string): unknown {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as {
      exports?: Record<string, { require?: unknown } | undefined>;
    };
    return manifest.exports?.[EXPORTED_AS.key]?.require;
  } catch {
    return undefined;
  }
}

/** Puts the resolution of zeromq.js's addon loader in Node's path cache (see the module's comment). */
export function preresolveZeromqLoader(): void {
  const cache = (Module as unknown as ModuleInternals)._pathCache;
  if (cache === null || typeof cache !== "object") return;
  const resolution = zeromqLoaderResolution();
  if (resolution !== undefined) cache[resolution.key] ??= resolution.file;
}

// The modules that load zeromq.js import this one first, so that this runs before it loads.
preresolveZeromqLoader();
