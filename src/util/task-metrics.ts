/**
 * The sharp and smooth metrics of one few-shot evaluation, as evals/metrics.ts computes them and the lab store keeps
 * them (store/eval-kinds.ts): one type for both sides, so a stored row reads back as what was computed.
 */

/** What evals/metrics.ts's passUntil measured. */
export interface PassUntilResult {
  /** Passed samples / samples drawn: the estimated pass rate of temperature-1 sampling. */
  rate: number;
  /** 95% Wilson interval of the rate (over all draws). */
  interval: [number, number];
  passes: number;
  draws: number;
  /** Rounds of one sample per item. */
  rounds: number;
  /** Whether at least `minPasses` samples passed. */
  resolved: boolean;
  /** The exact expectation: mean over items of p(answer) = exp(summed log-probability). */
  expected: number;
}

/** Every metric of one (task, shots) evaluation (evals/metrics.ts). */
export interface TaskMetrics {
  task: string;
  shots: number;
  n: number;
  /** Items whose greedy answer is exactly right. */
  correct: number;
  /** correct / n. */
  exactMatch: number;
  /** 95% Wilson interval of the exact match. */
  exactInterval: [number, number];
  /** Mean over items of the answer's summed log-likelihood (nats). */
  answerLogLikelihood: number;
  /** Mean over items of the fraction of answer tokens that are the argmax given the correct ones before. */
  digitAccuracy: number;
  /** PassUntil-style sampled pass rate at temperature 1. */
  sampled: PassUntilResult;
  /** Mean demonstrations actually in the prompt. */
  meanShots: number;
  /** Seconds the scoring took. */
  seconds: number;
}
