/**
 * Model ladders: named families of sizes trained the same way (presets/ladders.json — a ladder is data, not code).
 * Each size gets Kaplan et al. (2020)'s size-dependent learning rate unless the ladder gives one.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { paramCounts } from "../model/accounting.js";
import { validateConfig } from "../model/config.js";
import { kaplanLearningRate } from "../train/config.js";

const SizeSchema = z.object({
  name: z.string().min(1),
  nLayer: z.number().int().positive(),
  nHead: z.number().int().positive(),
  nEmbd: z.number().int().positive(),
  lr: z.number().positive().optional(),
  /** This size's local attention window (overrides the ladder's). */
  localWindow: z.number().int().optional(),
});

/** Training settings every run of a ladder shares (fields of the training config; flags and overrides win). */
const RecipeSchema = z.object({
  schedule: z.enum(["cosine", "wsd"]).optional(),
  cooldownFraction: z.number().gt(0).lt(1).optional(),
  cooldownShape: z.enum(["1-sqrt", "linear", "cosine"]).optional(),
  /** wsd: cooldown branches as fractions of each run's tokens. */
  branches: z.array(z.number().positive()).optional(),
  minLrFraction: z.number().min(0).max(1).optional(),
  warmupFraction: z.number().min(0).max(1).optional(),
  weightDecay: z.number().min(0).optional(),
  beta1: z.number().min(0).max(1).optional(),
  beta2: z.number().min(0).max(1).optional(),
  gradClip: z.number().min(0).optional(),
  evalEvery: z.number().int().positive().optional(),
  evalTokens: z.number().int().positive().optional(),
  finalEvalTokens: z.number().int().positive().optional(),
}).strict();

/** A learning-rate law LR*(N) = coef · N^exponent measured by `sweep --plan lr`, with how it was measured. */
const LrLawSchema = z.object({
  coef: z.number().positive(),
  exponent: z.number(),
  /** Which N the law takes. */
  params: z.enum(["total", "nonEmbedding"]),
  /** Clamp of the law's value. */
  max: z.number().positive().optional(),
  about: z.string().optional(),
});

const LadderSchema = z.object({
  about: z.string().optional(),
  /** Why the shapes and the recipe are what they are (the evidence). */
  why: z.string().optional(),
  blockSize: z.number().int().positive(),
  batchTokens: z.number().int().positive(),
  /** GPT-3's alternating attention for every size: odd layers see the last localWindow tokens (0/absent = dense). */
  localWindow: z.number().int().optional(),
  /** The BPE vocabulary the recipe was tuned on (the demo prepares its corpus with it). */
  vocab: z.number().int().positive().optional(),
  /** Tokens per run of the ladder's default study (the demo's D). */
  tokens: z.number().positive().optional(),
  recipe: RecipeSchema.optional(),
  lrLaw: LrLawSchema.optional(),
  /** How the demo analyses this ladder (src/analysis/): the leave-future-out K, the N, the early endpoints left out. */
  analysis: z.object({
    K: z.number().min(1).optional(),
    params: z.enum(["total", "nonEmbedding"]).optional(),
    /** Leave out endpoints with fewer tokens than this fraction of the ladder's tokens. */
    minTokensFraction: z.number().min(0).max(1).optional(),
  }).strict().optional(),
  sizes: z.array(SizeSchema).min(2),
});

/** The shared training settings of a ladder. */
export type LadderRecipe = z.infer<typeof RecipeSchema>;
/** A measured LR*(N) law. */
export type LrLaw = z.infer<typeof LrLawSchema>;

/** One rung of a ladder. */
export type LadderSize = z.infer<typeof SizeSchema>;
/** A ladder: sizes sharing context length and batch (in tokens). */
export type Ladder = z.infer<typeof LadderSchema> & { name: string };

/** A ladder that cannot be used; the message names the fix. */
export class LadderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LadderError";
  }
}

function laddersPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ["../../../presets/ladders.json", "../../presets/ladders.json"]) {
    const p = resolve(here, rel);
    if (existsSync(p)) return p;
  }
  return resolve(here, "../../../presets/ladders.json");
}

/** Names of the built-in ladders (plus `gpt3`, the accounting-only GPT-3 family). */
export function ladderNames(): string[] {
  return Object.keys((JSON.parse(readFileSync(laddersPath(), "utf8")) as { ladders: object }).ladders);
}

/** Loads a built-in ladder by name, or a ladder JSON file by path, validated. */
export function loadLadder(nameOrPath: string): Ladder {
  let raw: unknown;
  let name = nameOrPath;
  if (nameOrPath.endsWith(".json")) {
    if (!existsSync(nameOrPath)) throw new LadderError(`ladder file ${nameOrPath} does not exist`);
    try {
      raw = JSON.parse(readFileSync(nameOrPath, "utf8"));
    } catch (e) {
      throw new LadderError(`ladder file ${nameOrPath} is not valid JSON (${(e as Error).message.split("\n")[0]}); fix it (see presets/ladders.json for the format)`);
    }
    name = nameOrPath.replace(/^.*\//, "").replace(/\.json$/, "");
  } else {
    const all = (JSON.parse(readFileSync(laddersPath(), "utf8")) as { ladders: Record<string, unknown> }).ladders;
    raw = all[nameOrPath];
    if (!raw) throw new LadderError(`unknown ladder "${nameOrPath}" (built-in ladders: ${Object.keys(all).join(", ")}; or give a ladder .json file)`);
  }
  const r = LadderSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new LadderError(`ladder ${name}: ${i.path.join(".")}: ${i.message}`);
  }
  const ladder = { ...r.data, name };
  validateLadder(ladder);
  return ladder;
}

/** Checks shapes (heads divide width), unique names and strictly increasing size; throws LadderError. */
export function validateLadder(l: Ladder): void {
  const seen = new Set<string>();
  let prev = 0;
  for (const s of l.sizes) {
    if (seen.has(s.name)) throw new LadderError(`ladder ${l.name}: size name "${s.name}" appears twice (names must be unique)`);
    seen.add(s.name);
    try {
      validateConfig({ vocabSize: 2, blockSize: l.blockSize, nLayer: s.nLayer, nHead: s.nHead, nEmbd: s.nEmbd, localWindow: sizeWindow(l, s) });
    } catch (e) {
      throw new LadderError(`ladder ${l.name}, size ${s.name}: ${(e as Error).message}`);
    }
    const n = sizeParams(s, l.blockSize).nonEmbedding;
    if (n <= prev) throw new LadderError(`ladder ${l.name}: size ${s.name} (N=${n}) is not larger than the one before it (order sizes from small to large)`);
    prev = n;
  }
  if (l.batchTokens % l.blockSize !== 0) {
    throw new LadderError(`ladder ${l.name}: batchTokens ${l.batchTokens} is not a multiple of blockSize ${l.blockSize}`);
  }
}

/** The local attention window of a size: its own, else the ladder's, else 0 (dense). */
export function sizeWindow(l: Pick<Ladder, "localWindow">, s: LadderSize): number {
  return s.localWindow ?? l.localWindow ?? 0;
}

/** Parameter counts of one size (non-embedding N does not depend on the vocabulary; `total` does). */
export function sizeParams(s: LadderSize, blockSize: number, vocabSize = 1) {
  return paramCounts({ vocabSize, blockSize, nLayer: s.nLayer, nHead: s.nHead, nEmbd: s.nEmbd });
}

/**
 * The peak learning rate of a size: the size's own, else the ladder's measured LR*(N) law (at the ladder's vocabulary
 * `vocabSize` for a law in total parameters), else Kaplan's LR(N).
 */
export function sizeLearningRate(s: LadderSize, ladder: Pick<Ladder, "blockSize" | "lrLaw">, vocabSize = 1): number {
  if (s.lr !== undefined) return s.lr;
  const counts = sizeParams(s, ladder.blockSize, vocabSize);
  const law = ladder.lrLaw;
  if (!law) return kaplanLearningRate(counts.nonEmbedding);
  const lr = law.coef * (law.params === "total" ? counts.total : counts.nonEmbedding) ** law.exponent;
  return law.max !== undefined ? Math.min(law.max, lr) : lr;
}

/** How a sweep of a ladder is analysed (src/analysis/): the ladder's `analysis` settings resolved for its tokens. */
export interface LadderAnalysisSettings {
  /** Leave-future-out ratio (absent: the analysis's default, 10). */
  K?: number;
  /** Which N the laws use (absent: the analysis's default, total). */
  paramCount?: "total" | "nonEmbedding";
  /** Endpoints with fewer tokens are left out of the L(N, D) fits and the predictions. */
  minTokens: number;
}

/** A ladder's analysis settings for runs of `tokens` tokens: minTokens = minTokensFraction × tokens. */
export function ladderAnalysisSettings(ladder: Pick<Ladder, "analysis">, tokens: number): LadderAnalysisSettings {
  const a = ladder.analysis;
  return {
    ...(a?.K !== undefined ? { K: a.K } : {}),
    ...(a?.params !== undefined ? { paramCount: a.params } : {}),
    minTokens: (a?.minTokensFraction ?? 0) * tokens,
  };
}

/**
 * The analysis settings of a recorded sweep: its ladder's (see {@link ladderAnalysisSettings}) at the sweep's
 * largest token budget (else the ladder's tokens); none for a sweep without a known ladder (imported, fixtures).
 */
export function sweepAnalysisSettings(sweep: { ladder: string | null; spec: Record<string, unknown> }): LadderAnalysisSettings {
  if (!sweep.ladder) return { minTokens: 0 };
  let ladder: Ladder;
  try {
    ladder = loadLadder(sweep.ladder);
  } catch (e) {
    if (e instanceof LadderError) return { minTokens: 0 };
    throw e;
  }
  const budgets = Array.isArray(sweep.spec.tokens) ? sweep.spec.tokens.filter((t): t is number => typeof t === "number" && t > 0) : [];
  return ladderAnalysisSettings(ladder, budgets.length ? Math.max(...budgets) : (ladder.tokens ?? 0));
}
