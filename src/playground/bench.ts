/**
 * Training throughput as the playground measures it, in the page's trainer and in Node alike (bench/playground-bench.ts
 * compares the two on the same shapes): the training loop's tokens per second over every step but the first (which
 * warms the kernels up), evaluation excluded.
 */
import type { AnyBackend } from "../engine/backend.js";
import type { TrainConfig } from "../train/config.js";
import { type TrainData, train } from "../train/loop.js";
import { memorySink } from "../train/sink.js";

/** Throughput of a short run. */
export interface Throughput {
  tokensPerSec: number;
  /** Steps timed. */
  steps: number;
}

/** Trains `config` (its whole token budget) on `backend` in memory and measures the throughput. */
export async function measureThroughput(config: TrainConfig, data: TrainData, backend: AnyBackend): Promise<Throughput> {
  const sink = memorySink("bench");
  await train(config, data, { sink, backend });
  const rows = sink.run.metrics.slice(1);
  if (rows.length === 0) throw new Error("a throughput measurement needs at least 2 steps (raise the token budget)");
  const seconds = rows.reduce((a, r) => a + config.batchTokens / r.tokensPerSec, 0);
  return { tokensPerSec: (rows.length * config.batchTokens) / seconds, steps: rows.length };
}
