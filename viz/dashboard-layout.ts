/**
 * The dashboard graph's layout: layered top-down (a task sits one layer below the deepest
 * task it depends on) and wrapped (a layer wider than the view continues on the next row, so
 * hundreds of independent tasks make a block instead of one endless row). Linear in nodes and
 * edges, so it can run on every update while tasks run.
 */

/** Where one node goes: column (may be fractional, rows are centred) and row. */
export interface Placement {
  x: number;
  y: number;
  layer: number;
}

/** A layout: one placement per node, and the grid's size. */
export interface Layout {
  nodes: Placement[];
  rows: number;
  columns: number;
}

/**
 * Lays out `count` nodes joined by `edges` ([source, target] indices) in rows of at most
 * `maxColumns`. Cycles (possible between groups of tasks) are broken at the lowest index.
 * Nodes without any edge come last.
 */
export function layeredLayout(count: number, edges: ReadonlyArray<readonly [number, number]>, maxColumns: number): Layout {
  const columns = Math.max(1, Math.floor(maxColumns));
  const parents: number[][] = Array.from({ length: count }, () => []);
  const children: number[][] = Array.from({ length: count }, () => []);
  for (const [from, to] of edges) {
    if (from === to || from < 0 || to < 0 || from >= count || to >= count) continue;
    parents[to]?.push(from);
    children[from]?.push(to);
  }
  const layer = layers(count, parents, children);
  // Tasks with no dependency either way go below the connected ones, in one wrapped block,
  // so that a batch of them does not push a pipeline's later stages off the screen.
  const isolated = (i: number) => (parents[i]?.length ?? 0) === 0 && (children[i]?.length ?? 0) === 0;
  const deepest = Math.max(-1, ...layer.filter((_, i) => !isolated(i)));
  for (let i = 0; i < count; i++) if (isolated(i)) layer[i] = deepest + 1;
  const byLayer: number[][] = [];
  for (let i = 0; i < count; i++) (byLayer[layer[i] as number] ??= []).push(i);
  const nodes: Placement[] = new Array<Placement>(count);
  let row = 0;
  for (const members of byLayer) {
    if (!members) continue;
    // Children sit under their parents: order by the mean column of the parents, then by age.
    const key = (i: number) => {
      const placed = (parents[i] ?? []).map((p) => nodes[p]?.x).filter((x): x is number => x !== undefined);
      return placed.length === 0 ? -1 : placed.reduce((a, b) => a + b, 0) / placed.length;
    };
    const keyed = members.map((i) => ({ i, k: key(i) })).sort((a, b) => a.k - b.k || a.i - b.i);
    for (let start = 0; start < keyed.length; start += columns) {
      const chunk = keyed.slice(start, start + columns);
      const offset = (Math.min(columns, keyed.length) - chunk.length) / 2;
      chunk.forEach(({ i }, c) => (nodes[i] = { x: offset + c, y: row, layer: layer[i] as number }));
      row++;
    }
  }
  const widest = Math.max(0, ...byLayer.map((m) => (m ? Math.min(columns, m.length) : 0)));
  // Rows narrower than the widest are centred under it.
  for (const node of nodes) if (node) node.x += (widest - Math.min(columns, byLayer[node.layer]?.length ?? 0)) / 2;
  return { nodes, rows: row, columns: widest };
}

/** Longest-path layers (Kahn's order); a node left in a cycle is freed at the lowest index. */
function layers(count: number, parents: number[][], children: number[][]): number[] {
  const layer = new Array<number>(count).fill(0);
  const remaining = parents.map((p) => p.length);
  const done = new Array<boolean>(count).fill(false);
  const ready: number[] = [];
  for (let i = 0; i < count; i++) if (remaining[i] === 0) ready.push(i);
  let processed = 0;
  let scan = 0;
  while (processed < count) {
    if (ready.length === 0) {
      while (done[scan]) scan++;
      ready.push(scan);
    }
    const node = ready.pop() as number;
    if (done[node]) continue;
    done[node] = true;
    processed++;
    for (const child of children[node] ?? []) {
      layer[child] = Math.max(layer[child] as number, (layer[node] as number) + 1);
      remaining[child] = (remaining[child] as number) - 1;
      if (remaining[child] === 0 && !done[child]) ready.push(child);
    }
  }
  return layer;
}
