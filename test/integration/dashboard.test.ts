import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { startTestCluster } from "../helpers/cluster.js";

const CHROMIUM = "/usr/bin/chromium";

test("the live dashboard shows engines, updates when a task completes, and draws the DAG, with no console errors", async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} not found: this test needs Debian's chromium package (apt-get install -y chromium)`);
  const t = await startTestCluster({ n: 2, dashboard: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const url = t.rc.dashboardUrl;
    assert.match(url ?? "", /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(String(e)));
    // Only the dashboard itself may be fetched: no CDN.
    await page.route("**/*", (route) => (route.request().url().startsWith(url as string) ? route.continue() : route.abort()));
    await page.goto(url as string);
    await page.waitForFunction(() => document.querySelectorAll("#engines tbody tr").length === 2);
    const lview = t.rc.loadBalancedView();
    const a = lview.apply(() => 1);
    const b = lview.with({ after: a }).apply(() => 2);
    await b;
    await page.waitForFunction(() => document.querySelectorAll("#stream rect.state-done").length >= 2);
    const completed = await page.$$eval("#engines td.completed", (cells) => cells.reduce((n, c) => n + Number(c.textContent), 0));
    assert.equal(completed, 2);
    await page.waitForFunction(() => document.querySelectorAll("#dag-svg g.node").length >= 2, undefined, { timeout: 20_000 });
    assert.ok((await page.$$("#dag-svg g.edge")).length >= 1, "the after edge is drawn");
    fs.mkdirSync("test-artifacts", { recursive: true });
    await page.screenshot({ path: path.join("test-artifacts", "dashboard.png"), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await t.stop();
  }
});
