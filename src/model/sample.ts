/**
 * Autoregressive sampling from a GPT: temperature, top-k and top-p (nucleus) filtering, seeded; tokens stream
 * through a callback as they are drawn. With a key/value cache (CPU backends) each token costs the work of one
 * position; a full cache restarts from the last blockSize/2 tokens. Without one (webgpu) every token recomputes the
 * context, cropped to the model's blockSize.
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
  const probs = new Float64Array(vocabSize);
  const order = new Int32Array(vocabSize);
  const draw = (last: Float32Array) => (opts.temperature === 0 ? argmax(last) : drawFiltered(last, opts, rng, probs, order));
  if (model.backend.attentionDecode) {
    // a key/value cache: each new token costs its own positions' work; when the cache is full it restarts from the
    // last half of the context (so the context stays between blockSize/2 and blockSize tokens)
    const cache = model.newCache();
    let last = await model.decode(cache, Int32Array.from(ids.slice(-blockSize)));
    for (let n = 0; n < opts.maxTokens; n++) {
      const id = draw(last);
      ids.push(id);
      out.push(id);
      onToken?.(id);
      if (opts.stopToken !== undefined && id === opts.stopToken) break;
      if (n === opts.maxTokens - 1) break;
      if (cache.length === blockSize) {
        cache.length = 0;
        last = await model.decode(cache, Int32Array.from(ids.slice(-Math.max(1, blockSize >> 1))));
      } else {
        last = await model.decode(cache, Int32Array.of(id));
      }
    }
    return out;
  }
  model.reserve(1, blockSize);
  for (let n = 0; n < opts.maxTokens; n++) {
    const ctx = ids.slice(-blockSize);
    const T = ctx.length;
    await model.forward(Int32Array.from(ctx), null, 1, T);
    const logits = await model.readLogits();
    const id = draw(logits.subarray((T - 1) * vocabSize, T * vocabSize));
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
  if ((opts.topK <= 0 || opts.topK >= V) && opts.topP >= 1) {
    // nothing filtered: draw from the whole distribution in index order, without sorting it
    let r = rng.random();
    for (let i = 0; i < V; i++) {
      r -= probs[i];
      if (r <= 0) return i;
    }
    return argmax(probs);
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
