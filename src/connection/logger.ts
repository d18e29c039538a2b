/**
 * The controller's and engines' log: one line per event, with a time, a level and who speaks,
 * written to standard error (which their launchers send to the profile's `log/` folder).
 * `--log-level` or `PARALLAX_LOG_LEVEL` chooses how much is written.
 */

/** Levels, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Environment variable that sets the level when no `--log-level` is given. */
export const LOG_LEVEL_VARIABLE = "PARALLAX_LOG_LEVEL";

/** The `--log-level` option of the controller and engine commands. */
export const LOG_LEVEL_OPTION = {
  type: "string",
  default: "info",
  env: LOG_LEVEL_VARIABLE,
  description: `what the log says: ${LOG_LEVELS.join(", ")}`,
  value: "<level>",
} as const;

/** Checks a level given by the user; the error names where it came from and the valid levels. */
export function parseLogLevel(raw: unknown, source = "--log-level"): LogLevel {
  if (typeof raw === "string" && (LOG_LEVELS as readonly string[]).includes(raw.toLowerCase())) return raw.toLowerCase() as LogLevel;
  throw new RangeError(`${source} must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(raw)}`);
}

/** Writes leveled lines for one component (`controller`, `engine 3`, `supervisor`). */
export class Logger {
  private readonly threshold: number;

  constructor(
    private component: string,
    level: LogLevel = "info",
    private readonly write: (line: string) => void = (line) => void process.stderr.write(line),
  ) {
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  /** Renames the speaker (an engine learns its id when it registers). */
  rename(component: string): void {
    this.component = component;
  }

  debug(message: string): void {
    this.log("debug", message);
  }

  info(message: string): void {
    this.log("info", message);
  }

  warn(message: string): void {
    this.log("warn", message);
  }

  error(message: string): void {
    this.log("error", message);
  }

  private log(level: LogLevel, message: string): void {
    if (LOG_LEVELS.indexOf(level) < this.threshold) return;
    // One event, one line: a multi-line message (a stack) is folded.
    this.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${this.component}: ${message.replace(/\n+/g, " ⏎ ")}\n`);
  }
}
