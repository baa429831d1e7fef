/**
 * Whether a fitted law is physical: loss should fall as parameters, data and compute grow. A law fitted to losses
 * that rise with N or C (runs that diverged, or were too short to separate) has an exponent ≤ 0, and what follows
 * from it (a compute-optimal split, a forecast, a prediction at larger scale) is meaningless. These checks turn that
 * into one warning line each, which `fit` prints and puts in its JSON.
 */
import type { ChinchillaFit } from "./chinchilla.js";
import type { FrontierFit } from "./frontier.js";
import type { IsoflopFit } from "./isoflop.js";
import type { PowerFit } from "./power.js";

/** What to check when a law is flagged. */
const CHECK = "check the points (diverged or too-short runs, sizes too close together)";

/** One warning per non-physical feature of `fit` (none for a law whose loss falls with scale). */
export function lawWarnings(fit: ChinchillaFit | PowerFit | FrontierFit | IsoflopFit): string[] {
  const out: string[] = [];
  const fmt = (x: number) => String(Number(x.toPrecision(3)));
  if (fit.kind === "power" || fit.kind === "frontier") {
    const x = fit.kind === "frontier" ? "C" : fit.variable;
    if (!(fit.alpha > 0)) {
      out.push(`non-physical fit: alpha = ${fmt(fit.alpha)} ≤ 0, the loss does not fall as ${x} grows, so its predictions are meaningless; ${CHECK}`);
    }
  } else if (fit.kind === "chinchilla") {
    for (const [name, v, x] of [["alpha", fit.alpha, "N"], ["beta", fit.beta, "D"]] as const) {
      if (!(v > 0)) {
        out.push(`non-physical fit: ${name} = ${fmt(v)} ≤ 0, the loss does not fall as ${x} grows, so the compute-optimal N and D are meaningless; ${CHECK}`);
      }
    }
  } else if (fit.kind === "isoflop") {
    if (!(fit.a > 0) || !(fit.b > 0)) {
      out.push(
        `non-physical fit: N_opt ∝ C^${fmt(fit.a)} and D_opt ∝ C^${fmt(fit.b)}, but both should grow with compute, so the compute-optimal sizes are meaningless; ${CHECK}`,
      );
    }
  }
  return out;
}
