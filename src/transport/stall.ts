/**
 * Telling a silent peer from a stalled self. A process that was paused (SIGSTOP, a debugger, a
 * suspended machine) or whose event loop was busy (a large message, a long synchronous task)
 * reads nothing meanwhile, so its peers look silent although they kept talking. Liveness checks
 * run on an interval timer; a tick that comes late measures how long this process itself was
 * stalled, and that time is not counted against anyone.
 */

/** Measures how late an interval timer fired. */
export class StallMeter {
  private last: number;

  constructor(
    private readonly intervalMs: number,
    now = Date.now(),
  ) {
    this.last = now;
  }

  /**
   * Call at every tick of the interval timer. Returns how long this process was stalled since
   * the previous tick, in ms: 0 when the tick was less than one interval late (ordinary jitter).
   */
  stalled(now = Date.now()): number {
    const late = now - this.last - this.intervalMs;
    this.last = now;
    return late > this.intervalMs ? late : 0;
  }
}

/** A peer's last sign of life, moved forward by the time this process was stalled. */
export function creditStall(lastHeard: number, stalledMs: number, now = Date.now()): number {
  return stalledMs > 0 ? Math.min(now, lastHeard + stalledMs) : lastHeard;
}
