/**
 * The typed result of analysing a sweep (src/analysis/analyze.ts): what `demo`, `report`, `serve` and `predict` read
 * from the lab instead of refitting. Plain JSON, stored in the lab's `analyses` table with its provenance.
 */

/** Which parameter count the laws use as N. */
export type ParamCount = "total" | "nonEmbedding";

/** One cooled-down endpoint as the analysis uses it. */
export interface AnalysisPoint {
  run: string;
  /** The N the laws use (see {@link SweepAnalysis.paramCount}). */
  N: number;
  /** Training tokens. */
  D: number;
  /** Training FLOPs. */
  C: number;
  /** Validation loss after the cooldown. */
  loss: number;
}

/** L(C) = E + A·C^(−α) fitted to the lower envelope of the endpoints. */
export interface FrontierResult {
  law: string;
  E: number;
  A: number;
  alpha: number;
  /** R² of log L on the envelope. */
  r2: number;
  /** The envelope points (increasing C). */
  envelope: AnalysisPoint[];
  /** log10(C_max / C_min) of the envelope. */
  decades: number;
}

/** Kaplan et al.'s method, kept for comparison: a pure power law on the envelope of mid-schedule learning curves. */
export interface KaplanFrontierResult {
  law: string;
  k: number;
  alpha: number;
  r2: number;
  points: number;
}

/** Chinchilla's approach 3, L(N, D) = E + A/N^α + B/D^β on the endpoints, bootstrapped by run. */
export interface ChinchillaResult {
  law: string;
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
  /** Intervals (at `level`) of each constant over the bootstrap by run. */
  intervals: Record<"E" | "A" | "B" | "alpha" | "beta", [number, number]>;
  /** Compute-optimal tokens per parameter at `atCompute`, with its interval. */
  tokensPerParam: number;
  tokensPerParamInterval: [number, number];
  /** The compute (FLOPs) at which tokensPerParam is given: the largest run's. */
  atCompute: number;
  /** Compute-optimal N ∝ C^a and D ∝ C^b. */
  nOptExponent: number;
  dOptExponent: number;
  level: number;
  replicates: number;
  points: number;
  runs: number;
}

/** IsoFLOP (approach 2), where the sweep has several sizes at a shared compute budget. */
export interface IsoflopResult {
  /** N_opt ∝ C^a, D_opt ∝ C^b. */
  a: number;
  b: number;
  budgets: number;
}

/** A prediction of one endpoint from the endpoints with at most 1/K of its compute. */
export interface ExtrapolationRow {
  /** The compute ratio the fit was limited to: every fitted endpoint has C ≤ C_target / K. */
  K: number;
  /** C_target ÷ the largest C in the fit. */
  extrapolationFactor: number;
  fitPoints: number;
  fitRuns: number;
  predicted: number;
  /** Prediction interval at `level` (bootstrap by run, plus the fit's residual scatter). */
  interval: [number, number];
  /** The target's loss once trained (null before). */
  actual: number | null;
  /** 100·(predicted − actual)/actual. */
  errorPct: number | null;
  inInterval: boolean | null;
}

/** The leave-future-out prediction of the sweep's target. */
export interface PredictionResult {
  /** The target: the largest run's final endpoint. */
  run: string;
  N: number;
  D: number;
  C: number;
  law: string;
  level: number;
  /** The headline prediction (K = the analysis's K). */
  main: ExtrapolationRow | null;
  /** The same prediction at every extrapolation distance the sweep allows (K = 2, 4, 10, …). */
  table: ExtrapolationRow[];
}

/** Everything known about a sweep's scaling, with its provenance. */
export interface SweepAnalysis {
  sweep: string;
  /** scaling-lab version and training-code hash. */
  version: string;
  created: string;
  paramCount: ParamCount;
  /** Endpoints with fewer tokens are left out of the L(N, D) fits and the predictions (not of the frontier). */
  minTokens: number;
  /** Runs whose endpoints were used. */
  runs: string[];
  points: AnalysisPoint[];
  frontier: FrontierResult | null;
  kaplan: KaplanFrontierResult | null;
  chinchilla: ChinchillaResult | null;
  isoflop: IsoflopResult | null;
  prediction: PredictionResult | null;
  /** Why a part is missing (one line each). */
  notes: string[];
}
