#!/usr/bin/env -S node --import tsx
// Draws the README's dashboard pictures: starts a cluster of 4 engines with the dashboard, runs
// a small pipeline (load → clean → fit per shard, a combine and a report, a few failing
// validations and a batch of independent simulations), and photographs the status page and the
// graph in headless Chromium (a 1440×900 laptop screen) while the work runs.
// Usage: node scripts/build-viz-assets.mjs && node --import tsx scripts/dashboard-screenshots.ts
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { Cluster } from "../src/index.js";
import type { AsyncResult } from "../src/index.js";

const OUT = path.resolve("docs/images");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

async function load(shard: number) {
  await new Promise((resolve) => setTimeout(resolve, 300 + 40 * shard));
  return Array.from({ length: 1000 }, (_, i) => (i * (shard + 1)) % 97);
}
async function clean(rows: number[]) {
  await new Promise((resolve) => setTimeout(resolve, 250));
  return rows.filter((x) => x % 5 !== 0);
}
async function fit(rows: number[]) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  return rows.reduce((a, b) => a + b, 0) / rows.length;
}
async function combine(...means: number[]) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  return means.reduce((a, b) => a + b, 0) / means.length;
}
async function report(mean: number) {
  return `mean ${mean.toFixed(3)}`;
}
async function validate(shard: number) {
  await new Promise((resolve) => setTimeout(resolve, 150));
  if (shard % 3 === 0) throw new RangeError(`shard ${shard} has ${shard * 7} rows with a negative weight`);
  return true;
}
async function simulate(seed: number) {
  await new Promise((resolve) => setTimeout(resolve, 150 + ((seed * 37) % 200)));
  return seed;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-dashboard-"));
const cluster = new Cluster({ n: 4, profileDir: dir, dashboard: true });
await cluster.start();
const rc = await cluster.connectClient();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
try {
  await rc.waitForEngines(4, { timeout: 30_000 });
  const url = rc.dashboardUrl as string;
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(url);
  const lview = rc.loadBalancedView();
  const results: AsyncResult[] = [];
  const fits: Array<AsyncResult<number>> = [];
  for (let shard = 0; shard < 8; shard++) {
    const rows = lview.apply(load, shard);
    const cleaned = lview.apply(clean, rows);
    fits.push(lview.apply(fit, cleaned));
    results.push(rows, cleaned, lview.apply(validate, shard));
  }
  const mean = lview.apply(combine, ...fits);
  results.push(...fits, mean, lview.apply(report, mean));
  for (let seed = 0; seed < 40; seed++) results.push(lview.apply(simulate, seed));
  const done = (fraction: number) =>
    page.waitForFunction(
      (n) => {
        const text = document.querySelector("#tiles [data-metric=rate-out] .sub")?.textContent ?? "";
        return Number.parseInt(text, 10) >= n;
      },
      Math.floor(results.length * fraction),
      { timeout: 60_000 },
    );
  await done(0.3);
  await page.goto(`${url}#/graph`);
  await page.waitForSelector("#graph g.node");
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, "dashboard-graph.png") });
  await page.goto(url);
  await done(0.75);
  await page.evaluate(() => new Promise((r) => setTimeout(r, 600)));
  await page.screenshot({ path: path.join(OUT, "dashboard-status.png") });
  await Promise.all(results.map((r) => r.wait()));
  console.log(`wrote ${path.join(OUT, "dashboard-status.png")} and ${path.join(OUT, "dashboard-graph.png")}`);
} finally {
  await browser.close();
  await rc.close();
  await cluster.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
