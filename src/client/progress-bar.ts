/**
 * The progress bar `waitInteractive` draws on a terminal, as an interface: results depend on
 * no terminal library, and the client supplies the drawing (see `terminal-progress.ts`).
 */

/** One bar, from start to stop. */
export interface ProgressBar {
  /** Redraws with `done` tasks finished. */
  update(done: number): void;
  /** Leaves the bar as drawn last and gives the terminal back (cursor, line). */
  stop(): void;
}

/** Starts a bar of `total` tasks, `done` of them finished, on the terminal `stream`. */
export type ProgressBarFactory = (stream: NodeJS.WriteStream, total: number, done: number) => ProgressBar;
