/**
 * Scaling points: one measured (model size, data, compute, loss) tuple per run or per logged step, and the
 * checks every fit applies to them. N = parameters, D = training tokens, C = training FLOPs (C ≈ 6·N·D),
 * L = loss in nats/token.
 */
import { FitError } from "./errors.js";

/** One measurement. Fits read the fields they need; the others may be absent. */
export interface ScalingPoint {
  /** Parameters N. */
  N?: number;
  /** Training tokens D. */
  D?: number;
  /** Training compute C in FLOPs (or in the unit the caller chose, consistently). */
  C?: number;
  /** Loss L (nats/token). */
  loss: number;
  /** Run identifier (learning curves: one run has many points). */
  run?: string;
}

/** A field of {@link ScalingPoint} that holds a number. */
export type PointField = "N" | "D" | "C" | "loss";

/**
 * Fills D = C / (6·N) where only C is known and C = 6·N·D where only D is known (the 6·N·D rule of
 * Kaplan et al. 2020). Returns new objects; points already complete are copied unchanged.
 */
export function completePoints(points: readonly ScalingPoint[]): ScalingPoint[] {
  return points.map((p) => {
    const q: ScalingPoint = { ...p };
    if (q.D === undefined && q.C !== undefined && q.N !== undefined) q.D = q.C / (6 * q.N);
    if (q.C === undefined && q.D !== undefined && q.N !== undefined) q.C = 6 * q.N * q.D;
    return q;
  });
}

/**
 * Checks that every point has a finite, positive value in each required field; throws a {@link FitError}
 * naming the first bad point otherwise. `labels` maps fields to the user's column names for the message.
 */
export function requirePositive(
  points: readonly ScalingPoint[],
  fields: readonly PointField[],
  labels: Partial<Record<PointField, string>> = {},
): void {
  for (let i = 0; i < points.length; i++) {
    for (const f of fields) {
      const v = points[i][f];
      const name = labels[f] ?? f;
      if (v === undefined) {
        throw new FitError(`point ${i + 1} has no ${name}; give a ${name} column (or the columns it is derived from)`);
      }
      if (!Number.isFinite(v) || v <= 0) {
        throw new FitError(`point ${i + 1}: ${name} must be a positive number, got ${v}; fix or remove that point`);
      }
    }
  }
}

/** Throws a {@link FitError} when there are fewer points than a fit with `nParams` parameters needs. */
export function requireCount(points: readonly unknown[], nParams: number, what: string): void {
  if (points.length <= nParams) {
    throw new FitError(
      `${what} has ${nParams} parameters and needs at least ${nParams + 1} points, got ${points.length}; add points or choose a simpler fit`,
    );
  }
}

/** Drops the k points with the highest loss (Epoch AI drop the 5 highest-loss Chinchilla points). */
export function dropHighestLoss<T extends { loss: number }>(points: readonly T[], k: number): T[] {
  if (!Number.isInteger(k) || k < 0) throw new FitError(`drop-highest must be a whole number ≥ 0, got ${k}`);
  if (k === 0) return points.slice();
  if (k >= points.length) {
    throw new FitError(`cannot drop the ${k} highest-loss points of only ${points.length}; use a smaller --drop-highest`);
  }
  const order = points.map((p, i) => i).sort((a, b) => points[b].loss - points[a].loss || a - b);
  const drop = new Set(order.slice(0, k));
  return points.filter((_, i) => !drop.has(i));
}
