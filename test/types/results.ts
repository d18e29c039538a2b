// Type tests: checked by tsc (tsconfig.test.json, run by test/types/typecheck.test.ts), never run.
// Every `@ts-expect-error` line must fail to compile, and every `exact` check must match.
import assert from "node:assert/strict";
import { Client, Cluster, TaskGraph, asCompleted, depend, fromModule, requireModules } from "../../src/index.js";
import type {
  AsyncMapResult,
  AsyncResult,
  ClusterOptions,
  DirectView,
  Future,
  Hwm,
  LoadBalancedView,
  TaskMetadata,
  TaskNode,
} from "../../src/index.js";

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
/** `exact<E>()(value)` compiles only when the value's type is exactly `E`. */
declare function exact<Expected>(): <Actual>(
  value: Actual,
  ...mismatch: Equal<Actual, Expected> extends true ? [] : ["expected", Expected, "got", Actual]
) => void;

export async function loadBalanced(rc: Client, lview: LoadBalancedView): Promise<void> {
  const a = lview.apply((x: number) => x * 2, 3);
  exact<AsyncResult<number, true>>()(a);
  exact<number>()(await a);
  exact<AsyncResult<string, true>>()(lview.apply(async (x: number) => String(x), 1));
  exact<TaskMetadata>()(a.metadata);
  exact<string>()(a.stdout);
  // A future stands for a value of its type.
  exact<AsyncResult<number, true>>()(lview.apply((x: number, y: number) => x + y, a, 1));
  // @ts-expect-error: a string where a number is expected
  lview.apply((x: number) => x, "three");
  // @ts-expect-error: an extra argument
  lview.apply((x: number) => x, 1, 2);
  // @ts-expect-error: a missing argument
  lview.apply((x: number, y: number) => x + y, 1);
  // @ts-expect-error: not a function
  lview.apply(42);
  // @ts-expect-error: a future of the wrong type
  lview.apply((s: string) => s.length, a);

  const m = lview.map((x: number) => String(x), [1, 2]);
  exact<AsyncMapResult<string>>()(m);
  exact<string[]>()(await m);
  exact<TaskMetadata[]>()(m.metadata);
  for await (const item of m) exact<string>()(item);
  exact<AsyncMapResult<number>>()(lview.map((x: number, y: string) => x + y.length, [1, 2], ["a", "b"]));
  exact<AsyncMapResult<number>>()(lview.map(() => 7, [1, 2, 3]));
  exact<AsyncMapResult<number>>()(lview.map((x: number) => x, [1, 2], { signal: AbortSignal.timeout(1000) }));
  // @ts-expect-error: strings where numbers are expected
  lview.map((x: number) => x, ["a"]);

  for await (const v of lview.imap((x: number) => x * x, [1, 2, 3], { maxOutstanding: 2 })) exact<number>()(v);
  // @ts-expect-error: the iterable's items do not fit the function
  lview.imap((x: number) => x, ["a"]);

  const twice = lview.remote((x: number) => 2 * x);
  exact<AsyncResult<number, true>>()(twice(1));

  for await (const v of a) exact<number>()(v);
  const asPromise: Promise<number> = a;
  await assert.rejects(
    lview.apply(() => {
      throw new Error("x");
    }),
  );
  void asPromise;
  exact<AsyncResult<unknown, true>>()(rc.getResult("msg-id"));
  exact<AsyncResult<number[], false>>()(rc.getResult<number>(["a", "b"]));
}

export async function direct(rc: Client): Promise<void> {
  const one = rc.view(0);
  exact<DirectView<true>>()(one);
  exact<number>()(await one.apply(() => 1));
  exact<TaskMetadata>()(one.apply(() => 1).metadata);
  exact<string>()(one.apply(() => 1).stdout);
  exact<number[]>()(await rc.view().apply(() => 1));
  exact<number[]>()(await rc.view([0, 1]).apply((x: number) => x, 2));
  exact<number[]>()(await rc.view("0:2").apply(() => 1));
  exact<TaskMetadata[]>()(rc.view().apply(() => 1).metadata);
  exact<string[]>()(rc.view().apply(() => 1).stderr);
  const some: DirectView = rc.view(Math.random() > 0.5 ? 0 : [0, 1]);
  exact<number | number[]>()(await some.apply(() => 1));
  exact<number>()(await one.pull<number>("a"));
  exact<number[]>()(await rc.view().pull<number>("a"));
  exact<unknown[][]>()(await rc.view().pull(["a", "b"]));
  exact<[number, string]>()(await one.pull<[number, string]>(["a", "b"]));
  exact<number[]>()(await rc.view().gather<number>("x"));
  exact<AsyncMapResult<number>>()(rc.view().map((x: number) => x ** 2, [1, 2, 3]));
  for await (const v of rc.view().apply(() => "s")) exact<string>()(v);
  for await (const v of rc.view().gather<number>("x")) exact<number>()(v);
  const pmul = rc.view().parallel((a: number[], b: number[]) => a.map((x, i) => x * (b[i] ?? 0)));
  exact<number[]>()(await pmul([1, 2], [3, 4]));
  const pid = one.remote(() => process.pid);
  exact<number>()(await pid());
  const future = rc.loadBalancedView().apply(() => 1);
  // @ts-expect-error: a DirectView takes values, not futures
  rc.view().apply((x: number) => x, future);
  // @ts-expect-error: a string where a number is expected
  rc.view().apply((x: number) => x, "three");
}

export async function futures(rc: Client): Promise<void> {
  const ex = rc.executor();
  const f = ex.submit((x: number) => x + 1, 1);
  exact<AsyncResult<number, true>>()(f);
  for await (const done of asCompleted([f, ex.submit(() => 2)])) {
    exact<Future<number, true>>()(done);
    exact<Array<number | undefined>>()(done.engineIds);
    exact<number>()(await done.get());
    // @ts-expect-error: a future from asCompleted has no then(); read it with get()
    void done.then;
  }
  for await (const v of ex.map((x: number, s: string) => s.repeat(x), [1, 2], ["a", "b"])) exact<string>()(v);
  // @ts-expect-error: the iterables do not fit the function
  ex.map((x: number) => x, ["a"]);
}

export async function graphs(lview: LoadBalancedView): Promise<void> {
  const g = new TaskGraph();
  const n = g.task((x: number) => x + 1, 1);
  exact<TaskNode<number>>()(n);
  const s = g.task(async (a: number, b: number) => String(a + b), n, 2);
  exact<TaskNode<string>>()(s);
  const total = g.task((xs: number[]) => xs.length, [n, 3]);
  // @ts-expect-error: a node of strings where a number is expected
  g.task((x: number) => x, s);
  const results = await g.compute(lview);
  exact<number>()(results.get(n));
  exact<string>()(results.get(s));
  exact<number>()(results.get(total));
}

export async function references(lview: LoadBalancedView): Promise<void> {
  const ref = fromModule<(x: number) => string>("./tasks.js", "label");
  exact<AsyncResult<string, true>>()(lview.apply(ref, 1));
  // @ts-expect-error: a string where the referenced function takes a number
  lview.apply(ref, "x");
  exact<AsyncResult<unknown, true>>()(lview.apply(fromModule("./tasks.js", "anything"), 1, "two"));
  const guarded = depend((name: string) => name.length > 0, "gpu0")((x: number) => x * 2);
  exact<AsyncResult<number, true>>()(lview.apply(guarded, 2));
  const needsOs = requireModules("node:os")((x: string) => x.length);
  // @ts-expect-error: a number where the wrapped function takes a string
  lview.apply(needsOs, 3);
}

export async function cancellation(rc: Client, lview: LoadBalancedView): Promise<void> {
  const controller = new AbortController();
  const { signal } = controller;
  const a = lview.with({ signal }).apply(() => 1);
  exact<number>()(await a.get({ signal, timeout: 100 }));
  exact<boolean>()(await a.wait({ signal, timeout: 100 }));
  await a.waitInteractive({ signal });
  await rc.waitForEngines(1, { signal });
  await new TaskGraph().compute(lview, { signal });
  rc.executor(undefined, { signal });
  // @ts-expect-error: a signal must be an AbortSignal
  lview.with({ signal: "stop" });
  await using cluster = new Cluster({ n: 1, hwm: "auto" });
  const prefetching: ClusterOptions = { hwm: "auto" };
  exact<Hwm | undefined>()(prefetching.hwm);
  // @ts-expect-error: hwm is a number or "auto"
  void new Cluster({ hwm: "fast" });
  await using client = await Client.connect();
  await using ex = client.executor();
  void cluster;
  void ex;
}
