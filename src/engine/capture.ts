/**
 * Captures what a task writes to `console` and `process.stdout`/`stderr`. The engine runs one
 * task at a time, so one capture is active at most; writes outside a task go to the engine's log.
 */

/** Output gathered during one task. */
export interface Captured {
  stdout: string;
  stderr: string;
}

type StreamName = keyof Captured;
type Listener = (name: StreamName, text: string) => void;

/** Redirects the process's standard streams into per-task buffers. */
export class OutputCapture {
  private current: Captured | undefined;
  private listener: Listener | undefined;
  private readonly originals: Record<StreamName, NodeJS.WriteStream["write"]>;

  constructor() {
    this.originals = { stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };
    this.patch("stdout");
    this.patch("stderr");
  }

  /** Starts collecting; `listener` also sees each write (for live streaming). */
  begin(listener?: Listener): void {
    this.current = { stdout: "", stderr: "" };
    this.listener = listener;
  }

  /** Stops collecting and returns what was written. */
  end(): Captured {
    const captured = this.current ?? { stdout: "", stderr: "" };
    this.current = undefined;
    this.listener = undefined;
    return captured;
  }

  private patch(name: StreamName): void {
    const stream = process[name];
    const original = this.originals[name];
    stream.write = ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean => {
      if (this.current === undefined) return (original as (...a: unknown[]) => boolean)(chunk, encoding, callback);
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      this.current[name] += text;
      this.listener?.(name, text);
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") queueMicrotask(() => (done as () => void)());
      return true;
    }) as NodeJS.WriteStream["write"];
  }
}
