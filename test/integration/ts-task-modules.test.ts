// A client running under tsx, with Parallax from its compiled package, names a `.ts` task
// module: the engines get tsx too and import it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

const root = path.resolve(import.meta.dirname, "../..");
const library = path.join(root, "dist/src/index.js");

test("engines import .ts task modules when the client runs under tsx", () => {
  assert.ok(fs.existsSync(library), `${library} is built (run \`npm run build\` first)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-tsx-"));
  try {
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
    fs.writeFileSync(path.join(dir, "tasks.ts"), "export function area(side: number): number {\n  return side * side;\n}\n");
    fs.writeFileSync(
      path.join(dir, "client.ts"),
      `
import { Cluster, fromModule } from ${JSON.stringify(library)};
import type * as Tasks from "./tasks.ts";
await using rc = await Cluster.startAndConnect({ n: 1, profileDir: ${JSON.stringify(path.join(dir, "profile"))} });
const area = fromModule<typeof Tasks.area>(${JSON.stringify(path.join(dir, "tasks.ts"))}, "area");
const value: number = await rc.loadBalancedView().apply(area, 7);
console.log("area=" + value);
`,
    );
    const run = spawnSync(process.execPath, ["--import", "tsx", path.join(dir, "client.ts")], {
      cwd: root,
      encoding: "utf8",
      timeout: 90_000,
      env: { ...process.env, PARALLAX_NODE_ARGS: "" },
    });
    assert.equal(run.status, 0, `the client failed:\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /^area=49$/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
