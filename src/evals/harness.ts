/**
 * The few-shot harness: k-shot prompts (prompt.ts) scored in batched forward passes through the engine.
 *
 * Metrics, per item, from ONE forward pass over prompt + completion:
 * - exact match (`correct`): every completion token is the model's argmax given everything before it — the
 *   greedy continuation of exactly the completion's token count equals the completion (lm-evaluation-harness's
 *   `acc` for the arithmetic tasks, its `is_greedy`);
 * - `logLikelihood`: the completion's summed log-probability in nats.
 *
 * Batches hold many prompts, longest first, right-padded (padding only follows a row's tokens, so causal
 * attention never lets it affect a scored position). The batch size is chosen so that the (B, T, V) logits read
 * back stay within `logitBudget` floats.
 */
import type { Tokenizer } from "../data/tokenizer.js";
import type { GPT } from "../model/gpt.js";
import { EvalError, type EvalTask, type TaskItem } from "./task.js";
import { type EncodedExample, chooseDemos, encodeExample } from "./prompt.js";

/** The score of one example. */
export interface ScoredExample {
  /** Greedy decoding reproduces the completion exactly. */
  correct: boolean;
  /** Sum of log p(completion token | prefix) over the completion, in nats. */
  logLikelihood: number;
  /** log p of each completion token given everything before it (teacher forcing), in nats. */
  tokenLogProbs: number[];
  /** Whether each completion token is the model's argmax given the correct tokens before it. */
  tokenCorrect: boolean[];
}

/** Options of {@link scoreExamples}. */
export interface ScoreOptions {
  /** Most logits floats (B·T·V) read back per forward pass (default 2^24, 64 MiB). */
  logitBudget?: number;
  /** Most sequences per forward pass (default 64). */
  maxBatch?: number;
  /** Called after each forward pass with (examples done, total). */
  onBatch?: (done: number, total: number) => void;
}

/** Scores tokenized examples (see the module comment); results are in the input order. */
export async function scoreExamples(model: GPT<object, object>, examples: readonly EncodedExample[], options: ScoreOptions = {}): Promise<ScoredExample[]> {
  const { vocabSize: V, blockSize } = model.config;
  const out: ScoredExample[] = new Array(examples.length);
  if (examples.length === 0) return out;
  const order = examples.map((_, i) => i).sort((a, b) => examples[b].tokens.length - examples[a].tokens.length);
  const Tmax = examples[order[0]].tokens.length - 1;
  if (Tmax > blockSize) throw new EvalError(`an example has ${Tmax + 1} tokens, more than the model's context ${blockSize} + 1; truncate the prompt`);
  const budget = options.logitBudget ?? 1 << 24;
  const B = Math.max(1, Math.min(options.maxBatch ?? 64, Math.floor(budget / (Math.max(1, Tmax) * V)), examples.length));
  model.reserve(B, Math.max(1, Tmax));
  for (let start = 0; start < order.length; start += B) {
    const rows = order.slice(start, start + B);
    const T = Math.max(1, examples[rows[0]].tokens.length - 1);
    const x = new Int32Array(rows.length * T); // (B, T), right-padded with id 0
    rows.forEach((idx, b) => {
      const toks = examples[idx].tokens;
      for (let t = 0; t < toks.length - 1; t++) x[b * T + t] = toks[t];
    });
    await model.forward(x, null, rows.length, T);
    const logits = await model.readLogits(); // (B, T, V)
    rows.forEach((idx, b) => {
      const { tokens, completionStart } = examples[idx];
      let correct = true;
      let ll = 0;
      const tokenLogProbs: number[] = [];
      const tokenCorrect: boolean[] = [];
      for (let p = completionStart; p < tokens.length; p++) {
        const base = (b * T + p - 1) * V; // logits at position p−1 predict token p
        let max = -Infinity;
        for (let v = 0; v < V; v++) if (logits[base + v] > max) max = logits[base + v];
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits[base + v] - max);
        const target = logits[base + tokens[p]];
        const lp = target - max - Math.log(sum);
        ll += lp;
        tokenLogProbs.push(lp);
        tokenCorrect.push(target >= max);
        if (target < max) correct = false;
      }
      out[idx] = { correct, logLikelihood: ll, tokenLogProbs, tokenCorrect };
    });
    options.onBatch?.(Math.min(start + B, order.length), order.length);
  }
  return out;
}

/** Options of {@link evaluateTask}. */
export interface EvalOptions extends ScoreOptions {
  /** Shot counts to evaluate (e.g. [0, 1, 8]); the same test items are used for each. */
  shots: number[];
  /** Test items per task. */
  n: number;
  /** Seed of the test items and the demonstrations (default 1234). */
  seed?: number;
  /** Demonstration pool size (default 1000; ignored when every shot count is 0). */
  poolSize?: number;
  /** Put the end-of-text id before every prompt (default true). */
  bos?: boolean;
  /** Progress lines (for stderr). */
  onProgress?: (message: string) => void;
}

/** The result of one (task, shots) evaluation. */
export interface EvalResult {
  task: string;
  /** Demonstrations asked for. */
  shots: number;
  /** Items scored. */
  n: number;
  /** Fraction of items whose greedy continuation is exactly the completion. */
  accuracy: number;
  /** Binomial standard error of the accuracy, √(acc(1−acc)/n). */
  stderr: number;
  /** Mean over items of the completion's summed log-likelihood (nats). */
  meanLogLikelihood: number;
  /** Mean demonstrations actually in the prompt (below `shots` when prompts were truncated to fit). */
  meanShots: number;
  /** Fraction of items whose prompt lost demonstrations to fit the context. */
  truncatedFraction: number;
  /** Mean tokens per example (prompt + completion). */
  meanTokens: number;
  /** Wall-clock seconds for this (task, shots). */
  seconds: number;
}

/** Builds the tokenized k-shot examples of `test` (demonstrations from `pool`). */
export function buildExamples(task: EvalTask, tokenizer: Tokenizer, test: readonly TaskItem[], pool: readonly TaskItem[], shots: number, seed: number, maxTokens: number, bos = true): EncodedExample[] {
  return test.map((item, i) => encodeExample(task, tokenizer, item, chooseDemos(pool, shots, seed, i, task.name), { maxTokens, bos, index: i }));
}

/** Evaluates one task at every shot count; see {@link EvalOptions}. */
export async function evaluateTask(model: GPT<object, object>, tokenizer: Tokenizer, task: EvalTask, options: EvalOptions): Promise<EvalResult[]> {
  const seed = options.seed ?? 1234;
  if (!Number.isInteger(options.n) || options.n < 1) throw new EvalError(`--n must be a positive integer, got ${options.n}`);
  if (options.shots.length === 0) throw new EvalError("no shot counts given; pass e.g. --shots 0,1,8");
  for (const k of options.shots) if (!Number.isInteger(k) || k < 0) throw new EvalError(`shot counts must be integers ≥ 0, got ${k}; pass e.g. --shots 0,1,8`);
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new EvalError(`the tokenizer has ${tokenizer.vocabSize} ids but the model only ${model.config.vocabSize}; use the tokenizer the model was trained with`);
  }
  const maxShots = Math.max(...options.shots);
  const { test, pool } = task.split(options.n, seed, maxShots > 0 ? (options.poolSize ?? 1000) : 0);
  if (test.length === 0) {
    throw new EvalError(`${task.name} has no test items left after setting aside ${pool.length} demonstrations; give a task file with more distinct contexts or use --shots 0`);
  }
  const results: EvalResult[] = [];
  for (const shots of options.shots) {
    const t0 = performance.now();
    const examples = buildExamples(task, tokenizer, test, pool, shots, seed, model.config.blockSize + 1, options.bos);
    let lastLog = 0;
    const scored = await scoreExamples(model, examples, {
      ...options,
      onBatch: (done, total) => {
        options.onBatch?.(done, total);
        const now = performance.now();
        if (options.onProgress && (now - lastLog > 2000 || done === total)) {
          lastLog = now;
          options.onProgress(`${task.name} ${shots}-shot: ${done}/${total}`);
        }
      },
    });
    const n = scored.length;
    const accuracy = scored.filter((s) => s.correct).length / n;
    results.push({
      task: task.name,
      shots,
      n,
      accuracy,
      stderr: Math.sqrt((accuracy * (1 - accuracy)) / n),
      meanLogLikelihood: scored.reduce((a, s) => a + s.logLikelihood, 0) / n,
      meanShots: examples.reduce((a, e) => a + e.shotsUsed, 0) / n,
      truncatedFraction: examples.filter((e) => e.shotsUsed < shots).length / n,
      meanTokens: examples.reduce((a, e) => a + e.tokens.length, 0) / n,
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return results;
}

/** Evaluates several tasks; results are task-major, then in the order of `options.shots`. */
export async function evaluateTasks(model: GPT<object, object>, tokenizer: Tokenizer, tasks: readonly EvalTask[], options: EvalOptions): Promise<EvalResult[]> {
  const out: EvalResult[] = [];
  for (const task of tasks) out.push(...(await evaluateTask(model, tokenizer, task, options)));
  return out;
}
