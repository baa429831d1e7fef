/**
 * k-shot prompts: the task's description, k demonstrations (context + completion, joined by the task's
 * separator), then the test context; the completion is what gets scored. Demonstrations come from the task's
 * pool (disjoint from the test items) and are drawn per item, deterministically from (seed, item index).
 *
 * A prompt that does not fit the model's context is truncated by dropping demonstrations, oldest (first) first.
 * Nothing else is ever cut: an item that does not fit even with no demonstration, or a k-shot request where not
 * one demonstration fits, is an error that names the fix.
 *
 * Tokens: optionally the end-of-text id first (the "start of document" a model trained on our shards has seen
 * before every document; GPT-2 was trained the same way), then encode(prompt text), then encode(completion).
 * Encoding the two separately matches encoding them together whenever the completion starts a new pre-token
 * (" 143" after "A:", " casino" after "="), as in the GPT-3 formats.
 */
import type { Tokenizer } from "../data/tokenizer.js";
import { Rng } from "../util/rng.js";
import { EvalError, type EvalTask, type TaskItem, hash32 } from "./task.js";

/** A tokenized prompt + completion, ready to score. */
export interface EncodedExample {
  /** Prompt tokens followed by completion tokens. */
  tokens: number[];
  /** Index in `tokens` of the first completion token. */
  completionStart: number;
  /** Demonstrations actually in the prompt (≤ the shots asked for). */
  shotsUsed: number;
}

/** The prompt text of `item` after `demos` (oldest first). */
export function promptText(task: Pick<EvalTask, "description" | "separator">, demos: readonly TaskItem[], item: TaskItem): string {
  let text = task.description;
  for (const d of demos) text += d.context + d.completion + task.separator;
  return text + item.context;
}

/** `k` distinct demonstrations for test item `index`, drawn from `pool` by (seed, index). */
export function chooseDemos(pool: readonly TaskItem[], k: number, seed: number, index: number, taskName = "this task"): TaskItem[] {
  if (k === 0) return [];
  if (k > pool.length) {
    throw new EvalError(`${taskName} has ${pool.length} demonstrations in its pool, fewer than --shots ${k}; use --shots ${pool.length} or less (or a larger --pool)`);
  }
  const rng = new Rng(hash32(`${seed}:${index}`));
  const picked = new Set<number>();
  const out: TaskItem[] = [];
  while (out.length < k) {
    const j = rng.int(pool.length);
    if (picked.has(j)) continue;
    picked.add(j);
    out.push(pool[j]);
  }
  return out;
}

/** Options of {@link encodeExample}. */
export interface EncodeOptions {
  /** Longest token sequence the model can score: blockSize + 1 (the last token is only a target). */
  maxTokens: number;
  /** Put the end-of-text id first (default true). */
  bos?: boolean;
  /** For error messages. */
  index?: number;
}

/**
 * Tokenizes `item` after as many of `demos` as fit (dropping the oldest first). Throws an EvalError when the item
 * alone does not fit, or when demonstrations were asked for and not one fits.
 */
export function encodeExample(task: EvalTask, tokenizer: Tokenizer, item: TaskItem, demos: readonly TaskItem[], options: EncodeOptions): EncodedExample {
  const prefix = options.bos === false ? [] : [tokenizer.eotId];
  const completion = tokenizer.encode(item.completion);
  if (completion.length === 0) throw new EvalError(`${task.name} item ${options.index ?? "?"} has an empty completion; every item needs text to score`);
  const budget = options.maxTokens - completion.length - prefix.length;
  const encodeWith = (drop: number) => tokenizer.encode(promptText(task, demos.slice(drop), item));
  // Estimate how many demonstrations to drop from each one's own token count, then settle it exactly:
  // the fewest drops whose encoded prompt fits the budget.
  const own = demos.map((d) => tokenizer.encode(d.context + d.completion + task.separator).length);
  let length = tokenizer.encode(task.description + item.context).length + own.reduce((a, b) => a + b, 0);
  let drop = 0;
  while (drop < demos.length && length > budget) length -= own[drop++];
  let prompt = encodeWith(drop);
  while (drop > 0) {
    const more = encodeWith(drop - 1);
    if (more.length > budget) break;
    prompt = more;
    drop--;
  }
  while (prompt.length > budget && drop < demos.length) prompt = encodeWith(++drop);
  if (prefix.length + prompt.length === 0) {
    throw new EvalError(`${task.name} item ${options.index ?? "?"} has an empty context and no end-of-text prefix: nothing to predict its first token from; keep bos on`);
  }
  if (prompt.length > budget) {
    const need = prefix.length + prompt.length + completion.length;
    throw new EvalError(
      `${task.name} item ${options.index ?? "?"} needs ${need} tokens even with no demonstrations, more than the model's context of ${options.maxTokens - 1} (+1); use a model with a larger blockSize`,
    );
  }
  if (drop === demos.length && demos.length > 0) {
    throw new EvalError(
      `--shots ${demos.length} does not fit ${task.name} in the model's ${options.maxTokens - 1}-token context: not even one demonstration fits; use --shots 0 or a model with a larger blockSize`,
    );
  }
  return { tokens: [...prefix, ...prompt, ...completion], completionStart: prefix.length + prompt.length, shotsUsed: demos.length - drop };
}
