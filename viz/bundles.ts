/**
 * The browser scripts that scripts/build-viz-assets.mjs bundles into viz/assets/, read once
 * per process and inlined into the pages that use them (no page fetches a script).
 */
import { readFile } from "node:fs/promises";

/** The bundles. */
export type VizAsset = "graph-page.js" | "dashboard.js";

const cache = new Map<VizAsset, Promise<string>>();

/**
 * Where a bundle may be: beside this module when run from source (viz/), or in the package's
 * viz/assets when run compiled from dist/viz/.
 */
function candidates(name: VizAsset): URL[] {
  return [new URL(`./assets/${name}`, import.meta.url), new URL(`../../viz/assets/${name}`, import.meta.url)];
}

async function readFirst(name: VizAsset): Promise<string> {
  const urls = candidates(name);
  for (const url of urls) {
    try {
      return await readFile(url, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  throw new Error(
    `the page script ${name} was not found (looked in ${urls.map((u) => u.pathname).join(", ")}); build it with: node scripts/build-viz-assets.mjs`,
  );
}

/** Reads a bundle once per process; a failed read is retried next time. */
export function vizAsset(name: VizAsset): Promise<string> {
  let promise = cache.get(name);
  if (!promise) {
    promise = readFirst(name).catch((error: unknown) => {
      cache.delete(name);
      throw error;
    });
    cache.set(name, promise);
  }
  return promise;
}
