/**
 * `scaling-lab forecast`: compute multiple, cost, year within budget and data for a target loss, with every
 * assumption a flag and printed next to the result. All math is in src/forecast/.
 */
import { readFileSync } from "node:fs";
import { type Command, UserError, intFlag, numberFlag, parseFlags, printJson } from "./command.js";
import { FitError } from "../fit/index.js";
import { type ForecastReport, type ForecastRequest, lawFromFitJson, powerComputeLaw, runForecast } from "../forecast/index.js";

const HELP = `scaling-lab forecast — how much compute, money, time and data a target loss takes.

The essay's reasoning (Gwern, "The Scaling Hypothesis", 2020) as a calculator. Defaults reproduce it:
GPT-3's frontier L = 2.57·C^-0.048 (C in PF-days); GPT-3 175B as reference (3,640 PF-days, $4.6M, 2020);
target 0.86 nats (half of GPT-3's ≈1.73) → ≈2.2 million × the compute, ≈$10 trillion, within $1B by ≈2038.

Law:
  --fit FILE               a law from "scaling-lab fit chinchilla|power|frontier ... --json" (its bootstrap
                           samples feed the Monte-Carlo)
  --law-k K --law-alpha A [--law-e E] [--law-unit pf-day|flop]   L = E + K·C^-A (default 2.57, 0.048, 0, pf-day)
Reference and target:
  --reference-name S  --reference-pf-days P (3640)  --reference-cost USD (4.6e6)  --reference-year Y (2020.4)
  --reference-loss L       default: the law at the reference compute
  --target-loss L          default 0.86 with the default law
  --target-fraction F      target = F × reference loss (default 0.5 with --fit or --law-*)
Cost and time:
  --budget USD (1e9)  --halving-months M (16)
Data:
  --tokens-per-param R (20; Chinchilla laws use their own optimum)  --data-stock TOKENS (3e14)
  --data-stock-year Y (2024)  --data-doubling-years Y (5)
Uncertainty (Monte-Carlo):
  --samples N (2000; 0 = off)  --seed S  --interval P (0.8)
  --halving-months-range LO,HI (12,24)  --data-doubling-range LO,HI (3,8)

Output: the results, the 80% intervals, and every assumption with its source; --json prints one JSON
object with computeMultiple, costUSD, yearWithinBudget, data, uncertainty and assumptions.

Examples:
  scaling-lab forecast --json
  scaling-lab forecast --target-fraction 0.5 --budget 1e10
  scaling-lab fit chinchilla --csv runs.csv --bootstrap 200 --json > law.json && scaling-lab forecast --fit law.json --target-loss 2.0`;

/** The flags of `forecast` (all take a value). */
const FORECAST_FLAGS = {
  fit: { type: "string" },
  "law-k": { type: "string" },
  "law-alpha": { type: "string" },
  "law-e": { type: "string" },
  "law-unit": { type: "string" },
  "reference-name": { type: "string" },
  "reference-pf-days": { type: "string" },
  "reference-cost": { type: "string" },
  "reference-year": { type: "string" },
  "reference-loss": { type: "string" },
  "target-loss": { type: "string" },
  "target-fraction": { type: "string" },
  budget: { type: "string" },
  "halving-months": { type: "string" },
  "tokens-per-param": { type: "string" },
  "data-stock": { type: "string" },
  "data-stock-year": { type: "string" },
  "data-doubling-years": { type: "string" },
  samples: { type: "string" },
  seed: { type: "string" },
  interval: { type: "string" },
  "halving-months-range": { type: "string" },
  "data-doubling-range": { type: "string" },
} as const;

/** A flag of `forecast`. */
type ForecastFlag = keyof typeof FORECAST_FLAGS;

/** The `forecast` command. */
export const forecastCommand: Command = {
  name: "forecast",
  summary: "compute multiple, cost, year and data needed for a target loss (with Monte-Carlo intervals)",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("forecast", argv, FORECAST_FLAGS);
    const opt = (name: ForecastFlag): number | undefined => {
      const raw = values[name];
      return raw === undefined ? undefined : numberFlag(name, raw, NaN);
    };
    const req: ForecastRequest = {};
    const lawFlags = (["law-k", "law-alpha", "law-e", "law-unit"] as const).filter((f) => values[f] !== undefined);
    if (values.fit !== undefined && lawFlags.length > 0) {
      throw new UserError(`give either --fit FILE or --law-* flags, not both (got --fit and --${lawFlags[0]})`);
    }
    try {
      if (values.fit !== undefined) {
        const file = values.fit;
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(file, "utf8"));
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          throw new UserError(`cannot read --fit ${file}: ${err.code ?? err.message} (give the JSON written by scaling-lab fit ... --json)`);
        }
        const { law, samples } = lawFromFitJson(json);
        req.law = law;
        req.lawSamples = samples;
        req.lawSource = `--fit ${file}${samples.length ? ` (${samples.length} bootstrap samples)` : ""}`;
      } else if (lawFlags.length > 0) {
        const unit = (values["law-unit"] ?? "pf-day").toLowerCase();
        if (unit !== "pf-day" && unit !== "flop") throw new UserError(`--law-unit must be pf-day or flop, got "${values["law-unit"]}"`);
        req.law = powerComputeLaw(opt("law-k") ?? 2.57, opt("law-alpha") ?? 0.048, opt("law-e") ?? 0, unit);
        req.lawSource = "set with --law-k/--law-alpha/--law-e/--law-unit";
      }
      if (values["target-loss"] !== undefined && values["target-fraction"] !== undefined) {
        throw new UserError("give --target-loss or --target-fraction, not both");
      }
      if (values["reference-name"] !== undefined) req.referenceName = values["reference-name"];
      const numeric: [keyof ForecastRequest, ForecastFlag][] = [
        ["referencePfDays", "reference-pf-days"],
        ["referenceCostUSD", "reference-cost"],
        ["referenceYear", "reference-year"],
        ["referenceLoss", "reference-loss"],
        ["targetLoss", "target-loss"],
        ["targetFraction", "target-fraction"],
        ["budgetUSD", "budget"],
        ["halvingMonths", "halving-months"],
        ["tokensPerParam", "tokens-per-param"],
        ["dataStockTokens", "data-stock"],
        ["dataStockYear", "data-stock-year"],
        ["dataDoublingYears", "data-doubling-years"],
        ["interval", "interval"],
      ];
      for (const [key, flag] of numeric) {
        const v = opt(flag);
        if (v !== undefined) (req as Record<string, unknown>)[key] = v;
      }
      req.samples = intFlag("samples", values.samples, 2000, 0);
      req.seed = intFlag("seed", values.seed, 0, 0);
      const range = (flag: ForecastFlag): [number, number] | undefined => {
        const raw = values[flag];
        if (raw === undefined) return undefined;
        const xs = raw.split(",").map((s) => Number(s.trim()));
        if (xs.length !== 2 || !xs.every((x) => x > 0 && Number.isFinite(x)) || xs[0] > xs[1]) {
          throw new UserError(`--${flag} must be LO,HI with 0 < LO ≤ HI (e.g. 12,24), got "${raw}"`);
        }
        return [xs[0], xs[1]];
      };
      req.halvingMonthsRange = range("halving-months-range");
      req.dataDoublingRange = range("data-doubling-range");
      const report = runForecast(req);
      if (values.json) printJson(report);
      else printHuman(report);
    } catch (e) {
      if (e instanceof FitError) throw new UserError(e.message);
      throw e;
    }
    return 0;
  },
};

function money(x: number): string {
  if (!Number.isFinite(x)) return "unreachable";
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [v, u] of units) if (Math.abs(x) >= v) return `$${Number((x / v).toPrecision(3))}${u}`;
  return `$${Number(x.toPrecision(3))}`;
}

function sci(x: number): string {
  if (!Number.isFinite(x)) return "unreachable";
  return Math.abs(x) >= 1e4 ? x.toExponential(2) : String(Number(x.toPrecision(3)));
}

function year(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : "never";
}

function printHuman(r: ForecastReport): void {
  const u = r.uncertainty;
  const iv = (s: { lo: number; hi: number } | undefined, f: (x: number) => string) => (s ? `   (${Math.round(u!.interval * 100)}%: ${f(s.lo)} – ${f(s.hi)})` : "");
  console.log(`reference ${r.assumptions.referenceName.value}: loss ${sci(r.referenceLoss)} → target loss ${sci(r.targetLoss)}`);
  console.log(`compute multiple      ${sci(r.computeMultiple)}×${iv(u?.computeMultiple, sci)}`);
  console.log(`target compute        ${sci(r.targetComputePfDays)} PF-days = ${sci(r.targetComputeFlops)} FLOP`);
  console.log(`cost at today's prices ${money(r.costUSD)}${iv(u?.costUSD, money)}`);
  console.log(`within budget in      ${year(r.yearWithinBudget)} (${sci(r.yearsToBudget)} years)${iv(u?.yearWithinBudget, year)}`);
  const d = r.data;
  console.log(
    `data: ${sci(d.params)} params × ${sci(d.tokens)} tokens (${sci(d.tokensPerParam)} tokens/param, ${d.method}); ` +
      `${sci(d.epochsAtBudgetYear)} epochs of the ${year(r.yearWithinBudget)} stock (${sci(d.stockAtBudgetYear)} tokens); ` +
      `one epoch suffices from ${year(d.yearDataSuffices)}${iv(u?.yearDataSuffices, year)}`,
  );
  if (u) {
    console.log(`Monte-Carlo: ${u.samples} draws; ${u.varied.join("; ")}${u.unreachable ? `; ${u.unreachable} draws never reach the target` : ""}`);
  }
  console.log("assumptions:");
  for (const [k, v] of Object.entries(r.assumptions)) {
    const value = Array.isArray(v.value) ? v.value.join("–") : String(v.value);
    console.log(`  ${k.padEnd(20)} ${value}   [${v.source}]`);
  }
}
