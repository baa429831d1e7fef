/**
 * Parameter and FLOP accounting: THE one place where scaling-lab counts a model's parameters and the
 * floating-point operations of training it. Everything else (the model, the trainer, the `flops` command,
 * the fits) calls these functions.
 *
 * Two papers define the conventions used here:
 * - Kaplan et al. (2020), "Scaling Laws for Neural Language Models", §2.1 and Table 1: N is the number of
 *   non-embedding parameters, N ≈ 12·nLayer·d², and the forward pass costs C_forward ≈ 2N + 2·nLayer·nCtx·d
 *   FLOPs per token (a multiply and an add per weight, plus the attention scores QKᵀ and the weighted sum of V).
 *   The backward pass costs about twice the forward, so training costs C ≈ 6N + 6·nLayer·nCtx·d per token.
 * - Brown et al. (2020), "Language Models are Few-Shot Learners" (GPT-3), Table D.1: training compute is
 *   6·N·D with N the total parameter count as the paper reports it (e.g. 125M, 1,320M, 174,600M) and D = 300B
 *   tokens, attention ignored. 1 PF-day = 10¹⁵ FLOP/s × 86,400 s = 8.64e19 FLOP.
 *
 * Which N and whether the attention term is included is an explicit choice ({@link FlopsOptions}); the named
 * conventions in {@link ACCOUNTING_CONVENTIONS} reproduce each paper.
 *
 * GPT-3's alternating attention (`localWindow` W > 0, Brown et al. 2020 §2.1) changes only the attention term:
 * a banded layer (odd index) attends to at most W keys, and is counted over the keys it actually sees, averaged
 * over the positions: min(t + 1, W) for position t (see {@link bandedKeysPerToken}). Dense layers keep Kaplan's
 * nCtx keys a token (his convention ignores the causal mask). W ≥ nCtx is the dense model, counted as dense.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { PF_DAY } from "../util/units.js";

/** The shape of a GPT-2/GPT-3 style decoder (names as in nanoGPT and the GPT-3 paper). */
export interface GPTShape {
  /** Vocabulary size V (rows of the token embedding, tied with the output head). */
  vocabSize: number;
  /** Context length T (rows of the learned position embedding). */
  blockSize: number;
  /** Number of transformer blocks. */
  nLayer: number;
  /** Number of attention heads (does not change parameter or FLOP counts). */
  nHead: number;
  /** Model width d (d_model). */
  nEmbd: number;
  /** GPT-3's local attention window W of the odd layers; 0 or absent = every layer dense. No parameters. */
  localWindow?: number;
}

/** Parameter counts of a {@link GPTShape}. */
export interface ParamCounts {
  /** Every trainable parameter (the output head is tied to the token embedding, so it is counted once). */
  total: number;
  /** total − token embedding − position embedding: Kaplan's N ≈ 12·nLayer·d². */
  nonEmbedding: number;
  /** Token embedding V·d plus position embedding T·d. */
  embedding: number;
}

/**
 * Exact parameter count of scaling-lab's GPT (GPT-2/GPT-3 architecture, pre-LayerNorm, tied head):
 * - token embedding wte (V, d) and position embedding wpe (T, d);
 * - per block: ln1 (weight, bias) 2d; attention qkv (3d, d) + bias 3d; attention output proj (d, d) + bias d;
 *   ln2 2d; MLP fc (4d, d) + bias 4d; MLP proj (d, 4d) + bias d; in all 12d² + 13d;
 * - final LayerNorm lnf 2d; the output head reuses wte.
 *
 * nonEmbedding = nLayer·(12d² + 13d) + 2d, which is Kaplan et al. (2020)'s N ≈ 12·nLayer·d² plus the small
 * bias and LayerNorm terms.
 * @example paramCounts({ vocabSize: 50257, blockSize: 2048, nLayer: 96, nHead: 96, nEmbd: 12288 }).total // 174,604,259,328
 */
export function paramCounts(s: GPTShape): ParamCounts {
  checkShape(s);
  const d = s.nEmbd;
  const perLayer = 12 * d * d + 13 * d;
  const nonEmbedding = s.nLayer * perLayer + 2 * d;
  const embedding = s.vocabSize * d + s.blockSize * d;
  return { total: nonEmbedding + embedding, nonEmbedding, embedding };
}

/**
 * The model FLOPs of one token of training, as a run does them: every matrix product, the tied output head included,
 * plus the attention scores and weighted values (Kaplan et al. 2020, Table 1):
 * - forward = 2N + 2·V·d + 2·nLayer·nCtx·d, N the non-embedding parameters (N ≈ 12·nLayer·d²), 2·V·d the output head
 *   (the logits' product with the tied token embedding), 2·nLayer·nCtx·d the causal attention;
 * - training = 3 × forward (the backward pass costs about twice the forward);
 * - head = 2·V·d and attention = 2·nLayer·nCtx·d, the forward terms alone.
 * Kaplan et al. leave the head out (their N excludes embeddings); at GPT-3's scale it is a rounding error, but in a
 * model of d = 32 with a 512-token vocabulary it is most of the work, so runs count it (the same convention as
 * nanoGPT's and PaLM's MFU). {@link trainingFlops} reproduces the papers' own conventions.
 * With a `localWindow` W, the banded layers' share of the attention term counts {@link bandedKeysPerToken} keys
 * instead of nCtx (see {@link attentionFlopsPerToken}).
 * @param nCtx context length the attention term uses; defaults to the shape's blockSize.
 */
export function flopsPerToken(
  s: GPTShape,
  nCtx: number = s.blockSize,
): { forward: number; training: number; attention: number; head: number } {
  const n = paramCounts(s).nonEmbedding;
  const attention = attentionFlopsPerToken(s, nCtx);
  const head = 2 * s.vocabSize * s.nEmbd;
  const forward = 2 * n + head + attention;
  return { forward, training: 3 * forward, attention, head };
}

/**
 * Forward attention FLOPs per token: 2·d·(keys a token attends to, summed over layers). Dense layers count nCtx
 * keys (Kaplan et al. 2020, Table 1: 2·nLayer·nCtx·d for a dense model); with a `localWindow` W < nCtx the odd
 * layers (⌊nLayer/2⌋ of them) count {@link bandedKeysPerToken}(nCtx, W) keys.
 * @example attentionFlopsPerToken({ vocabSize: 2, blockSize: 16, nLayer: 4, nHead: 1, nEmbd: 128, localWindow: 4 })
 *   // 2·128·(2·16 + 2·58/16) = 10048
 */
export function attentionFlopsPerToken(s: GPTShape, nCtx: number = s.blockSize): number {
  if (!(nCtx > 0)) throw new RangeError(`nCtx must be positive, got ${nCtx}`);
  const W = s.localWindow ?? 0;
  if (!(Number.isInteger(W) && W >= 0)) throw new RangeError(`localWindow must be a non-negative integer, got ${W}`);
  const banded = W > 0 && W < nCtx ? Math.floor(s.nLayer / 2) : 0;
  const keys = (s.nLayer - banded) * nCtx + (banded > 0 ? banded * bandedKeysPerToken(nCtx, W) : 0);
  return 2 * keys * s.nEmbd;
}

/**
 * Keys a locally banded causal layer attends to per token, averaged over nCtx positions: position t sees
 * min(t + 1, W) keys, so the mean is (W(W+1)/2 + (nCtx − W)·W) / nCtx for W < nCtx, (nCtx + 1)/2 otherwise.
 * @example bandedKeysPerToken(16, 4) // (1 + 2 + 3 + 4 + 12·4) / 16 = 3.625
 */
export function bandedKeysPerToken(nCtx: number, W: number): number {
  if (!(nCtx > 0) || !(W > 0)) throw new RangeError(`nCtx and W must be positive, got ${nCtx} and ${W}`);
  const w = Math.min(W, nCtx);
  return ((w * (w + 1)) / 2 + (nCtx - w) * w) / nCtx;
}

/**
 * The accounting of a run of shape `s` as the lab store records it (RunAccounting in src/store/types.ts): every
 * parameter, the non-embedding N, and the training FLOPs per token the loop counts (6N + 6·nLayer·nCtx·d at
 * nCtx = blockSize).
 * @example lab.planRun({ id, config, accounting: runAccounting(config.model) })
 */
export function runAccounting(s: GPTShape): { params: number; N: number; flopsPerToken: number } {
  const counts = paramCounts(s);
  return { params: counts.total, N: counts.nonEmbedding, flopsPerToken: flopsPerToken(s).training };
}

/** Which parameter count multiplies 6 in C = 6·N·D. */
export type ParamChoice = "total" | "nonEmbedding" | "reported";

/** The accounting choice for {@link trainingFlops}. */
export interface FlopsOptions {
  /**
   * Which N: "total" (exact count of every parameter, the common C ≈ 6·N·D), "nonEmbedding" (Kaplan's N),
   * or "reported" (the total rounded as GPT-3's Table D.1 reports it, see {@link reportedParams}). Default "total".
   */
  params?: ParamChoice;
  /** Add Kaplan's attention term 6·nLayer·nCtx·d per token (banded layers over their window). Default false. */
  attention?: boolean;
  /** Context length for the attention term; defaults to the shape's blockSize. */
  nCtx?: number;
}

/** Named accounting conventions, each reproducing one paper's numbers. */
export const ACCOUNTING_CONVENTIONS = {
  /** C = 6·N_total·D, attention ignored: the usual rule of thumb (default). */
  "6nd": { params: "total", attention: false },
  /** GPT-3 Table D.1: C = 6·N·D with N as the paper reports it; attention ignored. */
  gpt3: { params: "reported", attention: false },
  /** Kaplan et al. (2020) Table 1: C = (6·N_nonEmbedding + 6·nLayer·nCtx·d)·D. */
  kaplan: { params: "nonEmbedding", attention: true },
} as const satisfies Record<string, FlopsOptions>;

/** Name of an accounting convention. */
export type AccountingConvention = keyof typeof ACCOUNTING_CONVENTIONS;

/**
 * The total parameter count rounded to the precision GPT-3's Table D.1 prints in its "Params (M)" column:
 * three significant figures below 10⁹ (125M, 356M, 760M) and hundredths of a billion above (1.32B, 2.65B,
 * 6.66B, 12.85B, 174.60B). Computed from the exact count, this reproduces that column for all 8 models.
 */
export function reportedParams(total: number): number {
  if (!(total > 0)) return total;
  if (total >= 1e9) return Math.round(total / 1e7) * 1e7;
  const magnitude = 10 ** (Math.floor(Math.log10(total)) - 2);
  return Math.round(total / magnitude) * magnitude;
}

/** The N chosen by `params` for a shape. */
export function chosenParams(s: GPTShape, params: ParamChoice = "total"): number {
  const c = paramCounts(s);
  if (params === "nonEmbedding") return c.nonEmbedding;
  if (params === "reported") return reportedParams(c.total);
  return c.total;
}

/** Training FLOPs of a run and how they were counted. */
export interface TrainingFlops {
  /** Total training FLOPs C. */
  flops: number;
  /** C in PF-days (C / 8.64e19). */
  pfDays: number;
  /** The N used in 6·N·D. */
  params: number;
  /** Training tokens D. */
  tokens: number;
  /** Training FLOPs per token: 6·N, plus 6·nLayer·nCtx·d when attention is counted. */
  flopsPerToken: number;
  /** The attention part of flopsPerToken (0 when not counted). */
  attentionFlopsPerToken: number;
  /** The accounting used, resolved. */
  options: Required<FlopsOptions>;
}

/**
 * Training compute C = (6·N + [6·nLayer·nCtx·d]) · D, with N and the attention term chosen by `opts`
 * (default: N = total parameters, no attention term, i.e. C = 6·N·D). With `{ params: "reported" }` (the
 * "gpt3" convention) this reproduces Table D.1 of Brown et al. (2020) to three significant figures, e.g.
 * GPT-3 175B on 300B tokens: 3.14e23 FLOP = 3,640 PF-days. With `{ params: "nonEmbedding", attention: true }`
 * it is Kaplan et al. (2020)'s C per token times D.
 * @param tokens training tokens D (> 0).
 */
export function trainingFlops(s: GPTShape, tokens: number, opts: FlopsOptions = {}): TrainingFlops {
  if (!(tokens > 0) || !Number.isFinite(tokens)) throw new RangeError(`tokens must be a positive number, got ${tokens}`);
  const options: Required<FlopsOptions> = {
    params: opts.params ?? "total",
    attention: opts.attention ?? false,
    nCtx: opts.nCtx ?? s.blockSize,
  };
  const n = chosenParams(s, options.params);
  const attn = options.attention ? 3 * attentionFlopsPerToken(s, options.nCtx) : 0;
  const perToken = 6 * n + attn;
  const flops = perToken * tokens;
  return { flops, pfDays: flops / PF_DAY, params: n, tokens, flopsPerToken: perToken, attentionFlopsPerToken: attn, options };
}

function checkShape(s: GPTShape): void {
  for (const key of ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd"] as const) {
    const v = s[key];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${key} must be a positive integer, got ${v}`);
  }
  const W = s.localWindow;
  if (W !== undefined && !(Number.isInteger(W) && W >= 0)) throw new RangeError(`localWindow must be a non-negative integer, got ${W}`);
}

/** One published model shape with its training-token count. */
export interface ShapePreset {
  /** Preset name used on the command line, e.g. "gpt3-175b". */
  name: string;
  /** Name as the paper prints it, e.g. "GPT-3 175B". */
  label: string;
  /** The shape. */
  shape: GPTShape;
  /** Training tokens D of the published run. */
  tokens: number;
  /** Where the shape deviates from or clarifies the paper. */
  note?: string;
}

interface PresetFile {
  source: string;
  vocabSize: number;
  blockSize: number;
  tokens: number;
  models: { name: string; label: string; nLayer: number; nHead: number; nEmbd: number; note?: string }[];
}

let presetCache: ShapePreset[] | undefined;

/** Absolute path of presets/gpt3.json (the repository's or the installed package's). */
export function gpt3PresetPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // compiled: dist/src/model/accounting.js → ../../../presets; source run: src/model → ../../presets
  for (const rel of ["../../../presets/gpt3.json", "../../presets/gpt3.json"]) {
    const p = path.resolve(here, rel);
    if (existsSync(p)) return p;
  }
  return path.resolve(here, "../../../presets/gpt3.json");
}

/**
 * The GPT-3 family (Brown et al. 2020, Table 2.1 shapes; vocabulary 50,257, context 2,048, 300B tokens),
 * read from presets/gpt3.json.
 */
export function gpt3Presets(): ShapePreset[] {
  if (presetCache) return presetCache;
  const raw = JSON.parse(readFileSync(gpt3PresetPath(), "utf8")) as PresetFile;
  presetCache = raw.models.map((m) => ({
    name: m.name,
    label: m.label,
    shape: { vocabSize: raw.vocabSize, blockSize: raw.blockSize, nLayer: m.nLayer, nHead: m.nHead, nEmbd: m.nEmbd },
    tokens: raw.tokens,
    ...(m.note ? { note: m.note } : {}),
  }));
  return presetCache;
}

/** Looks a preset up by name (case-insensitive); undefined when there is none. */
export function findPreset(name: string): ShapePreset | undefined {
  const key = name.toLowerCase();
  return gpt3Presets().find((p) => p.name === key);
}
