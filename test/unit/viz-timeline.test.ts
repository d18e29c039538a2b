import assert from "node:assert/strict";
import { test } from "node:test";
import { EDGE_STYLES, STATE_STYLES, timeline, visualize } from "../../viz/index.js";
import type { TaskGraphJSON } from "../../viz/index.js";
import { diamond, graphJSON, randomDag } from "../helpers/viz-graphs.js";
import { countClass, xmlErrors } from "../helpers/xml-check.js";

const T = Date.UTC(2026, 0, 1, 9);

/** Three engines; engine 1 runs two overlapping tasks; one task never started. */
function run(): TaskGraphJSON {
  return graphJSON(
    [
      ["a", { label: "load", state: "done", engineId: 0, submitted: T, started: T, completed: T + 400 }],
      ["b", { label: "square", state: "done", engineId: 1, submitted: T, started: T + 400, completed: T + 600 }],
      [
        "c",
        {
          label: "square",
          state: "failed",
          engineId: 1,
          submitted: T,
          started: T + 500,
          completed: T + 1300,
          errorName: "RangeError",
          errorMessage: "x < 0",
        },
      ],
      ["d", { label: "sum", state: "done", engineId: 2, submitted: T, started: T + 1300, completed: T + 1400 }],
      ["e", { label: "never", state: "pending", submitted: T }],
    ],
    [
      ["a", "b", "argument"],
      ["a", "c", "argument"],
      ["b", "d", "after"],
      ["c", "d", "follow"],
      ["d", "e", "argument"],
    ],
  );
}

interface BarInfo {
  key: string;
  x: number;
  y: number;
  width: number;
  duration: number;
  state: string;
  engine: string | undefined;
}

function bars(svg: string): BarInfo[] {
  return [...svg.matchAll(/<rect class="bar" ([^>]*)\/>/g)].map((match) => {
    const attributes = Object.fromEntries([...(match[1] ?? "").matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    return {
      key: attributes["data-key"] ?? "",
      x: Number(attributes["x"]),
      y: Number(attributes["y"]),
      width: Number(attributes["width"]),
      duration: Number(attributes["data-duration"]),
      state: attributes["data-state"] ?? "",
      engine: attributes["data-engine"],
    };
  });
}

test("one lane per engine, labelled, in engine order", () => {
  const svg = timeline(run());
  assert.deepEqual(xmlErrors(svg), []);
  assert.equal(countClass(svg, "rect", "lane"), 3);
  assert.deepEqual(
    [...svg.matchAll(/<rect class="lane" data-engine="(\d+)"/g)].map((m) => m[1]),
    ["0", "1", "2"],
  );
  assert.deepEqual(
    [...svg.matchAll(/class="lane-label"[^>]*>([^<]*)</g)].map((m) => m[1]),
    ["engine 0", "engine 1", "engine 2"],
  );
});

test("one bar per started task, with widths proportional to durations and x to start times", () => {
  const svg = timeline(run(), { width: 1000 });
  const drawn = bars(svg);
  assert.deepEqual(drawn.map((b) => b.key).sort(), ["a", "b", "c", "d"]);
  const a = drawn.find((b) => b.key === "a") as BarInfo;
  const perMs = a.width / 400;
  for (const bar of drawn) {
    assert.ok(Math.abs(bar.width - bar.duration * perMs) < 0.02, `bar ${bar.key}: ${bar.width}px for ${bar.duration} ms`);
  }
  assert.deepEqual(
    drawn.map((b) => b.duration).sort((x, y) => x - y),
    [100, 200, 400, 800],
  );
  const b = drawn.find((x) => x.key === "b") as BarInfo;
  assert.ok(Math.abs(b.x - (a.x + 400 * perMs)) < 0.02, "b starts where a ends");
  // The whole run (1400 ms) spans the plot: 1000 px minus the margins.
  assert.ok(Math.abs(1400 * perMs - (1000 - 96 - 24)) < 0.05);
});

test("bars are coloured by state and carry their details as <title> tooltips", () => {
  const svg = timeline(run());
  const c = bars(svg).find((b) => b.key === "c") as BarInfo;
  assert.equal(c.state, "failed");
  assert.equal(c.engine, "1");
  assert.match(svg, new RegExp(`data-key="c"[^>]*fill="${STATE_STYLES.failed.fill}"`));
  assert.match(svg, new RegExp(`data-key="a"[^>]*fill="${STATE_STYLES.done.fill}"`));
  assert.match(svg, /<title>square\nid: c\nstate: failed\nengine: 1\n[^<]*ran: 800 ms\nerror: RangeError: x &lt; 0<\/title>/);
  assert.match(svg, /1 not started \(not shown\)/);
});

test("overlapping tasks on one engine stack in rows instead of hiding each other", () => {
  const drawn = bars(timeline(run()));
  const b = drawn.find((x) => x.key === "b") as BarInfo;
  const c = drawn.find((x) => x.key === "c") as BarInfo;
  const d = drawn.find((x) => x.key === "d") as BarInfo;
  assert.notEqual(b.y, c.y);
  assert.ok(d.y > Math.max(b.y, c.y), "engine 2's lane is below engine 1's two rows");
});

test("the time axis has round ticks from 0 over the run", () => {
  const svg = timeline(run());
  const labels = [...svg.matchAll(/class="tick-label"[^>]*>([^<]*)</g)].map((m) => m[1]);
  assert.deepEqual(labels, ["0", "200 ms", "400 ms", "600 ms", "800 ms", "1.00 s", "1.20 s", "1.40 s"]);
  assert.equal(countClass(svg, "line", "tick"), labels.length);
});

test("arrows: true draws one arrow per dependency between drawn tasks, styled by kind", () => {
  assert.equal(countClass(timeline(run()), "path", "dependency"), 0);
  const svg = timeline(run(), { arrows: true });
  assert.deepEqual(xmlErrors(svg), []);
  // d → e is not drawn: e never started.
  assert.equal(countClass(svg, "path", "dependency"), 4);
  assert.match(
    svg,
    new RegExp(`data-kind="after"[^>]*stroke="${EDGE_STYLES.after.color}"[^>]*stroke-dasharray="${EDGE_STYLES.after.dasharray}"`),
  );
  assert.match(
    svg,
    /marker-end="url\(#px-timeline-arrow-follow\)"><title>sum d depends on square c \(follow\), satisfied by success<\/title>/,
  );
});

test("running tasks extend to the latest time; a graph with nothing started says so", () => {
  const graph = diamond();
  const drawn = bars(timeline(graph));
  assert.deepEqual(drawn.map((b) => b.key).sort(), ["cleanup", "load", "square"]);
  // cleanup is running: its bar ends at the latest recorded time (square's completion, t + 160).
  assert.equal((drawn.find((b) => b.key === "cleanup") as BarInfo).duration, 40);
  assert.equal(
    (bars(timeline(graph, { now: Date.UTC(2026, 0, 1, 12) + 1120 })).find((b) => b.key === "cleanup") as BarInfo).duration,
    1000,
  );
  const empty = timeline(
    graphJSON(
      [
        ["x", {}],
        ["y", {}],
      ],
      [],
    ),
    { title: "Nothing yet" },
  );
  assert.deepEqual(xmlErrors(empty), []);
  assert.match(empty, /no task has started yet \(2 pending\)/);
});

test("labels and titles are escaped", () => {
  const svg = timeline(graphJSON([["k<&>", { label: '<b>"x" & y</b>', engineId: 0, started: T, completed: T + 1000 }]], []), {
    title: "a <t> & b",
  });
  assert.deepEqual(xmlErrors(svg), []);
  assert.match(svg, /&lt;b&gt;&quot;x&quot; &amp; y&lt;\/b&gt;/);
  assert.match(svg, /data-key="k&lt;&amp;&gt;"/);
  assert.match(svg, />a &lt;t&gt; &amp; b</);
});

test("visualize(x, { kind: 'timeline' }) delegates to timeline(), as SVG or HTML", async () => {
  assert.equal(await visualize(run(), { kind: "timeline", arrows: true }), timeline(run(), { arrows: true }));
  const html = await visualize(run(), { kind: "timeline", format: "html", title: "Run" });
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<title>Run<\/title>/);
  assert.equal(countClass(html, "rect", "bar"), 4);
});

test("a 20,000-task run draws every task in its engine's lane", () => {
  const svg = timeline(randomDag(20_000), { arrows: true });
  assert.equal(countClass(svg, "rect", "bar"), 20_000);
  assert.equal(countClass(svg, "rect", "lane"), 4);
});

test("mistyped times in hand-written JSON are ignored, never drawn as NaN", () => {
  const graph = {
    nodes: [
      { key: "ok", attributes: { label: "ok", engineId: 0, started: T, completed: T + 10 } },
      { key: "odd", attributes: { label: "odd", engineId: "0", started: "soon", completed: null } },
    ],
  };
  const svg = timeline(graph as unknown as TaskGraphJSON);
  assert.doesNotMatch(svg, /NaN/);
  assert.deepEqual(
    bars(svg).map((b) => b.key),
    ["ok"],
  );
  assert.match(svg, /1 not started/);
});
