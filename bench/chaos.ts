/**
 * Chaos: a 2,000-task load-balanced map with `retries: 5` while engines are killed at random
 * (mean lifetime 2 s) and replaced (`restartDeadEngines`). Every result must be correct or an
 * explicit EngineError; nothing may be lost or duplicated. Prints JSON.
 *
 *   npm run build && node dist/bench/chaos.js [--tasks 2000] [--lifetime 2000]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Cluster, EngineError } from "../src/index.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "2000" },
    lifetime: { type: "string", default: "2000" },
    engines: { type: "string", default: "4" },
  },
});
const TASKS = Number(values.tasks);
const LIFETIME = Number(values.lifetime);
const N = Number(values.engines);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-chaos-"));
const cluster = new Cluster({ n: N, profileDir: dir, restartDeadEngines: true, heartbeatInterval: 250 });
await cluster.start();
const rc = await cluster.connectClient();
await rc.waitForEngines(N);
let kills = 0;
let stop = false;
// Each engine process gets an exponential lifetime; the killer picks a random live one.
const killer = (async () => {
  while (!stop) {
    await new Promise((r) => setTimeout(r, -Math.log(1 - Math.random()) * (LIFETIME / N)));
    if (stop) break;
    const pids = Object.values(cluster.engineSets).flatMap((s) => s.pids);
    const victim = pids[Math.floor(Math.random() * pids.length)];
    if (victim === undefined) continue;
    try {
      process.kill(-victim, "SIGKILL");
      kills++;
    } catch {
      // already gone
    }
  }
})();
const started = Date.now();
const ar = rc
  .loadBalancedView()
  .with({ retries: 5 })
  .map(
    (x: number) => new Promise((r) => setTimeout(() => r(x * 2), 5)),
    Array.from({ length: TASKS }, (_, i) => i),
  );
const values2 = (await ar.get({ returnExceptions: true })) as unknown[];
stop = true;
await killer;
let correct = 0;
let engineErrors = 0;
let wrong = 0;
values2.forEach((v, i) => {
  if (v === i * 2) correct++;
  else if (v instanceof EngineError) engineErrors++;
  else wrong++;
});
const entries = ar.taskEntries;
const terminal = entries.filter((e) => ["ok", "error", "aborted"].includes(e.metadata.status)).length;
await rc.close();
await cluster.stop();
fs.rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    system: "parallax",
    bench: "chaos",
    metrics: {
      tasks: TASKS,
      engines: N,
      kills,
      seconds: (Date.now() - started) / 1000,
      correct,
      engine_errors: engineErrors,
      wrong,
      lost: TASKS - values2.length,
      messages: entries.length,
      terminal,
    },
  })}\n`,
);
if (wrong > 0 || values2.length !== TASKS || terminal !== entries.length) process.exitCode = 1;
