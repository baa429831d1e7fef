/**
 * Published scaling laws as reference curves (presets/published/laws.json, provenance in its README): Kaplan et al.
 * (2020) L(N), L(D), L(C_min), L(N, D); GPT-3's frontier L(C); Hoffmann et al. (2022) L(N, D). Evaluated in
 * scaling-lab's units: N parameters, D tokens, C FLOP (laws printed in PF-days are converted, 1 PF-day = 8.64e19).
 */
import { readFileSync } from "node:fs";
import { PF_DAY } from "../util/units.js";
import { packageFile } from "./files.js";

/** The variable(s) a law is a function of. */
export type LawVariable = "N" | "D" | "C" | "ND";

/** One published law, as laws.json holds it. */
export interface PublishedLaw {
  name: string;
  label: string;
  variable: LawVariable;
  /** "power": L = (x_c/x)^α, or k·x^−α when the constants give k; "kaplan-nd"; "chinchilla". */
  form: "power" | "kaplan-nd" | "chinchilla";
  constants: Record<string, number>;
  units: Record<string, string>;
  source: string;
}

let cache: PublishedLaw[] | undefined;

/** Every published law, in the order of laws.json. */
export function publishedLaws(): PublishedLaw[] {
  cache ??= (JSON.parse(readFileSync(packageFile("presets/published/laws.json"), "utf8")) as { laws: PublishedLaw[] }).laws;
  return cache;
}

/** The law with this name, or undefined. */
export function findLaw(name: string): PublishedLaw | undefined {
  return publishedLaws().find((l) => l.name === name.toLowerCase());
}

/** A law's unit of C: FLOP per unit (PF_DAY for laws printed in PF-days). */
function cScale(law: PublishedLaw): number {
  return /PF-day/i.test(law.units.C ?? "") ? PF_DAY : 1;
}

/**
 * The law's loss at a point: `x` is N, D or C (FLOP) for a one-variable law; `{N, D}` for a two-variable one.
 * @example lawLoss(findLaw("gpt3-c")!, 3640 * 8.64e19) // ≈ 1.73, GPT-3 175B on GPT-3's frontier
 */
export function lawLoss(law: PublishedLaw, x: number | { N: number; D: number }): number {
  const c = law.constants;
  if (law.form === "chinchilla") {
    const { N, D } = x as { N: number; D: number };
    return c.E + c.A / N ** c.alpha + c.B / D ** c.beta;
  }
  if (law.form === "kaplan-nd") {
    const { N, D } = x as { N: number; D: number };
    return ((c.Nc / N) ** (c.alphaN / c.alphaD) + c.Dc / D) ** c.alphaD;
  }
  const v = law.variable === "C" ? (x as number) / cScale(law) : (x as number);
  if (c.k !== undefined) return c.k * v ** -c.alphaC;
  const [scale, alpha] = law.variable === "N" ? [c.Nc, c.alphaN] : law.variable === "D" ? [c.Dc, c.alphaD] : [c.Cc, c.alphaC];
  return (scale / v) ** alpha;
}

/** The law's constants as one line, e.g. "N_c = 8.8e13, α_N = 0.076". */
export function lawConstants(law: PublishedLaw): string {
  return Object.entries(law.constants).map(([k, v]) => `${k} = ${v}`).join(", ");
}
