/**
 * One full training step (forward, backward, clipped AdamW) on fresh random tokens: what benchmarks and throughput
 * estimates time. The token stream is seeded, so two runs time the same work.
 */
import { Rng } from "../util/rng.js";
import type { GPT, OptimizerHParams } from "./gpt.js";

/** The optimizer settings the benchmarks use (the PyTorch peer uses the same: lr 3e-4, wd 0.1, clip 1.0). */
export const BENCH_HPARAMS: OptimizerHParams = { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxNorm: 1.0 };

/**
 * Returns a function that runs one training step of `model` on a new random (B, T) batch and resolves to the
 * gradient norm. Buffers are allocated once, here.
 */
export function syntheticStep(model: GPT<object, object>, B: number, T: number, seed = 0, hp: OptimizerHParams = BENCH_HPARAMS): () => Promise<number> {
  const V = model.config.vocabSize;
  const rng = new Rng(seed);
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  return async () => {
    for (let i = 0; i < B * T; i++) {
      x[i] = rng.int(V);
      y[i] = rng.int(V);
    }
    model.zeroGrad();
    await model.forward(x, y, B, T, { gradScale: 1 });
    model.backward(1);
    return model.step(hp);
  };
}
