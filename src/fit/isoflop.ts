/**
 * IsoFLOP profiles, Chinchilla "Approach 2" (Hoffmann et al. 2022 §3.2): group runs by compute budget,
 * fit a parabola of final loss against log N within each budget, take each parabola's minimum N_opt(C),
 * and fit the power laws N_opt ∝ C^a and D_opt ∝ C^b by least squares in log-log (D_opt = C / (6·N_opt)).
 */
import { FitError } from "./errors.js";
import { type ScalingPoint, completePoints, requirePositive } from "./points.js";
import { fitLine, fitParabola } from "./stats.js";

/** One compute budget's profile. */
export interface IsoflopGroup {
  /** The budget: geometric mean of the group's C. */
  C: number;
  /** Runs in the group. */
  n: number;
  /** Loss-minimising N from the parabola. */
  Nopt: number;
  /** D_opt = C / (6·N_opt). */
  Dopt: number;
  /** Parabola's minimum loss. */
  lossMin: number;
  /** Parabola coefficients in ln N: loss ≈ c0 + c1·ln N + c2·(ln N)². */
  parabola: { c0: number; c1: number; c2: number };
  /** Whether N_opt lies inside the sampled range of N (false: extrapolated). */
  inRange: boolean;
}

/** The IsoFLOP fit: N_opt = kN·C^a, D_opt = kD·C^b. */
export interface IsoflopFit {
  kind: "isoflop";
  /** Exponent of N_opt ∝ C^a. */
  a: number;
  /** Exponent of D_opt ∝ C^b (b = 1 − a when D = C/(6N)). */
  b: number;
  /** Coefficient kN of N_opt = kN·C^a. */
  kN: number;
  /** Coefficient kD of D_opt = kD·C^b. */
  kD: number;
  /** R² of the log-log fits. */
  r2N: number;
  r2D: number;
  /** Budgets used, in increasing C. */
  groups: IsoflopGroup[];
  /** Budgets skipped (fewer than 3 sizes, or a parabola that opens downward). */
  skipped: { C: number; n: number; reason: string }[];
  /** Points fitted. */
  nPoints: number;
}

/** Options for {@link fitIsoflop}. */
export interface IsoflopOptions {
  /** Points whose C differ by at most this relative amount share a budget (default 0.1 = 10%). */
  groupTolerance?: number;
}

/** Groups points by compute budget: consecutive (sorted) C within the tolerance of the group's first C. */
export function groupByBudget(points: readonly ScalingPoint[], tolerance = 0.1): ScalingPoint[][] {
  const sorted = points.slice().sort((p, q) => p.C! - q.C!);
  const groups: ScalingPoint[][] = [];
  let anchor = NaN;
  for (const p of sorted) {
    if (groups.length === 0 || Math.log(p.C! / anchor) > Math.log1p(tolerance)) {
      groups.push([p]);
      anchor = p.C!;
    } else {
      groups[groups.length - 1].push(p);
    }
  }
  return groups;
}

/**
 * Fits IsoFLOP profiles to points with N and C (or N and D, with C = 6·N·D). Needs at least two budgets
 * with three or more sizes each.
 */
export function fitIsoflop(points: readonly ScalingPoint[], opts: IsoflopOptions = {}): IsoflopFit {
  const pts = completePoints(points);
  requirePositive(pts, ["N", "C", "loss"]);
  const tol = opts.groupTolerance ?? 0.1;
  if (!(tol >= 0)) throw new FitError(`the budget tolerance must be ≥ 0, got ${tol}`);
  const groups: IsoflopGroup[] = [];
  const skipped: IsoflopFit["skipped"] = [];
  for (const g of groupByBudget(pts, tol)) {
    const C = Math.exp(g.reduce((s, p) => s + Math.log(p.C!), 0) / g.length);
    const lnN = g.map((p) => Math.log(p.N!));
    if (new Set(lnN).size < 3) {
      skipped.push({ C, n: g.length, reason: "fewer than 3 distinct model sizes" });
      continue;
    }
    const par = fitParabola(lnN, g.map((p) => p.loss));
    if (!(par.c2 > 0)) {
      skipped.push({ C, n: g.length, reason: "loss is not convex in log N (no minimum)" });
      continue;
    }
    const x = -par.c1 / (2 * par.c2);
    const Nopt = Math.exp(x);
    groups.push({
      C,
      n: g.length,
      Nopt,
      Dopt: C / (6 * Nopt),
      lossMin: par.c0 + par.c1 * x + par.c2 * x * x,
      parabola: par,
      inRange: x >= Math.min(...lnN) && x <= Math.max(...lnN),
    });
  }
  if (groups.length < 2) {
    throw new FitError(
      `IsoFLOP needs at least 2 compute budgets with 3+ model sizes each, found ${groups.length}; add runs (or widen --group-tolerance)`,
    );
  }
  const lnC = groups.map((g) => Math.log(g.C));
  const fn = fitLine(lnC, groups.map((g) => Math.log(g.Nopt)));
  const fd = fitLine(lnC, groups.map((g) => Math.log(g.Dopt)));
  return {
    kind: "isoflop",
    a: fn.slope,
    b: fd.slope,
    kN: Math.exp(fn.intercept),
    kD: Math.exp(fd.intercept),
    r2N: fn.r2,
    r2D: fd.r2,
    groups,
    skipped,
    nPoints: pts.length,
  };
}
