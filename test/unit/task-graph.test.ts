import assert from "node:assert/strict";
import { test } from "node:test";
import { DirectedGraph } from "graphology";
import { ImpossibleDependency, InvalidDependency } from "../../src/errors.js";
import { Dependency } from "../../src/graph/dependency.js";
import { TaskGraph } from "../../src/graph/task-graph.js";
import type { SubmitFlags, SubmittedTask, TaskSubmitter, TaskNode } from "../../src/graph/task-graph.js";
import type { FunctionRef } from "../../src/protocol/canning.js";

const add = (x: number, y: number) => x + y;
const double = (x: number) => 2 * x;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
function boom(): never {
  throw new RangeError("boom");
}

interface Metadata {
  engineId?: number;
  submitted?: number;
  started?: number;
  completed?: number;
  status: "pending" | "ok" | "error" | "aborted";
  errorName?: string;
  errorMessage?: string;
}

/** A submitted task of the fake view: a promise with msg ids and metadata, like an AsyncResult. */
class FakeTask implements SubmittedTask {
  readonly msgIds: readonly string[];
  readonly metadata: Metadata;
  private readonly promise: Promise<unknown>;
  private done = false;

  constructor(msgId: string, run: (meta: Metadata) => Promise<unknown>) {
    this.msgIds = [msgId];
    this.metadata = { status: "pending", submitted: Date.now() };
    this.promise = run(this.metadata).finally(() => (this.done = true));
    this.promise.catch(() => undefined); // observed by whoever awaits it
  }

  ready(): boolean {
    return this.done;
  }

  then<A = unknown, B = never>(
    onok?: ((v: unknown) => A | PromiseLike<A>) | null,
    onerr?: ((e: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.promise.then(onok, onerr);
  }
}

interface Submission {
  fn: unknown;
  args: unknown[];
  flags: SubmitFlags;
  task: FakeTask;
}

/**
 * An in-memory view: runs each function once its argument tasks and `after` dependency are
 * settled, replacing task arguments (also nested in arrays and objects) by their values, and
 * failing with ImpossibleDependency when a dependency can no longer be met, as the scheduler does.
 */
class FakeView implements TaskSubmitter {
  readonly submissions: Submission[] = [];
  private readonly byId = new Map<string, FakeTask>();
  /** Lets a test hold tasks back; they run once it resolves. */
  gate: Promise<void> = Promise.resolve();
  /** Throws on the nth apply (0-based), to simulate a submission error. */
  failOnApply: number | undefined;

  with(flags: SubmitFlags): { apply(fn: unknown, ...args: unknown[]): SubmittedTask } {
    return { apply: (fn, ...args) => this.apply(flags, fn, args) };
  }

  private apply(flags: SubmitFlags, fn: unknown, args: unknown[]): FakeTask {
    if (this.failOnApply === this.submissions.length) throw new TypeError("cannot serialize argument args[0]");
    const msgId = `msg-${String(this.submissions.length).padStart(4, "0")}-abcdef`;
    const task = new FakeTask(msgId, (meta) => this.run(flags, fn, args, meta));
    this.byId.set(msgId, task);
    this.submissions.push({ fn, args, flags, task });
    return task;
  }

  private async run(flags: SubmitFlags, fn: unknown, args: unknown[], meta: Metadata): Promise<unknown> {
    await this.gate;
    const argTasks = new Set<FakeTask>();
    collect(args, argTasks);
    const deps = [...(flags.after?.ids ?? []), ...(flags.follow?.ids ?? [])].map((id) => this.byId.get(id) as FakeTask);
    const completed = new Set<string>();
    const failed = new Set<string>();
    for (const task of [...argTasks, ...deps]) {
      const ok = await task.then(
        () => true,
        () => false,
      );
      (ok ? completed : failed).add(task.msgIds[0] as string);
    }
    const argDep = new Dependency([...argTasks]);
    for (const dep of [argDep, flags.after, flags.follow]) {
      if (dep?.unreachable(completed, failed)) return this.finish(meta, new ImpossibleDependency("a dependency failed"));
    }
    meta.engineId = 0;
    meta.started = Date.now();
    try {
      const values = await Promise.all(args.map((a) => resolveArgs(a)));
      const value = await (fn as (...a: unknown[]) => unknown)(...values);
      return this.finish(meta, undefined, value);
    } catch (error) {
      return this.finish(meta, error as Error);
    }
  }

  private finish(meta: Metadata, error: Error | undefined, value?: unknown): unknown {
    meta.completed = Date.now();
    meta.status = error ? "error" : "ok";
    if (!error) return value;
    meta.errorName = error.name;
    meta.errorMessage = error.message;
    throw error;
  }
}

function collect(value: unknown, found: Set<FakeTask>): void {
  if (value instanceof FakeTask) found.add(value);
  else if (Array.isArray(value) || (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)) {
    for (const item of Object.values(value)) collect(item, found);
  }
}

async function resolveArgs(value: unknown): Promise<unknown> {
  if (value instanceof FakeTask) return await value;
  if (Array.isArray(value)) return await Promise.all(value.map(resolveArgs));
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveArgs(v)])));
  }
  return value;
}

/** The edges of an export as [source, target, kind, success, failure]. */
function edgesOf(g: TaskGraph): Array<[string, string, string, boolean | undefined, boolean | undefined]> {
  return g.export().edges.map((e) => [e.source, e.target, e.attributes?.kind as string, e.attributes?.success, e.attributes?.failure]);
}

/** A repeatable random source in [0, 1). */
function seeded(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
}

// ---- building ----

test("tasks get keys in creation order, labels from function names, and start pending", () => {
  const g = new TaskGraph();
  const two = () => 2;
  const x = g.task(double, 1);
  const y = g.task(two);
  const z = g.task({ exportName: "fromModuleFn" } as unknown as FunctionRef);
  assert.deepEqual([x.key, y.key, z.key], ["t0", "t1", "t2"]);
  assert.equal(g.size, 3);
  assert.deepEqual(g.nodes(), [x, y, z]);
  assert.equal(String(x), "t0");
  const attributes = g.export().nodes.map((n) => n.attributes);
  assert.deepEqual(attributes, [
    { label: "double", shortId: "t0", state: "pending" },
    { label: "two", shortId: "t1", state: "pending" }, // an arrow function assigned to a const is named
    { label: "fromModuleFn", shortId: "t2", state: "pending" },
  ]);
  assert.equal(g.export().nodes.length, 3);
  assert.equal(
    new TaskGraph().task(() => 0).graph.graph.getNodeAttribute("t0", "label"),
    "task",
    "anonymous functions get a generic label",
  );
});

test("nodes among the arguments become argument edges, also inside arrays and plain objects", () => {
  const g = new TaskGraph();
  const a = g.task(() => 1);
  const b = g.task(() => 2);
  const c = g.task(() => 3);
  g.task(add, a, b);
  g.task((parts: Array<number | { nested: number }>, k: number) => parts.length + k, [a, { nested: c }], 5);
  g.task(add, a, a); // the same node twice is one edge
  assert.deepEqual(edgesOf(g), [
    ["t0", "t3", "argument", undefined, undefined],
    ["t1", "t3", "argument", undefined, undefined],
    ["t0", "t4", "argument", undefined, undefined],
    ["t2", "t4", "argument", undefined, undefined],
    ["t0", "t5", "argument", undefined, undefined],
  ]);
});

test("after and follow add edges of their kind with the dependency's success/failure, and chain", () => {
  const g = new TaskGraph();
  const a = g.task(() => 1);
  const b = g.task(() => 2);
  const c = g.task(() => 3);
  const d = g.task(() => 4);
  const returned = d.after(a).follow(b).after(c);
  assert.equal(returned, d, "after/follow return the node");
  const cleanup = g.task(() => "cleanup").after(d, { success: false, failure: true });
  assert.equal(cleanup.key, "t4");
  assert.deepEqual(edgesOf(g), [
    ["t0", "t3", "after", true, false],
    ["t1", "t3", "follow", true, false],
    ["t2", "t3", "after", true, false],
    ["t3", "t4", "after", false, true],
  ]);
});

test("one edge per pair: a second relation keeps the first edge unless it is follow", () => {
  const g = new TaskGraph();
  const a = g.task(() => 1);
  g.task(double, a).after(a);
  g.task(() => 0)
    .after(a)
    .follow(a);
  assert.deepEqual(edgesOf(g), [
    ["t0", "t1", "argument", undefined, undefined],
    ["t0", "t2", "follow", true, false],
  ]);
});

test("the export is graphology's serialization with deterministic edge keys", () => {
  const g = new TaskGraph();
  const x = g.task(double, 1);
  const y = g.task(double, 2);
  g.task(add, x, y).after(x, { all: false });
  const json = g.export();
  assert.deepEqual(json.options, { type: "directed", multi: false, allowSelfLoops: true });
  assert.deepEqual(
    json.edges.map((e) => e.key),
    ["t0->t2", "t1->t2"],
  );
  assert.deepEqual(Object.keys(json.nodes[0] ?? {}).sort(), ["attributes", "key"]);
  const copy = DirectedGraph.from(JSON.parse(JSON.stringify(json)) as typeof json);
  assert.equal(copy.order, 3);
  assert.equal(copy.size, 2);
  assert.equal(copy.getNodeAttribute("t2", "label"), "add");
  assert.deepEqual(copy.inNeighbors("t2"), ["t0", "t1"]);
});

test("insertion order is topological for any graph that can be built", () => {
  const random = seeded(3);
  const g = new TaskGraph();
  const nodes: Array<TaskNode<number>> = [];
  for (let i = 0; i < 300; i++) {
    const picks = nodes.length
      ? Array.from({ length: Math.floor(random() * 4) }, () => nodes[Math.floor(random() * nodes.length)] as TaskNode<number>)
      : [];
    const node = g.task(sum, picks.slice(0, 2));
    if (picks[2]) node.after(picks[2]);
    if (picks[3]) node.follow(picks[3]);
    nodes.push(node);
  }
  const position = new Map(g.nodes().map((n, i) => [n.key, i]));
  for (const edge of g.export().edges)
    assert.ok((position.get(edge.source) as number) < (position.get(edge.target) as number), `${edge.source} -> ${edge.target}`);
});

// ---- refusals ----

test("nodes of another graph are refused, as arguments and in after/follow", () => {
  const g1 = new TaskGraph();
  const g2 = new TaskGraph();
  const a = g1.task(() => 1);
  assert.throws(
    () => g2.task(add, a, 1),
    (e: unknown) => e instanceof InvalidDependency && /belongs to another TaskGraph/.test(e.message),
  );
  assert.throws(() => g2.task(sum, [a]), /belongs to another TaskGraph/);
  const b = g2.task(() => 2);
  assert.throws(
    () => b.after(a),
    (e: unknown) => e instanceof InvalidDependency && /t0.after\(\): node t0 belongs to another TaskGraph/.test(e.message),
  );
  assert.throws(() => b.follow(a), /belongs to another TaskGraph/);
  assert.equal(g2.size, 1, "the refused task was not added");
  assert.equal(g2.export().edges.length, 0);
});

test("a node cannot depend on itself or on a later node, so no cycle can be built", () => {
  const g = new TaskGraph();
  const a = g.task(() => 1);
  const b = g.task(() => 2);
  assert.throws(
    () => a.after(a),
    (e: unknown) => e instanceof InvalidDependency && /t0.after\(\) cannot depend on itself/.test(e.message),
  );
  assert.throws(
    () => a.after(b),
    (e: unknown) => e instanceof InvalidDependency && /cannot depend on t1, which was created after it/.test(e.message),
  );
  assert.throws(() => a.follow(b), /which was created after it/);
  b.after(a); // the other direction is fine
  assert.deepEqual(edgesOf(g), [["t0", "t1", "after", true, false]]);
});

test("bad after/follow arguments are refused and leave the graph unchanged", () => {
  const g = new TaskGraph();
  const a = g.task(() => 1);
  const b = g.task(() => 2);
  const c = g.task(() => 3);
  assert.throws(() => c.after(), /t2.after\(\) needs at least one task node or AsyncResult/);
  assert.throws(() => c.after({ all: false }), /needs at least one task node/);
  assert.throws(() => c.after({ failure: true }, a), /argument 0 must be a task node or an AsyncResult \(options go last\)/);
  assert.throws(() => c.after(a, 42 as never), /argument 1 must be a task node/);
  assert.throws(() => c.after(a, { success: false, failure: false }), /success and failure cannot both be false/);
  assert.throws(() => c.after(a, { any: true } as never), /unknown option "any"/);
  assert.equal(g.export().edges.length, 0);
  c.after(a, { failure: true });
  assert.throws(() => c.after(b), /t2.after\(\) was already called with other options/);
  c.after(b, { failure: true }); // same options: the dependency grows
  assert.deepEqual(edgesOf(g), [
    ["t0", "t2", "after", true, true],
    ["t1", "t2", "after", true, true],
  ]);
});

test("task() refuses something that is not a function", () => {
  const g = new TaskGraph();
  // @ts-expect-error: JavaScript callers get a clear error for what the types refuse
  assert.throws(() => g.task(undefined), { name: "TypeError", message: /fn must be a function or a function reference, got undefined/ });
  // @ts-expect-error: as above
  assert.throws(() => g.task("x => x"), /got string/);
  assert.equal(g.size, 0);
});

// ---- compute ----

test("compute submits in topological order and passes argument nodes as their submitted tasks", async () => {
  const g = new TaskGraph();
  const x = g.task(double, 1);
  const y = g.task(double, 2);
  const z = g.task(add, x, y);
  const total = g.task(sum, [x, y, z]);
  const view = new FakeView();
  const results = await g.compute(view);
  assert.deepEqual(
    view.submissions.map((s) => s.fn),
    [double, double, add, sum],
  );
  const [sx, sy, sz] = view.submissions.map((s) => s.task);
  assert.deepEqual(view.submissions[2]?.args, [sx, sy], "argument nodes become the submitted tasks themselves");
  assert.equal((view.submissions[3]?.args[0] as unknown[])[2], sz, "also nested ones");
  assert.deepEqual(view.submissions[0]?.args, [1], "plain arguments pass through");
  assert.equal(results.get(x), 2);
  assert.equal(results.get(z), 6);
  assert.equal(results.get(total), 12);
  assert.equal(results.ok, true);
  assert.deepEqual(
    view.submissions.map((s) => s.flags.label),
    ["double", "double", "add", "sum"],
  );
});

test("compute keeps topological order on a random DAG: every dependency is submitted first", async () => {
  const random = seeded(9);
  const g = new TaskGraph();
  const nodes: Array<TaskNode<number>> = [];
  for (let i = 0; i < 120; i++) {
    const pick = () => nodes[Math.floor(random() * nodes.length)] as TaskNode<number>;
    const node = nodes.length > 1 && random() < 0.7 ? g.task(add, pick(), pick()) : g.task(() => 1);
    if (nodes.length > 0 && random() < 0.3) node.after(pick(), { success: true, failure: true });
    nodes.push(node);
  }
  const view = new FakeView();
  const results = await g.compute(view);
  const order = new Map(view.submissions.map((s, i) => [s.task, i]));
  const submittedAt = (key: string) => order.get(results.results.get(key) as FakeTask) as number;
  for (const edge of g.export().edges)
    assert.ok(submittedAt(edge.source) < submittedAt(edge.target), `${edge.source} before ${edge.target}`);
  assert.equal(view.submissions.length, 120);
  assert.equal(results.ok, true);
});

test("after/follow reach the view as Dependencies over the submitted tasks, with the node's options", async () => {
  const g = new TaskGraph();
  const a = g.task(() => 1);
  const b = g.task(() => 2);
  const external = { msgIds: ["already-submitted"] };
  g.task(() => 3)
    .after(a, b, { all: false, failure: true })
    .follow(a);
  g.task(() => 4).after(external);
  const view = new FakeView();
  const results = g.submit(view);
  const [sa, sb] = view.submissions.map((s) => s.task);
  const { after, follow } = view.submissions[2]?.flags ?? {};
  assert.ok(after instanceof Dependency && follow instanceof Dependency);
  assert.deepEqual(after.toJSON(), { ids: [sa?.msgIds[0], sb?.msgIds[0]], all: false, success: true, failure: true });
  assert.deepEqual(follow.toJSON(), { ids: [sa?.msgIds[0]], all: true, success: true, failure: false });
  assert.deepEqual(view.submissions[3]?.flags.after?.ids, ["already-submitted"], "tasks outside the graph can be named");
  assert.equal(view.submissions[0]?.flags.after, undefined);
  assert.equal(g.graph.getNodeAttribute("t0", "msgId"), sa?.msgIds[0], "each node records its msg id");
  assert.equal(g.graph.getNodeAttribute("t0", "shortId"), "msg-0000");
  // The external dependency never settles in the fake; only the graph's own tasks are awaited here.
  await Promise.all([0, 1, 2].map((i) => results.results.get(`t${i}`)));
});

test("a failing output rejects compute with its error, after every task has settled", async () => {
  const g = new TaskGraph();
  const slow = g.task(() => new Promise((resolve) => setTimeout(() => resolve("slow"), 30)));
  g.task(boom);
  const view = new FakeView();
  await assert.rejects(g.compute(view), { name: "RangeError", message: "boom" });
  assert.equal(view.submissions[0]?.task.ready(), true, "the slow task had finished before compute rejected");
  assert.equal(view.submissions[0]?.task.metadata.status, "ok");
  assert.equal(slow.key, "t0");
});

test("when an upstream task raises, compute rejects with that original error, not ImpossibleDependency", async () => {
  const g = new TaskGraph();
  const ok = g.task(() => 1);
  const bad = g.task(boom);
  const mid = g.task(add, ok, bad);
  g.task(double, mid);
  await assert.rejects(g.compute(new FakeView()), { name: "RangeError", message: "boom" });
});

test("returnExceptions resolves anyway: get() rethrows per node, dependents fail as impossible", async () => {
  const g = new TaskGraph();
  const ok = g.task(() => 1);
  const bad = g.task(boom);
  const mid = g.task(add, ok, bad);
  const results = await g.compute(new FakeView(), { returnExceptions: true });
  assert.equal(results.get(ok), 1);
  assert.throws(() => results.get(bad), { name: "RangeError", message: "boom" });
  assert.throws(() => results.get(mid), ImpossibleDependency);
  assert.equal(results.ok, false);
  assert.deepEqual([...results.errors.keys()], ["t1", "t2"]);
  assert.equal((results.rootError() as Error).message, "boom");
  const states = results.export().nodes.map((n) => n.attributes?.state);
  assert.deepEqual(states, ["done", "failed", "impossible"]);
});

test("a cleanup that runs only on failure: skipped on success without failing compute", async () => {
  const g = new TaskGraph();
  const z = g.task(add, g.task(double, 1), g.task(double, 2));
  const cleanup = g.task(() => "cleaned").after(z, { success: false, failure: true });
  const results = await g.compute(new FakeView());
  assert.equal(results.get(z), 6);
  assert.throws(() => results.get(cleanup), ImpossibleDependency);
  assert.equal(results.rootError(), undefined);
  const byKey = Object.fromEntries(results.export().nodes.map((n) => [n.key, n.attributes]));
  assert.equal(byKey.t3?.state, "impossible");
  assert.equal(byKey.t2?.state, "done");
});

test("a cleanup that runs only on failure: runs when its dependency fails, and compute resolves", async () => {
  const g = new TaskGraph();
  const z = g.task(boom);
  const cleanup = g.task(() => "cleaned").after(z, { success: false, failure: true });
  const results = await g.compute(new FakeView());
  assert.equal(results.get(cleanup), "cleaned");
  assert.throws(() => results.get(z), /boom/, "the handled failure is still visible on its node");
});

test("a submission error rejects compute at once; no later task is submitted", async () => {
  const g = new TaskGraph();
  const a = g.task(boom); // rejects: it must not surface as an unhandled rejection
  g.task(double, a);
  g.task(() => 3);
  const view = new FakeView();
  view.failOnApply = 1;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await assert.rejects(g.compute(view), { name: "TypeError", message: /cannot serialize/ });
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  assert.equal(view.submissions.length, 1);
  assert.deepEqual(unhandled, []);
});

test("compute refuses something that is not a view", async () => {
  await assert.rejects(new TaskGraph().compute({} as never), { name: "TypeError", message: /view must have a with\(flags\) method/ });
});

test("an empty graph computes to empty results", async () => {
  const results = await new TaskGraph().compute(new FakeView());
  assert.equal(results.results.size, 0);
  assert.equal(results.ok, true);
  assert.deepEqual(results.export().nodes, []);
});

// ---- results ----

test("the executed export carries msg ids, engines, times, states and errors; toJSON is the same", async () => {
  const g = new TaskGraph();
  const a = g.task(double, 4);
  g.task(boom);
  const results = await g.compute(new FakeView(), { returnExceptions: true });
  const json = results.export();
  const [na, nb] = json.nodes;
  assert.equal(na?.attributes?.state, "done");
  assert.equal(na?.attributes?.msgId, "msg-0000-abcdef");
  assert.equal(na?.attributes?.shortId, "msg-0000");
  assert.equal(na?.attributes?.engineId, 0);
  for (const field of ["submitted", "started", "completed"] as const) assert.equal(typeof na?.attributes?.[field], "number", field);
  assert.ok((na?.attributes?.completed as number) >= (na?.attributes?.started as number));
  assert.equal(na?.attributes?.label, "double");
  assert.deepEqual([nb?.attributes?.state, nb?.attributes?.errorName, nb?.attributes?.errorMessage], ["failed", "RangeError", "boom"]);
  assert.deepEqual(results.toJSON(), json);
  assert.deepEqual(JSON.parse(JSON.stringify(results)), JSON.parse(JSON.stringify(json)));
  assert.equal(results.graph, g);
  assert.equal(results.results.get(a.key)?.msgIds[0], "msg-0000-abcdef");
});

test("submit returns live results: pending and running nodes are shown before anything finishes", async () => {
  const g = new TaskGraph();
  const a = g.task(double, 1);
  const b = g.task(double, a);
  const view = new FakeView();
  let open!: () => void;
  view.gate = new Promise<void>((resolve) => (open = resolve));
  const results = g.submit(view);
  assert.equal(results.ok, undefined, "not known yet");
  assert.deepEqual(
    results.export().nodes.map((n) => n.attributes?.state),
    ["pending", "pending"],
  );
  assert.throws(() => results.get(a), /t0 has not finished yet/);
  view.submissions[0]!.task.metadata.started = Date.now(); // as the engine would report
  assert.equal(results.export().nodes[0]?.attributes?.state, "running");
  open();
  await results.settled;
  assert.equal(results.get(b), 4);
  assert.deepEqual(
    results.export().nodes.map((n) => n.attributes?.state),
    ["done", "done"],
  );
});

test("get refuses nodes that are not part of the computation", async () => {
  const g = new TaskGraph();
  g.task(() => 1);
  const results = await g.compute(new FakeView());
  const later = g.task(() => 2);
  assert.throws(() => results.get(later), { name: "RangeError", message: /node t1 is not part of this computation/ });
  assert.throws(() => results.get(new TaskGraph().task(() => 1)), RangeError);
});
