/**
 * The forecast's default assumptions, each with where it comes from. The CLI prints these next to every
 * result; change any of them with a flag.
 */

/** A default value and its source. */
export interface Assumption {
  value: number;
  source: string;
}

/** Defaults reproducing Gwern, "The Scaling Hypothesis" (2020): ≈2.2 million × compute, ≈$10T, ≈2038. */
export const DEFAULTS = {
  referencePfDays: { value: 3640, source: "GPT-3 175B training compute, Brown et al. (2020) Table D.1" },
  referenceCostUSD: { value: 4.6e6, source: "GPT-3 175B training cost estimate (Lambda Labs, 2020), as the essay uses" },
  referenceYear: { value: 2020.4, source: "GPT-3 paper, May 2020: the date of the reference prices" },
  targetLoss: {
    value: 0.86,
    source: "the essay's target: half of GPT-3's loss on the law (1.73/2), as the essay rounds it; --target-fraction 0.5 halves exactly",
  },
  budgetUSD: { value: 1e9, source: "a $1B training run" },
  halvingMonths: { value: 16, source: "cost of a fixed capability halves every 16 months (Hernandez & Brown 2020, the essay's trend)" },
  tokensPerParam: { value: 20, source: "Chinchilla's ≈20 tokens per parameter (Hoffmann et al. 2022), used when the law has no optimal split" },
  dataStockTokens: { value: 3e14, source: "≈300T tokens of public human text in 2024 (Villalobos et al. 2024, Epoch AI)" },
  dataStockYear: { value: 2024, source: "year of the data-stock estimate" },
  dataDoublingYears: { value: 5, source: "the stock of text doubles every 5 years" },
  halvingMonthsRange: { value: [12, 24] as [number, number], source: "Monte-Carlo range (log-uniform) for the halving time" },
  dataDoublingRange: { value: [3, 8] as [number, number], source: "Monte-Carlo range (log-uniform) for the data doubling time" },
} as const;
