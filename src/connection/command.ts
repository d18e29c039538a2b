/**
 * Command-line options declared once, as a spec, and parsed by commander: the `controller` and
 * `engine` entry points and the `parallax` subcommands of the same names share them. Values
 * come from the command line first, then the environment (where an option names a variable),
 * then the profile's `parallax.json`, then the default.
 */
import fs from "node:fs";
import path from "node:path";
import { Command, Option } from "commander";

/** One option: `--name <value>` (a string) or `--name` (a flag). */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly default?: string | boolean;
  readonly description: string;
  /** Placeholder in the help (`<ms>`); in brackets (`[port]`) when the value may be left out. */
  readonly value?: string;
  /** Environment variable that sets the option when the command line does not. */
  readonly env?: string;
  /** For Parallax's own use (launchers, the supervisor): left out of the help. */
  readonly hidden?: boolean;
}

/** Options by long name, without the dashes. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Parsed values, keyed like the spec. */
export type OptionValues<S extends OptionSpecs> = {
  [K in keyof S]: S[K]["type"] extends "boolean" ? boolean : S[K] extends { readonly default: string } ? string : string | undefined;
};

/** The config file of a profile: one section per command, keys named like its options. */
export const CONFIG_FILE = "parallax.json";

/** The attribute commander stores `--name` under (`--no-x` is the negation of `x`). */
function attribute(name: string): string {
  return name.replace(/^no-/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function toOption(name: string, spec: OptionSpec): Option {
  const flags = spec.type === "boolean" ? `--${name}` : `--${name} ${spec.value ?? "<value>"}`;
  const option = new Option(flags, spec.description);
  if (spec.default !== undefined && !name.startsWith("no-")) option.default(spec.default);
  if (spec.env) option.env(spec.env);
  if (spec.hidden) option.hideHelp();
  return option;
}

/**
 * A commander command with the spec's options. `configDir` says where the profile of this run
 * is (its `parallax.json` section `name` fills options not given); `run` gets the values and
 * the command-line arguments that set them (to start the same command again).
 */
export function specCommand<S extends OptionSpecs>(
  name: string,
  description: string,
  specs: S,
  configDir: (values: OptionValues<S>) => string | undefined,
  run: (values: OptionValues<S>, argv: string[]) => Promise<unknown>,
): Command {
  const command = new Command(name).description(description).showHelpAfterError();
  for (const [option, spec] of Object.entries(specs)) command.addOption(toOption(option, spec));
  command.action(async () => {
    const dir = configDir(valuesOf(command, specs));
    if (dir !== undefined) applyConfig(command, name, path.join(dir, CONFIG_FILE));
    await run(valuesOf(command, specs), argvOf(command, specs));
  });
  return command;
}

function valuesOf<S extends OptionSpecs>(command: Command, specs: S): OptionValues<S> {
  const opts = command.opts();
  return Object.fromEntries(
    Object.keys(specs).map((name) => {
      const value = opts[attribute(name)] as unknown;
      if (name.startsWith("no-")) return [name, value === false];
      // A string option whose value may be left out (`--dashboard [port]`) reads "" when it was.
      return [name, specs[name]?.type === "string" && value === true ? "" : value];
    }),
  ) as OptionValues<S>;
}

/** The command-line arguments that gave the options set on the command line. */
function argvOf(command: Command, specs: OptionSpecs): string[] {
  return Object.entries(specs).flatMap(([name, spec]) => {
    const key = attribute(name);
    if (command.getOptionValueSource(key) !== "cli") return [];
    const value = command.getOptionValue(key) as unknown;
    if (spec.type === "boolean") return value === (name.startsWith("no-") ? false : true) ? [`--${name}`] : [];
    return value === true ? [`--${name}`] : [`--${name}`, String(value)];
  });
}

/**
 * Fills options not given on the command line or by the environment from a section of the
 * config file, if there is one. An unknown name or a value of the wrong kind is an error that
 * names the file and the option.
 */
export function applyConfig(command: Command, section: string, file: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return;
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const values = (config as Record<string, unknown> | null)?.[section];
  if (values === undefined) return;
  if (values === null || typeof values !== "object" || Array.isArray(values))
    throw new TypeError(`${file}: "${section}" must be an object of option values`);
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    const option = command.options.find((o) => o.long === `--${name}`);
    if (!option || option.long === "--help") {
      const known = command.options.filter((o) => !o.hidden).map((o) => o.long?.slice(2));
      throw new TypeError(`${file}: unknown option "${name}" for ${section} (options: ${known.join(", ")})`);
    }
    const key = option.attributeName();
    if (["cli", "env"].includes(command.getOptionValueSource(key) ?? "")) continue;
    const flag = option.isBoolean() || option.negate;
    if (flag ? typeof value !== "boolean" : !["string", "number"].includes(typeof value)) {
      throw new TypeError(
        `${file}: option "${name}" for ${section} must be ${flag ? "true or false" : "a string or a number"}, got ${JSON.stringify(value)}`,
      );
    }
    const parsed = flag ? (option.negate ? !value : value) : option.parseArg ? option.parseArg(String(value), undefined) : String(value);
    command.setOptionValueWithSource(key, parsed, "config");
  }
}
