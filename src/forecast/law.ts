/**
 * Loss laws as the forecast uses them: loss as a function of training compute C (FLOPs) along the
 * compute-efficient path, its inverse (the compute needed for a target loss), and — for a Chinchilla law —
 * the compute-optimal split of C into parameters and tokens. Built from GPT-3's published frontier or from
 * the JSON that `scaling-lab fit --json` prints.
 */
import { type ChinchillaParams, FitError, computeForLoss, computeOptimal, optimalLoss } from "../fit/index.js";
import { PF_DAY } from "../util/units.js";

/** A loss law in training compute. */
export interface ComputeLaw {
  /** One line describing the law, printed with the forecast. */
  description: string;
  /** The loss floor: the law never goes below it (E, or 0 for a pure power law). */
  floor: number;
  /** Loss at compute C (FLOPs). */
  lossAt(flops: number): number;
  /** Compute (FLOPs) at which the loss reaches `loss`; NaN when the law never gets there. */
  computeFor(loss: number): number;
  /** Compute-optimal parameters and tokens at C (Chinchilla laws only). */
  optimalSplit?(flops: number): { N: number; D: number };
}

/**
 * L(C) = E + k·C^(−α) with C measured in `unit` (FLOP or PF-day). GPT-3's Figure 3.1 frontier is
 * k = 2.57, α = 0.048, E = 0 with C in PF-days.
 */
export function powerComputeLaw(k: number, alpha: number, E = 0, unit: "flop" | "pf-day" = "pf-day"): ComputeLaw {
  if (!(k > 0) || !(alpha > 0) || !(E >= 0)) {
    throw new FitError(`a compute law needs k > 0, alpha > 0 and E ≥ 0 (got k=${k}, alpha=${alpha}, E=${E}); fix the law's parameters`);
  }
  const scale = unit === "pf-day" ? PF_DAY : 1;
  return {
    description: `L = ${E > 0 ? `${fmt(E)} + ` : ""}${fmt(k)}·C^-${fmt(alpha)}, C in ${unit === "pf-day" ? "PF-days" : "FLOP"}`,
    floor: E,
    lossAt: (flops) => E + k * (flops / scale) ** -alpha,
    computeFor: (loss) => (loss > E ? scale * (k / (loss - E)) ** (1 / alpha) : NaN),
  };
}

/** GPT-3's compute frontier (Brown et al. 2020, Figure 3.1): L = 2.57·C^−0.048, C in PF-days. */
export function gpt3FrontierLaw(): ComputeLaw {
  const law = powerComputeLaw(2.57, 0.048, 0, "pf-day");
  return { ...law, description: `${law.description} (GPT-3 Figure 3.1 frontier)` };
}

/**
 * A Chinchilla law followed along its compute-optimal path: L*(C) = E + K·(C/6)^(−αβ/(α+β)), with
 * N_opt(C) and D_opt(C) in closed form (see src/fit/derived.ts).
 */
export function chinchillaComputeLaw(p: ChinchillaParams): ComputeLaw {
  for (const [k, v] of Object.entries(p)) {
    if (!(v > 0) || !Number.isFinite(v)) throw new FitError(`the Chinchilla law's ${k} must be positive, got ${v}; check the fit file`);
  }
  return {
    description: `L*(C) = E + A/N_opt^alpha + B/D_opt^beta with E=${fmt(p.E)}, A=${fmt(p.A)}, B=${fmt(p.B)}, alpha=${fmt(p.alpha)}, beta=${fmt(p.beta)} (compute-optimal, C in FLOP)`,
    floor: p.E,
    lossAt: (flops) => optimalLoss(p, flops),
    computeFor: (loss) => computeForLoss(p, loss),
    optimalSplit: (flops) => {
      const o = computeOptimal(p, flops);
      return { N: o.N, D: o.D };
    },
  };
}

/** The central law of a fit file plus one law per bootstrap sample (empty without a bootstrap). */
export interface LawWithSamples {
  law: ComputeLaw;
  samples: ComputeLaw[];
  /** The fit's kind. */
  kind: string;
}

/**
 * Reads the object printed by `scaling-lab fit <kind> --json` (chinchilla, or power/frontier in C) into
 * a {@link ComputeLaw}, with one law per bootstrap sample when the fit was bootstrapped. Throws a
 * {@link FitError} for fits that are not laws in compute.
 */
export function lawFromFitJson(json: unknown): LawWithSamples {
  if (typeof json !== "object" || json === null) throw new FitError("the fit file is not a JSON object; write it with scaling-lab fit ... --json");
  const o = json as Record<string, unknown>;
  const kind = o.kind;
  const num = (k: string): number => {
    const v = o[k];
    if (typeof v !== "number") throw new FitError(`the fit file has no number "${k}"; write it with scaling-lab fit ${String(kind)} --json`);
    return v;
  };
  const bsSamples = ((o.bootstrap as { samples?: unknown } | undefined)?.samples ?? []) as number[][];
  if (!Array.isArray(bsSamples)) throw new FitError("the fit file's bootstrap.samples is not a list; rewrite it with scaling-lab fit --json");
  if (kind === "chinchilla") {
    const law = chinchillaComputeLaw({ E: num("E"), A: num("A"), B: num("B"), alpha: num("alpha"), beta: num("beta") });
    const samples = bsSamples
      .filter((s) => Array.isArray(s) && s.length >= 5 && s.every((v) => v > 0))
      .map((s) => chinchillaComputeLaw({ E: s[0], A: s[1], B: s[2], alpha: s[3], beta: s[4] }));
    return { law, samples, kind };
  }
  if (kind === "power" || kind === "frontier") {
    if (o.variable !== "C") {
      throw new FitError(`the fit file's law is in ${String(o.variable)}, but the forecast needs a law in compute; refit with --x C (or fit chinchilla)`);
    }
    const unit = o.cUnit === "pf-day" ? "pf-day" : "flop";
    const law = powerComputeLaw(num("k"), num("alpha"), num("E"), unit);
    const samples = bsSamples
      .filter((s) => Array.isArray(s) && s.length >= 3 && s[0] >= 0 && s[1] > 0 && s[2] > 0)
      .map((s) => powerComputeLaw(s[1], s[2], s[0], unit));
    return { law, samples, kind };
  }
  throw new FitError(
    `the fit file is a "${String(kind)}" fit, which has no loss law in compute; use a chinchilla, power (--x C) or frontier fit`,
  );
}

function fmt(x: number): string {
  return Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}
