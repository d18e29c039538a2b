/**
 * Entry point of an engine started by its supervisor. The configuration (the signing key
 * included) arrives as the first message on the link to the supervisor (file descriptor 3), so
 * it never shows in a command line; the arguments only name the connection file and the
 * engine's place in its set, for whoever reads the process list.
 */
import { runEngineProcess } from "./engine-process.js";
import type { FromSupervisor, ToSupervisor } from "./engine-process.js";
import { LINK_FD, SupervisorLink } from "./supervisor-link.js";

function awaitConfig(): void {
  let link: SupervisorLink<FromSupervisor, ToSupervisor>;
  try {
    link = SupervisorLink.ofEngine();
  } catch (error) {
    process.stderr.write(
      `parallax engine: no link to a supervisor on file descriptor ${LINK_FD} (${(error as Error).message}); engines are started by \`parallax engine\`\n`,
    );
    process.exitCode = 2;
    return;
  }
  link.onMessage((message) => {
    if (message?.type === "config") runEngineProcess(message.config, link);
  });
}

awaitConfig();
