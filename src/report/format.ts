/**
 * Number formatting for charts, tables and equations: SI prefixes (12.8k, 1.5M, 4.1G), dollars, and power-law
 * equations. Browser-safe (no Node imports): the dashboard page imports the compiled file as it is.
 */
import type { LabForecast } from "./forecast-math.js";

const SI_UNITS = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"];
const SI_SMALL = ["", "m", "µ", "n", "p"];

/** A number with an SI prefix and `digits` significant digits: 12800 → "12.8k", 4.07e9 → "4.07G", 0.002 → "2m". */
export function si(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const sign = x < 0 ? "-" : "";
  let v = Math.abs(x);
  let i = 0;
  if (v >= 1) {
    while (v >= 999.5 && i < SI_UNITS.length - 1) {
      v /= 1000;
      i++;
    }
    return sign + trim(v, digits) + SI_UNITS[i];
  }
  while (v < 1 && i < SI_SMALL.length - 1) {
    v *= 1000;
    i++;
  }
  return sign + trim(v, digits) + SI_SMALL[i];
}

/** A US-dollar amount: $0.0012, $3.40, $12.3k, $4.6M, $1B, $10.2T. */
export function usd(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) < 1) return "$" + trim(x, 2);
  if (Math.abs(x) < 1000) return "$" + x.toFixed(2);
  // money reads in billions and trillions, not giga and tera
  return "$" + si(x, 3).replace(/G$/, "B");
}

/** A number with `digits` significant digits, in exponent form when very large or small: 11.22, 0.0464, 1.24e+16. */
export function num(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-3)) return x.toExponential(Math.max(0, digits - 2));
  return trim(x, digits);
}

/** A decimal year as "2031.4". */
export function year(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : String(x);
}

/**
 * A power law in one variable as text: "L = 11.22·C^−0.0464" (E = 0) or "L = 1.69 + 406·N^−0.34".
 * `unit` is appended in parentheses when given ("C in FLOP").
 */
export function powerEquation(p: { E: number; k: number; alpha: number }, variable: string, unit?: string): string {
  const head = p.E > 0 ? `${num(p.E)} + ` : "";
  return `L = ${head}${num(p.k)}·${variable}^−${num(p.alpha, 3)}${unit ? ` (${variable} in ${unit})` : ""}`;
}

function trim(v: number, digits: number): string {
  return String(Number(v.toPrecision(digits)));
}

/**
 * The forecast in one sentence, as the dashboard and the playground print it under their sliders: the loss asked
 * for, the compute it needs against the largest run's, its cost now, and the year it fits the budget.
 */
export function forecastSentence(r: LabForecast, budgetUSD: number): string {
  return (
    `Loss ${num(r.referenceLoss, 3)} → ${num(r.targetLoss, 3)} needs ${num(r.computeMultiple, 3)}× the largest run's compute ` +
    `(${si(r.targetFlops)}FLOP): ${usd(r.costUSD)} at today's prices; within a ${usd(budgetUSD)} budget ` +
    (r.yearsToBudget > 0 ? `in ${year(r.yearWithinBudget)}.` : "already.")
  );
}
