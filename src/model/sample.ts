/**
 * Autoregressive sampling from a GPT: temperature, top-k and top-p (nucleus) filtering, seeded; tokens stream
 * through a callback as they are drawn. The context is cropped to the model's blockSize.
 */
import { Rng } from "../util/rng.js";
import { type GPT, ModelInputError } from "./gpt.js";

/** Sampling options. */
export interface SampleOptions {
  /** Tokens to generate. */
  maxTokens: number;
  /** Softmax temperature; 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP: number;
  seed: number;
  /** Stop early when this token is drawn (e.g. end-of-text). */
  stopToken?: number;
}

/**
 * Generates up to `maxTokens` tokens after `prompt` (at least one token), calling `onToken` with each new id.
 * Resolves to the generated ids (without the prompt).
 */
export async function generate(
  model: GPT<object, object>, prompt: number[], opts: SampleOptions, onToken?: (id: number) => void,
): Promise<number[]> {
  const { blockSize, vocabSize } = model.config;
  if (prompt.length === 0) throw new ModelInputError("the prompt is empty (give at least one token, e.g. the end-of-text id)");
  if (!(opts.temperature >= 0)) throw new ModelInputError(`temperature must be ≥ 0, got ${opts.temperature}`);
  if (!(opts.topP > 0 && opts.topP <= 1)) throw new ModelInputError(`top-p must be in (0, 1], got ${opts.topP}`);
  const rng = new Rng(opts.seed);
  const ids = prompt.slice();
  const out: number[] = [];
  model.reserve(1, blockSize);
  const probs = new Float64Array(vocabSize);
  const order = new Int32Array(vocabSize);
  for (let n = 0; n < opts.maxTokens; n++) {
    const ctx = ids.slice(-blockSize);
    const T = ctx.length;
    await model.forward(Int32Array.from(ctx), null, 1, T);
    const logits = await model.readLogits();
    const last = logits.subarray((T - 1) * vocabSize, T * vocabSize);
    const id = opts.temperature === 0 ? argmax(last) : drawFiltered(last, opts, rng, probs, order);
    ids.push(id);
    out.push(id);
    onToken?.(id);
    if (opts.stopToken !== undefined && id === opts.stopToken) break;
  }
  return out;
}

/** Index of the largest value. */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

function drawFiltered(logits: Float32Array, opts: SampleOptions, rng: Rng, probs: Float64Array, order: Int32Array): number {
  const V = logits.length;
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < V; i++) {
    probs[i] = Math.exp((logits[i] - max) / opts.temperature);
    sum += probs[i];
  }
  for (let i = 0; i < V; i++) {
    probs[i] /= sum;
    order[i] = i;
  }
  const sorted = Array.from(order).sort((a, b) => probs[b] - probs[a]);
  let keep = opts.topK > 0 ? Math.min(opts.topK, V) : V;
  if (opts.topP < 1) {
    let cum = 0;
    for (let i = 0; i < keep; i++) {
      cum += probs[sorted[i]];
      if (cum >= opts.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let total = 0;
  for (let i = 0; i < keep; i++) total += probs[sorted[i]];
  let r = rng.random() * total;
  for (let i = 0; i < keep; i++) {
    r -= probs[sorted[i]];
    if (r <= 0) return sorted[i];
  }
  return sorted[keep - 1];
}
