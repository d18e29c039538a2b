/**
 * `parallax repl` driven as a user would: a real CLI process with piped stdin, lines typed one
 * by one, each step synchronised on the text the REPL prints.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Cluster, CompositeError, makePx } from "../../src/index.js";
import { alive, startTestCluster } from "../helpers/cluster.js";
import type { TestCluster } from "../helpers/cluster.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const STEP_TIMEOUT_MS = 30_000;

/** A running `parallax repl` whose output is read as it arrives. */
class ReplProcess {
  private output = "";
  /** Where the next `expect` starts looking, so each step only sees newer output. */
  private mark = 0;
  private readonly changed = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
      for (const wake of this.changed) wake();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    this.exited = new Promise((resolve) =>
      child.on("exit", (code) => {
        for (const wake of this.changed) wake();
        resolve(code);
      }),
    );
  }

  static start(args: string[]): ReplProcess {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "repl", ...args], { cwd: ROOT, stdio: "pipe" });
    return new ReplProcess(child);
  }

  /** Types one line. */
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Types a line and waits for `prompt`; returns what the line printed before the prompt. */
  async type(line: string, prompt: string): Promise<string> {
    this.send(line);
    return (await this.expect(prompt)).slice(0, -prompt.length);
  }

  /** Waits (bounded) until output printed since the last step matches; returns it through the match. */
  async expect(pattern: RegExp | string): Promise<string> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (;;) {
      const fresh = this.output.slice(this.mark);
      const found = typeof pattern === "string" ? indexAfter(fresh, pattern) : regexEnd(fresh, pattern);
      if (found !== undefined) {
        this.mark += found;
        return fresh.slice(0, found);
      }
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`expected ${String(pattern)} in the REPL's output; got since the last step:\n${fresh}`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.changed.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, deadline - Date.now()) + 1);
        this.changed.add(wake);
      });
    }
  }

  /** Ends input (Ctrl-D) and waits for the process to exit. */
  async close(): Promise<number | null> {
    this.child.stdin.end();
    return await this.exited;
  }
}

function indexAfter(text: string, needle: string): number | undefined {
  const at = text.indexOf(needle);
  return at < 0 ? undefined : at + needle.length;
}

function regexEnd(text: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(text);
  return match ? match.index + match[0].length : undefined;
}

const PROMPT = "parallax> ";

describe("parallax repl -n 2 (starts and stops its own cluster)", () => {
  let dir: string;
  let session: ReplProcess;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-repl-"));
    session = ReplProcess.start(["-n", "2", "--profile-dir", dir]);
  });
  after(async () => {
    if (session.child.exitCode === null) session.child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a typed session: .px, streamed stdout, targets, .pxresult, .autopx, errors, exit stops the cluster", async () => {
    await session.expect(/started cluster \S+ \(profile default\): engines \[0, 1\]/);
    await session.expect(PROMPT);
    const [running] = Cluster.list({ profileDir: dir });
    assert.ok(running?.controller, "the REPL's cluster is recorded in the profile folder");
    const pids = [running.controller.pid, ...Object.values(running.engineSets).flatMap((set) => set.pids)];
    assert.equal(pids.length, 2, "the controller and the one supervisor of the engine set");
    assert.ok(pids.every(alive));

    const silent = await session.type('.px const os = require("node:os")', PROMPT);
    assert.doesNotMatch(silent, /Out\[|Error/, "a declaration has no value to show");
    const host = JSON.stringify(os.hostname()).slice(1, -1);
    const hostnames = await session.type(".px os.hostname()", PROMPT);
    assert.match(hostnames, new RegExp(`Out\\[0:2\\]: '${host}'\\nOut\\[1:2\\]: '${host}'\\n`));

    const printed = await session.type('.px console.log("hi " + engineId)', PROMPT);
    assert.match(printed, /\[stdout:0\] hi 0\n/);
    assert.match(printed, /\[stdout:1\] hi 1\n/);
    assert.doesNotMatch(printed, /Out\[/, "console.log returns undefined");

    const targeted = await session.type(".px --targets 0:1 engineId * 10", PROMPT);
    assert.match(targeted, /^Out\[0:4\]: 0\n$/, "only engine 0, at its 4th execution");
    assert.match(await session.type(".pxresult", PROMPT), /^Out\[0:4\]: 0\n$/);

    assert.match(await session.type(".autopx", "parallax[px]> "), /autopx enabled\n/);
    assert.match(await session.type("1 + 1", "parallax[px]> "), /Out\[0:5\]: 2\nOut\[1:4\]: 2\n/);
    assert.match(await session.type(".autopx", PROMPT), /autopx disabled\n/);
    assert.equal(await session.type("1 + 1", PROMPT), "2\n", "back to the local REPL");

    const failed = await session.type(".px undefinedName + 1", PROMPT);
    assert.match(failed, /\[0:6\] ReferenceError: undefinedName is not defined/);
    assert.match(failed, /\[1:5\] ReferenceError: undefinedName is not defined/);
    assert.match(await session.type(".px --bogus 1", PROMPT), /px: unknown flag --bogus/);
    assert.match(await session.type(".px --targets 7 1", PROMPT), /px: RangeError: engine 7 is not registered/);
    assert.equal(
      await session.type("rc.ids.length + dview.targets + typeof lview.apply", PROMPT),
      "'2allfunction'\n",
      "rc, dview and lview are defined",
    );
    await session.type(".clear", PROMPT);
    assert.equal(await session.type("typeof rc + typeof px", PROMPT), "'objectfunction'\n", ".clear keeps the cluster handles");

    assert.equal(await session.close(), 0);
    assert.match(await session.expect(/cluster \S+ stopped\n/), /cluster/);
    assert.ok(!pids.some(alive), "no controller or engine is left");
  });
});

describe("parallax repl connected to a running cluster", () => {
  let t: TestCluster;
  before(async () => {
    t = await startTestCluster({ n: 2 });
  });
  after(async () => t.stop());

  test(".pxconfig, --noblock, .pxcell, --local, Ctrl-C interrupts the engines and the REPL stays up", async () => {
    const session = ReplProcess.start(["--profile-dir", t.dir]);
    try {
      await session.expect(/connected to cluster \S+ \(profile default\): engines \[0, 1\]/);
      await session.expect(PROMPT);

      assert.match(await session.type(".pxconfig --targets ::2 --noblock", PROMPT), /px defaults: targets ::2, noblock\n/);
      assert.match(await session.type(".px engineId + 100", PROMPT), /submitted to engines \[0\]; \.pxresult shows the result\n/);
      assert.match(await session.type(".pxresult", PROMPT), /^Out\[0:1\]: 100\n$/);
      assert.match(await session.type(".pxconfig --targets all --block", PROMPT), /px defaults: targets all, block\n/);
      assert.match(await session.type(".pxconfig --local", PROMPT), /px: flag --local is only for \.px and \.pxcell/);

      session.send(".pxcell --targets 1");
      session.send("let total = 0;");
      session.send("for (let i = 1; i <= 4; i++) total += i;");
      session.send("total * engineId");
      const cell = await session.type("", PROMPT);
      assert.match(cell, /Out\[1:1\]: 10\n/, "the cell ran as one piece on engine 1 only");
      assert.doesNotMatch(cell, /Out\[0:/);

      const local = await session.type(".px --local 6 * 7", PROMPT);
      assert.match(local, /Out\[local\]: 42\nOut\[0:2\]: 42\nOut\[1:2\]: 42\n/, "local first, after submitting; then the engines");

      session.send('.px console.log("waiting on " + engineId); await new Promise((resolve) => setTimeout(resolve, 60000))');
      const streamed = await session.expect(/waiting on \d\n[^]*?waiting on \d\n/);
      assert.match(streamed, /\[stdout:0\] waiting on 0\n/, "output arrives while the engines still run");
      assert.match(streamed, /\[stdout:1\] waiting on 1\n/);
      session.child.kill("SIGINT");
      await session.expect("KeyboardInterrupt sent to engines [0, 1]");
      await session.expect(PROMPT);
      const answered = await session.type(".pxresult", PROMPT);
      assert.match(answered, /\[0:3\] TaskInterrupted: .*interrupted on engine 0/);
      assert.match(answered, /\[1:3\] TaskInterrupted: .*interrupted on engine 1/);
      assert.match(await session.type(".px engineId", PROMPT), /Out\[0:4\]: 0\nOut\[1:4\]: 1\n/, "engines and REPL are still up");

      assert.equal(await session.close(), 0);
      assert.deepEqual(await t.rc.view().apply(() => 1), [1, 1], "a cluster the REPL did not start keeps running");
    } finally {
      if (session.child.exitCode === null) session.child.kill("SIGKILL");
    }
  });

  test("makePx: a template tag that runs code, prints like .px and returns the values", async () => {
    let printed = "";
    const px = makePx(t.rc.view(), { display: { write: (text) => void (printed += text) } });
    assert.deepEqual(await px`var tagged = ${21} * 2; console.log("tag on " + engineId); tagged`, [42, 42]);
    assert.match(printed, /\[stdout:0\] tag on 0\n/);
    assert.match(printed, /\[stdout:1\] tag on 1\n/);
    assert.match(printed, /Out\[0:\d+\]: 42\nOut\[1:\d+\]: 42\n/);
    assert.deepEqual(await px`"a\nb".length`, [3, 3], "the template is raw: escapes reach the engine as written");
    assert.deepEqual(await px`${(x: number) => x + 1}(${1})`, [2, 2], "interpolated values are pushed, functions included");

    printed = "";
    await assert.rejects(px`missingName`, CompositeError);
    assert.match(printed, /\[0:\d+\] ReferenceError: missingName is not defined/);

    const quiet = makePx(t.rc.view(1), { quiet: true });
    assert.equal(await quiet`engineId`, 1, "a single-engine view gives a scalar");
    assert.equal(quiet.session.last?.engineIds.join(), "1");
  });
});

test("without a running cluster, parallax repl says so and exits with status 1", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallax-repl-"));
  try {
    const session = ReplProcess.start(["--profile-dir", dir]);
    assert.equal(await session.close(), 1);
    assert.match(await session.expect(/\n/), /^parallax: no running cluster found in profile "default"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
