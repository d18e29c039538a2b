/**
 * The Logs panel's lines: the tails of the cluster's log files in the profile's log folder
 * (the controller's and every engine set's), read when the page asks.
 */
import { open, readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { LogTail } from "../protocol/dashboard-feed.js";

/** Where a cluster's logs are. */
export interface LogSource {
  /** The profile's log folder. */
  dir: string;
  /** Files whose name contains this id belong to the cluster. */
  clusterId: string;
}

/** Bytes read from the end of each file. */
const TAIL_BYTES = 32 * 1024;
/** Lines kept from each tail. */
const TAIL_LINES = 200;
/** Files read (the most recently written first). */
const MAX_FILES = 32;

async function tail(file: string, size: number): Promise<string[]> {
  const handle = await open(file, "r");
  try {
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString("utf8").split("\n");
    // A tail that starts mid-file starts mid-line: drop the partial first line.
    if (length < size) lines.shift();
    if (lines.at(-1) === "") lines.pop();
    return lines.slice(-TAIL_LINES);
  } finally {
    await handle.close();
  }
}

/** The cluster's log files, controller first, then the most recently written. */
export async function readLogs(source: LogSource): Promise<{ files: LogTail[] }> {
  let names: string[];
  try {
    names = (await readdir(source.dir)).filter((name) => name.endsWith(".log") && name.includes(source.clusterId));
  } catch {
    return { files: [] };
  }
  const files = await Promise.all(
    names.map(async (name) => {
      const file = path.join(source.dir, name);
      const info = await stat(file);
      return { file: name, size: info.size, modified: info.mtimeMs, lines: await tail(file, info.size) };
    }),
  );
  const rank = (f: LogTail) => (f.file.startsWith("controller") ? 0 : 1);
  return { files: files.sort((a, b) => rank(a) - rank(b) || b.modified - a.modified).slice(0, MAX_FILES) };
}
