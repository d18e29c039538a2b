/**
 * The self-contained HTML view of a task graph: the graph JSON and the page script (built by
 * scripts/build-viz-assets.mjs) are inlined, so the file opens offline from disk.
 */
import type { TaskGraphJSON } from "../src/graph/graph-json.js";
import { vizAsset } from "./bundles.js";
import { escapeXml } from "./graph-view.js";

/** Options of {@link htmlPage}. */
export interface HtmlOptions {
  /** Page and graph title. */
  title?: string;
  /** Above this many tasks the page groups tasks by label. Default {@link DEFAULT_HTML_MAX_NODES}. */
  maxNodes?: number;
  /** Labels longer than this are cut in boxes. */
  maxLabelLength?: number;
}

/**
 * Default collapse threshold of the HTML page. Lower than for SVG because the page lays the
 * graph out with dagre in the browser, which is superlinear (about 1 s for 300 nodes, 26 s
 * for 1000).
 */
export const DEFAULT_HTML_MAX_NODES = 300;

/** Reads the page script once per process; a failed read is retried next time. */
export function pageScript(): Promise<string> {
  return vizAsset("graph-page.js");
}

/**
 * Serializes a value for a `<script type="application/json">` element. `<` is escaped so
 * that no string in the data can close the element or open a comment.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

const STYLE = `
  html, body { margin: 0; height: 100%; font: 13px/1.4 Helvetica, Arial, sans-serif; color: #24292f; }
  body { display: flex; flex-direction: column; }
  #header { padding: 8px 16px; border-bottom: 1px solid #d0d7de; }
  #header h1 { font-size: 16px; margin: 0 0 2px; }
  #header p { margin: 0 0 6px; color: #57606a; }
  #header .error { color: #b42318; font-weight: bold; }
  .legend { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
  .swatch { border: 1px solid; border-radius: 4px; padding: 0 6px; }
  .edge-kind { display: inline-flex; gap: 4px; align-items: center; margin-left: 8px; }
  #canvas { flex: 1; width: 100%; min-height: 0; cursor: grab; background: #fff; }
  #canvas:active { cursor: grabbing; }
  #canvas g.node { cursor: pointer; }
  #canvas g.node text { font-family: Helvetica, Arial, sans-serif; }
  #canvas g.edgePath path.path { fill: none; }
  #details { position: fixed; top: 12px; right: 12px; max-width: 420px; background: #fffffff0; border: 1px solid #d0d7de;
    border-radius: 6px; box-shadow: 0 4px 12px #0002; padding: 8px 12px; pointer-events: none; word-break: break-word; }
  #details h2 { font-size: 14px; margin: 0 0 4px; }
  #details .details-line { white-space: pre-wrap; }
`;

/**
 * Writes the page. The graph is embedded as JSON (the graphology serialization), and the
 * browser builds the drawing from it with the same code the DOT writer uses.
 */
export async function htmlPage(graph: TaskGraphJSON, options: HtmlOptions = {}): Promise<string> {
  const script = await pageScript();
  const title = options.title ?? "Task graph";
  const config = {
    title,
    maxNodes: options.maxNodes ?? DEFAULT_HTML_MAX_NODES,
    ...(options.maxLabelLength ? { maxLabelLength: options.maxLabelLength } : {}),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="parallax visualize()">
<title>${escapeXml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header id="header"></header>
<svg id="canvas" xmlns="http://www.w3.org/2000/svg"><g class="viewport"></g></svg>
<aside id="details" hidden></aside>
<script type="application/json" id="task-graph">${scriptJson(graph)}</script>
<script type="application/json" id="viz-config">${scriptJson(config)}</script>
<script>${script}</script>
</body>
</html>
`;
}
