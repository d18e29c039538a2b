/**
 * The dashboard page: HTML and CSS with the page script (viz/browser/dashboard.ts, bundled by
 * scripts/build-viz-assets.mjs) inlined, so loading it takes one request and nothing else is
 * fetched but the feed and the JSON it asks this server for. Also the favicon and the page a
 * request without the token gets.
 */
import { vizAsset } from "../../viz/bundles.js";

/** The favicon: three engines under a controller, in the header's blue. */
export const FAVICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1e3a8a"/>` +
  `<rect x="11" y="5" width="10" height="7" rx="2" fill="#fff"/><path d="M16 12v5M7 17h18M7 17v3M16 17v3M25 17v3" stroke="#fff" stroke-width="2" fill="none"/>` +
  `<rect x="3" y="20" width="8" height="7" rx="2" fill="#86efac"/><rect x="12" y="20" width="8" height="7" rx="2" fill="#93c5fd"/><rect x="21" y="20" width="8" height="7" rx="2" fill="#fca5a5"/></svg>`;

const FAVICON_LINK = `<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,${encodeURIComponent(FAVICON_SVG)}">`;

const STYLE = `
:root { --border: #d0d7de; --muted: #57606a; --bg: #f6f8fa; --accent: #1e3a8a; --bad: #d62728; }
* { box-sizing: border-box; }
html, body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; background: var(--bg); }
header { display: flex; align-items: center; gap: 18px; background: var(--accent); color: #fff; padding: 6px 14px; position: sticky; top: 0; z-index: 5; }
header h1 { font-size: 15px; margin: 0; display: flex; align-items: center; gap: 8px; }
header h1 img { width: 20px; height: 20px; }
header nav { display: flex; gap: 4px; }
header nav a { color: #dbeafe; text-decoration: none; padding: 3px 10px; border-radius: 4px; }
header nav a.active, header nav a:hover { background: #ffffff26; color: #fff; }
#status { margin-left: auto; font-size: 12px; color: #dbeafe; }
#status.down { color: #fecaca; font-weight: 600; }
main { padding: 10px 12px; }
.view { display: none; }
.view.active { display: grid; gap: 10px; }
#view-status { grid-template-columns: minmax(0, 5fr) minmax(0, 6fr); }
section { background: #fff; border: 1px solid var(--border); border-radius: 6px; padding: 8px 10px; min-width: 0; }
section h2 { font-size: 13px; margin: 0 0 6px; display: flex; align-items: baseline; gap: 8px; }
section h2 .note { font-weight: normal; color: var(--muted); font-size: 12px; }
.wide { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; font-size: 12px; font-variant-numeric: tabular-nums; }
th { text-align: left; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--border); padding: 2px 6px; white-space: nowrap; }
td { padding: 2px 6px; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
td.num, th.num { text-align: right; }
tr.dead td { color: #8c959f; }
tr.clickable { cursor: pointer; }
tr.clickable:hover td { background: #eef4ff; }
.scroll { max-height: 330px; overflow: auto; }
.scroll.short { max-height: 200px; }
.badge { display: inline-block; border-radius: 10px; padding: 0 7px; font-size: 11px; background: #eaeef2; }
.badge.busy, .badge.running { background: #bfdbfe; } .badge.idle { background: #eaeef2; } .badge.dead, .badge.failed { background: #fecaca; }
.badge.done { background: #bbf7d0; } .badge.waiting, .badge.queued { background: #e5e7eb; } .badge.aborted { background: #d4d4d8; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
#tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(135px, 1fr)); gap: 8px; }
.tile { border: 1px solid #eef1f4; border-radius: 5px; padding: 4px 8px; }
.tile .label { color: var(--muted); font-size: 11px; }
.tile .value { font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .sub { color: var(--muted); font-size: 11px; }
.tile svg { display: block; width: 100%; height: 22px; }
.progress-row { display: grid; grid-template-columns: minmax(90px, 150px) 1fr; gap: 2px 10px; align-items: center; margin-bottom: 6px; }
.progress-row .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-weight: 600; }
.progress-row svg { width: 100%; height: 14px; display: block; }
.progress-row .counts { grid-column: 2; color: var(--muted); font-size: 11px; font-variant-numeric: tabular-nums; }
.counts b { color: #1f2328; font-weight: 600; }
.counts .erred { color: var(--bad); }
#stream-controls { display: flex; gap: 4px; margin-left: auto; font-weight: normal; }
button { font: inherit; font-size: 12px; border: 1px solid var(--border); background: #fff; border-radius: 4px; padding: 1px 8px; cursor: pointer; }
button.active { background: var(--accent); color: #fff; border-color: var(--accent); }
#stream { width: 100%; display: block; user-select: none; cursor: crosshair; }
#stream rect.task, #graph g.node { cursor: pointer; }
#legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; margin-top: 4px; }
#tooltip { position: fixed; pointer-events: none; background: #1f2328ee; color: #fff; padding: 5px 8px; border-radius: 4px; font-size: 12px; z-index: 10; white-space: pre; display: none; }
#graph { width: 100%; display: block; }
#graph-box { overflow: auto; max-height: calc(100vh - 130px); }
.error-name { color: var(--bad); font-weight: 600; }
td.message { white-space: normal; max-width: 420px; overflow-wrap: anywhere; }
pre { background: #f6f8fa; border: 1px solid #eef1f4; border-radius: 4px; padding: 6px 8px; overflow: auto; max-height: 420px; font-size: 12px; margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.stack { color: #82071e; background: #fff5f5; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; font-size: 12px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
#view-task { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
#view-task h2.title { font-size: 16px; }
a { color: #0969da; }
.log-line { white-space: pre-wrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 11.5px; }
.log-line.error { color: var(--bad); } .log-line.warn { color: #9a6700; }
.empty { color: var(--muted); font-style: italic; }
@media (max-width: 1100px) { #view-status, #view-task { grid-template-columns: minmax(0, 1fr); } }
`;

const BODY = `
<header>
  <h1><img alt="" src="data:image/svg+xml,${encodeURIComponent(FAVICON_SVG)}">Parallax</h1>
  <nav><a href="#/" data-view="status">Status</a><a href="#/graph" data-view="graph">Graph</a><a href="#/logs" data-view="logs">Logs</a></nav>
  <span id="status">connecting…</span>
</header>
<main>
  <div class="view" id="view-status">
    <section class="wide" id="controller"><h2>Controller <span class="note" id="controller-note"></span></h2><div id="tiles"></div></section>
    <section><h2>Progress <span class="note">by function</span></h2><div id="progress"></div></section>
    <section><h2>Engines <span class="note" id="engines-note"></span></h2><div class="scroll"><table id="engines"><thead><tr>
      <th>id</th><th>host</th><th class="num">pid</th><th>state</th><th class="num" title="sent to the engine, waiting behind its current task">queued</th><th class="num">run</th><th class="num">done</th><th class="num">failed</th>
      <th class="num">CPU</th><th class="num">RSS</th><th class="num" title="bytes the controller sent to the engine">in</th><th class="num" title="bytes the engine sent to the controller">out</th><th class="num" title="last heartbeat">beat</th><th>CPU, last 60 s</th></tr></thead><tbody></tbody></table></div></section>
    <section class="wide"><h2>Task stream <span class="note" id="stream-note"></span>
      <span id="stream-controls"><button data-minutes="1">1 min</button><button data-minutes="5">5 min</button><button data-minutes="15">15 min</button><button data-minutes="60">1 h</button><button id="stream-live">live</button></span></h2>
      <svg id="stream" role="img" aria-label="task stream: one lane per engine"></svg><div id="legend"></div></section>
    <section class="wide"><h2>Errors <span class="note" id="errors-note">recent failures; click one for its task and traceback</span></h2>
      <div class="scroll"><table id="errors"><thead><tr><th>time</th><th>function</th><th>engine</th><th>error</th><th>task</th></tr></thead><tbody></tbody></table></div></section>
  </div>
  <div class="view" id="view-graph">
    <section class="wide"><h2>Graph <span class="note" id="graph-note"></span><span class="note" style="margin-left:auto"><a id="graph-svg-link" target="_blank" rel="noopener">open as Graphviz SVG</a></span></h2>
      <div id="graph-box"><svg id="graph" role="img" aria-label="graph of recent tasks"></svg></div><div id="graph-legend" class="legend"></div></section>
  </div>
  <div class="view" id="view-logs"><section class="wide"><h2>Logs <span class="note" id="logs-note"></span></h2><div id="logs"></div></section></div>
  <div class="view" id="view-task"></div>
</main>
<div id="tooltip"></div>
`;

/** The page, with its script allowed by `nonce`. */
export async function dashboardPage(nonce: string): Promise<string> {
  const script = await vizAsset("dashboard.js");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parallax dashboard</title>${FAVICON_LINK}<style>${STYLE}</style></head>
<body>${BODY}<script nonce="${nonce}">${script}</script></body></html>
`;
}

/** What a request without the right token gets: how to find the dashboard's URL. */
export function forbiddenPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parallax dashboard: token needed</title>${FAVICON_LINK}
<style>body { font: 14px/1.5 system-ui, Helvetica, Arial, sans-serif; max-width: 640px; margin: 48px auto; color: #1f2328; } code { background: #f6f8fa; padding: 1px 4px; }</style></head>
<body><h1>403: this dashboard needs its token</h1>
<p>The Parallax dashboard only answers requests that carry the cluster's token, like
<code>http://127.0.0.1:PORT/?token=…</code>. The address with its token is:</p>
<ul>
<li>printed by <code>parallax cluster start --dashboard</code> (the <code>dashboard:</code> line) and written to the controller's log;</li>
<li><code>client.dashboardUrl</code> in a connected client;</li>
<li>the <code>dashboardUrl</code> field of the client connection file, <code>security/client-&lt;cluster id&gt;.json</code> in the profile folder (<code>~/.parallax/profile_default</code> unless chosen otherwise).</li>
</ul></body></html>
`;
}
