/**
 * The Chinchilla parametric law L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, §3.3 "Approach 3"),
 * fitted as the paper describes and as Epoch AI replicated it (Besiroglu et al. 2024): minimise
 *
 *   Σᵢ Huber_δ( LSE(a − α·log Nᵢ, b − β·log Dᵢ, e) − log Lᵢ ),   δ = 1e-3,
 *
 * over (a, b, e, α, β) with A = exp(a), B = exp(b), E = exp(e) and LSE the log-sum-exp, using L-BFGS from
 * every point of a grid of starts (α, β ∈ {0, 0.5, …, 2}; e ∈ {−1, −0.5, …, 1}; a, b ∈ {0, 5, …, 25}:
 * 4,500 starts) and keeping the start with the lowest final objective.
 */
import { FitError } from "./errors.js";
import { type LbfgsOptions, minimizeLbfgs } from "./lbfgs.js";
import { type ScalingPoint, completePoints, requireCount, requirePositive } from "./points.js";

/** The five parameters of the Chinchilla law. */
export interface ChinchillaParams {
  /** Irreducible loss E. */
  E: number;
  /** Model-size coefficient A. */
  A: number;
  /** Data coefficient B. */
  B: number;
  /** Model-size exponent α. */
  alpha: number;
  /** Data exponent β. */
  beta: number;
}

/** A fitted Chinchilla law and how the fit went. */
export interface ChinchillaFit extends ChinchillaParams {
  kind: "chinchilla";
  /** log A, log B, log E: the optimiser's coordinates. */
  a: number;
  b: number;
  e: number;
  /** Final Huber objective (sum over points). */
  objective: number;
  /** Points fitted. */
  nPoints: number;
  /** Huber threshold δ used. */
  huberDelta: number;
  /** Starts tried. */
  starts: number;
  /**
   * The best distinct local optima found, as [a, b, e, α, β] vectors, best first (at most `keepOptima`);
   * the bootstrap warm-starts from them.
   */
  optima: number[][];
}

/** A grid of starting values (each axis is a list). */
export interface ChinchillaGrid {
  a: number[];
  b: number[];
  e: number[];
  alpha: number[];
  beta: number[];
}

/** The grid of Hoffmann et al. (2022) as implemented by Epoch AI: 6·6·5·5·5 = 4,500 starts. */
export const HOFFMANN_GRID: ChinchillaGrid = {
  a: [0, 5, 10, 15, 20, 25],
  b: [0, 5, 10, 15, 20, 25],
  e: [-1, -0.5, 0, 0.5, 1],
  alpha: [0, 0.5, 1, 1.5, 2],
  beta: [0, 0.5, 1, 1.5, 2],
};

/** Options for {@link fitChinchilla}. */
export interface ChinchillaOptions {
  /** Huber threshold δ on log-loss residuals (default 1e-3). */
  huberDelta?: number;
  /** Grid of starts (default {@link HOFFMANN_GRID}). Ignored when `starts` is given. */
  grid?: ChinchillaGrid;
  /** Explicit starting vectors [a, b, e, α, β]; replaces the grid (the bootstrap uses this). */
  starts?: number[][];
  /** Number of distinct local optima to report in `optima` (default 8). */
  keepOptima?: number;
  /** L-BFGS settings. */
  lbfgs?: LbfgsOptions;
}

/** L(N, D) = E + A/N^α + B/D^β. */
export function chinchillaLoss(p: ChinchillaParams, N: number, D: number): number {
  return p.E + p.A / N ** p.alpha + p.B / D ** p.beta;
}

/** Expands a grid into start vectors [a, b, e, α, β]. */
export function gridStarts(grid: ChinchillaGrid): number[][] {
  const out: number[][] = [];
  for (const alpha of grid.alpha)
    for (const beta of grid.beta)
      for (const e of grid.e) for (const a of grid.a) for (const b of grid.b) out.push([a, b, e, alpha, beta]);
  return out;
}

/** Log-space data for the objective. */
export interface LogData {
  lnN: Float64Array;
  lnD: Float64Array;
  lnL: Float64Array;
}

/** Validates points for a Chinchilla fit and returns log N, log D, log L (D derived as C/(6N) if needed). */
export function chinchillaData(points: readonly ScalingPoint[]): LogData {
  const pts = completePoints(points);
  requirePositive(pts, ["N", "D", "loss"]);
  requireCount(pts, 5, "the Chinchilla law L = E + A/N^α + B/D^β");
  const n = pts.length;
  const lnN = new Float64Array(n);
  const lnD = new Float64Array(n);
  const lnL = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    lnN[i] = Math.log(pts[i].N!);
    lnD[i] = Math.log(pts[i].D!);
    lnL[i] = Math.log(pts[i].loss);
  }
  if (new Set(lnN).size < 2 || new Set(lnD).size < 2) {
    throw new FitError("the Chinchilla fit needs at least 2 different N and 2 different D; add runs of other sizes or lengths");
  }
  return { lnN, lnD, lnL };
}

/**
 * The Huber objective on log loss and its gradient, for x = [a, b, e, α, β]. Each residual is
 * r = LSE(a − α·lnN, b − β·lnD, e) − lnL; the LSE is computed with the max subtracted for stability.
 * `weights` (optional) multiplies each point's term: the bootstrap passes resampling counts.
 */
export function chinchillaObjective(data: LogData, delta: number, weights?: Float64Array) {
  const { lnN, lnD, lnL } = data;
  const n = lnN.length;
  return (x: Float64Array, g: Float64Array): number => {
    const a = x[0];
    const b = x[1];
    const e = x[2];
    const al = x[3];
    const be = x[4];
    let f = 0;
    let ga = 0;
    let gb = 0;
    let ge = 0;
    let gal = 0;
    let gbe = 0;
    for (let i = 0; i < n; i++) {
      const w = weights ? weights[i] : 1;
      if (w === 0) continue;
      const t1 = a - al * lnN[i];
      const t2 = b - be * lnD[i];
      const m = t1 > t2 ? (t1 > e ? t1 : e) : t2 > e ? t2 : e;
      const s1 = Math.exp(t1 - m);
      const s2 = Math.exp(t2 - m);
      const s3 = Math.exp(e - m);
      const s = s1 + s2 + s3;
      const r = m + Math.log(s) - lnL[i];
      let dr: number;
      if (r > delta) {
        f += w * delta * (r - 0.5 * delta);
        dr = w * delta;
      } else if (r < -delta) {
        f += w * delta * (-r - 0.5 * delta);
        dr = -w * delta;
      } else {
        f += w * 0.5 * r * r;
        dr = w * r;
      }
      const k = dr / s;
      const w1 = k * s1;
      const w2 = k * s2;
      ga += w1;
      gal -= w1 * lnN[i];
      gb += w2;
      gbe -= w2 * lnD[i];
      ge += k * s3;
    }
    g[0] = ga;
    g[1] = gb;
    g[2] = ge;
    g[3] = gal;
    g[4] = gbe;
    return f;
  };
}

/** L-BFGS tolerances for screening many starts (about scipy's defaults). */
const SCREEN_TOLERANCE: LbfgsOptions = { gradTol: 1e-6, fTol: 1e-10, maxIterations: 1000 };
/** L-BFGS tolerances for the final optima and for few-start refits (bootstrap). */
const POLISH_TOLERANCE: LbfgsOptions = { gradTol: 1e-12, fTol: 1e-15, maxIterations: 2000 };
/** Above this many starts, screen then polish; at or below, run every start to the tight tolerance. */
const POLISH_ABOVE = 32;

/** Result of running L-BFGS from many starts on log data. */
export interface MultiStartResult {
  /** Best point [a, b, e, α, β]. */
  best: Float64Array;
  /** Objective at the best point. */
  objective: number;
  /** Distinct optima, best first. */
  optima: number[][];
  /** The objective of each optimum. */
  optimaObjectives: number[];
}

/**
 * Runs L-BFGS from each start and keeps the lowest final objective (ties: the earlier start). With more
 * than 32 starts each is first run to a moderate tolerance and the best distinct optima are then polished
 * to a tight one. Also returns up to `keep` distinct optima, best first.
 */
export function multiStartChinchilla(
  data: LogData,
  starts: readonly number[][],
  delta: number,
  keep = 8,
  lbfgs: LbfgsOptions = {},
  weights?: Float64Array,
): MultiStartResult {
  const fn = chinchillaObjective(data, delta, weights);
  // Many starts: screen each with a moderate tolerance, then polish the distinct best ones to a tight
  // tolerance (the valley along B is very flat; stopping early there would bias bootstrap intervals).
  const screen: LbfgsOptions = starts.length > POLISH_ABOVE ? { ...SCREEN_TOLERANCE, ...lbfgs } : { ...POLISH_TOLERANCE, ...lbfgs };
  let found: { x: Float64Array; f: number }[] = [];
  for (const s of starts) {
    const r = minimizeLbfgs(fn, s, screen);
    if (Number.isFinite(r.f)) found.push({ x: r.x, f: r.f });
  }
  if (found.length === 0) throw new FitError("the Chinchilla fit did not converge from any start; check the data for outliers");
  if (starts.length > POLISH_ABOVE) {
    const top = distinctOptima(found, Math.max(keep, 1));
    found = top.optima.map((x) => {
      const r = minimizeLbfgs(fn, x, { ...POLISH_TOLERANCE, ...lbfgs });
      return Number.isFinite(r.f) && r.f <= top.objectives[0] + 1 ? { x: r.x, f: r.f } : { x: Float64Array.from(x), f: Infinity };
    });
  }
  let best = found[0];
  for (const o of found) if (o.f < best.f) best = o;
  const { optima, objectives } = keep > 0 ? distinctOptima(found, keep) : { optima: [], objectives: [] };
  return { best: best.x, objective: best.f, optima, optimaObjectives: objectives };
}

/**
 * The `keep` best distinct optima of a list of (point, objective) pairs, best first. Two optima are the same
 * basin when (a, b, α, β) agree to 2 decimals and E = exp(e) to 3 (optima with E → 0 differ only in e).
 */
export function distinctOptima(
  found: { x: ArrayLike<number>; f: number }[],
  keep: number,
): { optima: number[][]; objectives: number[] } {
  const sorted = found.slice().sort((p, q) => p.f - q.f);
  const optima: number[][] = [];
  const objectives: number[] = [];
  const seen = new Set<string>();
  for (const o of sorted) {
    if (optima.length >= keep) break;
    const key = [o.x[0], o.x[1], o.x[3], o.x[4]].map((v) => v.toFixed(2)).join(",") + "," + Math.exp(o.x[2]).toFixed(3);
    if (seen.has(key)) continue;
    seen.add(key);
    optima.push(Array.from(o.x));
    objectives.push(o.f);
  }
  return { optima, objectives };
}

/** Turns optimiser coordinates [a, b, e, α, β] into the law's parameters. */
export function chinchillaParamsFrom(x: ArrayLike<number>): ChinchillaParams {
  return { E: Math.exp(x[2]), A: Math.exp(x[0]), B: Math.exp(x[1]), alpha: x[3], beta: x[4] };
}

/**
 * Fits L(N, D) = E + A/N^α + B/D^β to points with N and D (or C, with D = C/(6N)), as Hoffmann et al. (2022)
 * did: Huber loss (δ = 1e-3) on log L against the log-sum-exp form, L-BFGS from the 4,500-point grid, best
 * final objective kept.
 * @example fitChinchilla(points).alpha
 */
export function fitChinchilla(points: readonly ScalingPoint[], opts: ChinchillaOptions = {}): ChinchillaFit {
  const { data, delta, starts } = chinchillaSetup(points, opts);
  const r = multiStartChinchilla(data, starts, delta, opts.keepOptima ?? 8, opts.lbfgs);
  return chinchillaResult(r.best, r.objective, data.lnN.length, delta, starts.length, r.optima);
}

/**
 * Validates the points and options of a Chinchilla fit: the prepared data, the Huber δ (default 1e-3) and the
 * starts (default the Hoffmann grid). Shared by the serial and the multi-threaded fit.
 */
export function chinchillaSetup(
  points: readonly ScalingPoint[],
  opts: Pick<ChinchillaOptions, "huberDelta" | "starts" | "grid">,
): { data: ReturnType<typeof chinchillaData>; delta: number; starts: number[][] } {
  const data = chinchillaData(points);
  const delta = opts.huberDelta ?? 1e-3;
  if (!(delta > 0)) throw new FitError(`the Huber delta must be positive, got ${delta}`);
  const starts = opts.starts ?? gridStarts(opts.grid ?? HOFFMANN_GRID);
  if (starts.length === 0) throw new FitError("no starting points for the Chinchilla fit; give a non-empty grid");
  return { data, delta, starts };
}

/** The fit record from the best optimiser coordinates x = [a, b, e, α, β] and its bookkeeping. */
export function chinchillaResult(
  x: ArrayLike<number>, objective: number, nPoints: number, huberDelta: number, starts: number, optima: number[][],
): ChinchillaFit {
  return { kind: "chinchilla", ...chinchillaParamsFrom(x), a: x[0], b: x[1], e: x[2], objective, nPoints, huberDelta, starts, optima };
}
