/**
 * One analysis of a sweep: the laws fitted on the right points, the held-out prediction, stored in the lab with its
 * provenance, so that `demo`, `report`, `serve` and `predict` read one typed result (src/analysis/types.ts).
 *
 * - Points: the runs' cooled-down endpoints (a run's end, and its WSD cooldown branches): losses a run of that length
 *   reaches, not mid-schedule points that lie above them (Hägele et al. 2024).
 * - Frontier: L(C) = E + A·C^(−α) on the lower envelope of the endpoints. Kaplan et al.'s pure power law on the
 *   envelope of mid-schedule learning curves is kept beside it for comparison, labelled as such.
 * - Chinchilla approach 3: L(N, D) = E + A/N^α + B/D^β on every endpoint (Huber, grid of starts: Besiroglu et al.
 *   2024), with a bootstrap that resamples runs, not points (a run's endpoints share its seed and its noise: Choshen
 *   et al. 2024); the compute-optimal tokens per parameter at the largest run's compute, with its interval.
 * - Leave-future-out: the target (the largest run's final endpoint) predicted from the endpoints of other runs with
 *   at most 1/K of its compute, at K = 10 by default and at every distance the sweep allows.
 * - `minTokens` leaves the early part of training (endpoints with fewer tokens) out of the L(N, D) fits and the
 *   predictions; the frontier keeps every endpoint.
 */
import {
  FitError, type ScalingPoint, fitFrontier, fitIsoflop, fitPower, groupByBudget, lowerEnvelope, percentileInterval, runFit,
} from "../fit/index.js";
import { Rng } from "../util/rng.js";
import type {
  AnalysisPoint, ChinchillaResult, ExtrapolationRow, FrontierResult, IsoflopResult, KaplanFrontierResult, ParamCount,
  PredictionResult, SweepAnalysis,
} from "./types.js";

/** Options of an analysis. */
export interface AnalysisOptions {
  /** Which N the laws use (default "total": at small scale the embedding is a large share of the model). */
  paramCount?: ParamCount;
  /** Leave-future-out ratio of the headline prediction: fit on endpoints with C ≤ C_target / K (default 10). */
  K?: number;
  /** Every distance to report (default 2, 4, 10, 20, 50, 100, 200, 500, 1000; those with enough points). */
  distances?: number[];
  /** Bootstrap replicates (default 200). */
  bootstrap?: number;
  /** Interval level (default 0.9). */
  level?: number;
  seed?: number;
  /** Worker threads of the fits (default: cores). */
  workers?: number;
  /**
   * Leave out endpoints trained on fewer tokens than this (default 0): the early part of training, before the loss
   * settles into its power law, bends the fits (Choshen et al. 2024 drop it too).
   */
  minTokens?: number;
}

/** An endpoint with both parameter counts, as the store gives them. */
export interface EndpointInput {
  run: string;
  /** Non-embedding parameters. */
  nonEmbedding: number;
  /** Every parameter. */
  params: number;
  D: number;
  C: number;
  loss: number;
}

/** The run whose final endpoint the analysis predicts. */
export interface TargetInput {
  run: string;
  nonEmbedding: number;
  params: number;
  D: number;
  C: number;
  /** Its final validation loss once trained, else null. */
  actual: number | null;
}

/** Fewest endpoints and runs for the five-constant L(N, D). */
const MIN_FIT_POINTS = 8;
const MIN_FIT_RUNS = 3;
const DEFAULT_DISTANCES = [2, 4, 10, 20, 50, 100, 200, 500, 1000];

/** The analysis of a set of endpoints (everything but the lab): see the module comment. */
export async function analyzeEndpoints(
  endpoints: readonly EndpointInput[],
  target: TargetInput | null,
  opts: AnalysisOptions & { curves?: ScalingPoint[] } = {},
): Promise<Omit<SweepAnalysis, "sweep" | "version" | "created">> {
  const paramCount = opts.paramCount ?? "total";
  const level = opts.level ?? 0.9;
  const notes: string[] = [];
  const all: AnalysisPoint[] = endpoints
    .filter((e) => Number.isFinite(e.loss) && e.loss > 0)
    .map((e) => ({ run: e.run, N: paramCount === "total" ? e.params : e.nonEmbedding, D: e.D, C: e.C, loss: e.loss }));
  // the frontier describes every cooled-down endpoint; the laws of (N, D) and the predictions leave out the early part
  const points = all.filter((p) => p.D >= (opts.minTokens ?? 0));
  const note = (part: string, e: unknown) => {
    if (!(e instanceof FitError)) throw e;
    notes.push(`${part}: ${e.message}`);
    return null;
  };
  const frontier = await Promise.resolve().then(() => frontierOf(all)).catch((e) => note("frontier", e));
  let kaplan: KaplanFrontierResult | null = null;
  if (opts.curves && opts.curves.length > 0) {
    try {
      const f = fitFrontier(opts.curves, { irreducible: false });
      kaplan = { law: `L = ${fmt(f.k)}·C^−${f.alpha.toFixed(4)} (Kaplan et al.: mid-schedule learning-curve envelope)`, k: f.k, alpha: f.alpha, r2: f.r2, points: f.frontier.length };
    } catch (e) {
      note("Kaplan frontier", e);
    }
  }
  const atCompute = target?.C ?? Math.max(...all.map((p) => p.C));
  const chinchilla = await chinchillaOf(points, atCompute, opts, level).catch((e) => note("Chinchilla L(N, D)", e));
  const isoflop = isoflopOf(points, notes);
  const prediction = target ? await predictionOf(points, target, paramCount, opts, level, notes) : null;
  return { paramCount, minTokens: opts.minTokens ?? 0, runs: [...new Set(all.map((p) => p.run))], points: all, frontier, kaplan, chinchilla, isoflop, prediction, notes };
}

/** L(C) = E + A·C^(−α) on the lower envelope of the endpoints. */
export function frontierOf(points: readonly AnalysisPoint[]): FrontierResult {
  const envelope = lowerEnvelope(points) as AnalysisPoint[];
  if (envelope.length < 4) {
    throw new FitError(`the endpoints' compute frontier has ${envelope.length} points (need 4); add sizes or cooldown branches`);
  }
  const f = fitPower(envelope, { variable: "C", irreducible: true });
  const cs = envelope.map((p) => p.C);
  return {
    law: `L = ${f.E.toFixed(3)} + ${fmt(f.k)}·C^−${f.alpha.toFixed(4)}`,
    E: f.E, A: f.k, alpha: f.alpha, r2: f.r2, envelope,
    decades: Math.log10(Math.max(...cs) / Math.min(...cs)),
  };
}

async function chinchillaOf(points: readonly AnalysisPoint[], atCompute: number, opts: AnalysisOptions, level: number): Promise<ChinchillaResult> {
  requireFitSet(points, "the Chinchilla law L(N, D)");
  const r = await runFit("chinchilla", points, {
    bootstrap: opts.bootstrap ?? 200, bootstrapByRun: true, level, seed: opts.seed ?? 0, workers: opts.workers, predict: [{ C: atCompute }],
  });
  if (r.fit.kind !== "chinchilla" || !r.bootstrap || !r.optimal) throw new Error("unreachable: chinchilla fit without bootstrap");
  const f = r.fit;
  const pred = r.predictions![0];
  const iv = r.bootstrap.intervals;
  return {
    law: `L = ${f.E.toFixed(3)} + ${fmt(f.A)}/N^${f.alpha.toFixed(3)} + ${fmt(f.B)}/D^${f.beta.toFixed(3)}`,
    E: f.E, A: f.A, B: f.B, alpha: f.alpha, beta: f.beta,
    intervals: { E: iv.E, A: iv.A, B: iv.B, alpha: iv.alpha, beta: iv.beta },
    tokensPerParam: pred.tokensPerParam!, tokensPerParamInterval: pred.intervals!.tokensPerParam!, atCompute,
    nOptExponent: r.optimal.nExponent, dOptExponent: r.optimal.dExponent,
    level, replicates: r.bootstrap.replicates - r.bootstrap.failures, points: points.length,
    runs: new Set(points.map((p) => p.run)).size,
  };
}

function isoflopOf(points: readonly AnalysisPoint[], notes: string[]): IsoflopResult | null {
  const groups = groupByBudget(points, 0.1).filter((g) => g.length >= 3);
  if (groups.length < 2) return null; // the sweep has no shared compute budgets: not an IsoFLOP design
  try {
    const f = fitIsoflop(groups.flat(), { groupTolerance: 0.1 });
    return { a: f.a, b: f.b, budgets: f.groups.length };
  } catch (e) {
    if (!(e instanceof FitError)) throw e;
    notes.push(`IsoFLOP: ${e.message}`);
    return null;
  }
}

/** The endpoints a leave-future-out fit at ratio K may use: other runs' endpoints with C ≤ C_target / K. */
export function leaveFutureOut<P extends { run: string; C: number }>(points: readonly P[], target: { run: string; C: number }, K: number): P[] {
  return points.filter((p) => p.run !== target.run && p.C <= target.C / K);
}

async function predictionOf(
  points: readonly AnalysisPoint[], target: TargetInput, paramCount: ParamCount, opts: AnalysisOptions, level: number, notes: string[],
): Promise<PredictionResult> {
  const K = opts.K ?? 10;
  if (!(K >= 1)) throw new FitError(`K must be at least 1, got ${K}`);
  const N = paramCount === "total" ? target.params : target.nonEmbedding;
  const distances = [...new Set([...(opts.distances ?? DEFAULT_DISTANCES), K])].sort((a, b) => a - b);
  const table: ExtrapolationRow[] = [];
  let main: ExtrapolationRow | null = null;
  for (const k of distances) {
    const fitSet = leaveFutureOut(points, target, k);
    try {
      requireFitSet(fitSet, `a prediction from endpoints with ≤ 1/${k} of the target's compute`);
    } catch (e) {
      if (k === K) note(notes, `prediction at K = ${K}`, e);
      continue;
    }
    const row = await extrapolate(fitSet, { ...target, N }, k, opts, level);
    table.push(row);
    if (k === K) main = row;
  }
  return { run: target.run, N, D: target.D, C: target.C, law: "L(N, D) = E + A/N^α + B/D^β", level, main, table };
}

function note(notes: string[], part: string, e: unknown): void {
  if (!(e instanceof FitError)) throw e;
  notes.push(`${part}: ${e.message}`);
}

/**
 * Fits L(N, D) to `fitSet` and predicts the target. The interval is a prediction interval: each bootstrap-by-run
 * replicate's prediction times one of the fit's residual factors, so it covers the scatter of a single run about the
 * law as well as the uncertainty of the law.
 */
async function extrapolate(
  fitSet: readonly AnalysisPoint[], target: TargetInput & { N: number }, K: number, opts: AnalysisOptions, level: number,
): Promise<ExtrapolationRow> {
  const r = await runFit("chinchilla", fitSet, {
    bootstrap: opts.bootstrap ?? 200, bootstrapByRun: true, level, seed: opts.seed ?? 0, workers: opts.workers,
    predict: [{ N: target.N, D: target.D }],
  });
  if (!r.bootstrap) throw new Error("unreachable: a bootstrap of 0 replicates");
  const fit = r.fit;
  const predicted = r.predictions![0].loss!;
  const residuals = fitSet.map((p) => Math.log(p.loss) - Math.log(fit.E + fit.A / p.N ** fit.alpha + fit.B / p.D ** fit.beta));
  const rng = new Rng(opts.seed ?? 0, 7919);
  const draws = r.bootstrap.samples.map(([E, A, B, alpha, beta]) => (E + A / target.N ** alpha + B / target.D ** beta) * Math.exp(residuals[rng.int(residuals.length)]));
  const interval = percentileInterval(draws, level);
  const actual = target.actual;
  return {
    K, extrapolationFactor: target.C / Math.max(...fitSet.map((p) => p.C)), fitPoints: fitSet.length,
    fitRuns: new Set(fitSet.map((p) => p.run)).size, predicted, interval, actual,
    errorPct: actual !== null ? (100 * (predicted - actual)) / actual : null,
    inInterval: actual !== null ? actual >= interval[0] && actual <= interval[1] : null,
  };
}

function requireFitSet(points: readonly AnalysisPoint[], what: string): void {
  const runs = new Set(points.map((p) => p.run)).size;
  const Ds = new Set(points.map((p) => p.D)).size;
  if (points.length < MIN_FIT_POINTS || runs < MIN_FIT_RUNS || Ds < 2) {
    throw new FitError(
      `${what} needs at least ${MIN_FIT_POINTS} endpoints from ${MIN_FIT_RUNS} runs with 2 token budgets; there are ${points.length} from ${runs} runs with ${Ds} (add sizes, or cooldown branches with --branches)`,
    );
  }
}

/** 1234 → "1.23e3"-style short numbers for the law strings. */
function fmt(x: number): string {
  return x >= 1e4 || x < 1e-2 ? x.toExponential(3) : x.toPrecision(4);
}
