/**
 * Option objects are checked, in every layer, against the names a method knows, so a misspelt
 * or unsupported option fails at once instead of being silently ignored. Defaults are resolved
 * once per options type, as piscina does: `XOptions` (what users write, every field optional),
 * `FilledXOptions` (what the code reads, defaults in place) and one `kDefaultXOptions` table,
 * the only place a default is written.
 */

/**
 * `given` over `defaults`: each option given (and not `undefined`) replaces its default. The
 * result is a new object; neither argument changes.
 */
export function fillDefaults<G extends object, D extends object>(defaults: D, given: G): G & D {
  const filled = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) if (value !== undefined) filled[key] = value;
  return filled as G & D;
}

/** Throws a TypeError naming `where` when `options` is not an object or has a key outside `known`. */
export function checkOptions(options: unknown, known: readonly string[], where: string): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(
      `${where}: options must be an object, got ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`${where}: unknown option ${JSON.stringify(key)} (valid: ${known.join(", ")})`);
  }
}

/** Throws a TypeError naming `where`, the option and the value when `options[name]` is set but not a boolean. */
export function checkBooleans<O extends object>(options: O, names: ReadonlyArray<keyof O & string>, where: string): void {
  for (const name of names) {
    const value: unknown = options[name];
    if (value !== undefined && typeof value !== "boolean")
      throw new TypeError(`${where}: ${name} must be a boolean, got ${JSON.stringify(value)}`);
  }
}

/** When a wait returns, as in `concurrent.futures.wait`. */
export type ReturnWhen = "FIRST_COMPLETED" | "FIRST_EXCEPTION" | "ALL_COMPLETED";

const RETURN_WHEN: readonly ReturnWhen[] = ["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"];

/** Validates a `returnWhen` value (default ALL_COMPLETED). */
export function checkReturnWhen(value: unknown, where: string): ReturnWhen {
  if (value === undefined) return "ALL_COMPLETED";
  if (!RETURN_WHEN.includes(value as ReturnWhen)) {
    throw new RangeError(`${where}: returnWhen must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${JSON.stringify(value)}`);
  }
  return value as ReturnWhen;
}
