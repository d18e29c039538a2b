import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { instance } from "@viz-js/viz";
import { DirectedGraph, MultiDirectedGraph } from "graphology";
import { TaskGraph } from "../../src/graph/task-graph.js";
import { EDGE_STYLES, graphFromResults, STATE_STYLES, toDot, toTaskGraphJSON, visualize } from "../../viz/index.js";
import type { AsyncResultLike, TaskGraphJSON } from "../../viz/index.js";
import { diamond, graphJSON, randomDag } from "../helpers/viz-graphs.js";
import { countClass, xmlErrors } from "../helpers/xml-check.js";

const nodeCount = (svg: string) => countClass(svg, "g", "node");
const edgeCount = (svg: string) => countClass(svg, "g", "edge");

/** Renders with Graphviz directly and returns every message it reported (warnings too). */
async function graphvizMessages(dot: string): Promise<{ status: string; messages: string[] }> {
  const result = (await instance()).render(dot, { format: "svg" });
  return { status: result.status, messages: result.errors.map((e) => `${e.level ?? "?"}: ${e.message}`) };
}

test("a small graph renders one node group per task and one edge group per dependency", async () => {
  const svg = await visualize(diamond());
  assert.deepEqual(xmlErrors(svg), []);
  assert.equal(nodeCount(svg), 4);
  assert.equal(edgeCount(svg), 4);
  assert.match(svg, /^<\?xml/);
});

test("edges are styled by kind: argument solid, after dashed, follow dotted, each in its colour", async () => {
  const svg = await visualize(diamond());
  const edges = svg
    .split('class="edge"')
    .slice(1)
    .map((chunk) => chunk.slice(0, chunk.indexOf("</g>")));
  const byTitle = (from: string, to: string) =>
    edges.find((e) => e.includes(`<title>${from}&#45;&gt;${to}</title>`)) ?? assert.fail(`no edge ${from}->${to}`);
  const argument = byTitle("load", "square");
  assert.match(argument, new RegExp(`stroke="${EDGE_STYLES.argument.color}"`));
  assert.doesNotMatch(argument, /stroke-dasharray/);
  assert.match(byTitle("load", "cleanup"), new RegExp(`stroke="${EDGE_STYLES.after.color}" stroke-dasharray="5,2"`));
  assert.match(byTitle("cleanup", "report"), new RegExp(`stroke="${EDGE_STYLES.follow.color}" stroke-dasharray="1,5"`));
  // The legend names each kind present.
  for (const kind of ["argument", "after", "follow"]) assert.match(svg, new RegExp(`>${kind} `));
});

test("nodes are filled by state and carry engine, timing and error details", async () => {
  const svg = await visualize(diamond());
  for (const state of ["done", "failed", "running", "impossible"] as const) {
    assert.match(svg, new RegExp(`<path fill="${STATE_STYLES[state].fill}" stroke="${STATE_STYLES[state].border}"`), state);
  }
  assert.match(svg, />engine 0, 100 ms</);
  assert.match(svg, />aaaa1111</);
  // Tooltips (xlink:title) hold the details; Graphviz writes the newlines as entities.
  assert.match(svg, /xlink:title="square&#10;id: bbbb2222&#10;state: failed&#10;engine: 1&#10;/);
  assert.match(svg, /error: RangeError: too big: 10 &gt; 5/);
  assert.match(svg, /satisfied by failure/);
});

test("the DOT is top to bottom and Graphviz accepts it without errors or warnings", async () => {
  const dot = toDot(diamond(), { title: "diamond" });
  assert.match(dot, /rankdir=TB/);
  assert.deepEqual(await graphvizMessages(dot), { status: "success", messages: [] });
  assert.deepEqual(await graphvizMessages(toDot(randomDag(300))), { status: "success", messages: [] });
});

test("labels with quotes, backslashes, newlines, markup and Graphviz escapes are written literally", async () => {
  const nasty = 'say "hi" \\N \\G \\ <script>&amp; {x}; -> [a=b] \n second line \t\u0001 ünïcødé 🙂';
  const graph = graphJSON(
    [
      ['a"b\\c', { label: nasty, errorMessage: "</title><b>& 'oops'", state: "failed" }],
      ["plain", {}],
    ],
    [['a"b\\c', "plain", "after"]],
  );
  const options = { title: '<T> & "q"', maxLabelLength: 200 };
  const { status, messages } = await graphvizMessages(toDot(graph, options));
  assert.equal(status, "success");
  assert.deepEqual(
    messages.filter((m) => m.startsWith("error")),
    [],
  );
  const svg = await visualize(graph, options);
  assert.deepEqual(xmlErrors(svg), []);
  assert.equal(nodeCount(svg), 2);
  assert.equal(edgeCount(svg), 1);
  // \N and \G would otherwise be replaced by the node and graph names: they must stay text,
  // in the label and in the tooltips (which Graphviz unescapes twice).
  const text = String.raw`say &quot;hi&quot; \\N \\G \\ &lt;script&gt;&amp;amp; \{x\}; &#45;&gt; \[a=b\]`;
  assert.match(svg, new RegExp(`>${text} second line ünïcødé 🙂</text>`));
  assert.match(svg, new RegExp(`<a xlink:title="${text} second line ünïcødé 🙂&#10;id: a&quot;b\\\\c&#10;`));
  assert.match(svg, new RegExp(`<a xlink:title="plain plain depends on ${text}`));
  assert.match(svg, /&lt;\/title&gt;&lt;b&gt;&amp; &#39;oops&#39;/);
  assert.match(svg, /&lt;T&gt; &amp; &quot;q&quot;/);
});

test("long labels are cut in the box but kept whole in the tooltip", async () => {
  const label = `compute_${"x".repeat(80)}`;
  const svg = await visualize(graphJSON([["k", { label }]], []));
  assert.match(svg, new RegExp(`>${label.slice(0, 37)}\\.\\.\\.<`));
  assert.match(svg, new RegExp(`xlink:title="${label}&#10;`));
});

test("a 1000-node random DAG renders to SVG with every node and edge", async () => {
  const graph = randomDag(1000);
  const svg = await visualize(graph);
  assert.equal(nodeCount(svg), 1000);
  assert.equal(edgeCount(svg), graph.edges?.length);
  assert.deepEqual(xmlErrors(svg), []);
});

test("a 20,000-node graph is collapsed by label and says so", async () => {
  const graph = randomDag(20_000, { labels: 6 });
  const svg = await visualize(graph);
  assert.equal(nodeCount(svg), 6);
  assert.match(svg, /20000 tasks collapsed into 6 groups by label \(more than maxNodes = 2000\)/);
  assert.match(svg, />x 3334</, "group nodes show their task count");
  assert.match(svg, />x \d+</, "aggregated edges show their dependency count");
  assert.deepEqual(xmlErrors(svg), []);
});

test("collapsing stays bounded when every task has its own label", async () => {
  const nodes = Array.from({ length: 500 }, (_, i): [string, object] => [
    `n${i}`,
    { label: `f${i}`, state: i === 499 ? "failed" : "done" },
  ]);
  const edges = Array.from({ length: 499 }, (_, i): [string, string, "argument"] => [`n${i}`, `n${i + 1}`, "argument"]);
  const dot = toDot(graphJSON(nodes, edges), { maxNodes: 20 });
  const svg = await visualize(graphJSON(nodes, edges), { maxNodes: 20 });
  assert.equal(nodeCount(svg), 20);
  assert.match(dot, /the 481 smallest groups are shown as one/);
  assert.match(dot, /"481 other labels\\nx 481\\n480 done, 1 failed"/);
  assert.match(dot, new RegExp(`fillcolor="${STATE_STYLES.failed.fill}"`), "a group with one failure is drawn as failed");
});

test("maxNodes can collapse small graphs too, and json output is never collapsed", async () => {
  const graph = randomDag(50, { labels: 3 });
  assert.equal(nodeCount(await visualize(graph, { maxNodes: 10 })), 3);
  const json = JSON.parse(await visualize(graph, { format: "json", maxNodes: 10 })) as TaskGraphJSON;
  assert.equal(json.nodes.length, 50);
  assert.equal(DirectedGraph.from(json).order, 50);
});

test("a TaskGraph, executed results, toJSON/graph holders and AsyncResults are all accepted", async () => {
  const g = new TaskGraph();
  const x = g.task(function sleeping(_ms: number) {}, 1);
  const y = g.task(function sleeping(_ms: number) {}, 2);
  const z = g.task(function add(_x: void, _y: void) {}, x, y);
  g.task(function cleanup() {}).after(z, { success: false, failure: true });
  const fromTaskGraph = await visualize(g);
  assert.equal(nodeCount(fromTaskGraph), 4);
  assert.equal(edgeCount(fromTaskGraph), 3);
  assert.match(fromTaskGraph, />sleeping</);

  const json = diamond();
  const results = { export: () => json };
  assert.equal(nodeCount(await visualize(results)), 4);
  assert.equal(toTaskGraphJSON({ toJSON: () => json }), json);
  assert.equal(toTaskGraphJSON({ graph: json }), json);
  assert.equal(toTaskGraphJSON({ graph: { export: () => json } }), json);
  assert.throws(() => toTaskGraphJSON(42), /cannot visualize number/);
  assert.throws(() => toTaskGraphJSON({ nodes: "x" }), /cannot visualize an object with keys \[nodes\]/);
  assert.throws(() => toTaskGraphJSON([{ msgIds: ["a"] }, { nope: 1 }]), /item 1 of the list/);
});

function asyncResult(msgIds: string[], metadata: object[], ready = true): AsyncResultLike {
  return { msgIds, metadata, ready: () => ready };
}

test("graphFromResults builds one node per msg id and one edge per recorded dependency", async () => {
  const t = 1_700_000_000_000;
  const load = asyncResult(["m-load"], [{ label: "load", status: "ok", engineId: 0, submitted: t, started: t + 1, completed: t + 20 }]);
  const map = asyncResult(
    ["m-map-0", "m-map-1"],
    [
      {
        label: "square",
        status: "ok",
        engineId: 1,
        started: t + 21,
        completed: t + 30,
        dependsOn: [{ msgId: "m-load", kind: "argument" }],
      },
      {
        label: "square",
        status: "error",
        errorName: "TypeError",
        errorMessage: "bad",
        engineId: 2,
        started: t + 21,
        completed: t + 25,
        dependsOn: [{ msgId: "m-load", kind: "argument" }],
      },
    ],
  );
  const after = asyncResult(
    ["m-after"],
    [
      {
        label: "report",
        status: "error",
        errorName: "ImpossibleDependency",
        dependsOn: [
          { msgId: "m-map-1", kind: "after" },
          { msgId: "m-elsewhere", kind: "follow" },
        ],
      },
    ],
  );
  const running = asyncResult(["m-run"], [{ label: "spin", status: "pending", started: t + 40 }], false);
  const graph = graphFromResults([load, map, after, running]);
  const states = Object.fromEntries(graph.nodes.map((n) => [n.key, n.attributes?.state]));
  assert.deepEqual(states, {
    "m-load": "done",
    "m-map-0": "done",
    "m-map-1": "failed",
    "m-after": "impossible",
    "m-run": "running",
    "m-elsewhere": "pending",
  });
  assert.equal(graph.nodes.find((n) => n.key === "m-elsewhere")?.attributes?.label, "(not in results)");
  assert.equal(graph.edges?.length, 4);
  assert.equal(DirectedGraph.from(graph).size, 4);

  const svg = await visualize([load, map, after, running]);
  assert.equal(nodeCount(svg), 6);
  assert.equal(edgeCount(svg), 4);
  // A Map of results (as TaskGraph.compute keeps them) and a single AsyncResult work too.
  assert.equal(
    nodeCount(
      await visualize(
        new Map([
          ["a", load],
          ["b", map],
        ]),
      ),
    ),
    3,
  );
  assert.equal(nodeCount(await visualize(load)), 1);
});

test("a message depending twice on the same message yields a multigraph serialization", () => {
  const a = asyncResult(["a"], [{ label: "a", status: "ok" }]);
  const b = asyncResult(
    ["b"],
    [
      {
        label: "b",
        dependsOn: [
          { msgId: "a", kind: "argument" },
          { msgId: "a", kind: "after" },
        ],
      },
    ],
  );
  const graph = graphFromResults([a, b]);
  assert.equal(graph.options?.multi, true);
  assert.equal(MultiDirectedGraph.from(graph).size, 2);
  assert.equal(graphFromResults([a]).options?.multi, false);
});

// (The HTML format is covered with a file in test/integration/viz-html.test.ts, which builds its script.)
test("filename writes the file, with the format taken from the extension", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "parallax-viz-"));
  const cases: Array<[string, RegExp]> = [
    ["g.svg", /^<\?xml/],
    ["g.dot", /^digraph tasks \{/],
    ["g.gv", /^digraph/],
    ["nested/dir/g.json", /^\{\n {2}"options"/],
  ];
  for (const [name, pattern] of cases) {
    const file = path.join(dir, name);
    const output = await visualize(diamond(), { filename: file });
    assert.match(output, pattern, name);
    assert.equal(await readFile(file, "utf8"), output);
  }
  await assert.rejects(visualize(diamond(), { filename: path.join(dir, "g.png") }), /cannot tell the format of ".*g\.png"/);
  assert.match(await visualize(diamond(), { filename: path.join(dir, "explicit.txt"), format: "dot" }), /^digraph/);
  await assert.rejects(visualize(diamond(), { format: "pdf" as never }), /unknown format "pdf"/);
  await assert.rejects(visualize(diamond(), { kind: "timeline", format: "dot" }), /timeline cannot be written as DOT/);
});

test("malformed graph JSON is refused with the problem named", () => {
  const bad = graphJSON([["a", {}]], [["a", "ghost", "argument"]]);
  assert.throws(() => toDot(bad), /edge to unknown node "ghost"/);
  const partial = {
    nodes: [{ key: "x" }, { key: "y", attributes: { state: "weird" } }],
    edges: [{ source: "x", target: "y" }],
  } as unknown as TaskGraphJSON;
  assert.match(toDot(partial), /"x" \[label="x\\nx", fillcolor="#d9d9d9"/);
});

test("metadata fields of the wrong type are ignored rather than drawn", () => {
  const odd = {
    msgIds: ["m1", "m2"],
    metadata: [
      { label: 42, engineId: "x", started: Number.NaN, status: "weird", dependsOn: [{ msgId: "m2", kind: "sideways" }, "nope"] },
      null,
    ],
  };
  const graph = graphFromResults([odd]);
  assert.deepEqual(
    graph.nodes.map((n) => n.attributes),
    [
      { label: "task", shortId: "m1", state: "pending", msgId: "m1" },
      { label: "task", shortId: "m2", state: "pending", msgId: "m2" },
    ],
  );
  assert.deepEqual(graph.edges, []);
});
