/**
 * Mixtures: several sources sampled by weight rather than by size, as GPT-3 did (its Common Crawl was 60% of the
 * mix but was seen only 0.44 times, while Wikipedia was seen 3.4 times). For a planned run of D tokens, a source
 * with weight w and S training tokens is sampled w·D tokens, i.e. w·D / S epochs.
 */
import { DataError } from "./errors.js";

/** One source of a mixture: its training tokens and its sampling weight. */
export interface MixtureComponent {
  name: string;
  tokens: number;
  weight: number;
}

/** How much of each source a planned run sees. */
export interface EpochReport {
  name: string;
  /** Normalised weight (the weights sum to 1). */
  weight: number;
  /** Training tokens of the source. */
  tokens: number;
  /** weight × planned tokens. */
  sampledTokens: number;
  /** sampledTokens / tokens (Infinity for an empty source with weight > 0). */
  epochs: number;
}

/**
 * Normalises weights to sum 1. Without weights, sources are weighted by their token counts (natural sampling:
 * every source sees the same number of epochs).
 */
export function normalizeWeights(weights: readonly number[] | undefined, tokens: readonly number[]): number[] {
  const w = weights ?? tokens;
  if (w.length !== tokens.length) {
    throw new DataError(`got ${w.length} weights for ${tokens.length} sources; pass one --weights value per --source entry`);
  }
  for (const x of w) {
    if (!Number.isFinite(x) || x < 0) throw new DataError(`weight ${x} is not a finite number ≥ 0; pass --weights like 0.7,0.3`);
  }
  const sum = w.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new DataError(`the weights sum to 0; give at least one source a positive weight`);
  return w.map((x) => x / sum);
}

/** Epochs per source for a planned run of `plannedTokens` tokens (weights are normalised first). */
export function mixtureEpochs(components: readonly MixtureComponent[], plannedTokens: number): EpochReport[] {
  if (!Number.isFinite(plannedTokens) || plannedTokens < 0) throw new DataError(`planned tokens must be a number ≥ 0, got ${plannedTokens}`);
  const weights = normalizeWeights(components.map((c) => c.weight), components.map((c) => c.tokens));
  return components.map((c, i) => {
    const sampledTokens = weights[i] * plannedTokens;
    return {
      name: c.name,
      weight: weights[i],
      tokens: c.tokens,
      sampledTokens,
      epochs: c.tokens > 0 ? sampledTokens / c.tokens : sampledTokens > 0 ? Infinity : 0,
    };
  });
}

/**
 * A one-line warning when training reads its data more than once: `subject` says who ("this run reads", "3 of 8 runs
 * read up to") and `epochs` how many passes; null when nothing repeats. Repeated tokens are worth less than fresh ones
 * (Muennighoff et al. 2023), so a scaling law fitted to such runs says less about more data.
 */
export function repeatedDataWarning(subject: string, epochs: number): string | null {
  if (!(epochs > 1.0001)) return null;
  return (
    `warning: ${subject} ${Number.isFinite(epochs) ? epochs.toFixed(1) : "infinitely many"} epochs of the training data; repeated tokens are ` +
    "worth less than fresh ones, so a scaling law fitted to such runs says less about more data (prepare more text, or lower --tokens)"
  );
}

/** The warning of {@link repeatedDataWarning} for one run, from its epochs per source (the most repeated one named when there are several). */
export function runRepetitionWarning(epochs: readonly EpochReport[]): string | null {
  if (epochs.length === 0) return null;
  const worst = epochs.reduce((a, b) => (b.epochs > a.epochs ? b : a));
  return repeatedDataWarning(epochs.length > 1 ? `this run reads source ${worst.name} for` : "this run reads", worst.epochs);
}

/** Parses "0.7,0.3" into numbers, checking the count against the number of sources. */
export function parseWeights(list: string, sourceCount: number): number[] {
  const parts = list.split(",").map((s) => s.trim());
  const w = parts.map(Number);
  if (parts.some((p) => p === "") || w.some((x) => !Number.isFinite(x) || x < 0)) {
    throw new DataError(`--weights "${list}" must be comma-separated numbers ≥ 0, e.g. --weights 0.7,0.3`);
  }
  if (w.length !== sourceCount) {
    throw new DataError(`--weights has ${w.length} values for ${sourceCount} sources; give one weight per --source entry`);
  }
  return normalizeWeights(w, w);
}

/** Parses a token count like "2500000", "2.5M", "300B" or "10k". */
export function parseTokenCount(text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kKmMbBtT]?)\s*$/.exec(text);
  if (!m) throw new DataError(`"${text}" is not a token count; write e.g. 2500000, 2.5M, 300B or 10k`);
  const scale: Record<string, number> = { "": 1, k: 1e3, m: 1e6, b: 1e9, t: 1e12 };
  return Math.round(Number(m[1]) * scale[m[2].toLowerCase()]);
}
