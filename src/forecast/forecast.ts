/**
 * The forecast calculator: the reasoning of Gwern's essay "The Scaling Hypothesis" (2020) made explicit.
 *
 * 1. Reference model (default GPT-3 175B: 3,640 PF-days, $4.6M, mid-2020) and its loss on the law.
 * 2. Target loss (default 0.86 nats: the essay's "half of GPT-3's loss", ≈1.73/2, as the essay rounds it).
 * 3. Compute multiple = C(target) / C(reference), from the law's inverse.
 * 4. Cost at the reference's prices = multiple × reference cost.
 * 5. Year within budget: cost per unit of capability halves every `halvingMonths` (default 16, the trend
 *    of Hernandez & Brown 2020 that the essay uses): year = referenceYear + (halvingMonths/12)·log2(cost/budget).
 * 6. Data: tokens the target run needs (compute-optimal from a Chinchilla law, else D = r·N with C = 6·N·D
 *    and r tokens per parameter), against a stock of text that doubles every `dataDoublingYears`.
 *
 * Every input is a field of {@link ForecastAssumptions}; every output traces to one line of {@link forecast}.
 */
import { FitError } from "../fit/index.js";
import { PF_DAY } from "../util/units.js";
import type { ComputeLaw } from "./law.js";

/** Everything the forecast assumes. */
export interface ForecastAssumptions {
  /** The loss law in compute. */
  law: ComputeLaw;
  /** Name of the reference model. */
  referenceName: string;
  /** Reference training compute in PF-days. */
  referencePfDays: number;
  /** Reference training cost in US dollars. */
  referenceCostUSD: number;
  /** Decimal year of the reference's prices (2020.4 = May 2020). */
  referenceYear: number;
  /** Reference loss; default: the law at the reference compute. */
  referenceLoss?: number;
  /** Target loss in nats/token. Takes precedence over targetFraction. */
  targetLoss?: number;
  /** Target as a fraction of the reference loss (used when targetLoss is absent). */
  targetFraction?: number;
  /** Budget in US dollars. */
  budgetUSD: number;
  /** Months for the cost of a fixed capability to halve. */
  halvingMonths: number;
  /** Tokens per parameter for the data estimate when the law has no compute-optimal split. */
  tokensPerParam: number;
  /** Stock of usable text, in tokens, at dataStockYear. */
  dataStockTokens: number;
  /** Decimal year of the stock estimate. */
  dataStockYear: number;
  /** Years for the stock to double. */
  dataDoublingYears: number;
}

/** The forecast's results. */
export interface ForecastResult {
  /** Loss of the reference model. */
  referenceLoss: number;
  /** Target loss. */
  targetLoss: number;
  /** Compute needed for the target loss, in FLOP and PF-days. */
  targetComputeFlops: number;
  targetComputePfDays: number;
  /** C(target) / C(reference). */
  computeMultiple: number;
  /** Cost at the reference's prices: computeMultiple × referenceCostUSD. */
  costUSD: number;
  /** Years after the reference until the cost falls within the budget (0 if already within it). */
  yearsToBudget: number;
  /** Decimal year the cost falls within the budget. */
  yearWithinBudget: number;
  /** Data needed and available. */
  data: {
    /** Parameters and tokens of the target run. */
    params: number;
    tokens: number;
    tokensPerParam: number;
    /** "chinchilla-optimal" (from the law) or "ratio" (the tokensPerParam assumption). */
    method: "chinchilla-optimal" | "ratio";
    /** Stock of text in the year the cost falls within budget. */
    stockAtBudgetYear: number;
    /** Passes over that stock the run needs (tokens / stock). */
    epochsAtBudgetYear: number;
    /** Decimal year the stock first covers the tokens in one epoch (the stock's year if it already does). */
    yearDataSuffices: number;
  };
}

/**
 * Runs the calculator. Throws a {@link FitError} (one line) when the assumptions are inconsistent: a
 * non-positive quantity, a target not below the reference loss, or a target the law never reaches.
 */
export function forecast(a: ForecastAssumptions): ForecastResult {
  checkPositive(a);
  const refFlops = a.referencePfDays * PF_DAY;
  const referenceLoss = a.referenceLoss ?? a.law.lossAt(refFlops);
  if (!(referenceLoss > 0) || !Number.isFinite(referenceLoss)) {
    throw new FitError(`the law gives a non-positive loss ${referenceLoss} at the reference compute; check the law or give --reference-loss`);
  }
  const targetLoss = a.targetLoss ?? (a.targetFraction ?? 0.5) * referenceLoss;
  if (!(targetLoss < referenceLoss)) {
    throw new FitError(`target loss ${fmt(targetLoss)} is not below the reference loss ${fmt(referenceLoss)}; choose a lower --target-loss`);
  }
  if (!(targetLoss > a.law.floor)) {
    throw new FitError(
      `the law never reaches loss ${fmt(targetLoss)} (its floor is ${fmt(a.law.floor)}); choose a --target-loss above ${fmt(a.law.floor)} or another law`,
    );
  }
  // The multiple compares compute on the same law, so a given reference loss shifts both ends consistently:
  // C(target) / C(reference loss).
  const targetComputeFlops = a.law.computeFor(targetLoss);
  const referenceComputeOnLaw = a.referenceLoss === undefined ? refFlops : a.law.computeFor(referenceLoss);
  if (!Number.isFinite(targetComputeFlops) || !Number.isFinite(referenceComputeOnLaw)) {
    throw new FitError(`the law never reaches loss ${fmt(targetLoss)}; choose a higher --target-loss or another law`);
  }
  const computeMultiple = targetComputeFlops / referenceComputeOnLaw;
  const costUSD = computeMultiple * a.referenceCostUSD;
  const yearsToBudget = Math.max(0, (a.halvingMonths / 12) * Math.log2(costUSD / a.budgetUSD));
  const yearWithinBudget = a.referenceYear + yearsToBudget;

  let params: number;
  let tokens: number;
  let method: ForecastResult["data"]["method"];
  if (a.law.optimalSplit) {
    ({ N: params, D: tokens } = a.law.optimalSplit(targetComputeFlops));
    method = "chinchilla-optimal";
  } else {
    // C = 6·N·D with D = r·N  ⇒  N = sqrt(C / (6r)), D = r·N.
    params = Math.sqrt(targetComputeFlops / (6 * a.tokensPerParam));
    tokens = a.tokensPerParam * params;
    method = "ratio";
  }
  const stockAt = (year: number) => a.dataStockTokens * 2 ** ((year - a.dataStockYear) / a.dataDoublingYears);
  const stockAtBudgetYear = stockAt(yearWithinBudget);
  // Not extrapolated backwards: a run the estimated stock already covers gets the estimate's year.
  const yearDataSuffices = a.dataStockYear + Math.max(0, a.dataDoublingYears * Math.log2(tokens / a.dataStockTokens));
  return {
    referenceLoss,
    targetLoss,
    targetComputeFlops,
    targetComputePfDays: targetComputeFlops / PF_DAY,
    computeMultiple,
    costUSD,
    yearsToBudget,
    yearWithinBudget,
    data: {
      params,
      tokens,
      tokensPerParam: tokens / params,
      method,
      stockAtBudgetYear,
      epochsAtBudgetYear: tokens / stockAtBudgetYear,
      yearDataSuffices,
    },
  };
}

function checkPositive(a: ForecastAssumptions): void {
  const fields: [string, number | undefined, string][] = [
    ["referencePfDays", a.referencePfDays, "--reference-pf-days"],
    ["referenceCostUSD", a.referenceCostUSD, "--reference-cost"],
    ["referenceLoss", a.referenceLoss, "--reference-loss"],
    ["targetLoss", a.targetLoss, "--target-loss"],
    ["targetFraction", a.targetFraction, "--target-fraction"],
    ["budgetUSD", a.budgetUSD, "--budget"],
    ["halvingMonths", a.halvingMonths, "--halving-months"],
    ["tokensPerParam", a.tokensPerParam, "--tokens-per-param"],
    ["dataStockTokens", a.dataStockTokens, "--data-stock"],
    ["dataDoublingYears", a.dataDoublingYears, "--data-doubling-years"],
  ];
  for (const [name, v, flag] of fields) {
    if (v === undefined) continue;
    if (!(v > 0) || !Number.isFinite(v)) throw new FitError(`${flag} must be a positive number, got ${v} (${name})`);
  }
  if (a.targetFraction !== undefined && !(a.targetFraction < 1)) {
    throw new FitError(`--target-fraction must be below 1 (a lower loss than the reference), got ${a.targetFraction}`);
  }
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(4)));
}
