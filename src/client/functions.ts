/**
 * Ways to name the code a task runs besides a plain function: `fromModule` (an export of a
 * module the engine imports) and functional dependencies (`depend`, `requireModules`) that run
 * a check on the engine first and send the task elsewhere when it fails.
 */
import path from "node:path";
import { CAN_KEY, canCallable, isIdentifier, marker } from "../protocol/canning.js";
import type { ArgumentsOf, CannedModule, CannedSource, FunctionRef, ReturnOf, TaskFunction } from "../protocol/canning.js";
import { taskName } from "../protocol/task-name.js";

/**
 * Names a function by module and export; the engine imports the module. Give the function's
 * type to have calls infer: `fromModule<typeof import("./tasks.js").heavy>("./tasks.js", "heavy")`.
 */
export function fromModule<F extends (...args: never[]) => unknown = (...args: unknown[]) => unknown>(
  modulePath: string,
  exportName = "default",
): CannedModule & FunctionRef<ArgumentsOf<F>, ReturnOf<F>> {
  if (typeof modulePath !== "string" || modulePath === "") throw new TypeError("fromModule: path must be a non-empty string");
  if (typeof exportName !== "string" || exportName === "") throw new TypeError("fromModule: exportName must be a non-empty string");
  // Relative paths are resolved here, where the user wrote them; bare specifiers on the engine.
  const resolved = modulePath.startsWith(".") ? path.resolve(modulePath) : modulePath;
  return marker<CannedModule>({ [CAN_KEY]: "module", path: resolved, exportName });
}

/** A task function wrapped with a check that must pass on the engine; calls infer as the wrapped function's. */
export type DependentFunction<A extends unknown[] = unknown[], R = unknown> = CannedSource & FunctionRef<A, R>;

function literal(args: readonly unknown[], what: string): string {
  try {
    const text = JSON.stringify(args);
    if (text === undefined) throw new Error("not JSON");
    return text;
  } catch {
    throw new TypeError(`${what}: check arguments must be JSON values`);
  }
}

function callableSource(fn: unknown, what: string): string {
  const canned = canCallable(fn, what);
  if (canned[CAN_KEY] === "source") return canned.src;
  return `(async (...a) => { const m = await import(${JSON.stringify(canned.path)}); return m[${JSON.stringify(canned.exportName)}](...a); })`;
}

function wrap<A extends unknown[], R>(
  name: string,
  checkSource: string,
  checkArgs: string,
  fn: unknown,
  description: string,
): DependentFunction<A, R> {
  const body = callableSource(fn, "the dependent function");
  const src = `async function ${name}(...args) {
  const check = (${checkSource});
  const ok = await check(...${checkArgs});
  if (ok === false) throw new UnmetDependency(${JSON.stringify(description)} + " is not met on engine " + engineId);
  return await (${body})(...args);
}`;
  return marker<CannedSource>({ [CAN_KEY]: "source", src, name });
}

/**
 * `depend(check, ...args)(f)`: before `f` runs on an engine, `check(...args)` runs there; if it
 * returns exactly `false` or throws `UnmetDependency`, the scheduler tries another engine.
 */
export function depend<C extends unknown[]>(
  check: (...args: C) => unknown,
  ...args: C
): <F extends TaskFunction>(fn: F) => DependentFunction<ArgumentsOf<F>, ReturnOf<F>> {
  const checkSource = callableSource(check, "depend: the check");
  const checkArgs = literal(args, "depend");
  return (fn) => wrap(`depend_${nameOf(fn)}`, checkSource, checkArgs, fn, `dependency ${nameOf(check)}(${checkArgs.slice(1, -1)})`);
}

/**
 * `requireModules("node:querystring", { _: "lodash" })(f)`: `f` only runs on engines that can
 * load these modules, and finds them bound in the namespace (`querystring`, `_`), as IPython
 * Parallel's `@require` binds what it imports.
 */
export function requireModules(
  ...specs: Array<string | Record<string, string>>
): <F extends TaskFunction>(fn: F) => DependentFunction<ArgumentsOf<F>, ReturnOf<F>> {
  const modules = moduleBindings(specs, "requireModules");
  if (Object.keys(modules).length === 0) throw new TypeError("requireModules: expected one or more module specifiers");
  const check = `async (modules) => {
    try { await __parallax_require_modules__(modules); } catch { return false; }
    return true;
  }`;
  const specifiers = Object.values(modules);
  return (fn) => wrap(`requires_${nameOf(fn)}`, check, literal([modules], "requireModules"), fn, `modules ${specifiers.join(", ")}`);
}

/** Namespace name → specifier, from specifiers (bound under {@link bindingName}) and `{ name: specifier }` objects. */
export function moduleBindings(specs: ReadonlyArray<unknown>, what: string): Record<string, string> {
  const modules: Record<string, string> = {};
  for (const spec of specs) {
    if (typeof spec === "string" && spec !== "") modules[bindingName(spec)] = spec;
    else if (spec !== null && typeof spec === "object" && !Array.isArray(spec)) {
      for (const [name, specifier] of Object.entries(spec)) {
        if (!isIdentifier(name)) throw new TypeError(`${what}: ${JSON.stringify(name)} is not a valid variable name`);
        if (typeof specifier !== "string" || specifier === "")
          throw new TypeError(`${what}: module for ${name} must be a specifier string`);
        modules[name] = specifier;
      }
    } else throw new TypeError(`${what}: expected module specifiers, got ${JSON.stringify(spec)}`);
  }
  return modules;
}

/** `node:os` → `os`, `lodash.merge` → `lodashMerge`, `@scope/my-pkg` → `myPkg`. */
export function bindingName(specifier: string): string {
  const last =
    specifier
      .replace(/^node:/, "")
      .split("/")
      .filter(Boolean)
      .at(-1) ?? specifier;
  const name = last
    .replace(/\.[cm]?js$/, "")
    .replace(/[-.]+(\w)/g, (_m, c: string) => c.toUpperCase())
    .replace(/[^$\w]/g, "_");
  return /^\d/.test(name) ? `_${name}` : name;
}

/** A task's name made fit for an identifier (the wrapper's name). */
function nameOf(fn: unknown): string {
  return taskName(fn, "anonymous").replace(/\W/g, "_");
}
