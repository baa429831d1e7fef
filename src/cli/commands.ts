/**
 * The registry of CLI commands. Each command lives in its own file in this folder; add one import and one
 * entry below to register a new command.
 */
import type { Command } from "./command.js";
import { flopsCommand } from "./flops.js";

/** All commands, in the order `scaling-lab --help` lists them. */
export const commands: Command[] = [flopsCommand];
