/**
 * The live dashboard: an HTTP server on the controller (127.0.0.1 unless the controller binds
 * elsewhere) with one self-contained page, a Server-Sent Events feed of the state the
 * {@link DashboardModel} aggregates, and JSON for one task, the logs and the recent graph.
 * Every request but the favicon needs the cluster's dashboard token (as Jupyter does: in the URL
 * as `?token=…`, or an `Authorization: token …` header); the page carries it on to its feed.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { TaskEdgeAttributes, TaskGraphJSON, TaskNodeAttributes, TaskState } from "../graph/graph-json.js";
import { DashboardModel, dependenciesOf, finishedState, labelOf } from "./dashboard-model.js";
import { FAVICON_SVG, dashboardPage, forbiddenPage } from "./dashboard-page.js";
import { readLogs } from "./dashboard-logs.js";
import type { LogSource } from "./dashboard-logs.js";
import { taskDetails } from "./dashboard-task.js";
import type { Hub } from "./hub.js";

/** How often the feed pushes a new state when something changed. */
const PUSH_MS = 250;

/** Options of {@link Dashboard}. */
export interface DashboardOptions {
  /** The secret every request must carry. */
  token: string;
  /** Where the cluster's log files are, for the Logs panel. */
  logs?: LogSource;
}

/** A new dashboard token: 192 random bits, hex. */
export function newDashboardToken(): string {
  return randomBytes(24).toString("hex");
}

/** The token in a dashboard URL, if any. */
export function tokenOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).searchParams.get("token") ?? undefined;
  } catch {
    return undefined;
  }
}

interface Stream {
  res: http.ServerResponse;
  /** Sequence number of the newest task-stream entry this page has. */
  seq: number;
}

/** Serves the dashboard for a hub. */
export class Dashboard {
  private server: http.Server | undefined;
  private readonly streams = new Set<Stream>();
  private readonly token: Buffer;
  private sentVersion = -1;
  private timers: NodeJS.Timeout[] = [];
  readonly model: DashboardModel;
  /** The page's address with its token, once listening. */
  url = "";

  constructor(
    private readonly hub: Hub,
    private readonly options: DashboardOptions,
  ) {
    if (!/^[\w-]{16,}$/.test(options.token)) throw new RangeError("the dashboard token must be at least 16 letters, digits, '_' or '-'");
    this.token = Buffer.from(options.token);
    this.model = new DashboardModel(hub);
  }

  /** Listens on `host:port` (port 0 picks one); `publicHost` goes into the URL. */
  async listen(host: string, port: number, publicHost = host): Promise<string> {
    this.server = http.createServer((req, res) => void this.route(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const shownHost = publicHost === "0.0.0.0" || publicHost === "*" ? "127.0.0.1" : publicHost;
    this.url = `http://${shownHost}:${address.port}/?token=${this.options.token}`;
    this.timers = [setInterval(() => this.push(), PUSH_MS), setInterval(() => this.model.tick(), 1000)];
    return this.url;
  }

  /** Stops serving and ends every feed. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.model.close();
    for (const stream of this.streams) stream.res.end();
    this.streams.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The recent tasks as a serialized task graph (for `visualize()` and the SVG download). */
  graph(): TaskGraphJSON {
    const view = this.model.state().graph;
    const nodes = view.mode === "tasks" ? view.nodes.map((n) => n.id) : [];
    const records = nodes.map((id) => this.hub.db.get(id)).filter((r) => r !== undefined);
    const keys = new Set(records.map((r) => r.msgId));
    return {
      attributes: {},
      options: { type: "directed", multi: true, allowSelfLoops: false },
      nodes: records.map((r) => ({
        key: r.msgId,
        attributes: {
          label: labelOf(r),
          shortId: r.msgId.slice(0, 8),
          msgId: r.msgId,
          engineId: r.engineId,
          state: r.phase === "done" ? (finishedState(r) as TaskState) : r.phase === "running" ? "running" : "pending",
          submitted: r.submitted,
          started: r.started,
          completed: r.completed,
          ...(r.reply?.content.error ? { errorName: r.reply.content.error.ename, errorMessage: r.reply.content.error.evalue } : {}),
        } satisfies TaskNodeAttributes,
      })),
      edges: records.flatMap((r) =>
        dependenciesOf(r)
          .filter((id) => keys.has(id))
          .map((id) => ({
            source: id,
            target: r.msgId,
            attributes: {
              kind: r.requestMetadata.argRefs?.includes(id) ? "argument" : r.requestMetadata.after?.ids.includes(id) ? "after" : "follow",
            } satisfies TaskEdgeAttributes,
          })),
      ),
    } as TaskGraphJSON;
  }

  private authorized(req: http.IncomingMessage, url: URL): boolean {
    const header = /^token\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const given = Buffer.from(url.searchParams.get("token") ?? header ?? "");
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    try {
      if (path === "/favicon.ico" || path === "/favicon.svg") return send(res, 200, "image/svg+xml", FAVICON_SVG, "public, max-age=86400");
      if (!this.authorized(req, url)) return send(res, 403, "text/html; charset=utf-8", forbiddenPage());
      if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "the dashboard only answers GET");
      if (path === "/") return await this.page(res);
      if (path === "/events") return this.openStream(res);
      if (path === "/api/state") return json(res, this.model.state());
      if (path.startsWith("/api/task/")) {
        const details = taskDetails(this.hub, this.model, decodeURIComponent(path.slice("/api/task/".length)));
        return details
          ? json(res, details)
          : send(res, 404, "application/json", JSON.stringify({ error: "the hub holds no such task (unknown, purged or culled)" }));
      }
      if (path === "/api/logs") return json(res, this.options.logs ? await readLogs(this.options.logs) : { files: [] });
      if (path === "/graph.json") return json(res, this.graph());
      if (path === "/graph.svg") return send(res, 200, "image/svg+xml", await this.graphSvg());
      send(res, 404, "text/plain", `no such page: ${path}`);
    } catch (error) {
      send(res, 500, "text/plain", (error as Error).message);
    }
  }

  private async page(res: http.ServerResponse): Promise<void> {
    // A fresh nonce per page: the Content-Security-Policy runs only the page's own script and
    // lets it talk to this server alone, so no request can leave the page.
    const nonce = randomBytes(16).toString("base64");
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
      "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
    });
    res.end(await dashboardPage(nonce));
  }

  private async graphSvg(): Promise<string> {
    const graph = this.graph();
    if (graph.nodes.length === 0)
      return '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40"><text x="10" y="25">no tasks in the recent window</text></svg>';
    // Loaded on first use: the Graphviz wasm is large and most controllers never draw.
    const { visualize } = await import("../../viz/index.js");
    return await visualize(graph, { format: "svg" });
  }

  private push(): void {
    if (this.streams.size === 0 || this.sentVersion === this.model.version) return;
    this.sentVersion = this.model.version;
    const state = `event: state\ndata: ${JSON.stringify(this.model.state())}\n\n`;
    for (const stream of this.streams) this.write(stream, state);
  }

  /** Sends the shared state, then the task-stream entries this page has not seen. */
  private write(stream: Stream, state: string): void {
    stream.res.write(state);
    const delta = this.model.streamSince(stream.seq);
    stream.seq = delta.seq;
    if (delta.entries.length > 0) stream.res.write(`event: stream\ndata: ${JSON.stringify(delta.entries)}\n\n`);
  }

  private openStream(res: http.ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const stream: Stream = { res, seq: 0 };
    this.write(stream, `event: state\ndata: ${JSON.stringify(this.model.state())}\n\n`);
    this.streams.add(stream);
    res.on("close", () => this.streams.delete(stream));
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string, cache = "no-store"): void {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": cache,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  res.end(body);
}

function json(res: http.ServerResponse, value: unknown): void {
  send(res, 200, "application/json", JSON.stringify(value));
}
