// Opens the HTML page visualize() writes in headless Chromium (Debian package `chromium`,
// /usr/bin/chromium) and checks that dagre-d3-es draws it, hover shows details and pan/zoom works.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { visualize } from "../../viz/index.js";
import { launchChromium, missingChromium, skipWithout } from "../helpers/system.js";
import { diamond, graphJSON, randomDag } from "../helpers/viz-graphs.js";

const ARTIFACTS = path.resolve("test-artifacts");
let browser: Browser;

/** Why these tests cannot run here (no Chromium), or undefined. */
const missing = missingChromium();

before(async () => {
  if (missing) return;
  // Rebuild the page script so the test exercises the current sources.
  execFileSync(process.execPath, ["scripts/build-viz-assets.mjs"], { stdio: "pipe" });
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/** Writes `html` to test-artifacts (unless visualize() already did), opens it, and collects console and page errors. */
async function open(name: string, html?: string): Promise<{ page: Page; errors: string[] }> {
  const file = path.join(ARTIFACTS, name);
  if (html !== undefined) await writeFile(file, html);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page: ${error.message}`));
  // Self-contained means no request leaves the file: any network access fails the test.
  await page.route(/^(?!file:)/, (route) => {
    errors.push(`request: ${route.request().url()}`);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector("body[data-rendered=true]", { timeout: 30_000 });
  return { page, errors };
}

/** An executed graph: the diamond plus a few more tasks, one with a label that tries to break out of the page. */
function executedGraph() {
  const base = diamond();
  const extra = graphJSON(
    [
      [
        "evil",
        { label: "</script><script>window.pwned=1</script>", shortId: "eeee5555", state: "done", engineId: 3, started: 1, completed: 3 },
      ],
      ["aborted", { label: "stop", state: "aborted" }],
    ],
    [
      ["evil", "aborted", "argument"],
      ["load", "evil", "after"],
    ],
  );
  return { ...base, nodes: [...base.nodes, ...extra.nodes], edges: [...(base.edges ?? []), ...(extra.edges ?? [])] };
}

test("the HTML page renders every task and dependency with dagre-d3-es, with no console errors", async (t) => {
  if (skipWithout(t, missing)) return;
  const graph = executedGraph();
  const started = performance.now();
  const html = await visualize(graph, { filename: path.join(ARTIFACTS, "viz-html.html"), title: "Executed graph" });
  assert.match(html, /^<!doctype html>/);
  const { page, errors } = await open("viz-html.html");
  console.log(`page opened and drawn in ${(performance.now() - started).toFixed(0)} ms`);
  assert.equal(await page.locator("svg#canvas g.node").count(), graph.nodes.length);
  assert.equal(await page.locator("svg#canvas g.edgePath").count(), graph.edges.length);
  assert.equal(await page.locator('g.node[data-state="failed"]').count(), 1);
  assert.equal(await page.locator('g.edgePath[data-kind="follow"]').count(), 1);
  assert.equal(await page.title(), "Executed graph");
  assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined, "labels must not inject script");
  assert.match(await page.locator("svg#canvas").innerHTML(), /&lt;\/script&gt;&lt;script&gt;window.pwned=1/);
  assert.match(await page.locator("#header").innerText(), /6 tasks, 6 dependencies/);
  await page.screenshot({ path: path.join(ARTIFACTS, "viz-html.png") });
  assert.deepEqual(errors, []);
  await page.close();
});

test("hovering a task or a dependency shows its details; leaving hides them", async (t) => {
  if (skipWithout(t, missing)) return;
  const { page, errors } = await open("viz-html-hover.html", await visualize(executedGraph(), { format: "html" }));
  const details = page.locator("#details");
  assert.equal(await details.isVisible(), false);
  await page.locator('g.node[data-state="failed"]').hover();
  assert.equal(await details.isVisible(), true);
  const text = await details.innerText();
  assert.match(text, /^square\n/);
  assert.match(text, /engine: 1/);
  assert.match(text, /ran: 50 ms/);
  assert.match(text, /error: RangeError: too big: 10 > 5/);
  await page.mouse.move(2, 790);
  assert.equal(await details.isVisible(), false);
  // Edges are thin paths, so the pointer event is dispatched rather than aimed.
  await page.locator('g.edgePath[data-kind="after"]').first().dispatchEvent("mouseenter");
  assert.match(await details.innerText(), /^after dependency\ncleanup cccc3333 depends on load aaaa1111 \(after\), satisfied by failure$/);
  await page.close();
  assert.deepEqual(errors, []);
});

test("the wheel zooms and dragging pans the drawing", async (t) => {
  if (skipWithout(t, missing)) return;
  const { page, errors } = await open("viz-html-zoom.html", await visualize(randomDag(30), { format: "html" }));
  const transform = () => page.locator("svg#canvas g.viewport").getAttribute("transform");
  const initial = await transform();
  assert.match(initial ?? "", /translate\(.+\) scale\(.+\)/);
  await page.mouse.move(640, 500);
  await page.mouse.wheel(0, -400);
  await page.waitForFunction(`document.querySelector("g.viewport").getAttribute("transform") !== ${JSON.stringify(initial)}`);
  const zoomed = await transform();
  const scale = (t: string | null) => Number(/scale\(([^)]+)\)/.exec(t ?? "")?.[1]);
  assert.ok(scale(zoomed) > scale(initial), `wheel up zooms in: ${initial} -> ${zoomed}`);
  await page.mouse.move(640, 500);
  await page.mouse.down();
  await page.mouse.move(740, 560, { steps: 5 });
  await page.mouse.up();
  assert.notEqual(await transform(), zoomed, "dragging pans");
  await page.close();
  assert.deepEqual(errors, []);
});

test("a large graph is collapsed by label in the page and the page says so", async (t) => {
  if (skipWithout(t, missing)) return;
  const graph = randomDag(3000, { labels: 8 });
  const html = await visualize(graph, { format: "html" });
  assert.ok(html.includes('"key":"t2999"'), "the full graph JSON is embedded");
  const { page, errors } = await open("viz-html-collapsed.html", html);
  assert.equal(await page.locator("svg#canvas g.node").count(), 8);
  assert.match(await page.locator("#header").innerText(), /3000 tasks collapsed into 8 groups by label \(more than maxNodes = 300\)/);
  await page.locator("svg#canvas g.node").first().hover();
  assert.match(await page.locator("#details").innerText(), /tasks: 375\nstates: /);
  await page.close();
  assert.deepEqual(errors, []);
});
