/**
 * Checks for launcher options. Each throws a TypeError (wrong type) or RangeError (right type,
 * bad value) whose message names the launcher, the option and the value, so a typo in a
 * cluster configuration is found where it is written rather than when engines fail to start.
 */

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Validates option objects of one launcher (`owner` is its class name, used in messages). */
export class OptionChecker {
  constructor(
    private readonly owner: string,
    private readonly options: Record<string, unknown>,
  ) {}

  /** Checks that `options` is a plain object with only known keys. */
  static of(owner: string, options: unknown, known: readonly string[]): OptionChecker {
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new TypeError(`${owner} options must be an object, got ${show(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) throw new TypeError(`unknown ${owner} option ${JSON.stringify(key)} (valid: ${known.join(", ")})`);
    }
    return new OptionChecker(owner, options as Record<string, unknown>);
  }

  private fail(kind: "type" | "range", name: string, expected: string, value: unknown): never {
    const message = `${this.owner} option ${name} must be ${expected}, got ${show(value)}`;
    throw kind === "type" ? new TypeError(message) : new RangeError(message);
  }

  /** A non-empty string without NUL or newlines (it ends up on command lines and in scripts). */
  string(name: string, pattern?: { test: RegExp; describe: string }): this {
    const value = this.options[name];
    if (value === undefined) return this;
    if (typeof value !== "string") this.fail("type", name, "a string", value);
    if (value === "" || /[\0\r\n]/.test(value)) this.fail("range", name, "a non-empty single-line string", value);
    if (pattern && !pattern.test.test(value)) this.fail("range", name, pattern.describe, value);
    return this;
  }

  /** An array of strings without NUL (each becomes one argument). */
  stringArray(name: string): this {
    const value = this.options[name];
    if (value === undefined) return this;
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) this.fail("type", name, "an array of strings", value);
    const bad = value.find((v) => v.includes("\0"));
    if (bad !== undefined) this.fail("range", name, "strings without NUL characters", bad);
    return this;
  }

  /** An integer no smaller than `min`. */
  integer(name: string, min: number): this {
    const value = this.options[name];
    if (value === undefined) return this;
    if (typeof value !== "number") this.fail("type", name, `an integer >= ${min}`, value);
    if (!Number.isInteger(value) || value < min) this.fail("range", name, `an integer >= ${min}`, value);
    return this;
  }

  /** A boolean. */
  boolean(name: string): this {
    const value = this.options[name];
    if (value !== undefined && typeof value !== "boolean") this.fail("type", name, "a boolean", value);
    return this;
  }

  /** Anything, checked by `check`, which returns an error message for a bad value. */
  custom(name: string, check: (value: unknown) => { kind: "type" | "range"; expected: string; value?: unknown } | undefined): this {
    const value = this.options[name];
    if (value === undefined) return this;
    const problem = check(value);
    if (problem) this.fail(problem.kind, name, problem.expected, "value" in problem ? problem.value : value);
    return this;
  }
}
