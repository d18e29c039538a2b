/**
 * The live dashboard: an HTTP server on the controller (127.0.0.1 unless the controller binds
 * elsewhere) with one self-contained page, a Server-Sent Events feed of the hub's state
 * (engines and their load, the queue, a task stream, progress by label) and an SVG of the
 * recent tasks' DAG rendered on the server. No asset comes from a CDN.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { TaskEdgeAttributes, TaskGraphJSON, TaskNodeAttributes, TaskState } from "../graph/graph-json.js";
import { DASHBOARD_PAGE } from "./dashboard-page.js";
import type { Hub } from "./hub.js";
import type { TaskRecord } from "../scheduler/records.js";

/** How many recent tasks the dashboard shows. */
const RECENT = 300;
/** How often the feed pushes a new state when something changed. */
const PUSH_MS = 250;

/** One task as the dashboard shows it. */
export interface DashboardTask {
  msgId: string;
  label: string;
  engineId: number | null;
  submitted: number;
  started: number | null;
  completed: number | null;
  state: TaskState;
}

/** What the feed sends. */
export interface DashboardState {
  version: number;
  now: number;
  engines: Array<{ id: number; pid: number; hostname: string; queue: number; tasks: number; completed: number }>;
  unassigned: number;
  tasks: DashboardTask[];
  progress: Array<{ label: string; done: number; failed: number; total: number }>;
}

function stateOf(record: TaskRecord): TaskState {
  if (record.phase !== "done") return record.phase === "running" ? "running" : "pending";
  const status = record.reply?.content.status;
  if (status === "ok") return "done";
  if (status === "aborted") return "aborted";
  return record.reply?.content.error?.code === "IMPOSSIBLE_DEPENDENCY" ? "impossible" : "failed";
}

function labelOf(record: TaskRecord): string {
  const fn = record.requestContent.fn as { name?: string; exportName?: string } | undefined;
  return record.requestMetadata.label ?? fn?.name ?? fn?.exportName ?? String(record.requestContent.op ?? "task");
}

/** Serves the dashboard for a hub. */
export class Dashboard {
  private server: http.Server | undefined;
  private readonly recent: string[] = [];
  private readonly streams = new Set<http.ServerResponse>();
  private version = 0;
  private sentVersion = -1;
  private timer: NodeJS.Timeout | undefined;
  /** The page's address, once listening. */
  url = "";

  constructor(private readonly hub: Hub) {}

  /** Notes a submitted task (kept in a bounded list of recent ones). */
  taskAdded(msgId: string): void {
    this.recent.push(msgId);
    if (this.recent.length > RECENT) this.recent.splice(0, this.recent.length - RECENT);
    this.version++;
  }

  /** Something changed (a task finished, an engine came or went). */
  touch(): void {
    this.version++;
  }

  /** Listens on `host:port` (port 0 picks one). */
  async listen(host: string, port: number, publicHost = host): Promise<string> {
    this.server = http.createServer((req, res) => void this.route(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.url = `http://${publicHost === "0.0.0.0" || publicHost === "*" ? "127.0.0.1" : publicHost}:${address.port}/`;
    this.timer = setInterval(() => this.push(), PUSH_MS);
    return this.url;
  }

  /** Stops serving and ends every feed. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const res of this.streams) res.end();
    this.streams.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The current state. */
  state(): DashboardState {
    const tasks = this.tasks();
    const progress = new Map<string, { label: string; done: number; failed: number; total: number }>();
    for (const task of tasks) {
      const entry = progress.get(task.label) ?? { label: task.label, done: 0, failed: 0, total: 0 };
      entry.total++;
      if (task.state === "done") entry.done++;
      if (task.state === "failed" || task.state === "impossible" || task.state === "aborted") entry.failed++;
      progress.set(task.label, entry);
    }
    return {
      version: this.version, now: Date.now(), unassigned: this.hub.scheduler.unassigned, tasks, progress: [...progress.values()],
      engines: [...this.hub.registry.all()].sort((a, b) => a.id - b.id).map((e) => ({
        id: e.id, pid: e.pid, hostname: e.hostname, queue: e.direct.size, tasks: e.balanced.size, completed: e.completed,
      })),
    };
  }

  /** The recent tasks as a serialized task graph (for the DAG view). */
  graph(): TaskGraphJSON {
    const records = this.records();
    const keys = new Set(records.map((r) => r.msgId));
    const nodes = records.map((r) => ({
      key: r.msgId,
      attributes: {
        label: labelOf(r), shortId: r.msgId.slice(0, 8), state: stateOf(r), msgId: r.msgId, engineId: r.engineId,
        submitted: r.submitted, started: r.started, completed: r.completed,
        ...(r.reply?.content.error ? { errorName: r.reply.content.error.ename, errorMessage: r.reply.content.error.evalue } : {}),
      } satisfies TaskNodeAttributes,
    }));
    const edges: Array<{ source: string; target: string; attributes: TaskEdgeAttributes }> = [];
    for (const r of records) {
      const m = r.requestMetadata;
      const add = (ids: readonly string[] | undefined, kind: TaskEdgeAttributes["kind"]) => {
        for (const id of ids ?? []) if (keys.has(id)) edges.push({ source: id, target: r.msgId, attributes: { kind } });
      };
      add(m.argRefs, "argument");
      add(m.after?.ids, "after");
      add(m.follow?.ids, "follow");
    }
    return { attributes: {}, options: { type: "directed", multi: true, allowSelfLoops: false }, nodes, edges } as TaskGraphJSON;
  }

  private records(): TaskRecord[] {
    return this.recent.map((id) => this.hub.db.get(id)).filter((r): r is TaskRecord => r !== undefined);
  }

  private tasks(): DashboardTask[] {
    return this.records().map((r) => ({
      msgId: r.msgId, label: labelOf(r), engineId: r.engineId ?? null, submitted: r.submitted,
      started: r.started ?? null, completed: r.completed ?? null, state: stateOf(r),
    }));
  }

  private push(): void {
    if (this.streams.size === 0 || this.sentVersion === this.version) return;
    this.sentVersion = this.version;
    const payload = `event: state\ndata: ${JSON.stringify(this.state())}\n\n`;
    for (const res of this.streams) res.write(payload);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    try {
      if (path === "/") return send(res, 200, "text/html; charset=utf-8", DASHBOARD_PAGE);
      if (path === "/state") return send(res, 200, "application/json", JSON.stringify(this.state()));
      if (path === "/graph.json") return send(res, 200, "application/json", JSON.stringify(this.graph()));
      if (path === "/graph.svg") return send(res, 200, "image/svg+xml", await this.graphSvg());
      if (path === "/events") return this.openStream(res);
      send(res, 404, "text/plain", `no such page: ${path}`);
    } catch (error) {
      send(res, 500, "text/plain", (error as Error).message);
    }
  }

  private async graphSvg(): Promise<string> {
    const graph = this.graph();
    if (graph.nodes.length === 0) return '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40"><text x="10" y="25">no tasks yet</text></svg>';
    // Loaded on first use: the Graphviz wasm is large and most controllers never draw.
    const { visualize } = await import("../../viz/index.js");
    return await visualize(graph, { format: "svg" });
  }

  private openStream(res: http.ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.write(`event: state\ndata: ${JSON.stringify(this.state())}\n\n`);
    this.streams.add(res);
    res.on("close", () => this.streams.delete(res));
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}
