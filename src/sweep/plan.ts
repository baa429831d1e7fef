/**
 * Sweep plans: which runs a scaling study trains.
 * - `curves` (Kaplan et al. 2020): every size for the same token budget D; the full learning curves give the
 *   compute-efficient frontier L(C).
 * - `isoflop` (Hoffmann et al. 2022, approach 2): K compute budgets × the sizes, each run getting D = C / (6N).
 * - `grid`: sizes × token budgets × seeds.
 * - `lr`: sizes × peak learning rates at one token budget, to measure LR*(N) (src/sweep/lr.ts).
 * A plan is pure arithmetic: run ids, shapes, N, D and C, deterministic in its inputs.
 */
import { flopsPerToken } from "../model/accounting.js";
import type { TrainConfigInput } from "../train/config.js";
import { type Ladder, type LadderSize, sizeLearningRate, sizeParams, sizeWindow } from "./ladder.js";

/** Kinds of plan. */
export const PLAN_KINDS = ["curves", "isoflop", "grid", "lr"] as const;
/** A plan kind. */
export type PlanKind = (typeof PLAN_KINDS)[number];

/** What a sweep asks for. */
export interface PlanSpec {
  kind: PlanKind;
  /** Sweep name (run ids start with it). */
  sweep: string;
  ladder: Ladder;
  /** Prepared data directory. */
  data: string;
  /** curves: one token budget; grid: several. */
  tokens?: number[];
  /** isoflop: compute budgets in FLOPs. */
  budgets?: number[];
  /** lr: the peak learning rates to try on every size (at least 3, for a parabola around the best). */
  lrs?: number[];
  /** Seeds (grid; curves/isoflop use the first). */
  seeds?: number[];
  /** Vocabulary size of the data's tokenizer (for total parameters). */
  vocabSize: number;
  /** Only these size names (default: all). */
  sizes?: string[];
  /** Extra training-config fields applied to every run (e.g. evalEvery, backend). */
  overrides?: Partial<TrainConfigInput>;
}

/** One run of a plan. */
export interface PlannedRun {
  /** Stable id: `<sweep>.<size>.d<tokens asked>.s<seed>` (e.g. demo.xs-3.d4m.s1337); isoflop runs use their D. */
  id: string;
  sweep: string;
  size: string;
  /** Training config input for the run (shape, tokens, batch, lr, seed, data). */
  config: TrainConfigInput;
  /** Non-embedding parameters (Kaplan's N). */
  N: number;
  /** Total parameters (with embeddings). */
  params: number;
  /** Training tokens. */
  D: number;
  /** Training FLOPs (per-token training FLOPs × D, Kaplan's 6N + attention, banded layers over their window). */
  C: number;
  /** isoflop: the budget this run belongs to. */
  budget?: number;
  /** lr: the peak learning rate this run tries. */
  lr?: number;
}

/** A plan that cannot be made; the message names the fix. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

/** Minimum optimizer steps a run must get to be worth planning (isoflop drops sizes below it). */
export const MIN_STEPS = 20;

/** Compact token count for ids: 2000000 → "2m", 131072 → "131k". */
export function tokenTag(n: number): string {
  if (n >= 1e9 && n % 1e7 === 0) return `${n / 1e9}g`;
  if (n >= 1e6 && n % 1e4 === 0) return `${n / 1e6}m`;
  if (n >= 1e3 && n % 10 === 0) return `${n / 1e3}k`;
  return String(n);
}

/** Builds the runs of a plan. Throws {@link PlanError} for an unknown kind, missing budgets, or no feasible run. */
export function makePlan(spec: PlanSpec): PlannedRun[] {
  const { ladder } = spec;
  if (!(PLAN_KINDS as readonly string[]).includes(spec.kind)) {
    throw new PlanError(`unknown plan "${spec.kind}" (use one of: ${PLAN_KINDS.join(", ")})`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(spec.sweep)) throw new PlanError(`sweep name "${spec.sweep}" may use only letters, digits, - and _`);
  let sizes = ladder.sizes;
  if (spec.sizes?.length) {
    const unknown = spec.sizes.filter((n) => !ladder.sizes.some((s) => s.name === n));
    if (unknown.length) throw new PlanError(`ladder ${ladder.name} has no size ${unknown.join(", ")} (sizes: ${ladder.sizes.map((s) => s.name).join(", ")})`);
    sizes = ladder.sizes.filter((s) => spec.sizes!.includes(s.name));
  }
  const seeds = spec.seeds?.length ? spec.seeds : [1337];
  const round = (d: number) => Math.max(ladder.batchTokens, Math.round(d / ladder.batchTokens) * ladder.batchTokens);
  const runs: PlannedRun[] = [];
  if (spec.kind === "lr") {
    const lrs = [...new Set(spec.lrs ?? [])].sort((a, b) => a - b);
    if (lrs.length < 3 || lrs.some((x) => !(x > 0))) {
      throw new PlanError(`plan lr needs at least 3 distinct positive learning rates to locate the best one (e.g. --lrs 1e-3,2e-3,4e-3,8e-3), got ${spec.lrs?.length ? spec.lrs.join(",") : "none"}`);
    }
    const tokens = spec.tokens ?? [];
    if (tokens.length !== 1) throw new PlanError("plan lr takes one --tokens budget (e.g. --tokens 2e6)");
    for (const s of sizes) {
      for (const lr of lrs) {
        const r = planned(spec, s, round(tokens[0]), seeds[0], tokens[0]);
        r.config.lr = lr;
        runs.push({ ...r, id: `${spec.sweep}.${s.name}.lr${lr}.s${seeds[0]}`, lr });
      }
    }
  } else if (spec.kind === "curves" || spec.kind === "grid") {
    const tokens = spec.tokens ?? [];
    if (tokens.length === 0) throw new PlanError(`plan ${spec.kind} needs a token budget (e.g. --tokens 2e6${spec.kind === "grid" ? ",4e6" : ""})`);
    if (spec.kind === "curves" && tokens.length > 1) throw new PlanError("plan curves takes one --tokens budget (use --plan grid for several)");
    for (const asked of tokens) {
      for (const seed of spec.kind === "grid" ? seeds : seeds.slice(0, 1)) {
        for (const s of sizes) runs.push(planned(spec, s, round(asked), seed, asked));
      }
    }
  } else {
    const budgets = spec.budgets ?? [];
    if (budgets.length === 0) throw new PlanError("plan isoflop needs compute budgets (e.g. --budgets 1e13,3e13,1e14)");
    for (const C of budgets) {
      if (!(C > 0)) throw new PlanError(`budget ${C} must be a positive number of FLOPs`);
      let any = false;
      for (const s of sizes) {
        const N = sizeParams(s, ladder.blockSize).nonEmbedding;
        const D = round(C / (6 * N));
        if (D / ladder.batchTokens < MIN_STEPS) continue;
        runs.push({ ...planned(spec, s, D, seeds[0], D), budget: C });
        any = true;
      }
      if (!any) {
        const smallest = sizeParams(sizes[0], ladder.blockSize).nonEmbedding;
        const need = 6 * smallest * ladder.batchTokens * MIN_STEPS;
        throw new PlanError(`budget ${C.toExponential(2)} FLOPs is too small for any size of ${ladder.name} (the smallest needs ≥ ${need.toExponential(2)} for ${MIN_STEPS} steps); raise --budgets`);
      }
    }
  }
  const minSteps = Math.min(...runs.map((r) => r.D / ladder.batchTokens));
  if (spec.kind !== "isoflop" && minSteps < MIN_STEPS) {
    throw new PlanError(`a budget of ${runs[0].D} tokens gives only ${minSteps} steps of ${ladder.batchTokens} tokens; raise --tokens to at least ${ladder.batchTokens * MIN_STEPS}`);
  }
  return runs;
}

function planned(spec: PlanSpec, s: LadderSize, D: number, seed: number, asked: number): PlannedRun {
  const { ladder } = spec;
  const T = ladder.blockSize;
  const counts = sizeParams(s, T, spec.vocabSize);
  const model = { vocabSize: spec.vocabSize, blockSize: T, nLayer: s.nLayer, nHead: s.nHead, nEmbd: s.nEmbd, localWindow: sizeWindow(ladder, s) };
  const C = flopsPerToken(model, T).training * D;
  const microBatch = Math.max(1, Math.min(ladder.batchTokens / T, 64));
  const config: TrainConfigInput = {
    preset: `${ladder.name}/${s.name}`,
    data: spec.data,
    model,
    tokens: D,
    batchTokens: ladder.batchTokens,
    microBatch: ladder.batchTokens % (microBatch * T) === 0 ? microBatch : 1,
    lr: sizeLearningRate(s, ladder, spec.vocabSize),
    seed,
    ...ladder.recipe,
    ...spec.overrides,
  };
  return {
    id: `${spec.sweep}.${s.name}.d${tokenTag(spec.kind === "isoflop" ? D : asked)}.s${seed}`,
    sweep: spec.sweep,
    size: s.name,
    config,
    N: counts.nonEmbedding,
    params: counts.total,
    D,
    C,
  };
}

/** Totals of a plan: runs, tokens and FLOPs. */
export function planTotals(runs: PlannedRun[]): { runs: number; tokens: number; flops: number } {
  return { runs: runs.length, tokens: runs.reduce((a, r) => a + r.D, 0), flops: runs.reduce((a, r) => a + r.C, 0) };
}
