/**
 * External task files in the GPT-3 data format: one JSON object per line with string fields `context` and
 * `completion` (the files of github.com/openai/gpt-3/tree/master/data load as they are).
 *
 * The items are shuffled with the seed; the last P = min(poolSize, ⌊items/2⌋) form the demonstration pool and
 * up to n of the rest are the test items (fewer when the file is smaller). Examples are joined with "" when every
 * context starts with a newline (as the arithmetic files do), otherwise with "\n\n". Contamination patterns are
 * the item's text, or GPT-3's arithmetic patterns for items in the arithmetic format.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { Rng } from "../util/rng.js";
import { arithmeticPatterns, parseArithmeticItem } from "./arithmetic.js";
import { EvalError, type EvalTask, type TaskItem, type TaskSplit, shuffleInPlace } from "./task.js";

/** Reads and checks a task file; throws an EvalError naming the file, the line and the fix. */
export function readTaskFile(path: string): TaskItem[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new EvalError(`cannot read task file ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path`);
  }
  const items: TaskItem[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length === 0) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new EvalError(`${path}:${i + 1} is not valid JSON; each line must be {"context": "...", "completion": "..."}`);
    }
    const rec = obj as Record<string, unknown> | null;
    if (!rec || typeof rec !== "object" || typeof rec.context !== "string" || typeof rec.completion !== "string") {
      throw new EvalError(`${path}:${i + 1} lacks string fields "context" and "completion"; each line must be {"context": "...", "completion": "..."}`);
    }
    if (rec.completion.length === 0) throw new EvalError(`${path}:${i + 1} has an empty completion; give the text the model should produce`);
    items.push({ context: rec.context, completion: rec.completion });
  }
  if (items.length === 0) {
    throw new EvalError(`task file ${path} has no items; each line must be {"context": "...", "completion": "..."}`);
  }
  return items;
}

/** The {@link EvalTask} of a JSONL task file (named after the file, without .jsonl). */
export function fileTask(path: string): EvalTask {
  const items = readTaskFile(path);
  const separator = items.every((it) => it.context.startsWith("\n")) ? "" : "\n\n";
  return {
    name: basename(path).replace(/\.(jsonl|ndjson)$/i, ""),
    about: `${items.length} items from ${path}`,
    description: "",
    separator,
    split(n: number, seed: number, poolSize: number): TaskSplit {
      const rng = new Rng(seed);
      const shuffled = shuffleInPlace(items.slice(), (k) => rng.int(k));
      const P = Math.min(poolSize, Math.floor(shuffled.length / 2));
      const pool = shuffled.slice(shuffled.length - P);
      const inPool = new Set(pool.map((it) => it.context));
      // a test item whose context also appears in the pool would meet itself as a demonstration
      const test = shuffled.slice(0, shuffled.length - P).filter((it) => !inPool.has(it.context)).slice(0, n);
      return { test, pool };
    },
    patterns(item: TaskItem): string[] {
      const arithmetic = parseArithmeticItem(item); // GPT-3's own arithmetic files get GPT-3's patterns
      return arithmetic ? arithmeticPatterns(arithmetic) : [(item.context + item.completion).trim()];
    },
  };
}
