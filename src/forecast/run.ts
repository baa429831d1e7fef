/**
 * `runForecast(request)`: fills every unset assumption from {@link DEFAULTS}, runs the calculator and the
 * Monte-Carlo, and returns the results together with the assumptions used and where each came from.
 * The `forecast` command is a thin wrapper around it.
 */
import { DEFAULTS } from "./defaults.js";
import { type ForecastAssumptions, type ForecastResult, forecast } from "./forecast.js";
import { type ComputeLaw, gpt3FrontierLaw } from "./law.js";
import { type UncertaintyResult, monteCarlo } from "./montecarlo.js";
import { PF_DAY } from "../util/units.js";

/** What the caller sets; everything else takes its default. */
export interface ForecastRequest {
  /** The law (default: GPT-3's frontier L = 2.57·C^−0.048). */
  law?: ComputeLaw;
  /** Bootstrap laws for the Monte-Carlo. */
  lawSamples?: ComputeLaw[];
  /** Where the law came from (printed), e.g. a fit file's path. */
  lawSource?: string;
  /**
   * The model of the law's own data to take as the reference when no --reference-name or --reference-pf-days is
   * given (a fit file's largest point): its name and training FLOPs, and where it comes from. Its cost defaults to
   * GPT-3's price per PF-day times its compute, at the prices' date.
   */
  lawReference?: { name: string; flops: number; source: string };
  referenceName?: string;
  referencePfDays?: number;
  referenceCostUSD?: number;
  referenceYear?: number;
  referenceLoss?: number;
  targetLoss?: number;
  targetFraction?: number;
  budgetUSD?: number;
  halvingMonths?: number;
  tokensPerParam?: number;
  dataStockTokens?: number;
  dataStockYear?: number;
  dataDoublingYears?: number;
  /** Monte-Carlo draws (0: skip the Monte-Carlo). */
  samples?: number;
  seed?: number;
  interval?: number;
  halvingMonthsRange?: [number, number];
  dataDoublingRange?: [number, number];
}

/** One printed assumption. */
export interface UsedAssumption {
  value: number | string | [number, number];
  source: string;
}

/** Results plus the assumptions behind them. */
export interface ForecastReport extends ForecastResult {
  uncertainty?: UncertaintyResult;
  assumptions: Record<string, UsedAssumption>;
}

/**
 * Runs the forecast with defaults for every unset field. The target defaults to the essay's 0.86 nats
 * with GPT-3's law, and to half the reference loss with any other law. Throws a FitError (one line) for
 * inconsistent assumptions.
 */
export function runForecast(req: ForecastRequest = {}): ForecastReport {
  const used: Record<string, UsedAssumption> = {};
  const pick = <K extends keyof typeof DEFAULTS>(key: K, given: number | undefined, flag: string): number => {
    const d = DEFAULTS[key];
    if (given !== undefined) {
      used[key] = { value: given, source: `set with ${flag}` };
      return given;
    }
    used[key] = { value: d.value as number, source: d.source };
    return d.value as number;
  };
  const law = req.law ?? gpt3FrontierLaw();
  used.law = { value: law.description, source: req.lawSource ?? "default: GPT-3 Figure 3.1 frontier (Brown et al. 2020)" };
  const own = req.law !== undefined && req.referenceName === undefined && req.referencePfDays === undefined ? req.lawReference : undefined;
  used.referenceName = own
    ? { value: own.name, source: own.source }
    : { value: req.referenceName ?? (req.referencePfDays !== undefined ? "the reference set with --reference-pf-days" : "GPT-3 175B"), source: req.referenceName ? "set with --reference-name" : "default" };
  let referencePfDays: number;
  let referenceCostUSD: number;
  if (own) {
    referencePfDays = own.flops / PF_DAY;
    used.referencePfDays = { value: referencePfDays, source: own.source };
    const perPfDay = DEFAULTS.referenceCostUSD.value / DEFAULTS.referencePfDays.value;
    referenceCostUSD = req.referenceCostUSD ?? perPfDay * referencePfDays;
    used.referenceCostUSD = req.referenceCostUSD !== undefined
      ? { value: referenceCostUSD, source: "set with --reference-cost" }
      : { value: referenceCostUSD, source: `GPT-3's price per PF-day ($${Math.round(perPfDay)}, 2020) × the reference's compute` };
  } else {
    referencePfDays = pick("referencePfDays", req.referencePfDays, "--reference-pf-days");
    referenceCostUSD = pick("referenceCostUSD", req.referenceCostUSD, "--reference-cost");
  }
  const a: ForecastAssumptions = {
    law,
    referenceName: String(used.referenceName.value),
    referencePfDays,
    referenceCostUSD,
    referenceYear: pick("referenceYear", req.referenceYear, "--reference-year"),
    budgetUSD: pick("budgetUSD", req.budgetUSD, "--budget"),
    halvingMonths: pick("halvingMonths", req.halvingMonths, "--halving-months"),
    tokensPerParam: pick("tokensPerParam", req.tokensPerParam, "--tokens-per-param"),
    dataStockTokens: pick("dataStockTokens", req.dataStockTokens, "--data-stock"),
    dataStockYear: pick("dataStockYear", req.dataStockYear, "--data-stock-year"),
    dataDoublingYears: pick("dataDoublingYears", req.dataDoublingYears, "--data-doubling-years"),
  };
  if (req.referenceLoss !== undefined) {
    a.referenceLoss = req.referenceLoss;
    used.referenceLoss = { value: req.referenceLoss, source: "set with --reference-loss" };
  } else {
    used.referenceLoss = { value: "law at the reference compute", source: "default" };
  }
  if (req.targetLoss !== undefined) {
    a.targetLoss = req.targetLoss;
    used.target = { value: req.targetLoss, source: "set with --target-loss (nats/token)" };
  } else if (req.targetFraction !== undefined) {
    a.targetFraction = req.targetFraction;
    used.target = { value: `${req.targetFraction} × reference loss`, source: "set with --target-fraction" };
  } else if (req.law === undefined) {
    a.targetLoss = DEFAULTS.targetLoss.value;
    used.target = { value: DEFAULTS.targetLoss.value, source: DEFAULTS.targetLoss.source };
  } else {
    a.targetFraction = 0.5;
    used.target = { value: "0.5 × reference loss", source: "default with a custom law: half the reference model's loss" };
  }
  const result = forecast(a);
  const report: ForecastReport = { ...result, assumptions: used };
  const samples = req.samples ?? 2000;
  if (samples > 0) {
    const halvingMonthsRange = req.halvingMonthsRange ?? ([...DEFAULTS.halvingMonthsRange.value] as [number, number]);
    const dataDoublingRange = req.dataDoublingRange ?? ([...DEFAULTS.dataDoublingRange.value] as [number, number]);
    used.halvingMonthsRange = {
      value: halvingMonthsRange,
      source: req.halvingMonthsRange ? "set with --halving-months-range" : DEFAULTS.halvingMonthsRange.source,
    };
    used.dataDoublingRange = {
      value: dataDoublingRange,
      source: req.dataDoublingRange ? "set with --data-doubling-range" : DEFAULTS.dataDoublingRange.source,
    };
    report.uncertainty = monteCarlo(a, {
      samples,
      seed: req.seed,
      interval: req.interval,
      halvingMonthsRange,
      dataDoublingRange,
      lawSamples: req.lawSamples,
    });
  }
  return report;
}
