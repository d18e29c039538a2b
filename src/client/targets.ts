/**
 * Target specifications: "all", one id, a list, or a Python-style slice string ("0:2", "::2",
 * ":-1") over the registered ids. Pure.
 */

/** What a view may target. */
export type TargetSpec = "all" | number | readonly number[] | string;

/** Resolved targets: the ids, and whether results are scalars (a single integer target). */
export interface ResolvedTargets {
  ids: number[];
  scalar: boolean;
}

const SLICE = /^\s*(-?\d+)?\s*:\s*(-?\d+)?\s*(?::\s*(-?\d+)?\s*)?$/;

/** Checks a spec's shape (not whether engines exist); throws TypeError naming the bad value. */
export function validateTargetSpec(spec: unknown): asserts spec is TargetSpec {
  if (spec === "all") return;
  if (typeof spec === "number") {
    if (!Number.isInteger(spec)) throw new TypeError(`targets: engine id must be an integer, got ${spec}`);
    return;
  }
  if (typeof spec === "string") {
    if (!SLICE.test(spec)) throw new TypeError(`targets: ${JSON.stringify(spec)} is neither "all" nor a slice like "0:2", "::2" or ":-1"`);
    return;
  }
  if (Array.isArray(spec)) {
    for (const id of spec)
      if (!Number.isInteger(id)) throw new TypeError(`targets: engine ids must be integers, got ${JSON.stringify(id)}`);
    return;
  }
  throw new TypeError(`targets must be "all", an engine id, a list of ids or a slice string, got ${JSON.stringify(spec)}`);
}

/** Applies a slice string to `ids` with Python's semantics. */
export function sliceIds(ids: readonly number[], slice: string): number[] {
  const match = SLICE.exec(slice);
  if (!match) throw new TypeError(`targets: ${JSON.stringify(slice)} is not a slice string`);
  const n = ids.length;
  const step = match[3] === undefined ? 1 : Number(match[3]);
  if (step === 0) throw new RangeError(`targets: slice step cannot be zero in ${JSON.stringify(slice)}`);
  const norm = (raw: string | undefined, fallback: number, lo: number, hi: number) => {
    if (raw === undefined) return fallback;
    const v = Number(raw);
    return Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
  };
  const out: number[] = [];
  if (step > 0) {
    const start = norm(match[1], 0, 0, n);
    const stop = norm(match[2], n, 0, n);
    for (let i = start; i < stop; i += step) out.push(ids[i] as number);
  } else {
    const start = norm(match[1], n - 1, -1, n - 1);
    const stop = norm(match[2], -1, -1, n - 1);
    for (let i = start; i > stop; i += step) out.push(ids[i] as number);
  }
  return out;
}

/**
 * Resolves a spec against the registered ids. An id that is not registered is an error that
 * names it and lists the registered ones.
 */
export function resolveTargets(spec: TargetSpec, registered: readonly number[]): ResolvedTargets {
  validateTargetSpec(spec);
  if (spec === "all") return { ids: [...registered], scalar: false };
  if (typeof spec === "string") return { ids: sliceIds(registered, spec), scalar: false };
  const ids = typeof spec === "number" ? [spec] : [...spec];
  const known = new Set(registered);
  for (const id of ids) {
    if (!known.has(id)) throw new RangeError(`engine ${id} is not registered (registered: [${registered.join(", ")}])`);
  }
  return { ids, scalar: typeof spec === "number" };
}
