/**
 * The forecast arithmetic of src/forecast/forecast.ts for a power law in compute, small enough to ship to the
 * dashboard page, where the sliders (target loss, halving time, budget) recompute it on every move.
 * Browser-safe (no imports); test/report.test.ts checks it against runForecast.
 *
 *   compute multiple = C(target) / C(reference),  cost = multiple × reference cost,
 *   year within budget = reference year + (halving months / 12) · log2(cost / budget)   (never before the reference).
 */

/** L(C) = E + k·C^(−α), C in FLOP. */
export interface PowerLaw {
  k: number;
  alpha: number;
  E: number;
}

/** What the forecast assumes. */
export interface LabForecastInput {
  law: PowerLaw;
  /** Training FLOPs of the reference run (the largest run of the sweep). */
  referenceFlops: number;
  /** What the reference run cost, in US dollars. */
  referenceCostUSD: number;
  /** Decimal year of the reference's prices. */
  referenceYear: number;
  /** Target loss in nats/token. */
  targetLoss: number;
  /** Budget in US dollars. */
  budgetUSD: number;
  /** Months for the cost of a fixed capability to halve. */
  halvingMonths: number;
}

/** The forecast's numbers. */
export interface LabForecast {
  referenceLoss: number;
  targetLoss: number;
  /** Compute (FLOP) at which the law reaches the target. */
  targetFlops: number;
  /** targetFlops / referenceFlops. */
  computeMultiple: number;
  /** Cost of the target run at the reference's prices. */
  costUSD: number;
  /** Years after the reference until the cost falls within the budget (0 if it already does). */
  yearsToBudget: number;
  yearWithinBudget: number;
}

/** The loss the law gives at `flops`. */
export function lossAt(law: PowerLaw, flops: number): number {
  return law.E + law.k * Math.pow(flops, -law.alpha);
}

/** The compute at which the law reaches `loss`; NaN when it never does (loss at or below E). */
export function flopsFor(law: PowerLaw, loss: number): number {
  if (!(loss > law.E) || !(law.alpha > 0) || !(law.k > 0)) return NaN;
  return Math.pow(law.k / (loss - law.E), 1 / law.alpha);
}

/**
 * Runs the forecast; returns `{ error }` (one line naming the fix) when the assumptions are inconsistent: a
 * non-positive input, a target not below the reference loss, or a target the law never reaches.
 */
export function labForecast(a: LabForecastInput): LabForecast | { error: string } {
  const positive: [string, number][] = [
    ["reference compute", a.referenceFlops],
    ["reference cost", a.referenceCostUSD],
    ["target loss", a.targetLoss],
    ["budget", a.budgetUSD],
    ["halving time", a.halvingMonths],
  ];
  for (const [name, v] of positive) {
    if (!(v > 0) || !Number.isFinite(v)) return { error: `the ${name} must be a positive number, got ${v}` };
  }
  const referenceLoss = lossAt(a.law, a.referenceFlops);
  if (!(a.targetLoss < referenceLoss)) {
    return { error: `target loss ${round(a.targetLoss)} is not below the reference loss ${round(referenceLoss)}; choose a lower target` };
  }
  const targetFlops = flopsFor(a.law, a.targetLoss);
  if (!Number.isFinite(targetFlops)) {
    return { error: `the law never reaches loss ${round(a.targetLoss)} (its floor is ${round(a.law.E)}); choose a target above it` };
  }
  const computeMultiple = targetFlops / a.referenceFlops;
  const costUSD = computeMultiple * a.referenceCostUSD;
  const yearsToBudget = Math.max(0, (a.halvingMonths / 12) * Math.log2(costUSD / a.budgetUSD));
  return {
    referenceLoss,
    targetLoss: a.targetLoss,
    targetFlops,
    computeMultiple,
    costUSD,
    yearsToBudget,
    yearWithinBudget: a.referenceYear + yearsToBudget,
  };
}

/** The cost of the target run bought in `year`: it halves every `halvingMonths` after the reference year. */
export function costInYear(costUSD: number, referenceYear: number, halvingMonths: number, year: number): number {
  return costUSD * Math.pow(2, (-(year - referenceYear) * 12) / halvingMonths);
}

/** Whether a forecast result is an error. */
export function isForecastError(f: LabForecast | { error: string }): f is { error: string } {
  return "error" in f;
}

function round(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/**
 * The target loss of the forecast's slider: it keeps `fraction` of the reference run's reducible loss L − E (E: the
 * frontier's floor; 0 for a pure power law, where this is fraction × L), so every position is a loss the law reaches.
 */
export function sliderTarget(law: PowerLaw, referenceLoss: number, fraction: number): number {
  return law.E + fraction * (referenceLoss - law.E);
}

/** The slider position of a target loss (the inverse of {@link sliderTarget}), kept within [0.2, 0.99]. */
export function sliderFraction(law: PowerLaw, referenceLoss: number, targetLoss: number): number {
  return Math.min(0.99, Math.max(0.2, (targetLoss - law.E) / (referenceLoss - law.E)));
}

/** The slider's label: the target loss and what fraction of what it keeps (`fmt` formats a number to `digits`). */
export function sliderLabel(law: PowerLaw, referenceLoss: number, fraction: number, fmt: (x: number, digits: number) => string): string {
  const target = sliderTarget(law, referenceLoss, fraction);
  return law.E > 0
    ? `${fmt(target, 3)} (${fraction.toFixed(2)}× the reducible loss ${fmt(referenceLoss - law.E, 3)} above the floor ${fmt(law.E, 3)})`
    : `${fmt(target, 3)} (${fraction.toFixed(2)}× ${fmt(referenceLoss, 3)})`;
}
