/**
 * Scoring: the mean next-token loss of a model on a token sequence of any length. Sequences longer than the
 * context are covered by overlapping windows (stride blockSize/2): every token after the first is predicted once,
 * with at least half a context of history where the sequence allows (the usual sliding-window perplexity).
 */
import { type GPT, ModelInputError } from "./gpt.js";

/** Result of {@link scoreTokens}. */
export interface ScoreResult {
  /** Mean loss in nats per predicted token (over len − 1 predictions). */
  loss: number;
  /** Sum of losses in nats. */
  totalNats: number;
  /** Number of predictions (len − 1). */
  predictions: number;
}

/** Mean next-token cross-entropy of `tokens` under the model (each token after the first is predicted once). */
export async function scoreTokens(model: GPT<object, object>, tokens: ArrayLike<number>, batch = 8): Promise<ScoreResult> {
  const n = tokens.length;
  if (n < 2) throw new ModelInputError(`need at least 2 tokens to score (got ${n}): the first token has nothing to predict it`);
  const T = Math.min(model.config.blockSize, n - 1);
  const stride = Math.max(1, Math.floor(T / 2));
  // windows: [s, s+T) inputs predict [s+1, s+T]; a window scores targets from `scoredUpTo` on
  const windows: { start: number; from: number }[] = [];
  let scoredUpTo = 1; // next target position not yet scored
  for (let s = 0; scoredUpTo < n; s = Math.min(s + stride, n - 1 - T)) {
    windows.push({ start: s, from: scoredUpTo });
    scoredUpTo = s + T + 1;
    if (s === n - 1 - T) break;
  }
  model.reserve(Math.min(batch, windows.length), T);
  let total = 0;
  let count = 0;
  for (let w0 = 0; w0 < windows.length; w0 += batch) {
    const group = windows.slice(w0, w0 + batch);
    const B = group.length;
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    group.forEach(({ start, from }, b) => {
      for (let t = 0; t < T; t++) {
        x[b * T + t] = tokens[start + t];
        const target = start + t + 1;
        y[b * T + t] = target >= from ? tokens[target] : -1;
      }
    });
    const r = await model.forward(x, y, B, T);
    total += r.loss! * r.count;
    count += r.count;
  }
  if (count !== n - 1) throw new Error(`internal: scored ${count} predictions, expected ${n - 1}`);
  return { loss: total / count, totalNats: total, predictions: count };
}
