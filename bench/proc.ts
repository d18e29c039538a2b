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

/**
 * Times the threads of a process (main, libuv, ZeroMQ I/O, task threads) have gone to sleep
 * waiting for work (voluntary context switches, summed over its threads; 0 when it is gone).
 * Each is a wake-up paid later: on a small machine the cost of a message is mostly these.
 */
export function threadSleeps(pid: number): number {
  let sleeps = 0;
  try {
    for (const thread of fs.readdirSync(`/proc/${pid}/task`)) {
      const status = fs.readFileSync(`/proc/${pid}/task/${thread}/status`, "utf8");
      sleeps += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }
  } catch {
    // The process or one of its threads ended while it was read: what was read so far.
  }
  return sleeps;
}
