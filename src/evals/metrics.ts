/**
 * Sharp and smooth metrics of one (task, shots) evaluation, all from ONE teacher-forced forward pass per item
 * (harness.ts), after Schaeffer et al. 2023 ("exact match makes abilities look sudden; a smooth metric on the
 * same items shows the same progress continuously") and Hu et al. 2023 (PassUntil):
 *
 * - **exact match**: the greedy continuation of the answer's token count is the answer (lm-eval's `acc`), with a
 *   95% Wilson score interval;
 * - **answer log-likelihood**: the answer's summed log-probability in nats (mean over items);
 * - **digit accuracy** (partial credit): the fraction of the answer's tokens — single digits, with a tokenizer that
 *   keeps digits apart (data/bpe-train.ts singleDigitCounts) — that are the model's argmax given the correct
 *   digits before them;
 * - **sampled pass rate** (PassUntil-style): the chance that a temperature-1 sample of the answer's length is the
 *   answer, estimated by sampling. Each round draws one sample per item; rounds continue until `minPasses` samples
 *   passed (or the draw budget is spent), so rates far below 1/n are resolved, as in PassUntil. A sample is drawn
 *   token by token and stops at its first token that differs from the answer (it has failed); the draws along the
 *   answer need exactly the probabilities the scoring pass already computed, so sampling costs no extra forward
 *   pass. Its expectation is the mean of p(answer) = exp(log-likelihood), reported beside it as `expected`.
 */
import type { Tokenizer } from "../data/tokenizer.js";
import type { GPT } from "../model/gpt.js";
import { Rng } from "../util/rng.js";
import { type ScoreOptions, type ScoredExample, buildExamples, scoreExamples } from "./harness.js";
import type { EvalTask, TaskItem } from "./task.js";
import type { PassUntilResult, TaskMetrics } from "../util/task-metrics.js";

export type { PassUntilResult, TaskMetrics };

/** z of a two-sided 95% interval. */
const Z95 = 1.959963984540054;

/** The Wilson score interval of k successes in n trials (default 95%). */
export function wilsonInterval(k: number, n: number, z = Z95): [number, number] {
  if (n <= 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

/** Options of {@link passUntil}. */
export interface PassUntilOptions {
  /** Stop once this many samples passed (default 50: about ±28% relative at 95%). */
  minPasses?: number;
  /** Most samples in all (default 2·10^7); below `minPasses` passes by then, the rate is reported as resolved only if any passed. */
  maxDraws?: number;
  /** Seed of the sampling (default 0). */
  seed?: number;
}


/**
 * PassUntil-style sampling (see the module comment) over items given by the log-probabilities of their answer
 * tokens (teacher-forced, from {@link scoreExamples}).
 */
export function passUntil(tokenLogProbs: readonly (readonly number[])[], opts: PassUntilOptions = {}): PassUntilResult {
  const minPasses = opts.minPasses ?? 50;
  const maxDraws = opts.maxDraws ?? 2e7;
  const n = tokenLogProbs.length;
  const probs = tokenLogProbs.map((lps) => Float64Array.from(lps, Math.exp));
  const expected = n > 0 ? tokenLogProbs.reduce((a, lps) => a + Math.exp(lps.reduce((x, y) => x + y, 0)), 0) / n : 0;
  const rng = new Rng(opts.seed ?? 0);
  let passes = 0;
  let draws = 0;
  let rounds = 0;
  while (n > 0 && passes < minPasses && draws + n <= maxDraws) {
    for (const q of probs) {
      let ok = true;
      for (let t = 0; t < q.length && ok; t++) ok = rng.random() < q[t]; // the sampled token is the answer's with probability q[t]
      if (ok) passes++;
    }
    draws += n;
    rounds++;
  }
  return { rate: draws > 0 ? passes / draws : 0, interval: wilsonInterval(passes, draws), passes, draws, rounds, resolved: passes >= minPasses, expected };
}


/** Aggregates scored items into {@link TaskMetrics}. */
export function taskMetrics(task: string, shots: number, scored: readonly ScoredExample[], meanShots: number, seconds: number, sampling: PassUntilOptions = {}): TaskMetrics {
  const n = scored.length;
  const correct = scored.filter((s) => s.correct).length;
  const mean = (f: (s: ScoredExample) => number) => (n > 0 ? scored.reduce((a, s) => a + f(s), 0) / n : 0);
  return {
    task, shots, n, correct, exactMatch: n > 0 ? correct / n : 0, exactInterval: wilsonInterval(correct, n),
    answerLogLikelihood: mean((s) => s.logLikelihood),
    digitAccuracy: mean((s) => (s.tokenCorrect.length ? s.tokenCorrect.filter(Boolean).length / s.tokenCorrect.length : 0)),
    sampled: passUntil(scored.map((s) => s.tokenLogProbs), sampling),
    meanShots, seconds,
  };
}

/** Options of {@link evaluateMetrics}. */
export interface MetricsOptions extends ScoreOptions {
  /** Seed of the demonstrations (default 1234). */
  seed?: number;
  /** Put the end-of-text id before every prompt (default true). */
  bos?: boolean;
  sampling?: PassUntilOptions;
}

/**
 * Scores `test` items of `task` at each shot count (demonstrations from `pool`) and returns every metric, in the
 * order of `shots`.
 */
export async function evaluateMetrics(
  model: GPT<object, object>, tokenizer: Tokenizer, task: EvalTask, test: readonly TaskItem[], pool: readonly TaskItem[], shots: readonly number[], opts: MetricsOptions = {},
): Promise<TaskMetrics[]> {
  const out: TaskMetrics[] = [];
  for (const k of shots) {
    const t0 = performance.now();
    const examples = buildExamples(task, tokenizer, test, pool, k, opts.seed ?? 1234, model.config.blockSize + 1, opts.bos);
    const scored = await scoreExamples(model, examples, opts);
    const meanShots = examples.reduce((a, e) => a + e.shotsUsed, 0) / Math.max(1, examples.length);
    out.push(taskMetrics(task.name, k, scored, meanShots, (performance.now() - t0) / 1000, { seed: k, ...opts.sampling }));
  }
  return out;
}
