/**
 * Scheduling schemes: pure functions of the candidate engines' loads, given in
 * least-recently-used order (index 0 = least recently used), returning the chosen index.
 */

/** A scheme: loads in LRU order → chosen index. */
export type Scheme = (loads: readonly number[], random?: () => number) => number;

function assertCandidates(loads: readonly number[]): void {
  if (loads.length === 0) throw new RangeError("a scheme needs at least one candidate engine");
}

/** The least loaded engine; ties go to the least recently used. */
export const leastload: Scheme = (loads) => {
  assertCandidates(loads);
  let best = 0;
  for (let i = 1; i < loads.length; i++) if ((loads[i] as number) < (loads[best] as number)) best = i;
  return best;
};

/** Always the least recently used engine. */
export const lru: Scheme = (loads) => {
  assertCandidates(loads);
  return 0;
};

/** A uniformly random engine. */
export const plainrandom: Scheme = (loads, random = Math.random) => {
  assertCandidates(loads);
  return Math.min(loads.length - 1, Math.floor(random() * loads.length));
};

/** Two engines at random; the least recently used of the two. */
export const twobin: Scheme = (loads, random = Math.random) => {
  assertCandidates(loads);
  const a = plainrandom(loads, random);
  const b = plainrandom(loads, random);
  return Math.min(a, b);
};

/**
 * Random, weighted towards lightly loaded engines: two draws with weights 1/(1+load), keeping
 * the less loaded one (IPython Parallel's weighted scheme).
 */
export const weighted: Scheme = (loads, random = Math.random) => {
  assertCandidates(loads);
  const weights = loads.map((l) => 1 / (1 + l));
  const total = weights.reduce((a, b) => a + b, 0);
  const draw = () => {
    let x = random() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i] as number;
      if (x < 0) return i;
    }
    return weights.length - 1;
  };
  const a = draw();
  const b = draw();
  return (loads[a] as number) <= (loads[b] as number) ? a : b;
};

/** Registered schemes by name; user schemes may be added with {@link registerScheme}. */
export const schemes: Record<string, Scheme> = { leastload, lru, plainrandom, twobin, weighted };

/** Adds a named scheme. */
export function registerScheme(name: string, scheme: Scheme): void {
  if (typeof scheme !== "function") throw new TypeError(`scheme ${name} must be a function`);
  schemes[name] = scheme;
}

/** A scheme by name (or the function itself). */
export function resolveScheme(scheme: string | Scheme): Scheme {
  if (typeof scheme === "function") return scheme;
  const found = schemes[scheme];
  if (!found) throw new RangeError(`unknown scheme ${JSON.stringify(scheme)} (valid: ${Object.keys(schemes).join(", ")})`);
  return found;
}
