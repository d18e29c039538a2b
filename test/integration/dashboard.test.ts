/**
 * The live dashboard in headless Chromium (Debian's chromium through playwright-core), on a real
 * cluster: the token guards every page, and with a mixed workload (several functions, failures,
 * dependencies, direct and load-balanced tasks) each panel shows what queueStatus and hubHistory
 * say, the graph draws while tasks run, and a traceback is two clicks away.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { readConnectionFile } from "../../src/connection/profile.js";
import type { AsyncResult } from "../../src/index.js";
import { startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";
import { launchChromium, missingChromium, skipWithout } from "../helpers/system.js";

const ARTIFACTS = "test-artifacts";
/** A laptop screen. */
const VIEWPORT = { width: 1440, height: 900 };

/** The page script is built (scripts/build-viz-assets.mjs), not committed: build it when stale. */
before(() => {
  const bundle = "viz/assets/dashboard.js";
  const built = fs.existsSync(bundle) ? fs.statSync(bundle).mtimeMs : 0;
  const sources = ["viz/browser/dashboard.ts", "viz/dashboard-layout.ts", "src/controller/dashboard-model.ts"];
  if (sources.some((file) => fs.statSync(file).mtimeMs > built))
    execFileSync(process.execPath, ["scripts/build-viz-assets.mjs"], { stdio: "ignore" });
});

/** A page that records console errors and every request, and refuses any that leaves the dashboard. */
async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[]; foreign: string[] }> {
  const origin = new URL(url).origin;
  const page = await browser.newPage({ viewport: VIEWPORT });
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.route("**/*", (route) => {
    const requested = route.request().url();
    if (requested.startsWith(`${origin}/`) || requested.startsWith("data:")) return route.continue();
    foreign.push(requested);
    return route.abort();
  });
  await page.goto(url);
  return { page, errors, foreign };
}

async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name) });
}

/** Settles every result, failures included. */
async function settle(results: AsyncResult[]): Promise<void> {
  await Promise.all(results.map((ar) => ar.wait()));
}

test("the dashboard needs its token: 403 with directions without it, the URL carries it, engines never see it", async () => {
  const t = await startTestCluster({ n: 1, dashboard: true });
  try {
    const url = t.rc.dashboardUrl as string;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    const base = new URL(url);
    const token = base.searchParams.get("token") as string;
    const at = (p: string) => new URL(p, base.origin).href;
    for (const p of [
      "/",
      "/events",
      "/api/state",
      "/api/logs",
      "/graph.json",
      "/api/task/x",
      `/?token=${"0".repeat(48)}`,
      "/?token=",
      `/?token=${token.slice(0, 47)}`,
    ]) {
      const res = await fetch(at(p));
      assert.equal(res.status, 403, `${p} without the right token`);
      const body = await res.text();
      assert.match(body, /needs its token/);
      assert.match(body, /dashboardUrl/);
    }
    assert.equal((await fetch(at(`/api/state?token=${token}`))).status, 200);
    assert.equal((await fetch(at("/api/state"), { headers: { authorization: `token ${token}` } })).status, 200);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /connect-src 'self'/);
    const favicon = await fetch(at("/favicon.ico"));
    assert.equal(favicon.status, 200);
    assert.equal(favicon.headers.get("content-type"), "image/svg+xml");
    assert.equal(readConnectionFile(t.cluster.files.client).dashboardUrl, url);
    assert.equal(readConnectionFile(t.cluster.files.engine).dashboardUrl, undefined, "engines do not get the dashboard token");
  } finally {
    await t.stop();
  }
});

declare const engineId: number;

test("with a mixed workload every panel matches the hub, the graph draws while tasks run, and a traceback is two clicks away", async (ctx) => {
  if (skipWithout(ctx, missingChromium())) return;
  const t: TestCluster = await startTestCluster({ n: 2, dashboard: true });
  const browser = await launchChromium();
  try {
    const url = t.rc.dashboardUrl as string;
    const { page, errors, foreign } = await openPage(browser, url);
    await page.waitForFunction(() => document.querySelectorAll("#engines tbody tr[data-engine]").length === 2);
    const lview = t.rc.loadBalancedView();

    // The graph while tasks run: two gates hold both engines until a marker file appears.
    const marker = path.join(t.dir, "open-the-gates");
    const gate = async (file: string) => {
      const fs = require("node:fs") as typeof import("node:fs");
      while (!fs.existsSync(file)) await new Promise((r) => setTimeout(r, 20));
      return engineId;
    };
    const square = async (x: number) => {
      await new Promise((r) => setTimeout(r, 25));
      return x * x;
    };
    const gates = [lview.apply(gate, marker), lview.apply(gate, marker)];
    const held = Array.from({ length: 6 }, (_, i) => lview.with({ after: gates }).apply(square, i));
    await page.goto(`${url}#/graph`);
    await page.waitForFunction(
      () => {
        const states = [...document.querySelectorAll("#graph g.node")].map((n) => n.getAttribute("data-state"));
        return states.filter((s) => s === "running").length === 2 && states.filter((s) => s === "waiting").length === 6;
      },
      undefined,
      { timeout: 20_000 },
    );
    assert.equal(await page.locator("#graph path.edge").count(), 12, "each held square depends on both gates");
    await screenshot(page, "dashboard-graph-running.png");
    fs.writeFileSync(marker, "");
    await settle([...gates, ...held]);

    // The mixed workload: three load-balanced functions (one always failing), a dependent
    // reduction, and direct-view work.
    const failing = (x: number) => {
      if (x >= 0) throw new TypeError(`bad input ${x}`);
      return x;
    };
    const total = (...xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const directWork = () => engineId;
    const squares = Array.from({ length: 24 }, (_, i) => lview.apply(square, i));
    const failures = [1, 2, 3].map((i) => lview.apply(failing, i));
    const sum = lview.with({ after: squares }).apply(total, 1, 2);
    const direct = [0, 1, 0, 1].map((id) => t.rc.view(id).apply(directWork));
    await settle([...squares, ...failures, sum, ...direct]);
    const history = await t.rc.hubHistory();
    const status = await t.rc.queueStatus();

    await page.goto(url);
    await page.waitForFunction(
      (n) => document.querySelector("#tiles [data-metric=rate-out] .sub")?.textContent === `${n} finished`,
      history.length,
      { timeout: 20_000 },
    );

    // Controller: every submitted task counted, nothing unassigned.
    assert.equal(await page.textContent("#tiles [data-metric=rate-in] .sub"), `${history.length} submitted`);
    assert.equal(await page.getAttribute("#tiles [data-unassigned]", "data-unassigned"), String(status.unassigned));
    // Engines: what each answered, as queueStatus counts it; nothing queued or running.
    for (const id of t.rc.ids) {
      const row = page.locator(`#engines tr[data-engine="${id}"]`);
      const answered = Number(await row.locator("td.done").textContent()) + Number(await row.locator("td.failed").textContent());
      assert.equal(answered, status[id]?.completed, `engine ${id} answered`);
      assert.equal(
        Number(await row.locator("td.queued").textContent()) + Number(await row.locator("td.running").textContent()),
        (status[id]?.queue ?? 0) + (status[id]?.tasks ?? 0),
      );
    }
    await page.waitForFunction(
      () => [...document.querySelectorAll("#engines td.cpu")].every((c) => /%$/.test(c.textContent ?? "")),
      undefined,
      { timeout: 10_000 },
    );
    // Progress: one bar per function, counts as submitted and as they ended.
    const progress = await page.$$eval("#progress .progress-row", (rows) =>
      Object.fromEntries(
        rows.map((r) => {
          const d = (r as HTMLElement).dataset;
          return [
            d.fn,
            {
              total: Number(d.total),
              done: Number(d.done),
              erred: Number(d.erred),
              running: Number(d.running),
              waiting: Number(d.waiting),
            },
          ];
        }),
      ),
    );
    assert.deepEqual(progress, {
      gate: { total: 2, done: 2, erred: 0, running: 0, waiting: 0 },
      square: { total: 30, done: 30, erred: 0, running: 0, waiting: 0 },
      failing: { total: 3, done: 0, erred: 3, running: 0, waiting: 0 },
      total: { total: 1, done: 1, erred: 0, running: 0, waiting: 0 },
      directWork: { total: 4, done: 4, erred: 0, running: 0, waiting: 0 },
    });
    assert.equal(
      Object.values(progress).reduce((n, p) => n + p.total, 0),
      history.length,
    );
    // Errors: the three failures, newest first, with function, engine and message.
    const errorRows = await page.$$eval("#errors tbody tr[data-task]", (rows) =>
      rows.map((r) => ({ task: (r as HTMLElement).dataset.task, text: r.textContent ?? "" })),
    );
    assert.deepEqual(new Set(errorRows.map((r) => r.task)), new Set(failures.map((f) => f.msgIds[0])));
    for (const row of errorRows) assert.match(row.text, /failing.*TypeError: bad input \d/s);

    // Task stream: a time axis, one lane per engine, one colour per function, failures red.
    const bars = await page.$$eval("#stream rect.task", (rects) =>
      rects.map((r) => ({
        fn: r.getAttribute("data-fn"),
        fill: r.getAttribute("fill"),
        ok: r.classList.contains("ok"),
        task: r.getAttribute("data-task"),
      })),
    );
    assert.equal(bars.length, history.length, "every task ran on an engine and has a bar");
    const fills = new Map<string, Set<string>>();
    for (const bar of bars.filter((b) => b.ok))
      fills.set(bar.fn as string, (fills.get(bar.fn as string) ?? new Set()).add(bar.fill as string));
    assert.equal(fills.size, 4, "four functions succeeded somewhere");
    for (const set of fills.values()) assert.equal(set.size, 1, "one colour per function");
    assert.equal(new Set([...fills.values()].map((s) => [...s][0])).size, 4, "a different colour for each function");
    assert.deepEqual(
      bars.filter((b) => !b.ok).map((b) => b.fill),
      ["#d62728", "#d62728", "#d62728"],
    );
    const ticks = await page.$$eval("#stream g.axis text", (texts) => texts.map((x) => x.textContent ?? ""));
    assert.ok(ticks.length >= 2 && ticks.every((x) => /^\d\d:\d\d:\d\d/.test(x)), `time axis labels: ${ticks.join(", ")}`);
    assert.equal(await page.locator("#stream text.lane").count(), 2);
    assert.ok((await page.locator("#legend [data-fn]").count()) >= 5, "a legend entry per function, and one for failures");
    await screenshot(page, "dashboard-status.png");
    // Zoomed in on the last square (the wheel, at its bar), hovering names function, task, engine,
    // start, duration and state.
    const last = squares.at(-1) as AsyncResult;
    const bar = page.locator(`#stream rect.task[data-task="${last.msgIds[0]}"]`);
    // The page redraws several times a second: a bar measured while it is replaced has no box.
    const barBox = async () => {
      for (;;) {
        const box = await bar.boundingBox();
        if (box) return box;
      }
    };
    for (let i = 0; i < 40; i++) {
      const box = await barBox();
      if (box.width > 40) break;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.wheel(0, -400);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    }
    assert.match((await page.textContent("#stream-note")) ?? "", /wheel to zoom/, "zoomed out of the live window");
    assert.ok((await barBox()).width > 40, "zooming widened the bar");
    await bar.hover();
    const tip = (await page.textContent("#tooltip")) ?? "";
    for (const part of ["square", `task ${last.msgIds[0]}`, `engine ${last.engineIds[0]}`, "start ", "duration ", "state done"])
      assert.ok(tip.includes(part), `tooltip has ${part}: ${tip}`);
    await screenshot(page, "dashboard-stream-zoomed.png");

    // Two clicks to a traceback: the error row, then the stack is on the task page.
    await page.click(`#errors tr[data-task="${failures[0]?.msgIds[0]}"]`);
    await page.waitForSelector("#task-stack");
    const stack = (await page.textContent("#task-stack")) ?? "";
    assert.match(stack, /TypeError: bad input 1/);
    assert.match(stack, /at /);
    assert.equal(await page.textContent("#task-state"), "failed");
    await screenshot(page, "dashboard-error.png");
    // A red bar in the stream leads to the same kind of page.
    await page.goto(url);
    await page.waitForSelector("#stream rect.task.failed");
    // Bars of a few ms overlap at this zoom: the click goes to the failed bar itself.
    await page.locator("#stream rect.task.failed").first().dispatchEvent("click");
    await page.waitForSelector("#task-stack");

    // The task page of the reduction: its 24 dependencies link to their own pages.
    await page.goto(`${url}#/task/${sum.msgIds[0]}`);
    await page.waitForSelector("#task-header");
    assert.equal(await page.textContent("#task-state"), "done");
    const depLinks = page.locator("section:has(h2:text-is('Dependencies')) a");
    assert.equal(await depLinks.count(), 24);
    await screenshot(page, "dashboard-task.png");
    await depLinks.first().click();
    await page.waitForFunction(
      (id) => location.hash === `#/task/${id}` && document.querySelector("#task-header .note")?.textContent === id,
      squares[0]?.msgIds[0],
    );

    // Logs: the controller's leveled log, with the line that gave the address and the failures.
    await page.goto(`${url}#/logs`);
    await page.waitForFunction(() => /controller-.*\.log/.test(document.querySelector("#logs")?.textContent ?? ""));
    assert.match((await page.textContent("#logs")) ?? "", /dashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const logs = (await page.textContent("#logs")) ?? "";
    assert.match(logs, /INFO +controller: engine 0 registered/);
    assert.match(logs, /failed on engine \d: TypeError: bad input 3/);
    await screenshot(page, "dashboard-logs.png");

    assert.deepEqual(errors, [], "no console errors");
    assert.deepEqual(foreign, [], "no request leaves the page");
  } finally {
    await browser.close();
    await t.stop();
  }
});

test("with thousands of tasks the feed stays bounded: a small state, at most 2,000 bars a push, the graph grouped", async () => {
  const t = await startTestCluster({ n: 2, dashboard: true });
  const feed = new AbortController();
  try {
    const url = new URL(t.rc.dashboardUrl as string);
    const res = await fetch(new URL(`/events${url.search}`, url.origin), { signal: feed.signal });
    assert.equal(res.status, 200);
    const sizes = { state: [] as number[], stream: [] as number[] };
    let bars = 0;
    let last: { graph: { mode: string; nodes: unknown[] }; controller: { finished: number } } | undefined;
    const n = 3000;
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.slice(event.indexOf("data: ") + 6);
          if (event.startsWith("event: stream")) {
            sizes.stream.push(data.length);
            bars += (JSON.parse(data) as unknown[]).length;
          } else {
            sizes.state.push(data.length);
            last = JSON.parse(data) as typeof last;
          }
          if (last && last.controller.finished >= n && bars >= n) return;
        }
      }
    })();
    const ar = t.rc.loadBalancedView().map(
      (x: number) => x + 1,
      Array.from({ length: n }, (_, i) => i),
    );
    await ar;
    await reading;
    assert.ok(Math.max(...sizes.state) < 60_000, `largest state event ${Math.max(...sizes.state)} bytes`);
    assert.ok(Math.max(...sizes.stream) < 2_000 * 120, `largest stream event ${Math.max(...sizes.stream)} bytes`);
    assert.equal(bars, n, "every finished task reached the page's task stream once");
    assert.equal(last?.graph.mode, "groups");
    assert.equal(last?.graph.nodes.length, 1);
  } finally {
    feed.abort();
    await t.stop();
  }
});
