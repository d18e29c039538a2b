/**
 * The name a task is shown under: in graph nodes, result labels, engine logs and the dashboard.
 * One derivation, so that a task keeps its name from the client's graph to the controller's
 * dashboard whatever form its callable takes on the way (a live function, a canned one, or a
 * `fromModule` reference).
 */

/**
 * A function's own name, a canned function's `name`, or a module reference's `exportName`;
 * `fallback` (else undefined) when there is none, as for an anonymous arrow function.
 */
export function taskName(fn: unknown): string | undefined;
export function taskName(fn: unknown, fallback: string): string;
export function taskName(fn: unknown, fallback?: string): string | undefined {
  if (typeof fn === "function") return fn.name || fallback;
  if (fn !== null && typeof fn === "object") {
    const { name, exportName } = fn as { name?: unknown; exportName?: unknown };
    if (typeof name === "string" && name !== "") return name;
    if (typeof exportName === "string" && exportName !== "") return exportName;
  }
  return fallback;
}
