/**
 * The compute-efficient frontier: from the learning curves of many runs (points of compute C and loss L),
 * keep the lower envelope — the points no other point beats with less or equal compute — and fit a power
 * law L(C) to it (Kaplan et al. 2020 §6 "L(C_min)"; GPT-3 Figure 3.1, whose dashed line is
 * L = 2.57·C^−0.048 with C in PF-days).
 */
import { FitError } from "./errors.js";
import { type ScalingPoint, requirePositive } from "./points.js";
import { type PowerFit, type PowerOptions, fitPower } from "./power.js";

/** A frontier fit: the power law plus the envelope points it was fitted to. */
export interface FrontierFit extends Omit<PowerFit, "kind"> {
  kind: "frontier";
  /** The envelope points, in increasing compute. */
  frontier: ScalingPoint[];
  /** Points considered (all runs, all steps). */
  nCandidates: number;
  /** Distinct runs among the candidates (0 when there is no run column). */
  nRuns: number;
}

/**
 * Lower envelope of (C, loss): sorts by compute and keeps each point whose loss is strictly below every
 * point with smaller or equal compute (the Pareto frontier of compute against loss).
 */
export function lowerEnvelope(points: readonly ScalingPoint[]): ScalingPoint[] {
  requirePositive(points, ["C", "loss"]);
  const sorted = points.slice().sort((p, q) => p.C! - q.C! || p.loss - q.loss);
  const out: ScalingPoint[] = [];
  let best = Infinity;
  for (const p of sorted) {
    if (p.loss < best) {
      out.push(p);
      best = p.loss;
    }
  }
  return out;
}

/**
 * Fits L(C) = E + k·C^(−α) (E = 0 unless `irreducible`) to the compute-efficient lower envelope of
 * learning-curve points. Throws a {@link FitError} when the envelope has too few points.
 */
export function fitFrontier(points: readonly ScalingPoint[], opts: Omit<PowerOptions, "variable"> = {}): FrontierFit {
  const envelope = lowerEnvelope(points);
  const need = opts.irreducible ? 4 : 3;
  if (envelope.length < need) {
    throw new FitError(
      `the compute frontier has only ${envelope.length} points (need ${need}); log more steps per run or add runs of other sizes`,
    );
  }
  const fit = fitPower(envelope, { ...opts, variable: "C" });
  const runs = new Set(points.map((p) => p.run).filter((r) => r !== undefined && r !== ""));
  return { ...fit, kind: "frontier", frontier: envelope, nCandidates: points.length, nRuns: runs.size };
}
