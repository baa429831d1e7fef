/**
 * In-context learning curves: the validation loss at each position of the context, averaged over the validation
 * set (Kaplan et al. 2020, Fig. 20; Olsson et al. 2022). A model that uses its context predicts later tokens
 * better than early ones, so the curve falls with position; bigger models use more of their context.
 *
 * Positions: in a window of T + 1 tokens the model predicts token t + 1 from the t + 1 tokens before it, for
 * t = 0 … T − 1. The curve's entry t is the mean loss of that prediction over all windows, and we call t + 1 its
 * *context length*. Windows are stretches of the validation tokens (no training data, no sampling: one evaluation
 * pass), starting every `stride` tokens. With stride T they do not overlap and every position sees other tokens, so
 * each point of the curve carries the noise of its own few hundred tokens (on the demo's 54k validation tokens,
 * ±0.1 nats a position, the same for every model). A stride of T/16 puts every token at 16 context lengths, so
 * every point averages 16 times as many predictions of much the same tokens: the curve then shows what the context
 * length does, not which tokens happened to sit at that position.
 *
 * The in-context learning score (Olsson et al. 2022) is the loss late in the context minus the loss early in it:
 * negative when the model learns from its context. Olsson et al. take the 500th token minus the 50th (of 8192-token
 * contexts; Kaplan et al. plot 1024-token contexts). 500 tokens do not fit our contexts, so we keep their 10:1
 * ratio of context lengths and put the late point in the middle of the window: late = T/2 (64 for T = 128),
 * early = T/20 (6.4), far enough in that the model has some context to use. A single position is noisy on our small
 * validation sets, so each is a band of context lengths within ±25% (in ratio) of its centre: for T = 128 the
 * early band is context lengths 6–8 and the late band 52–80. The bands never reach the first few positions,
 * where every model is still guessing from almost nothing, nor the very end of the window.
 */
import type { Dataset } from "../data/loader.js";
import { type GPT, ModelInputError } from "../model/gpt.js";

/** Loss at each position of the context, averaged over windows of the validation set. */
export interface PositionLossCurve {
  /** Context length evaluated (the model's blockSize unless the data is shorter). */
  T: number;
  /** losses[t]: mean loss (nats) of predicting token t + 1 from the t + 1 tokens before it. */
  losses: number[];
  /** Windows averaged. */
  windows: number;
  /** Predictions scored: windows × T. */
  tokens: number;
  /** Mean loss over every prediction scored (equals the mean of `losses`: each position has as many windows). */
  meanLoss: number;
}

/** Options of {@link positionLosses}. */
export interface PositionLossOptions {
  /** Most predictions to score (default 65,536: the demo's whole validation split). */
  maxTokens?: number;
  /** Windows per forward pass (default 32). */
  batch?: number;
  /** Context length (default the model's blockSize). */
  T?: number;
  /** Tokens between window starts (default T: non-overlapping windows). */
  stride?: number;
}

/**
 * The per-position validation loss of `model` over windows of T + 1 tokens cut from `streams` every `stride`
 * tokens (each window lies inside one stream). When the streams hold more windows than `maxTokens / T`, an evenly spaced
 * subset is used, the same for every model.
 */
export async function positionLosses(model: GPT<object, object>, streams: readonly ArrayLike<number>[], opts: PositionLossOptions = {}): Promise<PositionLossCurve> {
  const T = opts.T ?? model.config.blockSize;
  if (!Number.isInteger(T) || T < 1 || T > model.config.blockSize) {
    throw new ModelInputError(`context length ${T} must be an integer from 1 to the model's blockSize ${model.config.blockSize}`);
  }
  const stride = opts.stride ?? T;
  if (!Number.isInteger(stride) || stride < 1) throw new ModelInputError(`the window stride must be a positive integer, got ${stride}`);
  const all: { stream: number; start: number }[] = [];
  streams.forEach((s, i) => {
    for (let start = 0; start + T + 1 <= s.length; start += stride) all.push({ stream: i, start });
  });
  if (all.length === 0) {
    const longest = Math.max(0, ...streams.map((s) => s.length));
    throw new ModelInputError(`the validation tokens (longest stream ${longest}) hold no window of T + 1 = ${T + 1} tokens; use more validation data or a shorter context`);
  }
  const maxWindows = Math.max(1, Math.floor((opts.maxTokens ?? 65536) / T));
  const windows = all.length <= maxWindows ? all : Array.from({ length: maxWindows }, (_, k) => all[Math.floor((k * all.length) / maxWindows)]);
  const batch = Math.max(1, Math.min(opts.batch ?? 32, windows.length));
  const sums = new Float64Array(T);
  model.reserve(batch, T);
  for (let w0 = 0; w0 < windows.length; w0 += batch) {
    const group = windows.slice(w0, w0 + batch);
    const B = group.length;
    const x = new Int32Array(B * T); // (B, T)
    const y = new Int32Array(B * T); // (B, T)
    group.forEach(({ stream, start }, b) => {
      const s = streams[stream];
      for (let t = 0; t < T; t++) {
        x[b * T + t] = s[start + t];
        y[b * T + t] = s[start + t + 1];
      }
    });
    await model.forward(x, y, B, T);
    const losses = await model.readLosses(); // (B, T)
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) sums[t] += losses[b * T + t];
  }
  const n = windows.length;
  const losses = Array.from(sums, (s) => s / n);
  return { T, losses, windows: n, tokens: n * T, meanLoss: losses.reduce((a, b) => a + b, 0) / T };
}

/**
 * The validation token streams of a prepared dataset for {@link positionLosses}: every source's validation split
 * that has a mixture weight, each cut to its share (by weight) of `maxTokens`.
 */
export function validationStreams(dataset: Dataset, maxTokens = 65536): ArrayLike<number>[] {
  const sources = dataset.manifest.sources;
  const total = sources.reduce((a, s) => a + (s.weight > 0 && s.tokens.val > 0 ? s.weight : 0), 0);
  const out: ArrayLike<number>[] = [];
  sources.forEach((s, i) => {
    if (!(s.weight > 0) || s.tokens.val === 0) return;
    const tokens = dataset.tokens("val", i);
    const share = Math.ceil((maxTokens * s.weight) / total) + 1;
    out.push(tokens.length <= share ? tokens : tokens.subarray(0, share));
  });
  return out;
}

/** Context-length bands (inclusive) of the in-context learning score. */
export interface IclBands {
  early: [number, number];
  late: [number, number];
}

/** The bands for a context of T tokens: ±25% around T/20 and T/2 (see the module comment). */
export function iclBands(T: number): IclBands {
  const band = (centre: number): [number, number] => {
    const lo = Math.max(1, Math.ceil(centre * 0.8));
    const hi = Math.min(T, Math.max(lo, Math.floor(centre * 1.25)));
    return [lo, hi];
  };
  return { early: band(T / 20), late: band(T / 2) };
}

/** The in-context learning score of a curve: mean loss over the late band minus over the early band. */
export interface IclScore {
  /** late − early (nats): negative when later tokens are predicted better. */
  score: number;
  early: number;
  late: number;
  bands: IclBands;
}

/** Computes the {@link IclScore} of a curve (bands default to {@link iclBands} of its length). */
export function iclScore(losses: readonly number[], bands: IclBands = iclBands(losses.length)): IclScore {
  const mean = ([lo, hi]: [number, number]) => {
    if (lo < 1 || hi > losses.length || hi < lo) throw new ModelInputError(`band of context lengths [${lo}, ${hi}] does not fit a curve of ${losses.length} positions`);
    let s = 0;
    for (let k = lo; k <= hi; k++) s += losses[k - 1]; // context length k is position k − 1
    return s / (hi - lo + 1);
  };
  const early = mean(bands.early);
  const late = mean(bands.late);
  return { score: late - early, early, late, bands };
}

