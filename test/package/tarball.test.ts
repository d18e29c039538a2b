// The published package, as `npm pack` would make it: a licence, the compiled library with
// source maps that resolve, no benchmarks or examples, and only dependencies that are used.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = path.resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

/** The tarball's file list; the build is not re-run (dist/ comes from `npm install` or `npm run build`). */
function packedFiles(): string[] {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const out = execFileSync(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [report] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
  return (report?.files ?? []).map((f) => f.path);
}

test("npm pack: LICENSE, the library and its types, no benchmarks or examples, source maps with their sources", () => {
  const files = packedFiles();
  assert.ok(files.includes("dist/src/index.js"), "dist/src/index.js is packed (run `npm run build` first if dist/ is missing)");
  assert.ok(files.includes("dist/src/index.d.ts"));
  assert.ok(files.includes("dist/src/cli/main.js"), "the parallax command");
  assert.ok(files.includes("viz/assets/graph-page.js"), "the HTML page script");
  assert.ok(files.includes("LICENSE"));
  const licence = fs.readFileSync(path.join(root, "LICENSE"), "utf8");
  assert.match(licence, /^MIT License/);
  assert.match(licence, /Copyright \(c\) \d{4} Parallax contributors/);
  const stray = files.filter((f) => /^dist\/(bench|examples|test)\//.test(f) || f.startsWith("test/") || f.startsWith("bench/"));
  assert.deepEqual(stray, [], "nothing but the library is packed");
  const maps = files.filter((f) => f.endsWith(".js.map"));
  assert.ok(maps.length > 10, `source maps are packed (${maps.length})`);
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(fs.readFileSync(path.join(root, map), "utf8")) as {
      sources: string[];
      sourcesContent?: Array<string | null>;
    };
    const unresolved = sources.filter(
      (source, i) => typeof sourcesContent?.[i] !== "string" && !files.includes(path.posix.join(path.posix.dirname(map), source)),
    );
    assert.deepEqual(unresolved, [], `${map} points at sources that are neither inlined nor packed`);
  }
});

test("every runtime dependency is imported by the library; better-sqlite3 is optional", () => {
  assert.equal(pkg.dependencies["better-sqlite3"], undefined);
  assert.ok(pkg.optionalDependencies?.["better-sqlite3"], "better-sqlite3 is an optional dependency");
  const sources = ["src", "viz"].flatMap((dir) =>
    fs
      .readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts") && !f.startsWith("browser"))
      .map((f) => fs.readFileSync(path.join(root, dir, f), "utf8")),
  );
  const unused = Object.keys(pkg.dependencies).filter(
    (name) => !sources.some((text) => text.includes(`from "${name}"`) || text.includes(`import("${name}")`)),
  );
  assert.deepEqual(unused, [], "runtime dependencies that nothing imports");
});
