/**
 * What Linux's /proc says of a process, for the benchmarks.
 */
import fs from "node:fs";

/** Linux's USER_HZ, the unit of the times in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_S = 100;

/** CPU seconds (user and system, every thread) a process has used (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name, which may hold spaces and parentheses: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}
