/** Task graphs for the visualizer tests, built directly in graphology's serialized form. */
import type { EdgeKind, TaskEdgeAttributes, TaskGraphJSON, TaskNodeAttributes, TaskState } from "../../src/graph/graph-json.js";

/** A serialized graph from node and edge lists. */
export function graphJSON(
  nodes: Array<[string, Partial<TaskNodeAttributes>]>,
  edges: Array<[string, string, EdgeKind, Partial<TaskEdgeAttributes>?]>,
): TaskGraphJSON {
  return {
    options: { type: "directed", multi: false, allowSelfLoops: false },
    attributes: {},
    nodes: nodes.map(([key, a]) => ({ key, attributes: { label: key, shortId: key, state: "pending", ...a } })),
    edges: edges.map(([source, target, kind, extra]) => ({ source, target, attributes: { kind, ...extra } })),
  };
}

/** Deterministic pseudo-random numbers in [0, 1) (a 32-bit LCG), so failures reproduce. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const STATES: readonly TaskState[] = ["pending", "running", "done", "failed", "impossible", "aborted"];
const KINDS: readonly EdgeKind[] = ["argument", "after", "follow"];

/**
 * A random DAG of `n` executed tasks: each task depends on up to two of the 20 tasks before
 * it (distinct), with random edge kinds and states, labels cycling over `labels` names.
 */
export function randomDag(n: number, options: { seed?: number; labels?: number } = {}): TaskGraphJSON {
  const random = seeded(options.seed ?? 1);
  const labels = options.labels ?? 7;
  const nodes: Array<[string, Partial<TaskNodeAttributes>]> = [];
  const edges: Array<[string, string, EdgeKind]> = [];
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i++) {
    const started = t0 + i * 5;
    nodes.push([
      `t${i}`,
      {
        label: `fn${i % labels}`,
        state: STATES[Math.floor(random() * STATES.length)] as TaskState,
        engineId: i % 4,
        submitted: started - 2,
        started,
        completed: started + 1 + Math.floor(random() * 40),
      },
    ]);
    const deps = new Set<number>();
    for (let k = 0; k < 2 && i > 0; k++) deps.add(Math.max(0, i - 1 - Math.floor(random() * 20)));
    for (const j of deps) edges.push([`t${j}`, `t${i}`, KINDS[Math.floor(random() * KINDS.length)] as EdgeKind]);
  }
  return graphJSON(nodes, edges);
}

/**
 * A diamond of four tasks using every edge kind and several states:
 * load → (square, cleanup) → report.
 */
export function diamond(): TaskGraphJSON {
  const t = Date.UTC(2026, 0, 1, 12);
  return graphJSON(
    [
      [
        "load",
        {
          label: "load",
          shortId: "aaaa1111",
          state: "done",
          engineId: 0,
          submitted: t,
          started: t + 5,
          completed: t + 105,
          msgId: "aaaa1111-full",
        },
      ],
      [
        "square",
        {
          label: "square",
          shortId: "bbbb2222",
          state: "failed",
          engineId: 1,
          submitted: t,
          started: t + 110,
          completed: t + 160,
          errorName: "RangeError",
          errorMessage: "too big: 10 > 5",
        },
      ],
      ["cleanup", { label: "cleanup", shortId: "cccc3333", state: "running", engineId: 0, submitted: t, started: t + 120 }],
      ["report", { label: "report", shortId: "dddd4444", state: "impossible", submitted: t, errorName: "ImpossibleDependency" }],
    ],
    [
      ["load", "square", "argument"],
      ["load", "cleanup", "after", { success: false, failure: true }],
      ["square", "report", "argument"],
      ["cleanup", "report", "follow"],
    ],
  );
}
