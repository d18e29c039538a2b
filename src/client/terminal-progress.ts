/**
 * The terminal progress bar of `waitInteractive`, drawn by cli-progress. Only the client
 * imports it, and hands it to its results.
 */
import cliProgress from "cli-progress";
import type { ProgressBar, ProgressBarFactory } from "./progress-bar.js";

/** A cli-progress bar: `███░░░ 3/8 tasks | 2s`. */
export const terminalProgressBar: ProgressBarFactory = (stream, total, done): ProgressBar => {
  const bar = new cliProgress.SingleBar(
    { stream, format: "{bar} {value}/{total} tasks | {duration}s", hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, done);
  return { update: (value) => bar.update(value), stop: () => bar.stop() };
};
