/**
 * The shape of a CLI command and the helpers every command shares: flag parsing, one-line user errors,
 * JSON output. The CLI only parses flags and calls library functions (README.md: how data flows).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** An error caused by the user's input: printed as one line (no stack trace), exit status 2. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** One `scaling-lab <name>` command. */
export interface Command {
  /** The word after `scaling-lab`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help text, including at least one example invocation. */
  help: string;
  /** Runs the command with the arguments after its name; resolves to the process exit status. */
  run(argv: string[]): Promise<number>;
}

/** A command's flag declarations, as node:util's parseArgs takes them (`{ lab: { type: "string" }, ... }`). */
export type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

/** The flags every command has. */
const COMMON_FLAGS = { help: { type: "boolean", short: "h" }, json: { type: "boolean" } } as const;

/** The parseArgs configuration {@link parseFlags} uses for a command's flags `O`. */
type FlagConfig<O extends FlagOptions, P extends boolean> = {
  args: string[];
  options: typeof COMMON_FLAGS & O;
  allowPositionals: P;
  strict: true;
};

/**
 * Parsed flags, typed from the declarations as node:util's parseArgs types them (its ParsedResults): `values.lab`
 * is `string | undefined` for `lab: { type: "string" }`, `values.json` is `boolean | undefined`, and so on;
 * `positionals` is `string[]` when the command allows them.
 */
export type ParsedFlags<O extends FlagOptions, P extends boolean = false> = ReturnType<typeof parseArgs<FlagConfig<O, P>>>;

/** The typed flag values of a command with flag declarations `O`. */
export type FlagValues<O extends FlagOptions> = ParsedFlags<O>["values"];

/**
 * Parses flags with node:util's parseArgs, turning its errors into one-line UserErrors that name the command.
 * `--help` and `--json` are added to every command. The result is typed from `options` (declare a separate
 * options object `as const` so its flag types stay literal).
 */
export function parseFlags<O extends FlagOptions, P extends boolean = false>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals?: P,
): ParsedFlags<O, P> {
  const config: FlagConfig<O, P> = {
    args: argv,
    options: { ...COMMON_FLAGS, ...options },
    allowPositionals: (allowPositionals ?? false) as P,
    strict: true,
  };
  try {
    return parseArgs(config);
  } catch (e) {
    // parseArgs messages can span lines ("... To specify a positional argument ..."): keep one line
    const msg = (e as Error).message.split("\n").map((l) => l.trim()).filter(Boolean).join(" ");
    throw new UserError(`${msg} (see: scaling-lab ${command} --help)`);
  }
}

/** Parses a flag value as a finite number, or throws a UserError naming the flag. */
export function numberFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!Number.isFinite(x)) throw new UserError(`--${name} must be a number, got "${value}"`);
  return x;
}

/** Parses a flag value as an integer ≥ min, or throws a UserError naming the flag. */
export function intFlag(name: string, value: string | undefined, fallback: number, min = 0): number {
  const x = numberFlag(name, value, fallback);
  if (!Number.isInteger(x) || x < min) throw new UserError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return x;
}

/** Prints one JSON object on one line to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}
