import assert from "node:assert/strict";
import { test } from "node:test";
import { runsUnderTsx, typeScriptLoaderArgs } from "../../src/engine/typescript-loader.js";

test("the TypeScript loader of the client's process is passed on to cluster processes, nothing else", () => {
  assert.deepEqual(typeScriptLoaderArgs(["--import", "tsx"]), ["--import", "tsx"]);
  assert.deepEqual(typeScriptLoaderArgs(["--import=tsx/esm", "--max-old-space-size=512"]), ["--import", "tsx/esm"]);
  // What the tsx command starts Node with.
  const cli = ["--require", "/p/node_modules/tsx/dist/preflight.cjs", "--import", "file:///p/node_modules/tsx/dist/loader.mjs"];
  assert.deepEqual(typeScriptLoaderArgs(cli), cli);
  assert.deepEqual(typeScriptLoaderArgs(["--experimental-strip-types", "--inspect"]), ["--experimental-strip-types"]);
  assert.deepEqual(typeScriptLoaderArgs(["--import", "./otel.js", "-r", "dotenv/config", "--loader", "mytsx-loader"]), []);
  assert.deepEqual(typeScriptLoaderArgs(["--import"]), []);
  assert.equal(runsUnderTsx(cli), true);
  assert.equal(runsUnderTsx(["--experimental-strip-types"]), false);
});
