/**
 * Entry point of an engine started by its supervisor. The configuration (the signing key
 * included) arrives as the first message on the IPC channel, so it never shows in a command
 * line; the arguments only name the connection file and the engine's place in its set, for
 * whoever reads the process list.
 */
import { runEngineProcess } from "./engine-process.js";
import type { FromSupervisor } from "./engine-process.js";

const onConfig = (message: FromSupervisor): void => {
  if (message?.type !== "config") return;
  process.off("message", onConfig);
  runEngineProcess(message.config, true);
};
process.on("message", onConfig);
