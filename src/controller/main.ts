#!/usr/bin/env node
/** Controller process entry point. */
import { CONFIGURATION_EXIT_CODE } from "../connection/profile.js";
import { ConfigurationError } from "../errors.js";
import { controllerCommand } from "./run.js";

controllerCommand()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    // The last line of the log is what a cluster starting this controller reports.
    process.stderr.write(`parallax controller: ${(error as Error).message}\n`);
    process.exit(error instanceof ConfigurationError ? CONFIGURATION_EXIT_CODE : 1);
  });
