// Lint rules: the compiler checks types; these catch what it cannot. Promises left floating,
// type-only imports that would load a module, import cycles (type imports included: a cycle of
// types still makes two files one), imports that point up the layers, Node I/O in the pure folders.
import js from "@eslint/js";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

/** Modules that do I/O: none of them may be imported where code must stay pure. */
const IO_MODULES = ["fs", "net", "http", "https", "child_process", "worker_threads", "dgram", "os", "cluster", "readline", "process"]
  .flatMap((name) => [name, `node:${name}`, `${name}/promises`, `node:${name}/promises`])
  .concat(["zeromq", "better-sqlite3"]);

/**
 * Layers, lowest first: a folder may import its own layer and those below it, never above.
 * `errors.ts` sits below everything; `src/index.ts` (the barrel) and `cli` above everything.
 */
const LAYERS = [
  ["src/protocol", "src/graph"],
  ["src/transport", "src/scheduler", "src/connection"],
  ["src/controller", "src/engine", "src/client"],
  ["src/cluster"],
];

/** import-x zones: for each layer, every folder in a higher layer is off limits. */
function layerZones() {
  const zones = [];
  LAYERS.forEach((layer, index) => {
    const above = LAYERS.slice(index + 1)
      .flat()
      .concat(["src/cli", "src/index.ts"]);
    for (const target of layer) {
      zones.push({ target: `./${target}`, from: above.map((f) => `./${f}`), message: `${target} must not import from a higher layer` });
    }
  });
  // Processes of the same layer talk over the wire, not through imports.
  for (const [target, others] of [
    ["src/controller", ["src/engine", "src/client"]],
    ["src/engine", ["src/controller", "src/client"]],
    ["src/client", ["src/controller", "src/engine"]],
  ]) {
    zones.push({
      target: `./${target}`,
      from: others.map((f) => `./${f}`),
      message: `${target} talks to the other processes over the wire only`,
    });
  }
  return zones;
}

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "viz/assets/**", "test-artifacts/**", "scratch/**", "**/*.js", "**/*.mjs", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: {
        project: ["./tsconfig.json", "./tsconfig.test.json", "./viz/browser/tsconfig.json"],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver()] },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: ["test", "it", "describe", "suite", "before", "after", "beforeEach", "afterEach"],
            },
          ],
        },
      ],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "separate-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // Functions travel as source text, so `Function` is the honest type of what a user hands us.
      "@typescript-eslint/no-unsafe-function-type": "off",
      // Escaping control characters for XML and DOT output is what those expressions are for.
      "no-control-regex": "off",
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-restricted-paths": ["error", { zones: layerZones() }],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      // Functions sent to engines call the namespace's require(), which is what they must use there.
      "@typescript-eslint/no-require-imports": "off",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "separate-type-imports", disallowTypeAnnotations: false }],
    },
  },
  {
    // Terminal drawing stays at the edge: results get their progress bar from the client.
    files: ["src/**/*.ts"],
    ignores: ["src/client/terminal-progress.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "cli-progress", message: "only src/client/terminal-progress.ts draws on terminals" }] },
      ],
    },
  },
  {
    files: ["src/graph/**/*.ts", "src/protocol/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: IO_MODULES.map((name) => ({ name, message: "src/graph and src/protocol are pure: no I/O" })) },
      ],
      "no-restricted-globals": ["error", { name: "process", message: "src/graph and src/protocol are pure: no process state" }],
    },
  },
);
