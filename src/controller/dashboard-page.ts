/**
 * The dashboard page: plain HTML, CSS and script with no external asset. It follows the
 * `/events` feed (Server-Sent Events) and redraws engines, queue, task stream and progress;
 * the DAG of recent tasks is an SVG the controller renders (`/graph.svg`).
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parallax dashboard</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; }
header { background: #283593; color: #fff; padding: 8px 14px; font-size: 16px; }
main { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; padding: 12px; }
section { border: 1px solid #ddd; border-radius: 4px; padding: 8px; }
h2 { font-size: 14px; margin: 0 0 6px; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; }
.bar { background: #c5cae9; height: 10px; }
#stream { width: 100%; height: 180px; }
#dag { grid-column: 1 / span 2; overflow: auto; max-height: 520px; }
.state-done { fill: #a1d99b; } .state-failed, .state-impossible { fill: #fb6a4a; } .state-running { fill: #9ecae1; }
.state-pending { fill: #d9d9d9; } .state-aborted { fill: #969696; }
</style></head>
<body>
<header>Parallax dashboard <span id="status">connecting…</span></header>
<main>
<section><h2>Engines</h2><table id="engines"><thead><tr><th>id</th><th>host</th><th>pid</th><th>queue</th><th>tasks</th><th>completed</th><th>load</th></tr></thead><tbody></tbody></table></section>
<section><h2>Queue</h2><div>unassigned load-balanced tasks: <b id="unassigned">0</b></div><h2 style="margin-top:10px">Progress</h2><table id="progress"><tbody></tbody></table></section>
<section style="grid-column: 1 / span 2"><h2>Task stream</h2><svg id="stream"></svg></section>
<section id="dag"><h2>Recent tasks</h2><div id="dag-svg"></div></section>
</main>
<script>
"use strict";
const byId = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
let lastGraphVersion = -1;
function drawEngines(engines) {
  const max = Math.max(1, ...engines.map((e) => e.queue + e.tasks));
  byId("engines").tBodies[0].innerHTML = engines.map((e) => "<tr data-engine='" + e.id + "'><td>" + e.id + "</td><td>" + esc(e.hostname) + "</td><td>" + e.pid +
    "</td><td>" + e.queue + "</td><td>" + e.tasks + "</td><td class='completed'>" + e.completed + "</td><td><div class='bar' style='width:" + (100 * (e.queue + e.tasks) / max) + "%'></div></td></tr>").join("");
}
function drawProgress(progress) {
  byId("progress").tBodies[0].innerHTML = progress.map((p) => "<tr><td>" + esc(p.label) + "</td><td>" + p.done + "/" + p.total +
    (p.failed ? " (" + p.failed + " failed)" : "") + "</td><td style='width:40%'><div class='bar' style='width:" + (100 * (p.done + p.failed) / p.total) + "%'></div></td></tr>").join("");
}
function drawStream(state) {
  const svg = byId("stream");
  const width = svg.clientWidth || 800, height = svg.clientHeight || 180;
  const started = state.tasks.filter((t) => t.started !== null && t.engineId !== null);
  const engines = [...new Set(started.map((t) => t.engineId))].sort((a, b) => a - b);
  if (started.length === 0) { svg.innerHTML = ""; return; }
  const t0 = Math.min(...started.map((t) => t.started)), t1 = Math.max(state.now, ...started.map((t) => t.completed ?? state.now));
  const x = (t) => 60 + (width - 70) * (t - t0) / Math.max(1, t1 - t0);
  const lane = (height - 10) / Math.max(1, engines.length);
  svg.innerHTML = engines.map((e, i) => "<text x='4' y='" + (i * lane + lane / 2 + 4) + "' font-size='11'>engine " + e + "</text>").join("") +
    started.map((t) => { const i = engines.indexOf(t.engineId); return "<rect class='task state-" + t.state + "' data-task='" + t.msgId + "' x='" + x(t.started) + "' y='" + (i * lane + 3) +
      "' width='" + Math.max(1.5, x(t.completed ?? state.now) - x(t.started)) + "' height='" + (lane - 6) + "'><title>" + esc(t.label) + " " + t.state + "</title></rect>"; }).join("");
}
async function drawDag(version) {
  if (version === lastGraphVersion) return;
  lastGraphVersion = version;
  const res = await fetch("/graph.svg");
  if (res.ok) byId("dag-svg").innerHTML = await res.text();
}
let pendingDag;
const events = new EventSource("/events");
events.addEventListener("state", (event) => {
  const state = JSON.parse(event.data);
  byId("status").textContent = "— " + state.engines.length + " engine(s), " + state.tasks.length + " recent task(s)";
  byId("unassigned").textContent = state.unassigned;
  drawEngines(state.engines);
  drawProgress(state.progress);
  drawStream(state);
  clearTimeout(pendingDag);
  pendingDag = setTimeout(() => drawDag(state.version), 300);
  document.body.dataset.version = state.version;
});
events.onerror = () => { byId("status").textContent = "— disconnected"; };
</script>
</body></html>
`;
