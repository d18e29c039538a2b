#!/usr/bin/env node
/** Controller process entry point. */
import { runController } from "./run.js";

runController(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`parallax controller: ${(error as Error).message}\n`);
  process.exit(1);
});
