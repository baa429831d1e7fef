/**
 * One-variable power laws L(x) = E + (x0/x)^α = E + k·x^(−α) for x = C, N or D (Kaplan et al. 2020, eqs.
 * 1.1–1.3, which have E = 0; Henighan et al. 2020 add the irreducible term E ≥ 0).
 *
 * Without E the fit is ordinary least squares of log L on log x. With E it minimises the squared (or Huber)
 * error of log L against log(exp(e) + exp(c − α·log x)), E = exp(e) ≥ 0, c = log k, with L-BFGS from a
 * grid of starts, keeping the lowest final objective.
 */
import { FitError } from "./errors.js";
import { minimizeLbfgs } from "./lbfgs.js";
import { type ScalingPoint, requireCount, requirePositive } from "./points.js";
import { fitLine } from "./stats.js";

/** Which quantity a one-variable law is a function of. */
export type PowerVariable = "C" | "N" | "D";

/** The parameters of L(x) = E + k·x^(−α). */
export interface PowerParams {
  /** Irreducible loss E (0 for a pure power law). */
  E: number;
  /** Coefficient k: L = E + k·x^(−α). */
  k: number;
  /** Exponent α. */
  alpha: number;
}

/** A fitted power law. */
export interface PowerFit extends PowerParams {
  kind: "power";
  /** The variable x. */
  variable: PowerVariable;
  /** Scale x0 = k^(1/α), so that L = E + (x0/x)^α. */
  x0: number;
  /** Whether E was fitted (false: E = 0). */
  irreducible: boolean;
  /** Final objective: sum of squared (or Huber) log residuals. */
  objective: number;
  /** R² of log L (fraction of variance of log L explained). */
  r2: number;
  /** Points fitted. */
  nPoints: number;
}

/** Options for {@link fitPower}. */
export interface PowerOptions {
  /** The variable (default "C"). */
  variable?: PowerVariable;
  /** Fit an irreducible loss E ≥ 0 (default false: Kaplan's pure power law). */
  irreducible?: boolean;
  /** Huber threshold on log residuals; omit for least squares. */
  huberDelta?: number;
}

/** L(x) = E + k·x^(−α). */
export function powerLoss(p: PowerParams, x: number): number {
  return p.E + p.k * x ** -p.alpha;
}

/** The x at which L(x) = target: x = (k / (target − E))^(1/α); NaN when the law never reaches the target. */
export function powerInverse(p: PowerParams, target: number): number {
  if (!(target > p.E) || !(p.alpha > 0)) return NaN;
  return (p.k / (target - p.E)) ** (1 / p.alpha);
}

/** Extracts (log x, log L) from points for a power-law fit, with the usual checks. */
export function powerData(points: readonly ScalingPoint[], variable: PowerVariable, nParams: number) {
  requirePositive(points, [variable, "loss"]);
  requireCount(points, nParams, `a power law in ${variable} with${nParams === 3 ? "" : "out"} an irreducible term`);
  const lx = Float64Array.from(points, (p) => Math.log(p[variable]!));
  const ly = Float64Array.from(points, (p) => Math.log(p.loss));
  if (new Set(lx).size < 2) throw new FitError(`all points have the same ${variable}; a power law needs different ${variable} values`);
  return { lx, ly };
}

/**
 * Fits L(x) = E + k·x^(−α) (or k·x^(−α) when `irreducible` is false) to points.
 * @example fitPower(points, { variable: "C" }) // GPT-3 Figure 3.1 style: L = 2.57·C^−0.048 with C in PF-days
 */
export function fitPower(points: readonly ScalingPoint[], opts: PowerOptions = {}): PowerFit {
  const variable = opts.variable ?? "C";
  const irreducible = opts.irreducible ?? false;
  const { lx, ly } = powerData(points, variable, irreducible ? 3 : 2);
  const r = irreducible ? fitWithFloor(lx, ly, opts.huberDelta) : fitPure(lx, ly);
  const { E, k, alpha, objective } = r;
  let mean = 0;
  for (const v of ly) mean += v;
  mean /= ly.length;
  let ssTot = 0;
  let ssRes = 0;
  for (let i = 0; i < ly.length; i++) {
    ssTot += (ly[i] - mean) ** 2;
    ssRes += (Math.log(E + k * Math.exp(-alpha * lx[i])) - ly[i]) ** 2;
  }
  return {
    kind: "power",
    variable,
    E,
    k,
    alpha,
    x0: alpha > 0 ? k ** (1 / alpha) : NaN,
    irreducible,
    objective,
    r2: ssTot > 0 ? 1 - ssRes / ssTot : 1,
    nPoints: lx.length,
  };
}

function fitPure(lx: Float64Array, ly: Float64Array): PowerParams & { objective: number } {
  const line = fitLine(lx, ly);
  let obj = 0;
  for (let i = 0; i < lx.length; i++) obj += (line.intercept + line.slope * lx[i] - ly[i]) ** 2;
  return { E: 0, k: Math.exp(line.intercept), alpha: -line.slope, objective: obj };
}

function fitWithFloor(lx: Float64Array, ly: Float64Array, delta?: number): PowerParams & { objective: number } {
  const n = lx.length;
  const objective = (x: Float64Array, g: Float64Array): number => {
    const c = x[0];
    const e = x[1];
    const al = x[2];
    let f = 0;
    let gc = 0;
    let ge = 0;
    let ga = 0;
    for (let i = 0; i < n; i++) {
      const t = c - al * lx[i];
      const m = t > e ? t : e;
      const s1 = Math.exp(t - m);
      const s2 = Math.exp(e - m);
      const s = s1 + s2;
      const r = m + Math.log(s) - ly[i];
      let dr: number;
      if (delta === undefined) {
        f += r * r;
        dr = 2 * r;
      } else if (Math.abs(r) <= delta) {
        f += 0.5 * r * r;
        dr = r;
      } else {
        f += delta * (Math.abs(r) - 0.5 * delta);
        dr = r > 0 ? delta : -delta;
      }
      const w1 = (dr * s1) / s;
      gc += w1;
      ga -= w1 * lx[i];
      ge += (dr * s2) / s;
    }
    g[0] = gc;
    g[1] = ge;
    g[2] = ga;
    return f;
  };
  const minL = Math.exp(Math.min(...ly));
  let meanLx = 0;
  for (const v of lx) meanLx += v;
  meanLx /= n;
  let best: { x: Float64Array; f: number } | undefined;
  for (const alpha of [0.01, 0.03, 0.1, 0.3, 1]) {
    for (const frac of [0.01, 0.3, 0.6, 0.9, 0.99]) {
      const E0 = frac * minL;
      // c such that the curve passes through the data's centre at this α and E.
      let c = 0;
      for (let i = 0; i < n; i++) c += Math.log(Math.max(Math.exp(ly[i]) - E0, 1e-12)) + alpha * lx[i];
      c /= n;
      const r = minimizeLbfgs(objective, [c, Math.log(E0), alpha], { gradTol: 1e-12, fTol: 1e-14, maxIterations: 2000 });
      if (Number.isFinite(r.f) && (!best || r.f < best.f)) best = { x: r.x, f: r.f };
    }
  }
  if (!best) throw new FitError("the power-law fit did not converge from any start; check the data");
  return { E: Math.exp(best.x[1]), k: Math.exp(best.x[0]), alpha: best.x[2], objective: best.f };
}
