#!/usr/bin/env node
/** Engine process entry point (what launchers and the supervisor start). */
import { runEngine } from "./run.js";

runEngine(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`parallax engine: ${(error as Error).message}\n`);
  process.exit(1);
});
