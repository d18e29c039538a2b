/**
 * The dashboard page's script (bundled into viz/assets/dashboard.js, inlined by the controller).
 * It follows the controller's `/events` feed and draws every panel as plain DOM and SVG: no
 * framework, no request but to the controller, with the page's token on each.
 */
import type {
  ControllerView,
  DashboardState,
  EngineView,
  ErrorView,
  GraphView,
  ProgressView,
  StreamEntry,
  ViewState,
  LogTail,
  TaskDetails,
  TaskLink,
} from "../../src/protocol/dashboard-feed.js";
import { layeredLayout } from "../dashboard-layout.js";

const TOKEN = new URLSearchParams(location.search).get("token") ?? "";
/** Function colours (no red: red means failed). */
const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#7f7f7f",
  "#393b79",
  "#637939",
  "#8c6d31",
  "#843c39",
  "#7b4173",
  "#3182bd",
  "#e6550d",
  "#31a354",
  "#756bb1",
  "#636363",
  "#6baed6",
];
const FAILED = "#d62728";
const STATE_COLOURS: Record<ViewState, string> = {
  waiting: "#e5e7eb",
  queued: "#bfdbfe",
  running: "#60a5fa",
  done: "#86efac",
  failed: "#f87171",
  aborted: "#a1a1aa",
};
/** Finished tasks the page keeps for the task stream. */
const STREAM_KEEP = 20_000;
/** Most bars drawn at once (the newest in view win). */
const STREAM_DRAW = 6_000;

let state: DashboardState | undefined;
const stream: StreamEntry[] = [];
/** The task stream's window: the last `minutes` (live), or a fixed range after zooming or panning. */
const view = { minutes: 5, live: true, from: 0, to: 0 };
let drawQueued = false;
let taskTimer: number | undefined;
let logsTimer: number | undefined;

// ---- helpers ----

const byId = <T extends HTMLElement | SVGElement = HTMLElement>(id: string) => document.getElementById(id) as unknown as T;
const esc = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const withToken = (path: string) => `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(TOKEN)}`;
const colour = (fn: number) => PALETTE[fn % PALETTE.length] as string;
const fnName = (fn: number) => state?.functions[fn] ?? "?";
const taskHref = (msgId: string) => `#/task/${encodeURIComponent(msgId)}`;

function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const clock = (t: number) => new Date(t).toLocaleTimeString([], { hour12: false });
const clockMs = (t: number) => `${clock(t)}.${String(Math.floor(t % 1000)).padStart(3, "0")}`;

/** A sparkline of `values` (nulls are gaps) as an SVG path in a `width`×`height` box. */
function sparkline(values: ReadonlyArray<number | null>, width: number, height: number, max?: number): string {
  const top = Math.max(1, max ?? Math.max(1, ...values.map((v) => v ?? 0)));
  let path = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    const x = values.length <= 1 ? width : (i / (values.length - 1)) * width;
    const y = height - 1 - (Math.min(v, top) / top) * (height - 2);
    path += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  });
  return `<path d="${path}" fill="none" stroke="#1e3a8a" stroke-width="1.3"/>`;
}

// ---- feed ----

function connect(): void {
  const events = new EventSource(withToken("/events"));
  events.addEventListener("state", (event) => {
    state = JSON.parse((event as MessageEvent<string>).data) as DashboardState;
    byId("status").className = "";
    scheduleDraw();
  });
  events.addEventListener("stream", (event) => {
    const entries = JSON.parse((event as MessageEvent<string>).data) as StreamEntry[];
    stream.push(...entries);
    if (stream.length > STREAM_KEEP) stream.splice(0, stream.length - STREAM_KEEP);
    scheduleDraw();
  });
  events.onerror = () => {
    const status = byId("status");
    status.textContent = "disconnected: retrying…";
    status.className = "down";
  };
}

function scheduleDraw(): void {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    draw();
  });
}

function draw(): void {
  if (!state) return;
  const s = state;
  const live = s.engines.filter((e) => e.state !== "dead").length;
  byId("status").textContent =
    `${live} engine${live === 1 ? "" : "s"} · ${s.controller.finished}/${s.controller.submitted} tasks finished · up ${duration(s.controller.uptime)}`;
  document.body.dataset.version = String(s.version);
  const route = currentRoute();
  if (route.view === "status") {
    drawController(s.controller);
    drawProgress(s.progress);
    drawEngines(s.engines);
    drawStream(s);
    drawErrors(s.errors);
  } else if (route.view === "graph") {
    drawGraph(s.graph);
  }
}

// ---- routing ----

function currentRoute(): { view: "status" | "graph" | "logs" | "task"; task?: string } {
  const hash = location.hash.replace(/^#\/?/, "");
  if (hash.startsWith("task/")) return { view: "task", task: decodeURIComponent(hash.slice(5)) };
  if (hash === "graph" || hash === "logs") return { view: hash };
  return { view: "status" };
}

function route(): void {
  const r = currentRoute();
  for (const el of document.querySelectorAll<HTMLElement>(".view")) el.classList.toggle("active", el.id === `view-${r.view}`);
  for (const a of document.querySelectorAll<HTMLAnchorElement>("header nav a")) a.classList.toggle("active", a.dataset.view === r.view);
  window.clearInterval(taskTimer);
  window.clearInterval(logsTimer);
  hideTooltip();
  if (r.view === "task" && r.task) {
    const id = r.task;
    void showTask(id, true);
    taskTimer = window.setInterval(() => void showTask(id, false), 1000);
  } else if (r.view === "logs") {
    void showLogs();
    logsTimer = window.setInterval(() => void showLogs(), 2000);
  }
  document.title = r.view === "task" ? `Task ${r.task?.slice(0, 8)} · Parallax` : "Parallax dashboard";
  scheduleDraw();
}

// ---- controller ----

function drawController(c: ControllerView): void {
  const dropped = Object.entries(c.dropped);
  const droppedTotal = dropped.reduce((a, [, n]) => a + n, 0);
  const tile = (metric: string, label: string, value: string, sub: string, spark = "") =>
    `<div class="tile" data-metric="${metric}"><div class="label">${label}</div><div class="value">${value}</div><div class="sub">${sub}</div>${spark}</div>`;
  const spark = (values: number[]) =>
    `<svg viewBox="0 0 120 22" preserveAspectRatio="none">${sparkline(values.slice(-120), 120, 22)}</svg>`;
  byId("tiles").innerHTML = [
    tile("rate-in", "tasks in /s", c.rateIn.toFixed(1), `${c.submitted} submitted`, spark(c.historyIn)),
    tile("rate-out", "tasks out /s", c.rateOut.toFixed(1), `${c.finished} finished`, spark(c.historyOut)),
    tile(
      "queue",
      "queue",
      String(c.unassigned + c.onEngines),
      `<span data-unassigned="${c.unassigned}">${c.unassigned} unassigned</span> · ${c.onEngines} on engines`,
    ),
    tile("memory", "controller memory", bytes(c.rss), `heap ${bytes(c.heapUsed)} · pid ${c.pid}`),
    tile("loop", "event-loop delay", `${c.loopDelay.toFixed(1)} ms`, "mean over the last second"),
    tile("dropped", "dropped messages", String(droppedTotal), dropped.map(([k, n]) => `${esc(k)} ${n}`).join(" · ")),
    tile("uptime", "uptime", duration(c.uptime), `since ${new Date(Date.now() - c.uptime).toLocaleString([], { hour12: false })}`),
  ].join("");
}

// ---- progress ----

function drawProgress(progress: ProgressView[]): void {
  const rows = [...progress]
    .sort((a, b) => b.total - a.total)
    .map((p) => {
      const total = Math.max(1, p.total);
      const parts: Array<[string, number, string, number]> = [
        ["done", p.done, colour(p.fn), 1],
        ["erred", p.erred, FAILED, 1],
        ["running", p.running, colour(p.fn), 0.55],
        ["queued", p.queued, colour(p.fn), 0.25],
      ];
      let x = 0;
      const bars = parts
        .map(([kind, n, fill, opacity]) => {
          const w = (100 * n) / total;
          const rect =
            n > 0
              ? `<rect class="${kind}" x="${x}%" width="${w}%" height="14" fill="${fill}" fill-opacity="${opacity}"><title>${kind}: ${n}</title></rect>`
              : "";
          x += w;
          return rect;
        })
        .join("");
      return `<div class="progress-row" data-fn="${esc(fnName(p.fn))}" data-total="${p.total}" data-done="${p.done}" data-erred="${p.erred}" data-running="${p.running}" data-queued="${p.queued}" data-waiting="${p.waiting}">
      <div class="name" title="${esc(fnName(p.fn))}"><span class="swatch" style="background:${colour(p.fn)}"></span>${esc(fnName(p.fn))}</div>
      <svg><rect width="100%" height="14" fill="#eef1f4"/>${bars}</svg>
      <div class="counts"><b>${p.done + p.erred}</b>/${p.total} · done ${p.done} · <span class="${p.erred ? "erred" : ""}">erred ${p.erred}</span> · running ${p.running} · queued ${p.queued} · waiting ${p.waiting} · <b>${p.rate.toFixed(1)}</b>/s</div></div>`;
    });
  byId("progress").innerHTML = rows.join("") || `<p class="empty">no tasks yet</p>`;
}

// ---- engines ----

function drawEngines(engines: EngineView[]): void {
  const now = state?.now ?? Date.now();
  const live = engines.filter((e) => e.state !== "dead");
  byId("engines-note").textContent = `${live.length} live${engines.length > live.length ? `, ${engines.length - live.length} gone` : ""}`;
  byId("engines").querySelector("tbody")!.innerHTML = engines
    .map(
      (e) => `<tr data-engine="${e.id}" class="${e.state}"${e.reason ? ` title="${esc(e.reason)}"` : ""}>
    <td>${e.id}</td><td>${esc(e.host)}</td><td class="num">${e.pid}</td><td><span class="badge ${e.state}">${e.state}</span></td>
    <td class="num queued">${e.queued}</td><td class="num running">${e.running}</td><td class="num done">${e.done}</td><td class="num failed">${e.failed}</td>
    <td class="num cpu">${e.cpu === null ? "—" : `${Math.round(e.cpu)} %`}</td><td class="num rss">${bytes(e.rss)}</td>
    <td class="num bytes-in">${bytes(e.bytesOut)}</td><td class="num bytes-out">${bytes(e.bytesIn)}</td>
    <td class="num beat">${e.state === "dead" ? "—" : duration(Math.max(0, now - e.lastBeat))}</td>
    <td><svg class="spark" width="120" height="18" viewBox="0 0 120 18">${sparkline(padded(e.cpuHistory, 60), 120, 18, 100)}</svg></td></tr>`,
    )
    .join("");
}

/** The last `n` samples, with gaps in front when there are fewer. */
function padded(values: ReadonlyArray<number | null>, n: number): Array<number | null> {
  return [...new Array<null>(Math.max(0, n - values.length)).fill(null), ...values.slice(-n)];
}

// ---- task stream ----

function streamRange(now: number): [number, number] {
  if (!view.live) return [view.from, view.to];
  // A young cluster fills the width: the window starts at its first task if that is later.
  const first = Math.min(stream[0]?.[4] ?? now, ...(state?.running ?? []).map((r) => r.start));
  const from = Math.max(now - view.minutes * 60_000, first - Math.max(500, (now - first) * 0.03));
  return [from, now];
}

function niceStep(span: number, target: number): number {
  const steps = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];
  return steps.find((s) => span / s <= target) ?? 3_600_000;
}

function drawStream(s: DashboardState): void {
  const svg = byId<SVGSVGElement>("stream");
  const width = svg.clientWidth || 1000;
  const [t0, t1] = streamRange(s.now);
  const lanes = [...new Set([...s.engines.map((e) => e.id), ...stream.filter((e) => e[5] >= t0).map((e) => e[3])])].sort((a, b) => a - b);
  const laneHeight = lanes.length <= 8 ? 22 : lanes.length <= 24 ? 12 : 7;
  const left = 64;
  const axis = 20;
  const height = Math.max(60, lanes.length * laneHeight + axis + 4);
  svg.setAttribute("height", String(height));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const x = (t: number) => left + ((width - left - 8) * (t - t0)) / Math.max(1, t1 - t0);
  const laneOf = new Map(lanes.map((id, i) => [id, i]));
  const parts: string[] = [];
  // Time axis with gridlines.
  const step = niceStep(t1 - t0, Math.max(2, Math.floor(width / 110)));
  parts.push(`<g class="axis">`);
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const px = x(t);
    parts.push(
      `<line x1="${px}" x2="${px}" y1="0" y2="${height - axis}" stroke="#eef1f4"/><text x="${px}" y="${height - 6}" font-size="10" text-anchor="middle" fill="#57606a">${step < 1000 ? clockMs(t) : clock(t)}</text>`,
    );
  }
  parts.push(`<line x1="${left}" x2="${width - 8}" y1="${height - axis}" y2="${height - axis}" stroke="#8c959f"/></g>`);
  lanes.forEach((id, i) => {
    if (laneHeight >= 10 || i % 4 === 0)
      parts.push(
        `<text class="lane" x="4" y="${i * laneHeight + laneHeight / 2 + 4}" font-size="${laneHeight >= 12 ? 11 : 9}" fill="#57606a">engine ${id}</text>`,
      );
  });
  const visible: StreamEntry[] = [];
  for (let i = stream.length - 1; i >= 0 && visible.length < STREAM_DRAW; i--) {
    const entry = stream[i] as StreamEntry;
    if (entry[5] >= t0 && entry[4] <= t1) visible.push(entry);
  }
  const inView = new Set<number>();
  for (const [, msgId, fn, engine, start, end, ok] of visible) {
    const lane = laneOf.get(engine);
    if (lane === undefined) continue;
    inView.add(fn);
    const x0 = Math.max(left, x(start));
    const w = Math.max(1, Math.min(width - 8, x(end)) - x0);
    parts.push(
      `<rect class="task ${ok ? "ok" : "failed"}" data-task="${msgId}" data-fn="${fn}" data-engine="${engine}" data-start="${start}" data-end="${end}" x="${x0.toFixed(1)}" y="${lane * laneHeight + 2}" width="${w.toFixed(1)}" height="${laneHeight - 3}" fill="${ok ? colour(fn) : FAILED}"><title>${esc(fnName(fn))} ${ok ? "done" : "failed"}</title></rect>`,
    );
  }
  for (const r of s.running) {
    const lane = laneOf.get(r.engineId);
    if (lane === undefined || r.start > t1) continue;
    inView.add(r.fn);
    const x0 = Math.max(left, x(r.start));
    parts.push(
      `<rect class="task running" data-task="${r.msgId}" data-fn="${r.fn}" data-engine="${r.engineId}" data-start="${r.start}" x="${x0.toFixed(1)}" y="${lane * laneHeight + 2}" width="${Math.max(1, x(s.now) - x0).toFixed(1)}" height="${laneHeight - 3}" fill="${colour(r.fn)}" fill-opacity="0.45" stroke="${colour(r.fn)}"><title>${esc(fnName(r.fn))} running</title></rect>`,
    );
  }
  svg.innerHTML = parts.join("");
  const total = stream.length;
  byId("stream-note").textContent =
    `${view.live ? `last ${view.minutes} min` : `${clock(t0)} – ${clock(t1)} (wheel to zoom, drag to pan, “live” to follow)`} · ${visible.length}${visible.length >= STREAM_DRAW ? "+ (newest drawn)" : ""} bars · ${total} kept`;
  for (const b of document.querySelectorAll<HTMLButtonElement>("#stream-controls button[data-minutes]"))
    b.classList.toggle("active", view.live && Number(b.dataset.minutes) === view.minutes);
  byId("stream-live").classList.toggle("active", view.live);
  byId("legend").innerHTML =
    [...inView]
      .sort((a, b) => a - b)
      .map((fn) => `<span data-fn="${fn}"><span class="swatch" style="background:${colour(fn)}"></span>${esc(fnName(fn))}</span>`)
      .join("") + `<span data-fn="failed"><span class="swatch" style="background:${FAILED}"></span>failed</span>`;
}

function streamTooltip(target: Element): string | undefined {
  const d = (target as SVGElement).dataset;
  if (!d.task) return undefined;
  const start = Number(d.start);
  const end = d.end ? Number(d.end) : undefined;
  const running = (target as SVGElement).classList.contains("running");
  return [
    `${fnName(Number(d.fn))}`,
    `task ${d.task}`,
    `engine ${d.engine}`,
    `start ${clockMs(start)}`,
    `duration ${duration((end ?? state?.now ?? Date.now()) - start)}${running ? " so far" : ""}`,
    `state ${running ? "running" : (target as SVGElement).classList.contains("failed") ? "failed" : "done"}`,
  ].join("\n");
}

function setupStream(): void {
  const svg = byId<SVGSVGElement>("stream");
  for (const b of document.querySelectorAll<HTMLButtonElement>("#stream-controls button[data-minutes]")) {
    b.addEventListener("click", () => {
      view.minutes = Number(b.dataset.minutes);
      view.live = true;
      scheduleDraw();
    });
  }
  byId("stream-live").addEventListener("click", () => {
    view.live = true;
    scheduleDraw();
  });
  const timeAt = (clientX: number) => {
    const box = svg.getBoundingClientRect();
    const [t0, t1] = streamRange(state?.now ?? Date.now());
    const left = 64;
    return t0 + ((clientX - box.left - left) / Math.max(1, box.width - left - 8)) * (t1 - t0);
  };
  svg.addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      const [t0, t1] = streamRange(state?.now ?? Date.now());
      const at = timeAt(event.clientX);
      // Proportional to the wheel's travel, so trackpads zoom smoothly and wheels in steps.
      const factor = Math.exp(Math.max(-500, Math.min(500, event.deltaY)) * 0.002);
      const from = at - (at - t0) * factor;
      const to = at + (t1 - at) * factor;
      // No closer than 50 ms across.
      if (to - from < 50) return;
      Object.assign(view, { from, to, live: false });
      scheduleDraw();
    },
    { passive: false },
  );
  let drag: { x: number; from: number; to: number } | undefined;
  svg.addEventListener("mousedown", (event) => {
    const [from, to] = streamRange(state?.now ?? Date.now());
    drag = { x: event.clientX, from, to };
  });
  window.addEventListener("mouseup", () => (drag = undefined));
  svg.addEventListener("mousemove", (event) => {
    if (drag && Math.abs(event.clientX - drag.x) > 3) {
      const shift = timeAt(drag.x) - timeAt(event.clientX);
      view.live = false;
      view.from = drag.from + shift;
      view.to = drag.to + shift;
      drag.x = event.clientX;
      drag.from = view.from;
      drag.to = view.to;
      scheduleDraw();
    }
  });
  svg.addEventListener("click", (event) => {
    const id = (event.target as SVGElement).dataset?.task;
    if (id) location.hash = taskHref(id);
  });
  addTooltip(svg, streamTooltip);
}

// ---- errors ----

function drawErrors(errors: ErrorView[]): void {
  byId("errors").querySelector("tbody")!.innerHTML =
    errors
      .map(
        (e) => `<tr class="clickable" data-task="${esc(e.msgId)}">
    <td>${clock(e.time)}</td><td><span class="swatch" style="background:${colour(e.fn)}"></span>${esc(fnName(e.fn))}</td><td>${e.engineId ?? "—"}</td>
    <td class="message"><span class="error-name">${esc(e.ename)}</span>: ${esc(e.evalue)}</td><td><a href="${taskHref(e.msgId)}">${esc(e.msgId.slice(0, 8))}</a></td></tr>`,
      )
      .join("") || `<tr><td colspan="5" class="empty">no failures</td></tr>`;
}

function setupErrors(): void {
  byId("errors").addEventListener("click", (event) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>("tr[data-task]");
    if (row?.dataset.task) location.hash = taskHref(row.dataset.task);
  });
}

// ---- graph ----

function drawGraph(graph: GraphView): void {
  const svg = byId<SVGSVGElement>("graph");
  const groups = graph.mode === "groups";
  const nodeW = groups ? 170 : 118;
  const nodeH = groups ? 46 : 28;
  const gapX = 14;
  const gapY = groups ? 44 : 30;
  const width = Math.max(400, byId("graph-box").clientWidth - 4);
  const maxColumns = Math.max(1, Math.floor((width - 20) / (nodeW + gapX)));
  const layout = layeredLayout(
    graph.nodes.length,
    graph.edges.map(([a, b]) => [a, b] as const),
    maxColumns,
  );
  // Centred in the panel when narrower than it.
  const pad = 10 + Math.max(0, (width - 20 - layout.columns * (nodeW + gapX)) / 2);
  const cx = (i: number) => pad + (layout.nodes[i]?.x ?? 0) * (nodeW + gapX) + nodeW / 2;
  const cy = (i: number) => 10 + (layout.nodes[i]?.y ?? 0) * (nodeH + gapY) + nodeH / 2;
  const height = 20 + layout.rows * (nodeH + gapY);
  svg.setAttribute("width", String(Math.max(width, 20 + layout.columns * (nodeW + gapX))));
  svg.setAttribute("height", String(Math.max(60, height)));
  const parts: string[] = [
    `<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto"><path d="M0,0L8,4L0,8z" fill="#8c959f"/></marker></defs>`,
  ];
  for (const [a, b, n] of graph.edges) {
    const x1 = cx(a),
      y1 = cy(a) + nodeH / 2,
      x2 = cx(b),
      y2 = cy(b) - nodeH / 2;
    const bend = Math.max(20, (y2 - y1) / 2);
    // An edge that skips rows bows out to the side instead of running behind the boxes between.
    const skips = (layout.nodes[b]?.y ?? 0) - (layout.nodes[a]?.y ?? 0) > 1;
    const side = skips ? nodeW * 0.8 : 0;
    parts.push(
      `<path class="edge" d="M${x1},${y1}C${x1 + side},${y1 + bend} ${x2 + side},${y2 - bend} ${x2},${y2}" fill="none" stroke="#8c959f" stroke-width="${groups ? Math.min(6, 1 + Math.log2(n)) : 1.2}" marker-end="url(#arrow)">${groups ? `<title>${n} dependenc${n === 1 ? "y" : "ies"}</title>` : ""}</path>`,
    );
    // Between groups, the number of task-to-task dependencies the edge stands for.
    if (groups)
      parts.push(
        `<text class="edge-count" x="${(x1 + x2) / 2 + side * 0.75 + 6}" y="${(y1 + y2) / 2 + 4}" font-size="10" fill="#57606a">${n}</text>`,
      );
  }
  graph.nodes.forEach((node, i) => {
    const x = cx(i) - nodeW / 2,
      y = cy(i) - nodeH / 2;
    const name = fnName(node.fn);
    const short = name.length > (groups ? 20 : 14) ? `${name.slice(0, groups ? 19 : 13)}…` : name;
    if (groups) {
      const counts = node.counts ?? {};
      const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
      let bx = 0;
      const bar = (["done", "failed", "running", "queued", "waiting", "aborted"] as const)
        .map((st) => {
          const w = ((counts[st] ?? 0) / Math.max(1, total)) * (nodeW - 12);
          const r = w > 0 ? `<rect x="${x + 6 + bx}" y="${y + 30}" width="${w}" height="9" fill="${STATE_COLOURS[st]}"/>` : "";
          bx += w;
          return r;
        })
        .join("");
      const summary = Object.entries(counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      parts.push(`<g class="node group" data-fn="${esc(name)}" data-state="${node.state}" data-count="${total}"><title>${esc(name)}: ${total} tasks (${summary})</title>
        <rect x="${x}" y="${y}" width="${nodeW}" height="${nodeH}" rx="6" fill="#fff" stroke="${colour(node.fn)}" stroke-width="2"/>
        <text x="${x + 8}" y="${y + 17}" font-size="12" font-weight="600">${esc(short)}</text><text x="${x + nodeW - 8}" y="${y + 17}" font-size="11" text-anchor="end" fill="#57606a">×${total}</text>${bar}</g>`);
    } else {
      parts.push(`<g class="node" data-task="${esc(node.id)}" data-state="${node.state}" data-fn="${esc(name)}"><title>${esc(name)} · ${esc(node.id)} · ${node.state}${node.engineId === null || node.engineId === undefined ? "" : ` · engine ${node.engineId}`}</title>
        <rect x="${x}" y="${y}" width="${nodeW}" height="${nodeH}" rx="5" fill="${STATE_COLOURS[node.state]}" stroke="${node.state === "failed" ? FAILED : colour(node.fn)}" stroke-width="${node.state === "running" ? 2.5 : 1.5}"/>
        <text x="${x + nodeW / 2}" y="${y + 12}" font-size="11" text-anchor="middle" font-weight="600">${esc(short)}</text>
        <text x="${x + nodeW / 2}" y="${y + 23}" font-size="9" text-anchor="middle" fill="#57606a">${esc(node.id.slice(0, 8))}</text></g>`);
    }
  });
  svg.innerHTML = parts.join("");
  byId("graph-note").textContent =
    graph.nodes.length === 0
      ? "no tasks yet"
      : groups
        ? `the last ${graph.tasks} tasks, grouped by function (${graph.nodes.length} groups)`
        : `the last ${graph.tasks} tasks, layered by dependency`;
  byId("graph-legend").innerHTML = (Object.keys(STATE_COLOURS) as ViewState[])
    .map((st) => `<span><span class="swatch" style="background:${STATE_COLOURS[st]}"></span>${st}</span>`)
    .join(" ");
}

function setupGraph(): void {
  (byId("graph-svg-link") as HTMLAnchorElement).href = withToken("/graph.svg");
  byId("graph").addEventListener("click", (event) => {
    const node = (event.target as Element).closest<SVGGElement>("g.node[data-task]");
    if (node?.dataset.task) location.hash = taskHref(node.dataset.task);
  });
}

// ---- task page ----

function linkList(links: TaskLink[]): string {
  if (links.length === 0) return `<span class="empty">none</span>`;
  return `<div class="scroll short"><table><tbody>${links
    .map(
      (l) => `<tr><td><a href="${taskHref(l.msgId)}">${esc(l.msgId.slice(0, 8))}</a></td><td>${esc(l.label ?? "")}</td>
    <td><span class="badge ${l.state}">${l.state}</span></td><td>${esc((l.kinds ?? []).join(", "))}</td></tr>`,
    )
    .join("")}</tbody></table></div>`;
}

function facts(rows: Array<[string, string | number | null | undefined]>): string {
  return `<dl class="facts">${rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v === null ? "—" : esc(v)}</dd>`)
    .join("")}</dl>`;
}

async function showTask(msgId: string, first: boolean): Promise<void> {
  const box = byId("view-task");
  if (first) box.innerHTML = `<section class="wide"><p class="empty">loading task ${esc(msgId)}…</p></section>`;
  const res = await fetch(withToken(`/api/task/${encodeURIComponent(msgId)}`));
  if (currentRoute().task !== msgId) return;
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    box.innerHTML = `<section class="wide"><h2 class="title">Task ${esc(msgId)}</h2><p>${esc(body.error ?? res.statusText)}</p><p><a href="#/">back to the status page</a></p></section>`;
    window.clearInterval(taskTimer);
    return;
  }
  const t = (await res.json()) as TaskDetails;
  const finished = ["done", "failed", "aborted"].includes(t.state);
  if (finished) window.clearInterval(taskTimer);
  const waited = t.started !== null ? t.started - t.submitted : null;
  const ran = t.started !== null && t.completed !== null ? t.completed - t.started : null;
  const { retries, ...flags } = t.flags as { retries?: number } & Record<string, unknown>;
  box.innerHTML = `
  <section class="wide" id="task-header"><h2 class="title"><span class="swatch" style="background:${state ? colour(Math.max(0, state.functions.indexOf(t.label))) : "#888"}"></span>${esc(t.label)}
    <span class="badge ${t.state}" id="task-state">${t.state}</span><span class="note">${esc(t.msgId)}</span><span class="note" style="margin-left:auto"><a href="#/">← status</a></span></h2>
    ${facts([
      ["operation", t.op],
      ["load-balanced", t.balanced ? "yes" : "no (direct view)"],
      ["client", t.client],
      ["resubmitted as", t.resubmitted ?? undefined],
    ])}</section>
  ${
    t.error
      ? `<section class="wide" id="task-error"><h2>Error</h2><p><span class="error-name">${esc(t.error.ename)}</span>: ${esc(t.error.evalue)}</p>
    ${facts([
      ["code", t.error.code],
      ["engine", t.error.engineId],
    ])}<h2 style="margin-top:8px">Remote stack</h2><pre class="stack" id="task-stack">${esc(t.error.remoteStack || "(no stack: the hub answered for the engine)")}</pre></section>`
      : ""
  }
  <section><h2>Timing</h2>${facts([
    ["submitted", clockMs(t.submitted)],
    ["started", t.started === null ? null : clockMs(t.started)],
    ["completed", t.completed === null ? null : clockMs(t.completed)],
    ["waited", duration(waited)],
    ["ran", duration(ran)],
  ])}</section>
  <section><h2>Engine and sizes</h2>${facts([
    ["engine", t.engine ? `${t.engine.id}${t.engine.host ? ` (${t.engine.host}, pid ${t.engine.pid})` : ""}` : null],
    ["attempts", t.attempts],
    ["retries allowed", retries ?? 0],
    ["request", bytes(t.requestBytes)],
    ["result", t.resultBytes === null ? null : bytes(t.resultBytes)],
  ])}</section>
  <section><h2>Dependencies</h2>${linkList(t.dependencies)}</section>
  <section><h2>Dependents <span class="note">among recent tasks</span></h2>${linkList(t.dependents)}</section>
  <section><h2>Flags</h2>${Object.keys(flags).length ? facts(Object.entries(flags).map(([k, v]) => [k, JSON.stringify(v)])) : `<span class="empty">none</span>`}</section>
  <section><h2>Function</h2>${
    t.fn
      ? `${facts([
          ["name", t.fn.name],
          ["module", t.fn.module],
          ["export", t.fn.exportName],
        ])}${t.fn.source ? `<pre>${esc(t.fn.source)}</pre>` : ""}`
      : `<span class="empty">${esc(t.op)}</span>`
  }</section>
  <section class="wide"><h2>Output</h2>${t.stdout || t.stderr ? `${t.stdout ? `<pre>${esc(t.stdout)}</pre>` : ""}${t.stderr ? `<pre class="stack">${esc(t.stderr)}</pre>` : ""}` : `<span class="empty">${finished ? "no output" : "output arrives with the result"}</span>`}</section>`;
}

// ---- logs ----

async function showLogs(): Promise<void> {
  const res = await fetch(withToken("/api/logs"));
  if (!res.ok || currentRoute().view !== "logs") return;
  const { files } = (await res.json()) as { files: LogTail[] };
  byId("logs-note").textContent =
    `the last lines of ${files.length} file${files.length === 1 ? "" : "s"} in the profile's log folder, controller first`;
  // Lines carry their level after the time ("… WARN  controller: …"); others are told by their words.
  const level = (line: string) => {
    const tagged = /^\S+\s+(ERROR|WARN|INFO|DEBUG)\b/.exec(line)?.[1];
    if (tagged) return tagged === "ERROR" ? "error" : tagged === "WARN" ? "warn" : "";
    return /\b(error|fatal)\b/i.test(line) ? "error" : /\bwarn(ing)?\b/i.test(line) ? "warn" : "";
  };
  byId("logs").innerHTML =
    files
      .map(
        (f) => `<h2>${esc(f.file)} <span class="note">${bytes(f.size)} · written ${clock(f.modified)}</span></h2>
    <pre>${f.lines.map((l) => `<div class="log-line ${level(l)}">${esc(l)}</div>`).join("") || `<span class="empty">empty</span>`}</pre>`,
      )
      .join("") || `<p class="empty">no log files: this controller was not started with a profile log folder</p>`;
}

// ---- tooltip ----

function addTooltip(root: Element, text: (target: Element) => string | undefined): void {
  const tip = byId("tooltip");
  root.addEventListener("mousemove", (event) => {
    const e = event as MouseEvent;
    const content = text(e.target as Element);
    if (!content) return hideTooltip();
    tip.textContent = content;
    tip.style.display = "block";
    tip.style.left = `${Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8)}px`;
    tip.style.top = `${Math.min(e.clientY + 14, window.innerHeight - tip.offsetHeight - 8)}px`;
  });
  root.addEventListener("mouseleave", hideTooltip);
}

function hideTooltip(): void {
  byId("tooltip").style.display = "none";
}

// ---- start ----

setupStream();
setupErrors();
setupGraph();
window.addEventListener("hashchange", route);
window.addEventListener("resize", scheduleDraw);
route();
connect();
// The stream's clock moves even when nothing else does.
window.setInterval(scheduleDraw, 1000);
