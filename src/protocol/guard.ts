/**
 * Small run-time checks for JSON that crosses the wire. A guard returns nothing for a value of
 * its type and otherwise a sentence naming the field and what was wrong, so a malformed message
 * is refused with a reason instead of failing somewhere deeper. Each guard carries its type, and
 * {@link object} is checked against an interface field by field: a guard that does not match
 * the declared shape is a compile error. Pure: no I/O.
 */

/** Checks `value` (found at `path`, e.g. `content.fn.src`); returns the problem, or undefined when it fits. */
export interface Guard<T> {
  (value: unknown, path: string): string | undefined;
  /**
   * Never set: ties the guard to its type, so that a guard accepting more than a field's
   * declared type (`optional(string)` for a required string) does not compile.
   */
  readonly type?: T;
}

function guard<T>(check: (value: unknown, path: string) => string | undefined): Guard<T> {
  return check as Guard<T>;
}

/** How a value is described in a complaint. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  return typeof value === "object" ? "an object" : typeof value;
}

function expected(what: string, value: unknown, path: string): string {
  return `${path} must be ${what}, got ${describe(value)}`;
}

/** A string. */
export const string: Guard<string> = guard((v, p) => (typeof v === "string" ? undefined : expected("a string", v, p)));

/** A finite number. */
export const number: Guard<number> = guard((v, p) =>
  typeof v === "number" && Number.isFinite(v) ? undefined : expected("a number", v, p),
);

/** A safe integer. */
export const integer: Guard<number> = guard((v, p) => (Number.isSafeInteger(v) ? undefined : expected("an integer", v, p)));

/** True or false. */
export const boolean: Guard<boolean> = guard((v, p) => (typeof v === "boolean" ? undefined : expected("true or false", v, p)));

/** Anything (a value the receiver passes on without reading, such as user data). */
export const unknown: Guard<unknown> = guard(() => undefined);

/** One of the given strings. */
export function literal<const L extends string>(...values: readonly L[]): Guard<L> {
  const allowed = new Set<string>(values);
  return guard((v, p) =>
    typeof v === "string" && allowed.has(v) ? undefined : expected(`one of ${values.map((x) => JSON.stringify(x)).join(", ")}`, v, p),
  );
}

/** The value may be absent (undefined). */
export function optional<T>(inner: Guard<T>): Guard<T | undefined> {
  return guard((v, p) => (v === undefined ? undefined : inner(v, p)));
}

/** The value may be null. */
export function nullable<T>(inner: Guard<T>): Guard<T | null> {
  return guard((v, p) => (v === null ? undefined : inner(v, p)));
}

/** An array whose every item fits `item`. */
export function array<T>(item: Guard<T>): Guard<T[]> {
  return guard((v, p) => {
    if (!Array.isArray(v)) return expected("an array", v, p);
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i], `${p}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  });
}

/** An array of exactly two items. */
export function pair<A, B>(first: Guard<A>, second: Guard<B>): Guard<[A, B]> {
  return guard((v, p) => {
    if (!Array.isArray(v) || v.length !== 2) return expected("a pair [a, b]", v, p);
    return first(v[0], `${p}[0]`) ?? second(v[1], `${p}[1]`);
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An object used as a map: every value fits `value`. */
export function record<T>(value: Guard<T>): Guard<Record<string, T>> {
  return guard((v, p) => {
    if (!isPlainObject(v)) return expected("an object", v, p);
    for (const [key, item] of Object.entries(v)) {
      const problem = value(item, `${p}.${key}`);
      if (problem !== undefined) return problem;
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
  const entries = Object.entries(fields) as Array<[string, Guard<unknown>]>;
  return guard((v, p) => {
    if (!isPlainObject(v)) return expected("an object", v, p);
    for (const [key, check] of entries) {
      const problem = check(v[key], `${p}.${key}`);
      if (problem !== undefined) return problem;
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
  return guard((v, p) => {
    if (!isPlainObject(v)) return expected("an object", v, p);
    const tag = v[key];
    const check = typeof tag === "string" && Object.hasOwn(byTag, tag) ? (byTag as Record<string, Guard<unknown>>)[tag] : undefined;
    if (check === undefined) return expected(`one of ${tags.map((t) => JSON.stringify(t)).join(", ")}`, tag, `${p}.${key}`);
    return check(v, p);
  });
}

/** Either guard's type; `what` describes both in the complaint when neither fits. */
export function either<A, B>(a: Guard<A>, b: Guard<B>, what: string): Guard<A | B> {
  return guard((v, p) => (a(v, p) === undefined || b(v, p) === undefined ? undefined : expected(what, v, p)));
}
