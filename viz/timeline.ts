/**
 * Gantt chart of an executed run as a hand-written SVG: one lane per engine, one bar per task
 * from start to completion, coloured by state. Tasks that overlap on one engine (async work)
 * stack into sub-rows of the lane so no bar hides another.
 */
import type { TaskGraphJSON, TaskNodeAttributes, TaskState } from "../src/graph/graph-json.js";
import { toTaskGraphJSON } from "./graph-input.js";
import type { GraphInput } from "./graph-input.js";
import {
  assertTaskGraphJSON,
  dependencyDetails,
  EDGE_KINDS,
  EDGE_STYLES,
  edgeKind,
  escapeXml,
  formatDuration,
  formatTime,
  singleLine,
  STATE_STYLES,
  TASK_STATES,
  taskAttributes,
  taskDetails,
} from "./graph-view.js";

/** Options of {@link timeline}. */
export interface TimelineOptions {
  /** Width of the SVG in pixels. Default 960. */
  width?: number;
  /** Height of one row of bars in pixels. Default 20. */
  rowHeight?: number;
  /** Draw an arrow for each dependency between two drawn tasks. Default false. */
  arrows?: boolean;
  /** Title drawn above the chart. */
  title?: string;
  /** Where bars of still-running tasks end (epoch ms). Default: the latest time in the graph. */
  now?: number;
}

/** One drawn task. */
interface Bar {
  key: string;
  task: TaskNodeAttributes;
  start: number;
  end: number;
  lane: number;
  row: number;
}

/** One engine's lane. */
interface Lane {
  name: string;
  engineId: number | undefined;
  rows: number;
  y: number;
  height: number;
}

const MARGIN = { left: 96, right: 24, top: 16, bottom: 28 } as const;
const LANE_PADDING = 4;
const TICK_TARGET = 8;
const CHAR_WIDTH = 6.2;

function latestTime(tasks: Iterable<TaskNodeAttributes>): number {
  let latest = -Infinity;
  for (const t of tasks) latest = Math.max(latest, t.started ?? -Infinity, t.completed ?? -Infinity, t.submitted ?? -Infinity);
  return latest;
}

function collectBars(graph: TaskGraphJSON, now: number | undefined): Bar[] {
  const tasks = graph.nodes.map((n) => [String(n.key), taskAttributes(String(n.key), n.attributes)] as const);
  const end = now ?? latestTime(tasks.map(([, t]) => t));
  return tasks
    .filter(([, t]) => t.started !== undefined)
    .map(([key, task]) => ({
      key,
      task,
      start: task.started as number,
      end: Math.max(task.started as number, task.completed ?? end),
      lane: 0,
      row: 0,
    }));
}

/** Groups bars into one lane per engine (sorted by id; unknown engines last) and packs rows. */
function assignLanes(bars: Bar[], rowHeight: number): Lane[] {
  const engineIds = [...new Set(bars.map((b) => b.task.engineId))].sort((x, y) => (x ?? Infinity) - (y ?? Infinity));
  const lanes: Lane[] = engineIds.map((id) => ({
    name: id === undefined ? "no engine" : `engine ${id}`,
    engineId: id,
    rows: 1,
    y: 0,
    height: 0,
  }));
  const laneIndex = new Map(engineIds.map((id, i) => [id, i]));
  const rowEnds: number[][] = lanes.map(() => []);
  for (const bar of [...bars].sort((x, y) => x.start - y.start || x.end - y.end)) {
    bar.lane = laneIndex.get(bar.task.engineId) as number;
    const ends = rowEnds[bar.lane] as number[];
    // Greedy interval packing: the first row free at this start, else a new row.
    let row = ends.findIndex((e) => e <= bar.start);
    if (row === -1) row = ends.push(bar.end) - 1;
    else ends[row] = bar.end;
    bar.row = row;
  }
  let y = 0;
  lanes.forEach((lane, i) => {
    lane.rows = Math.max(1, rowEnds[i]?.length ?? 1);
    lane.height = lane.rows * rowHeight + 2 * LANE_PADDING;
    lane.y = y;
    y += lane.height;
  });
  return lanes;
}

/** A round tick step (1, 2 or 5 × 10^k ms) giving about `TICK_TARGET` ticks over `span`. */
export function niceStep(span: number): number {
  const raw = Math.max(span, 1e-3) / TICK_TARGET;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return step ?? 10 * magnitude;
}

/** Maps epoch milliseconds to x pixels. */
interface Scale {
  t0: number;
  span: number;
  x(time: number): number;
  width(duration: number): number;
}

function makeScale(bars: Bar[], plotWidth: number): Scale {
  // reduce, not Math.min(...spread): spreading 100k+ arguments overflows the stack.
  const t0 = bars.reduce((min, b) => Math.min(min, b.start), Infinity);
  const t1 = bars.reduce((max, b) => Math.max(max, b.end), -Infinity);
  const span = Math.max(t1 - t0, 1);
  const perMs = plotWidth / span;
  return { t0, span, x: (time) => MARGIN.left + (time - t0) * perMs, width: (duration) => duration * perMs };
}

function fmt(n: number): string {
  return String(Math.round(n * 100) / 100);
}

function laneElements(lanes: Lane[], top: number, width: number): string[] {
  return lanes.flatMap((lane, i) => {
    const y = top + lane.y;
    const engine = lane.engineId === undefined ? "" : ` data-engine="${lane.engineId}"`;
    return [
      `<rect class="lane"${engine} x="0" y="${fmt(y)}" width="${width}" height="${fmt(lane.height)}" fill="${i % 2 === 0 ? "#f6f8fa" : "#ffffff"}"/>`,
      `<text class="lane-label" x="8" y="${fmt(y + lane.height / 2 + 4)}">${escapeXml(lane.name)}</text>`,
    ];
  });
}

function axisElements(scale: Scale, top: number, bottom: number): string[] {
  const step = niceStep(scale.span);
  const elements: string[] = [];
  for (let offset = 0; offset <= scale.span + step * 1e-9; offset += step) {
    const x = fmt(scale.x(scale.t0 + offset));
    elements.push(
      `<line class="tick" x1="${x}" y1="${fmt(top)}" x2="${x}" y2="${fmt(bottom + 4)}" stroke="#d0d7de" stroke-width="1"/>`,
      `<text class="tick-label" x="${x}" y="${fmt(bottom + 16)}" text-anchor="middle">${escapeXml(offset === 0 ? "0" : formatDuration(offset))}</text>`,
    );
  }
  elements.push(
    `<line class="axis" x1="${MARGIN.left}" y1="${fmt(bottom)}" x2="${fmt(scale.x(scale.t0 + scale.span))}" y2="${fmt(bottom)}" stroke="#57606a"/>`,
  );
  return elements;
}

function barY(bar: Bar, lanes: Lane[], top: number, rowHeight: number): number {
  const lane = lanes[bar.lane] as Lane;
  return top + lane.y + LANE_PADDING + bar.row * rowHeight;
}

function barElement(bar: Bar, scale: Scale, y: number, rowHeight: number): string {
  const style = STATE_STYLES[bar.task.state];
  // Zero-length tasks still get a visible sliver; every other width is exactly proportional.
  const width = Math.max(scale.width(bar.end - bar.start), 1);
  const height = rowHeight - 4;
  const x = scale.x(bar.start);
  const title = escapeXml(taskDetails(bar.task).join("\n"));
  const label = fittedLabel(bar.task.label, width);
  const text = label
    ? `<text class="bar-label" x="${fmt(x + 3)}" y="${fmt(y + height / 2 + 4)}" fill="${style.font}">${escapeXml(label)}</text>`
    : "";
  const engine = bar.task.engineId === undefined ? "" : ` data-engine="${bar.task.engineId}"`;
  return `<g class="task"><title>${title}</title><rect class="bar" data-key="${escapeXml(bar.key)}" data-state="${bar.task.state}"${engine} data-duration="${bar.end - bar.start}" x="${fmt(x)}" y="${fmt(y)}" width="${fmt(width)}" height="${height}" rx="2" fill="${style.fill}" stroke="${style.border}"/>${text}</g>`;
}

/** The label if it fits inside a bar of `width` pixels (cut with an ellipsis), else "". */
function fittedLabel(label: string, width: number): string {
  const chars = Math.floor((width - 6) / CHAR_WIDTH);
  const text = singleLine(label);
  if (chars < 3) return "";
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

function arrowElements(graph: TaskGraphJSON, bars: Bar[], scale: Scale, lanes: Lane[], top: number, rowHeight: number): string[] {
  const byKey = new Map(bars.map((b) => [b.key, b]));
  const half = (rowHeight - 4) / 2;
  return (graph.edges ?? []).flatMap((edge) => {
    const from = byKey.get(String(edge.source));
    const to = byKey.get(String(edge.target));
    if (!from || !to) return [];
    const kind = edgeKind(edge.attributes);
    const style = EDGE_STYLES[kind];
    const x1 = scale.x(from.end);
    const y1 = barY(from, lanes, top, rowHeight) + half;
    const x2 = scale.x(to.start);
    const y2 = barY(to, lanes, top, rowHeight) + half;
    const bend = Math.max(12, Math.abs(x2 - x1) / 2);
    const dash = style.dasharray ? ` stroke-dasharray="${style.dasharray}"` : "";
    const title = escapeXml(dependencyDetails(from.task, to.task, edge.attributes));
    return [
      `<path class="dependency" data-kind="${kind}" d="M${fmt(x1)},${fmt(y1)} C${fmt(x1 + bend)},${fmt(y1)} ${fmt(x2 - bend)},${fmt(y2)} ${fmt(x2)},${fmt(y2)}" fill="none" stroke="${style.color}" stroke-width="1.2"${dash} marker-end="url(#px-timeline-arrow-${kind})"><title>${title}</title></path>`,
    ];
  });
}

function arrowMarkers(): string {
  const markers = EDGE_KINDS.map(
    (kind) =>
      `<marker id="px-timeline-arrow-${kind}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${EDGE_STYLES[kind].color}"/></marker>`,
  );
  return `<defs>${markers.join("")}</defs>`;
}

function legendElements(states: Set<TaskState>, y: number): string[] {
  let x = MARGIN.left;
  return TASK_STATES.filter((s) => states.has(s)).flatMap((state) => {
    const style = STATE_STYLES[state];
    const elements = [
      `<rect class="legend" x="${x}" y="${fmt(y - 10)}" width="12" height="12" rx="2" fill="${style.fill}" stroke="${style.border}"/>`,
      `<text x="${x + 16}" y="${fmt(y)}">${state}</text>`,
    ];
    x += 28 + state.length * CHAR_WIDTH;
    return elements;
  });
}

function svgDocument(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="parallax-timeline" width="${width}" height="${fmt(height)}" viewBox="0 0 ${width} ${fmt(height)}" font-family="Helvetica,Arial,sans-serif" font-size="11">`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

function emptyTimeline(width: number, title: string | undefined, pending: number): string {
  const heading = title ? `<text x="${MARGIN.left}" y="20" font-weight="bold" font-size="13">${escapeXml(title)}</text>` : "";
  return svgDocument(width, 64, [
    heading,
    `<text class="note" x="${MARGIN.left}" y="44">no task has started yet (${pending} pending)</text>`,
  ]);
}

/**
 * Draws an executed run as an SVG Gantt chart: a lane per engine, a bar per started task
 * (width proportional to its run time), a time axis in offsets from the first start, and
 * `<title>` tooltips with each task's details. Tasks that never started are counted in a note.
 */
export function timeline(input: GraphInput, options: TimelineOptions = {}): string {
  const graph = toTaskGraphJSON(input);
  assertTaskGraphJSON(graph);
  const width = Math.max(MARGIN.left + MARGIN.right + 100, Math.round(options.width ?? 960));
  const rowHeight = Math.max(8, options.rowHeight ?? 20);
  const bars = collectBars(graph, options.now);
  const notStarted = graph.nodes.length - bars.length;
  if (bars.length === 0) return emptyTimeline(width, options.title, notStarted);

  const lanes = assignLanes(bars, rowHeight);
  const scale = makeScale(bars, width - MARGIN.left - MARGIN.right);
  const titleHeight = options.title ? 22 : 0;
  const top = MARGIN.top + titleHeight;
  const lanesBottom = top + lanes.reduce((sum, lane) => sum + lane.height, 0);
  const legendY = lanesBottom + MARGIN.bottom + 12;
  const body = [
    arrowMarkers(),
    `<style>.lane-label{font-weight:bold;fill:#24292f}.tick-label,.note{fill:#57606a}.task:hover rect{stroke-width:2}</style>`,
    ...(options.title
      ? [`<text x="${MARGIN.left}" y="${MARGIN.top + 4}" font-weight="bold" font-size="13">${escapeXml(options.title)}</text>`]
      : []),
    ...laneElements(lanes, top, width),
    ...axisElements(scale, top, lanesBottom),
    ...bars.map((bar) => barElement(bar, scale, barY(bar, lanes, top, rowHeight), rowHeight)),
    ...(options.arrows ? arrowElements(graph, bars, scale, lanes, top, rowHeight) : []),
    ...legendElements(new Set(bars.map((b) => b.task.state)), legendY),
    `<text class="note" x="${fmt(width - MARGIN.right)}" y="${fmt(legendY)}" text-anchor="end">${escapeXml(timelineNote(scale, bars.length, notStarted))}</text>`,
  ];
  return svgDocument(width, legendY + 12, body);
}

function timelineNote(scale: Scale, drawn: number, notStarted: number): string {
  const parts = [`t0 = ${formatTime(scale.t0)}`, `${drawn} tasks over ${formatDuration(scale.span)}`];
  if (notStarted > 0) parts.push(`${notStarted} not started (not shown)`);
  return parts.join(" · ");
}
