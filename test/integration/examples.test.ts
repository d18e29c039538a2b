import assert from "node:assert/strict";
import { test } from "node:test";
import { runDelayed } from "../../examples/delayed.js";
import { executorDemo } from "../../examples/executor-map.js";
import { estimatePi } from "../../examples/pi.js";
import { compareMaps } from "../../examples/sleeping.js";

test("example: load-balanced π estimate over 100 chunks on 2 engines", async () => {
  const result = await estimatePi(2, 100, 20_000);
  assert.ok(Math.abs(result.pi - Math.PI) < 0.05, `π ≈ ${result.pi}`);
  assert.equal(result.engines, 2);
  assert.equal(result.enginesUsed, 2);
  assert.ok(result.serialMs > 0 && result.elapsedMs > 0);
});

test("example: sleeping tasks finish sooner load-balanced than in DirectView partitions", async () => {
  const { direct, balanced, directValues, balancedValues } = await compareMaps();
  assert.deepEqual(directValues, balancedValues);
  assert.ok(balanced < direct, `balanced ${balanced} ms vs direct ${direct} ms`);
});

test("example: the delayed graph", async () => {
  const { z, total, results } = await runDelayed();
  assert.equal(z, 300);
  assert.equal(total, 360);
  assert.equal(results.ok, true);
});

test("example: executor.map is ordered, asCompleted is not", async () => {
  const { ordered, completed } = await executorDemo();
  assert.deepEqual(ordered, ["a after 300 ms", "b after 100 ms", "c after 200 ms"]);
  assert.deepEqual(completed, ["fast after 20 ms", "slow after 200 ms"]);
});

test("example: the delayed graph rendered to dag.svg and its executed timeline to timeline.svg", async () => {
  const { renderDelayed } = await import("../../examples/visualize.js");
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-viz-"));
  const files = await renderDelayed(dir);
  const dag = fs.readFileSync(files.dag, "utf8");
  assert.equal((dag.match(/class="node"/g) ?? []).length, 12, "one node per task");
  assert.equal((dag.match(/class="edge"/g) ?? []).length, 10, "one edge per dependency");
  const timelineSvg = fs.readFileSync(files.timeline, "utf8");
  assert.match(timelineSvg, /engine 0/);
  assert.match(timelineSvg, /engine 1/);
  assert.ok(fs.readFileSync(files.executed, "utf8").includes("engine"), "the executed DAG names engines");
});
