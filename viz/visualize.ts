/**
 * `visualize()`: draws a task graph, or an executed run, as SVG (Graphviz in wasm, no system
 * binary), DOT, JSON (graphology's serialization), a self-contained HTML page, or a timeline.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Viz } from "@viz-js/viz";
import type { TaskGraphJSON } from "../src/graph/graph-json.js";
import { checkOptions } from "../src/options.js";
import { toTaskGraphJSON } from "./graph-input.js";
import type { GraphInput } from "./graph-input.js";
import { htmlPage } from "./html-page.js";
import { escapeXml } from "./graph-view.js";
import { timeline } from "./timeline.js";
import type { TimelineOptions } from "./timeline.js";
import { toDot } from "./to-dot.js";
import type { DotOptions } from "./to-dot.js";

/** Output formats of {@link visualize}. */
export type VisualizeFormat = "svg" | "dot" | "json" | "html";

/** What {@link visualize} draws: the dependency graph, or tasks over time per engine. */
export type VisualizeKind = "graph" | "timeline";

/** Options of {@link visualize}. */
export interface VisualizeOptions extends DotOptions, TimelineOptions {
  /** Output format. Default: from the `filename` extension, else "svg". */
  format?: VisualizeFormat;
  /** Also write the output to this file (parent folders are created). */
  filename?: string;
  /** "graph" (default) or "timeline" (a Gantt chart per engine; svg, html or json). */
  kind?: VisualizeKind;
  /**
   * Above this many tasks, tasks are grouped by label. Default 2000 for svg and dot, 300 for
   * html (laid out in the browser, which is slower). json is never collapsed.
   */
  maxNodes?: number;
}

// A record, so that a new option cannot be forgotten here: unknown names are refused.
const OPTION_NAMES = Object.keys({
  format: true,
  filename: true,
  kind: true,
  maxNodes: true,
  maxLabelLength: true,
  title: true,
  legend: true,
  rankdir: true,
  width: true,
  rowHeight: true,
  arrows: true,
  now: true,
} satisfies Record<keyof VisualizeOptions, true>);

const EXTENSIONS: Readonly<Record<string, VisualizeFormat>> = {
  ".svg": "svg",
  ".dot": "dot",
  ".gv": "dot",
  ".json": "json",
  ".html": "html",
  ".htm": "html",
};

let vizPromise: Promise<Viz> | undefined;

/**
 * The Graphviz wasm instance, created on first use: the module is about 5 MB, so programs
 * that never draw never load it.
 */
function graphviz(): Promise<Viz> {
  vizPromise ??= import("@viz-js/viz")
    .then((module) => module.instance())
    .catch((error: unknown) => {
      vizPromise = undefined;
      throw error;
    });
  return vizPromise;
}

/** Renders DOT text to an SVG string with Graphviz (wasm). Throws with Graphviz's messages on invalid DOT. */
export async function renderDot(dot: string): Promise<string> {
  const viz = await graphviz();
  return viz.renderString(dot, { format: "svg" });
}

/** The format to produce: explicit, else from the file extension, else svg. */
export function resolveFormat(format: VisualizeFormat | undefined, filename: string | undefined): VisualizeFormat {
  if (format !== undefined) {
    if (!Object.values(EXTENSIONS).includes(format))
      throw new TypeError(`unknown format "${String(format)}": expected svg, dot, json or html`);
    return format;
  }
  if (filename === undefined) return "svg";
  const extension = path.extname(filename).toLowerCase();
  const inferred = EXTENSIONS[extension];
  if (!inferred) {
    throw new TypeError(
      `cannot tell the format of "${filename}" from its extension: use ${Object.keys(EXTENSIONS).join(", ")} or pass { format }`,
    );
  }
  return inferred;
}

async function drawGraph(graph: TaskGraphJSON, format: VisualizeFormat, options: VisualizeOptions): Promise<string> {
  switch (format) {
    case "json":
      return `${JSON.stringify(graph, null, 2)}\n`;
    case "dot":
      return toDot(graph, options);
    case "svg":
      return renderDot(toDot(graph, options));
    case "html":
      return htmlPage(graph, options);
  }
}

function drawTimeline(graph: TaskGraphJSON, format: VisualizeFormat, options: VisualizeOptions): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(graph, null, 2)}\n`;
    case "svg":
      return timeline(graph, options);
    case "html":
      return timelinePage(timeline(graph, options), options.title ?? "Timeline");
    case "dot":
      throw new TypeError('a timeline cannot be written as DOT: use format "svg", "html" or "json"');
  }
}

/** A timeline is plain SVG, so its page needs no script. */
function timelinePage(svg: string, title: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>body { margin: 16px; font: 13px Helvetica, Arial, sans-serif; } svg { max-width: 100%; height: auto; }</style></head>
<body>
${svg}</body>
</html>
`;
}

/**
 * Draws a task graph or an executed run.
 *
 * `input` may be a serialized task graph, a `TaskGraph` (anything with `export()`), the
 * results of `TaskGraph.compute` (drawn with states, engines and timings), an object whose
 * `toJSON()` or `graph` gives the serialization, or one or more AsyncResults (their metadata
 * records what each message depended on).
 *
 * Returns the output text; with `filename` it is also written to that file.
 *
 * @example
 * const svg = await visualize(graph);
 * await visualize(results, { filename: "run.html" });
 * await visualize(asyncResults, { kind: "timeline", arrows: true, filename: "run.svg" });
 */
export async function visualize(input: GraphInput, options: VisualizeOptions = {}): Promise<string> {
  checkOptions(options, OPTION_NAMES, "visualize");
  const format = resolveFormat(options.format, options.filename);
  const graph = toTaskGraphJSON(input);
  const kind = options.kind ?? "graph";
  if (kind !== "graph" && kind !== "timeline") throw new TypeError(`unknown kind "${String(kind)}": expected "graph" or "timeline"`);
  const output = kind === "timeline" ? drawTimeline(graph, format, options) : await drawGraph(graph, format, options);
  if (options.filename !== undefined) {
    await mkdir(path.dirname(path.resolve(options.filename)), { recursive: true });
    await writeFile(options.filename, output, "utf8");
  }
  return output;
}
