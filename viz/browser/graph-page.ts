/**
 * Script of the self-contained HTML page `visualize(x, { format: "html" })` writes. It reads
 * the task graph embedded in the page, lays it out with dagre-d3-es, adds pan/zoom (d3-zoom)
 * and shows a task's details on hover. Bundled for the browser by scripts/build-viz-assets.mjs.
 */
import { curveBasis, select, zoom, zoomIdentity } from "d3";
import type { Selection } from "d3";
import { graphlib, render } from "dagre-d3-es";
import type { TaskGraphJSON } from "../../src/graph/graph-json.js";
import { buildView, EDGE_KINDS, EDGE_STYLES, STATE_STYLES, TASK_STATES } from "../graph-view.js";
import type { GraphView, ViewOptions } from "../graph-view.js";

/** Settings embedded next to the graph by the Node side. */
interface PageConfig extends ViewOptions {
  title?: string;
}

/** The edge identity dagre-d3-es binds to each edge group. */
interface EdgeRef {
  v: string;
  w: string;
  name?: string;
}

const SVG_NS = "http://www.w3.org/2000/svg";

function readJson<T>(id: string): T {
  const text = document.getElementById(id)?.textContent;
  if (!text) throw new Error(`the page has no #${id} data`);
  return JSON.parse(text) as T;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A small SVG line sample showing an edge kind's colour and dash pattern. */
function edgeSample(kind: (typeof EDGE_KINDS)[number]): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "10");
  const line = document.createElementNS(SVG_NS, "line");
  const style = EDGE_STYLES[kind];
  for (const [name, value] of Object.entries({
    x1: "0",
    y1: "5",
    x2: "28",
    y2: "5",
    stroke: style.color,
    "stroke-width": "2",
    "stroke-dasharray": style.dasharray,
  })) {
    if (value) line.setAttribute(name, value);
  }
  svg.append(line);
  return svg;
}

function renderHeader(view: GraphView, config: PageConfig): void {
  const header = document.getElementById("header");
  if (!header) return;
  header.append(element("h1", "title", config.title ?? "Task graph"));
  const summary = `${view.taskCount} tasks, ${view.dependencyCount} dependencies`;
  header.append(element("p", "summary", view.note ? `${summary}. ${view.note}.` : summary));
  const legend = element("div", "legend");
  for (const state of TASK_STATES.filter((s) => view.nodes.some((n) => n.state === s))) {
    const swatch = element("span", "swatch", state);
    swatch.style.background = STATE_STYLES[state].fill;
    swatch.style.color = STATE_STYLES[state].font;
    swatch.style.borderColor = STATE_STYLES[state].border;
    legend.append(swatch);
  }
  for (const kind of EDGE_KINDS.filter((k) => view.edges.some((e) => e.kind === k))) {
    const item = element("span", "edge-kind");
    item.append(edgeSample(kind), document.createTextNode(kind));
    legend.append(item);
  }
  header.append(legend);
}

/** dagre-d3-es reads backslashes in text labels as escapes, so literal ones are doubled. */
function labelText(lines: readonly string[]): string {
  return lines.map((line) => line.replace(/\\/g, "\\\\")).join("\n");
}

function toDagreGraph(view: GraphView): graphlib.Graph {
  const g = new graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 36, marginx: 16, marginy: 16 });
  for (const node of view.nodes) {
    const style = STATE_STYLES[node.state];
    const strokeWidth = node.count > 1 ? 2.5 : 1;
    g.setNode(node.id, {
      label: labelText(node.lines),
      class: `state-${node.state}`,
      rx: 5,
      ry: 5,
      padding: 6,
      style: `fill:${style.fill};stroke:${style.border};stroke-width:${strokeWidth}px`,
      labelStyle: `fill:${style.font};font-size:11px`,
    });
  }
  view.edges.forEach((edge, index) => {
    const style = EDGE_STYLES[edge.kind];
    const dash = style.dasharray ? `;stroke-dasharray:${style.dasharray}` : "";
    const width = edge.count > 1 ? Math.min(6, 1.2 + Math.log10(edge.count)) : 1.2;
    g.setEdge(
      edge.source,
      edge.target,
      {
        label: edge.count > 1 ? `x ${edge.count}` : "",
        style: `stroke:${style.color};stroke-width:${width}px;fill:none${dash}`,
        arrowheadStyle: `fill:${style.color};stroke:${style.color}`,
        labelStyle: `fill:${style.color};font-size:10px`,
        curve: curveBasis,
      },
      String(index),
    );
  });
  return g;
}

function showDetails(panel: HTMLElement, heading: string, lines: readonly string[]): void {
  panel.replaceChildren(element("h2", "details-title", heading), ...lines.map((line) => element("div", "details-line", line)));
  panel.hidden = false;
}

/** Hover details for nodes and edges, plus native `<title>` tooltips for accessibility. */
function attachDetails(root: Selection, view: GraphView): void {
  const panel = document.getElementById("details");
  if (!panel) return;
  const nodes = new Map(view.nodes.map((n) => [n.id, n]));
  root.selectAll<SVGGElement>("g.node").each(function (datum) {
    const node = nodes.get(String(datum));
    if (!node) return;
    this.dataset["state"] = node.state;
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = node.details.join("\n");
    this.prepend(title);
    this.addEventListener("mouseenter", () => showDetails(panel, node.details[0] ?? node.id, node.details.slice(1)));
    this.addEventListener("mouseleave", () => (panel.hidden = true));
  });
  root.selectAll<SVGGElement>("g.edgePath").each(function (datum) {
    const edge = view.edges[Number((datum as EdgeRef).name)];
    if (!edge) return;
    this.dataset["kind"] = edge.kind;
    this.addEventListener("mouseenter", () => showDetails(panel, `${edge.kind} dependency`, [edge.details]));
    this.addEventListener("mouseleave", () => (panel.hidden = true));
  });
}

/** Pan and zoom with the mouse; the graph starts scaled to fit the window (never enlarged). */
function enableZoom(svg: Selection<SVGSVGElement>, inner: Selection, width: number, height: number): void {
  const behaviour = zoom()
    .scaleExtent([0.02, 8])
    .on("zoom", (event) => {
      inner.attr("transform", event.transform.toString());
    });
  svg.call(behaviour);
  const box = svg.node()?.getBoundingClientRect();
  if (!box || width <= 0 || height <= 0) return;
  const scale = Math.min(box.width / width, box.height / height, 1);
  const fit = zoomIdentity.translate((box.width - width * scale) / 2, Math.max(0, (box.height - height * scale) / 2)).scale(scale);
  behaviour.transform(svg, fit);
}

function showError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  document.getElementById("header")?.append(element("p", "error", `Could not draw the graph: ${message}`));
  throw error;
}

function main(): void {
  const graph = readJson<TaskGraphJSON>("task-graph");
  const config = readJson<PageConfig>("viz-config");
  const view = buildView(graph, config);
  renderHeader(view, config);
  const g = toDagreGraph(view);
  const svg = select<SVGSVGElement>("#canvas");
  const inner = svg.select("g.viewport");
  render()(inner, g);
  attachDetails(inner, view);
  const laidOut = g.graph() as { width?: number; height?: number };
  enableZoom(svg, inner, laidOut.width ?? 0, laidOut.height ?? 0);
  // Lets tests and scripts wait for the drawing rather than for a timeout.
  document.body.dataset["rendered"] = "true";
}

try {
  main();
} catch (error) {
  showError(error);
}
