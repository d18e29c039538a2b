/**
 * The options that pick a profile and a cluster, declared once for every `parallax`
 * subcommand that takes them (`cluster start|stop|list|engines`, `repl`), so that their names,
 * defaults and help read the same everywhere.
 */
import type { Command } from "commander";
import { DEFAULT_PROFILE } from "../connection/profile.js";

/** What the picking options parse to. */
export interface ClusterSelection {
  profile: string;
  profileDir?: string;
  clusterId?: string;
}

/**
 * Adds `--profile` (default {@link DEFAULT_PROFILE}) and `--profile-dir`, then `--cluster-id` described by
 * `clusterId` (false: a command about a whole profile, such as `cluster list`, takes none).
 */
export function addClusterOptions(command: Command, clusterId: string | false = "cluster id"): Command {
  command.option("--profile <name>", "profile", DEFAULT_PROFILE).option("--profile-dir <dir>", "profile folder");
  return clusterId === false ? command : command.option("--cluster-id <id>", clusterId);
}
