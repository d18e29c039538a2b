#!/usr/bin/env node
/** Engine process entry point (what launchers and the supervisor start). */
import { engineCommand } from "./run.js";

engineCommand()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`parallax engine: ${(error as Error).message}\n`);
    process.exit(1);
  });
