#!/usr/bin/env node
/** Controller process entry point. */
import { CONFIGURATION_EXIT_CODE } from "../connection/profile.js";
import { ConfigurationError } from "../errors.js";
import { runController } from "./run.js";

runController(process.argv.slice(2)).catch((error: unknown) => {
  // The last line of the log is what a cluster starting this controller reports.
  process.stderr.write(`parallax controller: ${(error as Error).message}\n`);
  process.exit(error instanceof ConfigurationError ? CONFIGURATION_EXIT_CODE : 1);
});
