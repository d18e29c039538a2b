/**
 * CPU and memory of a process, read from /proc by the engine's supervisor and sent with its
 * heartbeats, so the dashboard can show each engine's load without asking the busy engine.
 */
import { readFileSync } from "node:fs";
import type { ProcessStats } from "../protocol/contents.js";

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux build Node supports. */
const CLOCK_TICKS = 100;
const PAGE_BYTES = 4096;

/** CPU seconds and resident bytes of `pid`, or undefined where /proc is absent or the process gone. */
function readProc(pid: number): { cpuSeconds: number; rss: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const pages = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    // A line that does not parse gives no sample rather than NaN, which the hub would refuse.
    if (!Number.isFinite(ticks) || !Number.isFinite(pages)) return undefined;
    return { cpuSeconds: ticks / CLOCK_TICKS, rss: pages * PAGE_BYTES };
  } catch {
    return undefined;
  }
}

/** Samples one process; each call reports the CPU used since the previous one. */
export class ProcessSampler {
  private previous: { cpuSeconds: number; at: number } | undefined;

  constructor(private readonly pid: number) {}

  /** The current stats, or undefined when they cannot be read on this system. */
  sample(now = Date.now()): ProcessStats | undefined {
    const current = readProc(this.pid);
    if (!current) return undefined;
    const previous = this.previous;
    this.previous = { cpuSeconds: current.cpuSeconds, at: now };
    const elapsed = previous ? (now - previous.at) / 1000 : 0;
    const cpu = previous && elapsed > 0 ? (100 * (current.cpuSeconds - previous.cpuSeconds)) / elapsed : 0;
    return { cpu: Math.max(0, Math.round(cpu * 10) / 10), rss: current.rss };
  }
}
