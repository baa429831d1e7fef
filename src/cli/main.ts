#!/usr/bin/env node
/**
 * `scaling-lab` — the command-line entry point. Dispatches to one command per file (see commands.ts);
 * user errors print as one line naming the fix, with exit status 2.
 */
import { commands } from "./commands.js";
import { ThreadCountError } from "../util/threads.js";
import { UserError } from "./command.js";

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "scaling-lab — train GPT ladders, fit scaling laws, forecast compute, cost and dates.",
    "",
    "Usage: scaling-lab <command> [flags]   (scaling-lab <command> --help for flags and an example)",
    "",
    "Commands:",
    ...lines,
  ].join("\n");
}

/** Runs the CLI with the given arguments and resolves to an exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`scaling-lab: unknown command "${name}" (run scaling-lab --help for the list)`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UserError || e instanceof ThreadCountError) {
      console.error(`scaling-lab ${name}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`scaling-lab: internal error: ${(e as Error)?.stack ?? e}`);
    process.exitCode = 1;
  },
);
