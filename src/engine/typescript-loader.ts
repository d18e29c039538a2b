/**
 * Which Node flags make a process run TypeScript: tsx's hooks and Node's own type stripping.
 * A cluster passes them on from the client's process, so that engines import the `.ts` task
 * modules the client names; an engine then registers tsx in its task thread as well. Pure.
 */

const LOADER_FLAGS = new Set(["--import", "--require", "-r", "--loader", "--experimental-loader"]);
const TYPE_STRIPPING_FLAGS = new Set(["--experimental-strip-types", "--experimental-transform-types"]);
const TSX = /(^|[\\/@])tsx([\\/]|$)/;

/**
 * The flags of `execArgv` that make Node run TypeScript: tsx's hooks (`--import tsx`, or the
 * `--require`/`--import` pair the tsx command adds) and Node's type stripping.
 */
export function typeScriptLoaderArgs(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    const [flag, inline] =
      arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (TYPE_STRIPPING_FLAGS.has(flag)) out.push(arg);
    if (!LOADER_FLAGS.has(flag)) continue;
    const value = inline ?? execArgv[++i];
    if (value !== undefined && TSX.test(value)) out.push(flag, value);
  }
  return out;
}

/** Whether `execArgv` loads tsx (worker threads do not inherit its hooks and must register it). */
export function runsUnderTsx(execArgv: readonly string[]): boolean {
  return typeScriptLoaderArgs(execArgv).some((arg) => TSX.test(arg));
}
