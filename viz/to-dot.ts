/**
 * Writes a task graph as Graphviz DOT: one box per task coloured by state, one arrow per
 * dependency styled by kind, hover tooltips with engine, timings and errors.
 */
import type { TaskGraphJSON } from "../src/graph/graph-json.js";
import { buildView, EDGE_KINDS, EDGE_STYLES, escapeXml, STATE_STYLES, TASK_STATES } from "./graph-view.js";
import type { GraphView, ViewEdge, ViewNode, ViewOptions } from "./graph-view.js";

/** Options of {@link toDot}. */
export interface DotOptions extends ViewOptions {
  /** Title drawn above the graph. */
  title?: string;
  /** Draw a legend of states and edge kinds under the title. Default true. */
  legend?: boolean;
  /** Graphviz `rankdir`. Default "TB": dependencies flow top to bottom. */
  rankdir?: "TB" | "LR" | "BT" | "RL";
}

/** Graphviz knows Helvetica's metrics (a font list would fall back to Times); SVG viewers substitute Arial. */
const FONT = "Helvetica";

/**
 * Quotes a string for DOT as a node id or label. Backslashes are doubled because Graphviz
 * reads `\N`, `\G`, `\l`… in labels as escapes; newlines become `\n` (a centred line break).
 */
export function dotString(text: string): string {
  return quote(text, "\\\\");
}

/**
 * Quotes a string for a DOT `tooltip`. Graphviz substitutes escapes in tooltips twice (once
 * when reading the attribute, once when writing the SVG), so a literal backslash takes four.
 */
export function dotTooltip(text: string): string {
  return quote(text, "\\\\\\\\");
}

function quote(text: string, backslash: string): string {
  const escaped = text
    // Graphviz decodes HTML entities in labels and passes them through in tooltips, so a
    // literal "&" must itself be written as an entity or "&amp;" in a label would show as "&".
    .replace(/&/g, "&amp;")
    .replace(/\\/g, backslash)
    .replace(/"/g, '\\"')
    .replace(/\r\n?|\n/g, "\\n")
    // Other control characters are not valid in Graphviz input.
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, " ");
  return `"${escaped}"`;
}

/** Escapes text for a Graphviz HTML-like label (an XML fragment: the same rules as SVG text). */
export const dotHtml = escapeXml;

function attributeList(attributes: Record<string, string | number>): string {
  const parts = Object.entries(attributes).map(([name, value]) => {
    if (typeof value === "number") return `${name}=${value}`;
    return `${name}=${name === "tooltip" ? dotTooltip(value) : dotString(value)}`;
  });
  return `[${parts.join(", ")}]`;
}

function nodeStatement(node: ViewNode): string {
  const style = STATE_STYLES[node.state];
  const attributes: Record<string, string | number> = {
    label: node.lines.join("\n"),
    fillcolor: style.fill,
    color: style.border,
    fontcolor: style.font,
    tooltip: node.details.join("\n"),
  };
  // A group box is drawn thicker so a collapsed graph is not mistaken for single tasks.
  if (node.count > 1) attributes["penwidth"] = 2;
  return `  ${dotString(node.id)} ${attributeList(attributes)};`;
}

function edgeStatement(edge: ViewEdge): string {
  const style = EDGE_STYLES[edge.kind];
  const attributes: Record<string, string | number> = { style: style.dot, color: style.color, tooltip: edge.details };
  if (edge.count > 1) {
    attributes["label"] = `x ${edge.count}`;
    attributes["fontcolor"] = style.color;
    // Thicker for more dependencies, on a log scale so a 10,000-edge bundle stays drawable.
    attributes["penwidth"] = Math.min(6, 1 + Math.log10(edge.count)).toFixed(2);
  }
  return `  ${dotString(edge.source)} -> ${dotString(edge.target)} ${attributeList(attributes)};`;
}

function legendTable(cells: string[], cellBorder: number, spacing: number): string {
  return `<TR><TD BORDER="0" ALIGN="LEFT"><TABLE BORDER="0" CELLBORDER="${cellBorder}" CELLSPACING="${spacing}" CELLPADDING="3"><TR>${cells.join("")}</TR></TABLE></TD></TR>`;
}

/** One row of state swatches and one of edge kinds, each limited to what the graph contains. */
function legendRows(view: GraphView): string[] {
  const states = TASK_STATES.filter((s) => view.nodes.some((n) => n.state === s));
  const kinds = EDGE_KINDS.filter((k) => view.edges.some((e) => e.kind === k));
  const rows: string[] = [];
  if (states.length > 0) {
    const cells = states.map(
      (s) =>
        `<TD BGCOLOR="${STATE_STYLES[s].fill}" COLOR="${STATE_STYLES[s].border}"><FONT COLOR="${STATE_STYLES[s].font}">${s}</FONT></TD>`,
    );
    rows.push(legendTable(cells, 1, 2));
  }
  if (kinds.length > 0) {
    // ASCII marks: Graphviz has no width metrics for box-drawing characters. Wide spacing
    // because viewers often substitute a font wider than the Helvetica metrics used for layout.
    const marks = { solid: "-----", dashed: "- - -", dotted: ". . . ." } as const;
    rows.push(
      legendTable(
        kinds.map((k) => `<TD><FONT COLOR="${EDGE_STYLES[k].color}">${k} ${marks[EDGE_STYLES[k].dot]}</FONT></TD>`),
        0,
        8,
      ),
    );
  }
  return rows;
}

/**
 * The graph label: title, collapse note and legend as one HTML-like label, so the legend
 * adds no nodes or edges and counts of drawn elements match the task graph.
 */
function graphLabel(view: GraphView, options: DotOptions): string | undefined {
  const rows: string[] = [];
  if (options.title) rows.push(`<TR><TD BORDER="0" ALIGN="LEFT"><B>${dotHtml(options.title)}</B></TD></TR>`);
  if (view.note) rows.push(`<TR><TD BORDER="0" ALIGN="LEFT"><I>${dotHtml(view.note)}</I></TD></TR>`);
  if (options.legend ?? true) rows.push(...legendRows(view));
  return rows.length === 0 ? undefined : `<<TABLE BORDER="0" CELLSPACING="0">${rows.join("")}</TABLE>>`;
}

/** Writes a prepared {@link GraphView} as DOT. */
export function viewToDot(view: GraphView, options: DotOptions = {}): string {
  const graphAttributes = [
    `rankdir=${options.rankdir ?? "TB"}`,
    `fontname=${dotString(FONT)}`,
    "fontsize=11",
    "nodesep=0.25",
    "ranksep=0.45",
  ];
  const label = graphLabel(view, options);
  if (label) graphAttributes.push(`label=${label}`, "labelloc=t", "labeljust=l");
  return [
    "digraph tasks {",
    `  graph [${graphAttributes.join(", ")}];`,
    `  node [shape=box, style="rounded,filled", fontname=${dotString(FONT)}, fontsize=10, margin="0.12,0.05"];`,
    "  edge [arrowsize=0.7];",
    ...view.nodes.map(nodeStatement),
    ...view.edges.map(edgeStatement),
    "}",
    "",
  ].join("\n");
}

/**
 * Writes a serialized task graph as DOT (top to bottom). Graphs with more than
 * `options.maxNodes` tasks (default 2000) are collapsed to one node per label, and the graph
 * label says so.
 */
export function toDot(graph: TaskGraphJSON, options: DotOptions = {}): string {
  return viewToDot(buildView(graph, options), options);
}
