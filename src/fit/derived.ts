/**
 * Quantities derived in closed form from a fitted Chinchilla law L(N, D) = E + A/N^α + B/D^β under the
 * constraint C = 6·N·D (Hoffmann et al. 2022, Appendix D.2, eq. 4):
 *
 *   G = (α·A / (β·B))^(1/(α+β)),   N_opt(C) = G·(C/6)^(β/(α+β)),   D_opt(C) = G⁻¹·(C/6)^(α/(α+β)),
 *
 * and the loss along that compute-optimal path, L*(C) = E + K·(C/6)^(−αβ/(α+β)) with K = A·G^(−α) + B·G^β,
 * which inverts to the compute needed for a target loss.
 */
import { type ChinchillaParams, chinchillaLoss } from "./chinchilla.js";

/** The compute-optimal allocation at one budget. */
export interface ComputeOptimal {
  /** Compute budget C (FLOPs). */
  C: number;
  /** Optimal parameters N_opt. */
  N: number;
  /** Optimal tokens D_opt. */
  D: number;
  /** D_opt / N_opt. */
  tokensPerParam: number;
  /** Predicted loss L(N_opt, D_opt). */
  loss: number;
}

/** The constants of the compute-optimal path. */
export interface OptimalScaling {
  /** G = (αA/(βB))^(1/(α+β)). */
  G: number;
  /** a = β/(α+β): N_opt ∝ C^a. */
  nExponent: number;
  /** b = α/(α+β): D_opt ∝ C^b. */
  dExponent: number;
  /** Exponent of L* − E ∝ C^(−γ): γ = αβ/(α+β). */
  lossExponent: number;
  /** K = A·G^(−α) + B·G^β: L*(C) = E + K·(C/6)^(−γ). */
  K: number;
}

/** The constants G, a, b, γ and K of the compute-optimal path of a Chinchilla law. */
export function optimalScaling(p: ChinchillaParams): OptimalScaling {
  const s = p.alpha + p.beta;
  const G = ((p.alpha * p.A) / (p.beta * p.B)) ** (1 / s);
  return {
    G,
    nExponent: p.beta / s,
    dExponent: p.alpha / s,
    lossExponent: (p.alpha * p.beta) / s,
    K: p.A * G ** -p.alpha + p.B * G ** p.beta,
  };
}

/** N_opt, D_opt, tokens per parameter and loss at compute C (FLOPs), with C = 6·N·D. */
export function computeOptimal(p: ChinchillaParams, C: number): ComputeOptimal {
  const o = optimalScaling(p);
  const N = o.G * (C / 6) ** o.nExponent;
  const D = (C / 6) ** o.dExponent / o.G;
  return { C, N, D, tokensPerParam: D / N, loss: chinchillaLoss(p, N, D) };
}

/** Loss of the compute-optimal model at C: L*(C) = E + K·(C/6)^(−αβ/(α+β)). */
export function optimalLoss(p: ChinchillaParams, C: number): number {
  const o = optimalScaling(p);
  return p.E + o.K * (C / 6) ** -o.lossExponent;
}

/**
 * Compute C (FLOPs) at which the compute-optimal loss reaches `target`: C = 6·((target − E)/K)^(−1/γ).
 * NaN when target ≤ E (the law never gets there).
 */
export function computeForLoss(p: ChinchillaParams, target: number): number {
  if (!(target > p.E)) return NaN;
  const o = optimalScaling(p);
  return 6 * ((target - p.E) / o.K) ** (-1 / o.lossExponent);
}
