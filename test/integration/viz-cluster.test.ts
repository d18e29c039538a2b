// visualize() and timeline() on runs from real engines: TaskGraph results and AsyncResults.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TaskGraph } from "../../src/index.js";
import type { AsyncResult } from "../../src/index.js";
import { graphFromResults, STATE_STYLES, timeline, visualize } from "../../viz/index.js";
import { startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";
import { countClass, xmlErrors } from "../helpers/xml-check.js";

const sleeping = (ms: number) => new Promise<number>((r) => setTimeout(() => r(ms), ms));
const add = (x: number, y: number) => x + y;
const fail = () => {
  throw new RangeError("on purpose");
};

describe("drawing executed runs", () => {
  let t: TestCluster;
  before(async () => {
    t = await startTestCluster({ n: 2 });
  });
  after(async () => t.stop());

  test("TaskGraph results are drawn with states, engines and timings", async () => {
    const g = new TaskGraph();
    const x = g.task(sleeping, 50);
    const y = g.task(sleeping, 80);
    const z = g.task(add, x, y);
    g.task(fail).after(z);
    g.task(() => "cleanup").after(z, { success: false, failure: true });
    const before = await visualize(g);
    assert.equal(countClass(before, "g", "node"), 5);
    assert.match(before, new RegExp(`fill="${STATE_STYLES.pending.fill}"`));

    const results = await g.compute(t.rc.loadBalancedView(), { returnExceptions: true });
    const svg = await visualize(results);
    assert.deepEqual(xmlErrors(svg), []);
    assert.equal(countClass(svg, "g", "node"), 5);
    assert.equal(countClass(svg, "g", "edge"), 4);
    const states = results.export().nodes.map((n) => n.attributes?.state);
    assert.deepEqual(states, ["done", "done", "done", "failed", "impossible"]);
    assert.match(svg, />engine [01], \d+(\.\d)? ms</);
    assert.match(svg, /error: [^"]*RangeError: on purpose"/);

    const chart = timeline(results, { arrows: true });
    assert.deepEqual(xmlErrors(chart), []);
    assert.ok(countClass(chart, "rect", "lane") >= 1);
    // The impossible task never ran on an engine; the other four did.
    assert.equal(countClass(chart, "rect", "bar"), 4);
  });

  test("AsyncResults are drawn from their recorded dependencies", async () => {
    const lview = t.rc.loadBalancedView();
    const first = lview.apply(sleeping, 30);
    const second = lview.apply(add, first, 1);
    const third = lview.with({ after: [second] }).apply(() => "after");
    const mapped = lview.map((v: number) => v * 2, [1, 2, 3, 4]);
    const all: AsyncResult[] = [first, second, third, mapped];
    await Promise.all(all.map((r) => r.wait()));
    const graph = graphFromResults(all);
    const msgIds = all.flatMap((r) => r.msgIds);
    assert.deepEqual(graph.nodes.map((n) => n.key).slice(0, msgIds.length), msgIds);
    assert.ok(graph.nodes.every((n) => n.attributes?.state === "done"));
    const svg = await visualize(all);
    assert.equal(countClass(svg, "g", "node"), graph.nodes.length);
    assert.equal(countClass(svg, "g", "edge"), graph.edges?.length);
    const chart = await visualize(all, { kind: "timeline" });
    assert.equal(countClass(chart, "rect", "bar"), msgIds.length);
  });
});
