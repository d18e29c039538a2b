/**
 * The engine's persistent namespace: one `vm.Context` seeded with Node's globals, where sent
 * functions are compiled (so their free variables resolve here) and executed code leaves its
 * declarations for later calls, as in a REPL.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import util from "node:util";
import vm from "node:vm";
import type { Canned, CannedModule, CannedSource } from "../protocol/canning.js";

// Node's globals that a fresh context lacks; the context brings its own built-ins (Array, JSON…).
const HOST_GLOBALS = [
  "process",
  "Buffer",
  "console",
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
  "setImmediate",
  "clearImmediate",
  "queueMicrotask",
  "structuredClone",
  "fetch",
  "Headers",
  "Request",
  "Response",
  "FormData",
  "URL",
  "URLSearchParams",
  "TextEncoder",
  "TextDecoder",
  "AbortController",
  "AbortSignal",
  "EventTarget",
  "Event",
  "performance",
  "crypto",
  "atob",
  "btoa",
  "Blob",
  "MessageChannel",
  "BroadcastChannel",
] as const;

// Dynamic import() inside context code goes through the main loader. The constant exists on
// Node 20.19+ but is missing from @types/node 20.
const importLoader = (vm.constants as Record<string, unknown> | undefined)?.USE_MAIN_CONTEXT_DEFAULT_LOADER as
  vm.ScriptOptions["importModuleDynamically"] | undefined;

/**
 * Binds Node's global `name` in `sandbox` when code first reads it: several are getters that
 * load a library on first use (`Headers`, `Request`, `Response` and `FormData` load the fetch
 * implementation, about 7 MB per thread), which an engine whose tasks never touch them should
 * not pay for. Read or assigned, the binding becomes a plain writable global.
 */
function bindLazily(sandbox: Record<string, unknown>, name: string): void {
  const settle = (value: unknown): unknown => {
    Object.defineProperty(sandbox, name, { value, writable: true, enumerable: true, configurable: true });
    return value;
  };
  Object.defineProperty(sandbox, name, {
    get: () => settle((globalThis as Record<string, unknown>)[name]),
    set: settle,
    enumerable: true,
    configurable: true,
  });
}

/** Extra names bound in a fresh namespace (engine id, MPI rank…). */
export type NamespaceSeed = Record<string, unknown>;

/** One engine's namespace and its compile caches. */
export class Namespace {
  private context!: vm.Context;
  private readonly compiled = new Map<string, Function>();
  private readonly modules = new Map<string, unknown>();
  private readonly checkers = new Map<string, () => string[]>();

  constructor(
    private readonly cwd: string,
    private readonly seed: NamespaceSeed = {},
  ) {
    this.reset();
  }

  /** Drops every user binding and compiled function: a fresh namespace. */
  reset(): void {
    const sandbox: Record<string, unknown> = {};
    for (const name of HOST_GLOBALS) if (name in globalThis) bindLazily(sandbox, name);
    sandbox.require = createRequire(path.join(this.cwd, "noop.js"));
    // esbuild (tsx, vitest) wraps named functions in __name(...); engines must provide it.
    sandbox.__name = (target: object, value: string) => Object.defineProperty(target, "name", { value, configurable: true });
    // Lets users (and tests) see that each distinct source is compiled once.
    sandbox.__parallax_stats__ = () => ({ compiled: this.compiled.size, modules: this.modules.size });
    // Functions wrapped with requireModules(...) bind their modules through this.
    sandbox.__parallax_require_modules__ = (modules: Record<string, string>) => this.requireModules(modules);
    Object.assign(sandbox, this.seed);
    this.context = vm.createContext(sandbox, { name: "parallax-engine" });
    vm.runInContext("globalThis.global = globalThis;", this.context);
    this.compiled.clear();
    this.checkers.clear();
  }

  /**
   * Binds values as globals of the namespace. A dotted name (`"a.b"`) sets a property of an
   * existing object instead, as IPython Parallel's `view["a.b"] = value` does.
   */
  push(values: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(values)) {
      const dot = name.lastIndexOf(".");
      if (dot < 0) {
        this.context[name] = value;
        continue;
      }
      const owner = this.evaluate(name.slice(0, dot));
      if (owner === null || (typeof owner !== "object" && typeof owner !== "function")) {
        throw new TypeError(`cannot set ${name}: ${name.slice(0, dot)} is ${owner === null ? "null" : typeof owner}, not an object`);
      }
      (owner as Record<string, unknown>)[name.slice(dot + 1)] = value;
    }
  }

  /**
   * Which of `names` are not defined in the namespace (neither globals nor top-level
   * declarations of executed code). One compiled checker per list of names.
   */
  missingNames(names: readonly string[]): string[] {
    const key = names.join(",");
    let checker = this.checkers.get(key);
    if (checker === undefined) {
      // Reading a name is the only test that sees top-level let/const too; a name in its
      // temporal dead zone exists (its error says so when the function runs).
      const probes = names.map(
        (n) =>
          `try { void ${n}; } catch (e) { if (e instanceof ReferenceError && /is not defined/.test(e.message)) missing.push(${JSON.stringify(n)}); }`,
      );
      checker = this.run(`(() => { const missing = []; ${probes.join(" ")} return missing; })`, "parallax:names") as () => string[];
      this.checkers.set(key, checker);
    }
    return [...checker()];
  }

  /** Evaluates a name or expression in the namespace. */
  evaluate(expression: string): unknown {
    return this.run(expression, `pull:${expression.slice(0, 40)}`);
  }

  /** Runs code as a script in the namespace; returns its completion value (awaited when top-level await is used). */
  async execute(code: string, filename = "execute"): Promise<unknown> {
    let script: vm.Script;
    try {
      script = this.compile(code, filename);
    } catch (error) {
      if (!isTopLevelAwaitError(error)) throw error;
      // Top-level await: run as an async function (its declarations stay local to the call).
      // A single expression keeps its value; a block of statements yields undefined.
      try {
        script = this.compile(`(async () => (\n${code}\n))()`, filename);
      } catch {
        script = this.compile(`(async () => {\n${code}\n})()`, filename);
      }
    }
    return await script.runInContext(this.context);
  }

  /** Turns a canned function into a callable compiled once per distinct source. */
  async resolveFunction(canned: CannedSource | CannedModule): Promise<Function> {
    if (canned.__parallax_can__ === "module") return this.importFunction(canned);
    return this.compileFunction(canned);
  }

  /** Compiles function source in the namespace (cached by source text). */
  compileFunction(canned: CannedSource): Function {
    let fn = this.compiled.get(canned.src);
    if (fn === undefined) {
      const value = this.run(`(${canned.src}\n)`, `remote:${canned.name}`);
      if (typeof value !== "function") throw new TypeError(`sent source of ${canned.name} is not a function`);
      fn = value as Function;
      this.compiled.set(canned.src, fn);
    }
    return fn;
  }

  /** Calls `fn` with `args` (a compiled function, or one imported from a module). */
  invoke(fn: Function, args: readonly unknown[]): unknown {
    return Reflect.apply(fn, undefined, args);
  }

  /** Revives a canned marker found inside arguments or pushed values. */
  revive(canned: Canned): unknown {
    if (canned.__parallax_can__ === "source") return this.compileFunction(canned);
    if (canned.__parallax_can__ === "module") {
      // Module functions nested in data are resolved lazily: calling them imports the module.
      return async (...args: unknown[]) => Reflect.apply(await this.importFunction(canned), undefined, args);
    }
    return canned;
  }

  /** Loads modules and binds them under the given names (`requireModules`). */
  async requireModules(modules: Record<string, string>): Promise<string[]> {
    const bound: string[] = [];
    for (const [name, specifier] of Object.entries(modules)) {
      this.context[name] = await this.loadModule(specifier);
      bound.push(name);
    }
    return bound;
  }

  /** Number of distinct function sources compiled since the last reset. */
  get compiledCount(): number {
    return this.compiled.size;
  }

  private async importFunction(canned: CannedModule): Promise<Function> {
    const module = (await this.loadModule(canned.path)) as Record<string, unknown>;
    const fn = module[canned.exportName] ?? (canned.exportName === "default" ? module : undefined);
    if (typeof fn !== "function") {
      throw new TypeError(`module ${canned.path} has no function export named ${canned.exportName}`);
    }
    return fn;
  }

  private async loadModule(specifier: string): Promise<unknown> {
    if (this.modules.has(specifier)) return this.modules.get(specifier);
    const isPath = specifier.startsWith(".") || path.isAbsolute(specifier);
    const target = isPath ? pathToFileURL(path.resolve(this.cwd, specifier)).href : specifier;
    let module: unknown;
    try {
      module = isPath || specifier.startsWith("node:") ? await import(target) : await import(this.resolveBare(specifier));
    } catch (error) {
      throw new Error(`cannot load module ${specifier} on this engine (cwd ${this.cwd}): ${(error as Error).message}`, { cause: error });
    }
    this.modules.set(specifier, module);
    return module;
  }

  private resolveBare(specifier: string): string {
    // Bare specifiers resolve from the engine's working directory, like a script run there.
    const require = createRequire(path.join(this.cwd, "noop.js"));
    try {
      return pathToFileURL(require.resolve(specifier)).href;
    } catch {
      return specifier;
    }
  }

  private compile(code: string, filename: string): vm.Script {
    return new vm.Script(code, { filename, ...(importLoader ? { importModuleDynamically: importLoader } : {}) });
  }

  private run(code: string, filename: string): unknown {
    return this.compile(code, filename).runInContext(this.context);
  }
}

function isTopLevelAwaitError(error: unknown): boolean {
  return error instanceof SyntaxError || (util.types.isNativeError(error) && error.name === "SyntaxError")
    ? /await is only valid|Unexpected reserved word|Unexpected identifier/.test((error as Error).message)
    : false;
}
