/**
 * Monte-Carlo uncertainty for the forecast: each draw takes one law from the fit's bootstrap samples (when
 * there are any) and trend rates drawn log-uniformly from their ranges, reruns {@link forecast}, and the
 * results are summarised as a median and a central interval (default 80%).
 */
import { FitError } from "../fit/index.js";
import { Rng } from "../util/rng.js";
import { type ForecastAssumptions, forecast } from "./forecast.js";
import type { ComputeLaw } from "./law.js";

/** Options for {@link monteCarlo}. */
export interface UncertaintyOptions {
  /** Number of draws (default 2000). */
  samples?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Central interval level (default 0.8). */
  interval?: number;
  /** Range of the halving time in months (log-uniform). */
  halvingMonthsRange: [number, number];
  /** Range of the data doubling time in years (log-uniform). */
  dataDoublingRange: [number, number];
  /** Laws from the fit's bootstrap; empty or absent: the law is held fixed. */
  lawSamples?: ComputeLaw[];
}

/** Median and central interval of one output. */
export interface Summary {
  median: number;
  lo: number;
  hi: number;
}

/** The Monte-Carlo summary. */
export interface UncertaintyResult {
  samples: number;
  interval: number;
  /** Draws whose law never reached the target (counted as infinite compute, cost and year). */
  unreachable: number;
  /** What varied between draws. */
  varied: string[];
  computeMultiple: Summary;
  costUSD: Summary;
  yearWithinBudget: Summary;
  yearDataSuffices: Summary;
  epochsAtBudgetYear: Summary;
}

/** Runs the Monte-Carlo; throws a {@link FitError} for bad options. */
export function monteCarlo(a: ForecastAssumptions, u: UncertaintyOptions): UncertaintyResult {
  const n = u.samples ?? 2000;
  if (!Number.isInteger(n) || n < 1) throw new FitError(`--samples must be a whole number ≥ 1, got ${n}`);
  const level = u.interval ?? 0.8;
  if (!(level > 0 && level < 1)) throw new FitError(`--interval must be between 0 and 1 (e.g. 0.8), got ${level}`);
  for (const [name, r] of [
    ["--halving-months-range", u.halvingMonthsRange],
    ["--data-doubling-range", u.dataDoublingRange],
  ] as const) {
    if (!(r[0] > 0) || !(r[1] >= r[0])) throw new FitError(`${name} must be LO,HI with 0 < LO ≤ HI, got ${r.join(",")}`);
  }
  const laws = u.lawSamples ?? [];
  const varied = [
    `halving time log-uniform in [${u.halvingMonthsRange.join(", ")}] months`,
    `data doubling time log-uniform in [${u.dataDoublingRange.join(", ")}] years`,
    laws.length > 0 ? `law: one of ${laws.length} bootstrap fits per draw` : "law: fixed (no bootstrap samples; give --fit FILE from fit --bootstrap K --json)",
  ];
  const cols = { computeMultiple: [] as number[], costUSD: [] as number[], yearWithinBudget: [] as number[], yearDataSuffices: [] as number[], epochsAtBudgetYear: [] as number[] };
  let unreachable = 0;
  for (let i = 0; i < n; i++) {
    const rng = new Rng(u.seed ?? 0, i);
    const draw: ForecastAssumptions = {
      ...a,
      law: laws.length > 0 ? laws[rng.int(laws.length)] : a.law,
      halvingMonths: logUniform(rng, u.halvingMonthsRange),
      dataDoublingYears: logUniform(rng, u.dataDoublingRange),
    };
    try {
      const r = forecast(draw);
      cols.computeMultiple.push(r.computeMultiple);
      cols.costUSD.push(r.costUSD);
      cols.yearWithinBudget.push(r.yearWithinBudget);
      cols.yearDataSuffices.push(r.data.yearDataSuffices);
      cols.epochsAtBudgetYear.push(r.data.epochsAtBudgetYear);
    } catch (e) {
      if (!(e instanceof FitError)) throw e;
      unreachable++;
      for (const c of Object.values(cols)) c.push(Infinity);
    }
  }
  const sum = (xs: number[]): Summary => ({ median: q(xs, 0.5), lo: q(xs, (1 - level) / 2), hi: q(xs, (1 + level) / 2) });
  return {
    samples: n,
    interval: level,
    unreachable,
    varied,
    computeMultiple: sum(cols.computeMultiple),
    costUSD: sum(cols.costUSD),
    yearWithinBudget: sum(cols.yearWithinBudget),
    yearDataSuffices: sum(cols.yearDataSuffices),
    epochsAtBudgetYear: sum(cols.epochsAtBudgetYear),
  };
}

function logUniform(rng: Rng, [lo, hi]: [number, number]): number {
  return lo === hi ? lo : Math.exp(rng.uniform(Math.log(lo), Math.log(hi)));
}

/** Quantile with linear interpolation that keeps +Infinity (unreachable draws) at the top. */
function q(values: number[], p: number): number {
  const xs = values.slice().sort((a, b) => a - b);
  const pos = p * (xs.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  if (!Number.isFinite(xs[lo]) || !Number.isFinite(xs[hi])) return xs[hi];
  return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo);
}
