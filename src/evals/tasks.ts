/**
 * Task names → tasks: the ten arithmetic tasks, the five word-scrambling tasks, and JSONL task files.
 * Names also accept the lm-evaluation-harness / GPT-3 file spellings (`arithmetic_2da`, `anagrams1`,
 * `cycle_letters_in_word`, ...).
 */
import { existsSync } from "node:fs";
import { ARITHMETIC_TASKS, arithmeticSpec, arithmeticTask } from "./arithmetic.js";
import { fileTask } from "./jsonl.js";
import { EvalError, type EvalTask } from "./task.js";
import { type ScrambleKind, WORD_TASKS, wordTask } from "./words.js";

/** Every built-in task name with one line about it. */
export function listTasks(): { name: string; about: string }[] {
  return [...ARITHMETIC_TASKS.map((t) => ({ name: t.name, about: t.about })), ...WORD_TASKS];
}

/** Built-in task names, in listing order. */
export const TASK_NAMES: readonly string[] = listTasks().map((t) => t.name);

const ALIASES: Record<string, string> = {
  anagrams1: "anagrams-1",
  anagrams2: "anagrams-2",
  "mid-word-1-anagrams": "anagrams-1",
  "mid-word-2-anagrams": "anagrams-2",
  "cycle-letters-in-word": "cycle-letters",
  "random-insertion-in-word": "random-insertion",
};

/** The canonical name of a built-in task spelling, or undefined. */
export function canonicalTaskName(name: string): string | undefined {
  const n = name.trim().toLowerCase().replace(/_/g, "-");
  const c = ALIASES[n] ?? n;
  return TASK_NAMES.includes(c) ? c : undefined;
}

/** Options of {@link resolveTask}. */
export interface ResolveTaskOptions {
  /** Words for the scrambling tasks (default: the built-in corpus's most frequent words). */
  words?: readonly string[];
}

/**
 * A task by name, or a JSONL task file by path (any name ending in .jsonl/.ndjson, or an existing file).
 * Throws an EvalError listing the known names.
 */
export function resolveTask(name: string, options: ResolveTaskOptions = {}): EvalTask {
  const canonical = canonicalTaskName(name);
  if (canonical) {
    const spec = arithmeticSpec(canonical);
    return spec ? arithmeticTask(spec) : wordTask(canonical as ScrambleKind, options.words);
  }
  if (/\.(jsonl|ndjson)$/i.test(name) || existsSync(name)) return fileTask(name);
  throw new EvalError(`unknown task "${name}"; use one of ${TASK_NAMES.join(", ")}, or a .jsonl file of {"context", "completion"} lines`);
}

/** Splits a comma-separated task list and resolves each (duplicates dropped, order kept). */
export function resolveTasks(list: string, options: ResolveTaskOptions = {}): EvalTask[] {
  const names = [...new Set(list.split(",").map((s) => s.trim()).filter((s) => s.length > 0))];
  if (names.length === 0) throw new EvalError(`no task given; pass --task NAME[,NAME...] (e.g. --task arithmetic-2da)`);
  return names.map((n) => resolveTask(n, options));
}
