/**
 * Learning-rate schedules. Both start with a linear warmup from 0 to the peak.
 * - `cosine` — GPT-3's (Brown et al. 2020, §B): cosine decay to `minLrFraction` (10%) of the peak at the last step.
 * - `wsd` — warmup-stable-decay (Hägele et al. 2024, "Scaling Laws and Compute-Optimal Training Beyond Fixed Training
 *   Durations"): the peak held until the last `cooldownSteps`, then a short cooldown to `minLrFraction` of the peak
 *   (shape `1-sqrt` by default, which they find matches cosine). Because the stable phase does not depend on the run's
 *   length, a cooldown branched off at any step gives the endpoint of a shorter run for a fraction of its cost.
 */

/** Which schedule. */
export type ScheduleKind = "cosine" | "wsd";
/** The shape of a WSD cooldown: the LR factor at cooldown progress p ∈ [0, 1). */
export type CooldownShape = "1-sqrt" | "linear" | "cosine";
/** The schedule kinds, for flag validation. */
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ["cosine", "wsd"];
/** The cooldown shapes, for flag validation. */
export const COOLDOWN_SHAPES: readonly CooldownShape[] = ["1-sqrt", "linear", "cosine"];

/** Parameters of the schedule. */
export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warmup. */
  warmupSteps: number;
  /** Steps of the run (cosine: where it reaches its floor; wsd: where the cooldown ends). */
  decaySteps: number;
  /** Floor as a fraction of the peak (GPT-3: 0.1). */
  minLrFraction: number;
  /** Default "cosine". */
  kind?: ScheduleKind;
  /** wsd: steps of the cooldown at the end (≥ 1). */
  cooldownSteps?: number;
  /** wsd: the cooldown's shape (default "1-sqrt"). */
  cooldownShape?: CooldownShape;
}

/** The cooldown's LR factor (1 → 0) at progress p ∈ [0, 1]. */
export function cooldownFactor(shape: CooldownShape, p: number): number {
  if (shape === "linear") return 1 - p;
  if (shape === "cosine") return 0.5 * (1 + Math.cos(Math.PI * p));
  return 1 - Math.sqrt(p);
}

/**
 * Learning rate for optimizer step `step` (0-based: the first update uses step 0).
 * Warmup: lr·(step+1)/warmupSteps. Cosine: lr_min + ½(lr − lr_min)(1 + cos(π·progress)). WSD: lr until
 * decaySteps − cooldownSteps, then lr_min + (lr − lr_min)·f(p) with p = (step − start)/cooldownSteps.
 */
export function learningRate(s: LrSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const minLr = s.lr * s.minLrFraction;
  if (s.kind === "wsd") {
    const n = Math.max(1, s.cooldownSteps ?? 1);
    const start = s.decaySteps - n;
    if (step < start) return s.lr;
    const p = Math.min(1, (step - start) / n);
    return minLr + (s.lr - minLr) * cooldownFactor(s.cooldownShape ?? "1-sqrt", p);
  }
  const span = Math.max(1, s.decaySteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  return minLr + 0.5 * (s.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Cooldown steps of a WSD run (or branch) of `steps` steps: round(fraction·steps), at least 1. */
export function cooldownSteps(steps: number, fraction: number): number {
  return Math.max(1, Math.round(fraction * steps));
}
