/**
 * Small run-time checks for JSON that crosses the wire. A guard returns nothing for a value of
 * its type and otherwise a sentence naming the field and what was wrong, so a malformed message
 * is refused with a reason instead of failing somewhere deeper. Each guard carries its type, and
 * {@link object} is checked against an interface field by field: a guard that does not match
 * the declared shape is a compile error. Pure: no I/O.
 */

/**
 * Checks a value; returns undefined when it fits, else the problem with the path below the
 * value (`.fn.src must be a string, got number 42`). Paths are built only on failure, so a
 * check on the message path costs no string work. {@link problemAt} completes the complaint.
 */
export interface Guard<T> {
  (value: unknown): string | undefined;
  /**
   * Never set: ties the guard to its type, so that a guard accepting more than a field's
   * declared type (`optional(string)` for a required string) does not compile.
   */
  readonly type?: T;
}

function guard<T>(check: (value: unknown) => string | undefined): Guard<T> {
  return check as Guard<T>;
}

/** What is wrong with `value`, found at `path` (`content`), or undefined when it fits `check`. */
export function problemAt<T>(check: Guard<T>, value: unknown, path: string): string | undefined {
  const problem = check(value);
  return problem === undefined ? undefined : `${path}${problem}`;
}

/** How a value is described in a complaint. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  return typeof value === "object" ? "an object" : typeof value;
}

/** The complaint of a value that is not `what`. */
export function expected(what: string, value: unknown): string {
  return ` must be ${what}, got ${describe(value)}`;
}

/** A string. */
export const string: Guard<string> = guard((v) => (typeof v === "string" ? undefined : expected("a string", v)));

/** A finite number. */
export const number: Guard<number> = guard((v) => (typeof v === "number" && Number.isFinite(v) ? undefined : expected("a number", v)));

/** A safe integer. */
export const integer: Guard<number> = guard((v) => (Number.isSafeInteger(v) ? undefined : expected("an integer", v)));

/** True or false. */
export const boolean: Guard<boolean> = guard((v) => (typeof v === "boolean" ? undefined : expected("true or false", v)));

/** Anything (a value the receiver passes on without reading, such as user data). */
export const unknown: Guard<unknown> = guard(() => undefined);

/** One of the given strings. */
export function literal<const L extends string>(...values: readonly L[]): Guard<L> {
  const allowed = new Set<string>(values);
  return guard((v) =>
    typeof v === "string" && allowed.has(v) ? undefined : expected(`one of ${values.map((x) => JSON.stringify(x)).join(", ")}`, v),
  );
}

/** The value may be absent (undefined). */
export function optional<T>(inner: Guard<T>): Guard<T | undefined> {
  return guard((v) => (v === undefined ? undefined : inner(v)));
}

/** The value may be null. */
export function nullable<T>(inner: Guard<T>): Guard<T | null> {
  return guard((v) => (v === null ? undefined : inner(v)));
}

/** An array whose every item fits `item`. */
export function array<T>(item: Guard<T>): Guard<T[]> {
  return guard((v) => {
    if (!Array.isArray(v)) return expected("an array", v);
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i]);
      if (problem !== undefined) return `[${i}]${problem}`;
    }
    return undefined;
  });
}

/** An array of exactly two items. */
export function pair<A, B>(first: Guard<A>, second: Guard<B>): Guard<[A, B]> {
  return guard((v) => {
    if (!Array.isArray(v) || v.length !== 2) return expected("a pair [a, b]", v);
    const problem = first(v[0]);
    if (problem !== undefined) return `[0]${problem}`;
    const other = second(v[1]);
    return other === undefined ? undefined : `[1]${other}`;
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An object used as a map: every value fits `value`. */
export function record<T>(value: Guard<T>): Guard<Record<string, T>> {
  return guard((v) => {
    if (!isPlainObject(v)) return expected("an object", v);
    for (const key in v) {
      const problem = value(v[key]);
      if (problem !== undefined) return `.${key}${problem}`;
    }
    return undefined;
  });
}

/** One guard per field of `T`, optional fields included (their guards accept undefined). */
export type Fields<T> = { [K in keyof Required<T>]: Guard<T[K]> };

/**
 * An object with these fields. Fields not listed are allowed and left alone (a newer sender may
 * add some); the listed ones must fit.
 */
export function object<T>(fields: Fields<T>): Guard<T> {
  const keys = Object.keys(fields);
  const checks = Object.values(fields) as Array<Guard<unknown>>;
  return guard((v) => {
    if (!isPlainObject(v)) return expected("an object", v);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const problem = (checks[i] as Guard<unknown>)(v[key]);
      if (problem !== undefined) return `.${key}${problem}`;
    }
    return undefined;
  });
}

/** The members of union `T` whose field `K` may be `V`. */
export type VariantOf<T, K extends string, V> = T extends Record<K, infer Tag> ? (V extends Tag ? T : never) : never;

/**
 * Objects told apart by a string field (`op`, `event`…): the field picks the variant's guard,
 * and one guard per variant is required by the compiler.
 */
export function variants<K extends string, T extends Record<K, string>>(
  key: K,
  byTag: { [V in T[K]]: Guard<VariantOf<T, K, V>> },
): Guard<T> {
  const tags = Object.keys(byTag);
  return guard((v) => {
    if (!isPlainObject(v)) return expected("an object", v);
    const tag = v[key];
    const check = typeof tag === "string" && Object.hasOwn(byTag, tag) ? (byTag as Record<string, Guard<unknown>>)[tag] : undefined;
    if (check === undefined) return `.${key}${expected(`one of ${tags.map((t) => JSON.stringify(t)).join(", ")}`, tag)}`;
    return check(v);
  });
}

/** Either guard's type; `what` describes both in the complaint when neither fits. */
export function either<A, B>(a: Guard<A>, b: Guard<B>, what: string): Guard<A | B> {
  return guard((v) => (a(v) === undefined || b(v) === undefined ? undefined : expected(what, v)));
}
