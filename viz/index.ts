/**
 * Drawing task graphs and executed runs: `visualize()` (SVG, DOT, JSON, HTML), `timeline()`
 * (a Gantt chart per engine) and the pieces they are built from.
 */
export { visualize, renderDot, resolveFormat } from "./visualize.js";
export type { VisualizeFormat, VisualizeKind, VisualizeOptions } from "./visualize.js";
export { timeline } from "./timeline.js";
export type { TimelineOptions } from "./timeline.js";
export { toDot, viewToDot, dotString, dotTooltip, dotHtml } from "./to-dot.js";
export type { DotOptions } from "./to-dot.js";
export { graphFromResults, toTaskGraphJSON, isTaskGraphJSON, isAsyncResultLike, stateFromMetadata } from "./graph-input.js";
export type { AsyncResultLike, GraphInput, GraphSource, TaskMetadataLike } from "./graph-input.js";
export { htmlPage, DEFAULT_HTML_MAX_NODES } from "./html-page.js";
export type { HtmlOptions } from "./html-page.js";
export { buildView, DEFAULT_MAX_NODES, EDGE_STYLES, STATE_STYLES, escapeXml, formatDuration } from "./graph-view.js";
export type { EdgeStyle, GraphView, StateStyle, ViewEdge, ViewNode, ViewOptions } from "./graph-view.js";
export type { EdgeKind, TaskEdgeAttributes, TaskGraphJSON, TaskNodeAttributes, TaskState } from "../src/graph/graph-json.js";
