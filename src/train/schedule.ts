/**
 * GPT-3's learning-rate schedule (Brown et al. 2020, §B): linear warmup from 0 to the peak, then cosine decay to
 * `minLrFraction` (10%) of the peak at the last step, held there afterwards.
 */

/** Parameters of the schedule. */
export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warmup. */
  warmupSteps: number;
  /** Step at which the cosine reaches its floor (usually the run's total steps). */
  decaySteps: number;
  /** Floor as a fraction of the peak (GPT-3: 0.1). */
  minLrFraction: number;
}

/**
 * Learning rate for optimizer step `step` (0-based: the first update uses step 0).
 * Warmup: lr·(step+1)/warmupSteps; then lr_min + ½(lr − lr_min)(1 + cos(π·progress)).
 */
export function learningRate(s: LrSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const minLr = s.lr * s.minLrFraction;
  const span = Math.max(1, s.decaySteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  return minLr + 0.5 * (s.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
