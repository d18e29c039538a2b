/**
 * Scheduling schemes: pure functions of the candidate engines' loads (outstanding tasks), given
 * in least-recently-used order (index 0 = least recently used), returning the chosen index.
 * They follow IPython Parallel's `TaskScheduler` schemes.
 */

/** A scheme: loads in LRU order (and a source of randomness in [0, 1)) → chosen index. */
export type Scheme = (loads: readonly number[], random?: () => number) => number;

/** Refuses an empty candidate list (no choice is possible) and loads that are not counts. */
function assertCandidates(loads: readonly number[]): void {
  if (!Array.isArray(loads)) throw new TypeError(`a scheme needs an array of loads, got ${loads === null ? "null" : typeof loads}`);
  if (loads.length === 0) throw new RangeError("a scheme needs at least one candidate engine, got an empty list of loads");
  loads.forEach((load, i) => {
    if (typeof load !== "number" || !(load >= 0) || !Number.isFinite(load))
      throw new RangeError(`loads[${i}] must be a finite number >= 0, got ${String(load)}`);
  });
}

/** One value of `random`, which must lie in [0, 1) like Math.random's. */
function unit(random: () => number): number {
  const x = random();
  if (typeof x !== "number" || !(x >= 0 && x < 1))
    throw new RangeError(`a scheme's random() must return a number in [0, 1), got ${String(x)}`);
  return x;
}

/** A uniform index in [0, n); clamped because x * n can round up to n for x just below 1. */
function uniformIndex(n: number, random: () => number): number {
  return Math.min(n - 1, Math.floor(unit(random) * n));
}

/** The least loaded engine; ties go to the least recently used (the lowest index). */
export const leastload: Scheme = (loads) => {
  assertCandidates(loads);
  let best = 0;
  for (let i = 1; i < loads.length; i++) if ((loads[i] as number) < (loads[best] as number)) best = i;
  return best;
};

/** Always the least recently used engine, whatever its load. */
export const lru: Scheme = (loads) => {
  assertCandidates(loads);
  return 0;
};

/** A uniformly random engine. */
export const plainrandom: Scheme = (loads, random = Math.random) => {
  assertCandidates(loads);
  return uniformIndex(loads.length, random);
};

/** Two engines at random, keeping the less recently used of the two (the lower index). */
export const twobin: Scheme = (loads, random = Math.random) => {
  assertCandidates(loads);
  const a = uniformIndex(loads.length, random);
  const b = uniformIndex(loads.length, random);
  return Math.min(a, b);
};

/**
 * IPython Parallel's weighted scheme: weights `1 / (1e-6 + load)` (an idle engine weighs a
 * million times an engine with one task), two draws by cumulative weight, keeping the heavier
 * (less loaded) draw; ties keep the first draw.
 */
export const weighted: Scheme = (loads, random = Math.random) => {
  assertCandidates(loads);
  const weights = loads.map((load) => 1 / (1e-6 + load));
  const total = weights.reduce((a, b) => a + b, 0);
  const draw = (): number => {
    let x = unit(random) * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i] as number;
      if (x < 0) return i;
    }
    return weights.length - 1; // rounding left x at or just above 0
  };
  const a = draw();
  const b = draw();
  return (weights[b] as number) > (weights[a] as number) ? b : a;
};

/** The schemes every controller knows, by name. */
export const builtinSchemes: Readonly<Record<string, Scheme>> = Object.freeze({ leastload, lru, plainrandom, twobin, weighted });

/** Registered schemes by name: the built-in ones, plus any added with {@link registerScheme}. */
export const schemes: Record<string, Scheme> = { ...builtinSchemes };

/**
 * Adds a named scheme (a controller started with `--scheme ./file.js` registers it under that
 * path). Re-registering a user scheme replaces it; the built-in names cannot be replaced, so
 * `leastload` always means the same thing.
 * @throws TypeError when `scheme` is not a function; RangeError for a built-in name.
 */
export function registerScheme(name: string, scheme: Scheme): void {
  if (typeof name !== "string" || name.length === 0)
    throw new TypeError(`a scheme name must be a non-empty string, got ${JSON.stringify(name)}`);
  if (typeof scheme !== "function")
    throw new TypeError(`scheme ${JSON.stringify(name)} must be a function (loads, random) => index, got ${typeof scheme}`);
  if (Object.hasOwn(builtinSchemes, name)) throw new RangeError(`scheme ${JSON.stringify(name)} is built in and cannot be replaced`);
  schemes[name] = scheme;
}

/**
 * A scheme by name, or the function itself.
 * @throws RangeError naming the unknown scheme and listing the valid names.
 */
export function resolveScheme(scheme: string | Scheme): Scheme {
  if (typeof scheme === "function") return scheme;
  const found = typeof scheme === "string" && Object.hasOwn(schemes, scheme) ? schemes[scheme] : undefined;
  if (!found) throw new RangeError(`unknown scheme ${JSON.stringify(scheme)} (valid: ${Object.keys(schemes).join(", ")})`);
  return found;
}
