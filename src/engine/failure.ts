/**
 * What a failed task reports: the error's name and message, a stack with only the user's
 * frames, the failing map item, a thrown value that is not an Error, and for an undefined name
 * advice that fits it (a module to load, a value to push or pass, a name to define before a pull).
 */
import { createRequire, isBuiltin } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { thrownToWire } from "../errors.js";
import type { WireError } from "../errors.js";
import type { EngineOp } from "../protocol/contents.js";
import type { ErrorFields } from "./task-thread.js";

/** Parallax's own source folder (src/ or dist/src/): its frames are dropped from remote stacks. */
const OWN_SOURCES = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** `x is not defined`, or the task thread's `x, y are not defined` for names found missing before a call. */
const UNDEFINED_NAMES = /^(\S+(?:, \S+)*) (?:is|are) not defined$/;

/** Where the failure happened, for the message and the advice. */
export interface FailureContext {
  engineId: number;
  /** The engine's working directory: packages resolvable from it count as modules. */
  cwd: string;
  op: EngineOp;
}

/** The error part of a reply for what a task threw. */
export function failureInfo(error: ErrorFields | (Error & { code?: string }), where: FailureContext): WireError {
  const fields = error as ErrorFields;
  const placed = fields.item === undefined ? {} : { item: fields.item };
  if (fields.nonError) {
    return thrownToWire(
      {
        ename: "ThrownValue",
        evalue: error.message,
        engineId: where.engineId,
        ...placed,
        ...("thrown" in fields ? { thrown: fields.thrown } : {}),
        remoteStack: `ThrownValue: ${error.message}\n    (a value that is not an Error was thrown, so there is no stack)`,
      },
      undefined,
    );
  }
  const ename = error.name;
  let evalue = error.message;
  const free = ename === "ReferenceError" ? UNDEFINED_NAMES.exec(evalue) : null;
  if (free) evalue = undefinedNamesMessage((free[1] as string).split(", "), where);
  const remoteStack =
    typeof error.stack === "string" ? userFrames(error.stack, ename, free ? `${ename}: ${evalue}` : undefined) : `${ename}: ${evalue}`;
  return thrownToWire(
    { ename, evalue, remoteStack, engineId: where.engineId, ...placed },
    typeof error.code === "string" ? error.code : undefined,
  );
}

/** "x is not defined on engine 0: …" with advice for values, modules, or names to pull. */
function undefinedNamesMessage(names: readonly string[], where: FailureContext): string {
  const head = `${names.join(", ")} ${names.length === 1 ? "is" : "are"} not defined on engine ${where.engineId}`;
  if (where.op === "pull") {
    return (
      `${head}: pull reads the engine's namespace, and nothing by ${names.length === 1 ? "that name" : "those names"} was pushed, ` +
      `scattered or assigned there; push it first (view.push({ ${names[0]}: value })) or define it with view.execute(…)`
    );
  }
  if (where.op !== "call" && where.op !== "map")
    return `${head}: push it first (view.push({ ${names[0]}: value })) or define it with view.execute(…)`;
  const advice = names.map((name) => {
    const module = moduleSpecifier(name, where.cwd);
    const text =
      module === undefined
        ? `push it first (view.push({ ${name} })) or pass it as an argument`
        : `it looks like the module ${module}: load it inside the function (require(${JSON.stringify(module)}) or ` +
          `await import(${JSON.stringify(module)})), bind it on the engines with view.requireModules(${JSON.stringify(module)}) or ` +
          `requireModules(${JSON.stringify(module)})(fn), or name the function by module with fromModule(file, exportName)`;
    return names.length === 1 ? text : `${name}: ${text}`;
  });
  return `${head}: functions run in the engine's namespace, not in the scope where they were written, so ${advice.join("; ")}`;
}

/** The module a free name most likely stands for (a Node built-in or a package the engine can load). */
function moduleSpecifier(name: string, cwd: string): string | undefined {
  if (isBuiltin(name)) return `node:${name}`;
  try {
    createRequire(path.join(cwd, "noop.js")).resolve(name);
    return name;
  } catch {
    return undefined;
  }
}

/** A stack without Parallax's own frames (engine, task thread, vm and Node internals). */
function userFrames(stack: string, ename: string, firstLine: string | undefined): string {
  let lines = stack.split("\n");
  // vm may prefix the stack with the failing source line and a caret: the stack starts after it.
  const start = lines.findIndex((line) => line.startsWith(ename));
  if (start > 0) lines = lines.slice(start);
  const kept = lines.filter(
    (line) => !/^\s+at /.test(line) || !(line.includes(OWN_SOURCES) || /[( ](node:internal|node:vm|parallax:)/.test(line)),
  );
  // A message rewritten with advice (undefined names) is shown as rewritten.
  if (firstLine !== undefined) kept[0] = firstLine;
  return kept.join("\n");
}
