/**
 * The free variables of a function, read from its source before it is sent: the names it uses
 * but does not declare. An engine checks them against its namespace before the call, so a
 * missing name fails with advice that fits (push a value, load a module) instead of halfway
 * through the function. A parse with acorn, loaded with the first function to parse: an engine's
 * task thread cans only the functions a task returns, and most tasks return none (acorn costs
 * about 0.8 MB in each thread that loads it).
 *
 * The analysis is deliberately conservative: a name declared anywhere inside the function
 * counts as declared everywhere in it, and `typeof name` is not a use, so a name is only
 * reported when no scope of the function could bind it.
 */
import type * as Acorn from "acorn";
import { createRequire } from "node:module";

let acorn: typeof Acorn | undefined;

/** acorn's parser, loaded on first use. */
function parse(...args: Parameters<typeof Acorn.parse>): ReturnType<typeof Acorn.parse> {
  acorn ??= createRequire(import.meta.url)("acorn") as typeof Acorn;
  return acorn.parse(...args);
}

interface AstNode {
  type: string;
  [key: string]: unknown;
}

/** Free names by source text: the same source (a closure made in a loop) is parsed once. */
const cache = new Map<string, readonly string[] | undefined>();
const CACHE_LIMIT = 1000;

/**
 * Names `src` (an expression evaluating to a function) reads without declaring, minus the
 * names in `known` (globals every engine has). Undefined when the source cannot be parsed.
 */
export function freeNames(src: string, known: (name: string) => boolean): readonly string[] | undefined {
  if (!cache.has(src)) {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(src, analyse(src));
  }
  return cache.get(src)?.filter((name) => !known(name));
}

function analyse(src: string): readonly string[] | undefined {
  let program: AstNode;
  try {
    program = parse(`(${src}\n)`, { ecmaVersion: "latest", sourceType: "script" }) as unknown as AstNode;
  } catch {
    return undefined;
  }
  const declared = new Set<string>(["arguments", "undefined", "NaN", "Infinity", "globalThis"]);
  const used = new Set<string>();
  visit(program, declared, used);
  return [...used].filter((name) => !declared.has(name)).sort();
}

function isNode(value: unknown): value is AstNode {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

function children(node: AstNode): AstNode[] {
  const out: AstNode[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === "type" || key === "start" || key === "end") continue;
    if (Array.isArray(value)) out.push(...value.filter(isNode));
    else if (isNode(value)) out.push(value);
  }
  return out;
}

/** Adds the names a binding pattern declares (`a`, `{ a, b: [c] }`, `...rest`, `d = 1`). */
function declarePattern(pattern: unknown, declared: Set<string>): void {
  if (!isNode(pattern)) return;
  switch (pattern.type) {
    case "Identifier":
      declared.add(pattern.name as string);
      break;
    case "ObjectPattern":
      for (const p of pattern.properties as AstNode[]) declarePattern(p.type === "RestElement" ? p.argument : p.value, declared);
      break;
    case "ArrayPattern":
      for (const p of pattern.elements as unknown[]) declarePattern(p, declared);
      break;
    case "RestElement":
      declarePattern(pattern.argument, declared);
      break;
    case "AssignmentPattern":
      declarePattern(pattern.left, declared);
      break;
    default:
      break;
  }
}

function visit(node: AstNode, declared: Set<string>, used: Set<string>): void {
  switch (node.type) {
    case "Identifier":
      used.add(node.name as string);
      return;
    case "VariableDeclarator":
      declarePattern(node.id, declared);
      break;
    case "FunctionDeclaration":
    case "FunctionExpression":
    case "ArrowFunctionExpression":
      declarePattern(node.id, declared);
      for (const p of node.params as AstNode[]) declarePattern(p, declared);
      break;
    case "ClassDeclaration":
    case "ClassExpression":
      declarePattern(node.id, declared);
      break;
    case "CatchClause":
      declarePattern(node.param, declared);
      break;
    case "MemberExpression":
      visit(node.object as AstNode, declared, used);
      if (node.computed) visit(node.property as AstNode, declared, used);
      return;
    case "Property":
    case "MethodDefinition":
    case "PropertyDefinition":
      if (node.computed) visit(node.key as AstNode, declared, used);
      if (isNode(node.value)) visit(node.value, declared, used);
      return;
    case "UnaryExpression":
      // `typeof name` is how code asks whether a name exists: not a use that must succeed.
      if (node.operator === "typeof" && isNode(node.argument) && node.argument.type === "Identifier") return;
      break;
    case "TryStatement":
      // A name used inside `try` may be missing on purpose (feature detection): not reported.
      visit(node.block as AstNode, declared, new Set());
      if (isNode(node.handler)) visit(node.handler, declared, used);
      if (isNode(node.finalizer)) visit(node.finalizer, declared, used);
      return;
    case "LabeledStatement":
      visit(node.body as AstNode, declared, used);
      return;
    case "BreakStatement":
    case "ContinueStatement":
    case "MetaProperty":
      return;
    default:
      break;
  }
  for (const child of children(node)) visit(child, declared, used);
}
