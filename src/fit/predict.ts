/**
 * Predictions from a fitted law at new (N, D) or C, with percentile intervals computed by evaluating the same
 * formula on every bootstrap sample.
 */
import { type ChinchillaFit, type ChinchillaParams, chinchillaLoss } from "./chinchilla.js";
import { computeOptimal } from "./derived.js";
import { FitError } from "./errors.js";
import type { FrontierFit } from "./frontier.js";
import type { IsoflopFit } from "./isoflop.js";
import { type PowerFit, type PowerParams, powerLoss } from "./power.js";
import { percentileInterval } from "./stats.js";

/** Where to predict: (N, D) for the Chinchilla law, C for compute-optimal, or the variable of a power law. */
export interface PredictQuery {
  N?: number;
  D?: number;
  C?: number;
}

/** A prediction: the query, the point estimates and (with bootstrap samples) intervals. */
export interface Prediction {
  query: PredictQuery;
  /** Predicted loss (absent for IsoFLOP, which predicts sizes only). */
  loss?: number;
  /** Compute-optimal N at C (Chinchilla, IsoFLOP). */
  N?: number;
  /** Compute-optimal D at C (Chinchilla, IsoFLOP). */
  D?: number;
  /** D / N at the optimum. */
  tokensPerParam?: number;
  /** Percentile intervals of each predicted quantity. */
  intervals?: Partial<Record<"loss" | "N" | "D" | "tokensPerParam", [number, number]>>;
}

/** Any fitted law. */
export type AnyFit = ChinchillaFit | PowerFit | FrontierFit | IsoflopFit;

type Quantities = Partial<Record<"loss" | "N" | "D" | "tokensPerParam", number>>;

/**
 * Predicts at each query. `samples` are bootstrap parameter vectors in the order of the kind's bootstrap
 * (see BOOTSTRAP_PARAMS); with them each quantity gets a percentile interval at `level`.
 */
export function predict(
  fit: AnyFit,
  queries: readonly PredictQuery[],
  samples?: readonly number[][],
  level = 0.95,
): Prediction[] {
  const evaluate = evaluator(fit);
  return queries.map((q) => {
    const point = evaluate(paramsOf(fit), q);
    const out: Prediction = { query: q, ...point };
    if (samples && samples.length > 0) {
      const cols: Record<string, number[]> = {};
      for (const s of samples) {
        const v = evaluate(s, q);
        for (const [k, x] of Object.entries(v)) (cols[k] ??= []).push(x as number);
      }
      out.intervals = {};
      for (const [k, xs] of Object.entries(cols)) {
        out.intervals[k as keyof Quantities] = percentileInterval(xs, level);
      }
    }
    return out;
  });
}

function paramsOf(fit: AnyFit): number[] {
  if (fit.kind === "chinchilla") return [fit.E, fit.A, fit.B, fit.alpha, fit.beta];
  if (fit.kind === "isoflop") return [fit.a, fit.b, fit.kN, fit.kD];
  return [fit.E, fit.k, fit.alpha];
}

function evaluator(fit: AnyFit): (p: readonly number[], q: PredictQuery) => Quantities {
  if (fit.kind === "chinchilla") {
    return (v, q) => {
      const p: ChinchillaParams = { E: v[0], A: v[1], B: v[2], alpha: v[3], beta: v[4] };
      if (q.N !== undefined && q.D !== undefined) return { loss: chinchillaLoss(p, q.N, q.D) };
      if (q.C !== undefined) {
        const o = computeOptimal(p, q.C);
        return { loss: o.loss, N: o.N, D: o.D, tokensPerParam: o.tokensPerParam };
      }
      throw new FitError("a Chinchilla prediction needs N and D (--predict-n and --predict-d) or C (--predict-c)");
    };
  }
  if (fit.kind === "isoflop") {
    return (v, q) => {
      if (q.C === undefined) throw new FitError("an IsoFLOP prediction needs a compute budget C (--predict-c)");
      const N = v[2] * q.C ** v[0];
      const D = v[3] * q.C ** v[1];
      return { N, D, tokensPerParam: D / N };
    };
  }
  const variable = fit.variable;
  return (v, q) => {
    const x = q[variable];
    if (x === undefined) {
      throw new FitError(`this law is a function of ${variable}; give --predict-${variable.toLowerCase()}`);
    }
    const p: PowerParams = { E: v[0], k: v[1], alpha: v[2] };
    return { loss: powerLoss(p, x) };
  };
}
