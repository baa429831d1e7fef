/**
 * Learning-rate scaling from an `lr` sweep (every size × a grid of peak learning rates, one token budget): for each
 * size the best learning rate, from a parabola of the final loss in log(lr) through the best grid point and its two
 * neighbours; then LR*(N) = coef·N^exponent, a straight line in log-log over the sizes (Porian et al. 2024 tune the
 * learning rate per size at small scale; DeepSeek 2024 and others fit it as a power law in size or compute).
 * The result is what a ladder's `lrLaw` holds (presets/ladders.json).
 */
import { fitLine, fitParabola } from "../fit/index.js";
import type { Lab } from "../store/index.js";
import type { LrLaw } from "./ladder.js";

/** One run of an lr sweep. */
export interface LrPoint {
  size: string;
  /** Every parameter. */
  params: number;
  /** Non-embedding parameters. */
  nonEmbedding: number;
  lr: number;
  /** Final validation loss (Infinity for a run that diverged). */
  loss: number;
}

/** The best learning rate of one size. */
export interface LrSizeResult {
  size: string;
  params: number;
  nonEmbedding: number;
  /** The best learning rate (the parabola's vertex, or the best grid point at an edge of the grid). */
  lrStar: number;
  /** The loss the parabola gives at lrStar (or the best grid point's). */
  lossStar: number;
  /** "low"/"high": the best grid point is the grid's smallest/largest learning rate; extend the grid that way. */
  atEdge: "low" | "high" | null;
  points: { lr: number; loss: number }[];
}

/** The fitted law and the per-size optima it was fitted to. */
export interface LrLawResult {
  law: LrLaw;
  sizes: LrSizeResult[];
  /** R² of log lr* on log N. */
  r2: number;
}

/** An lr sweep that cannot give a law; the message names the fix. */
export class LrSweepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LrSweepError";
  }
}

/** The best learning rate among `points` (one size): see the module comment. */
export function bestLearningRate(points: readonly { lr: number; loss: number }[]): Pick<LrSizeResult, "lrStar" | "lossStar" | "atEdge"> {
  const pts = [...points].sort((a, b) => a.lr - b.lr);
  if (pts.length < 3) throw new LrSweepError(`a size needs at least 3 learning rates to locate the best one, got ${pts.length} (add --lrs values)`);
  let i = 0;
  for (let j = 1; j < pts.length; j++) if (pts[j].loss < pts[i].loss) i = j;
  if (!Number.isFinite(pts[i].loss)) throw new LrSweepError("every run of a size diverged; try smaller learning rates");
  if (i === 0 || i === pts.length - 1) return { lrStar: pts[i].lr, lossStar: pts[i].loss, atEdge: i === 0 ? "low" : "high" };
  const three = pts.slice(i - 1, i + 2);
  if (!three.every((p) => Number.isFinite(p.loss))) return { lrStar: pts[i].lr, lossStar: pts[i].loss, atEdge: null };
  const f = fitParabola(three.map((p) => Math.log(p.lr)), three.map((p) => p.loss));
  // a parabola through a minimum opens upwards; its vertex stays between the outer two points
  const lo = Math.log(three[0].lr);
  const hi = Math.log(three[2].lr);
  const v = f.c2 > 0 ? Math.min(hi, Math.max(lo, -f.c1 / (2 * f.c2))) : Math.log(pts[i].lr);
  const lossStar = f.c2 > 0 ? f.c0 + f.c1 * v + f.c2 * v * v : pts[i].loss;
  return { lrStar: Math.exp(v), lossStar, atEdge: null };
}

/** LR*(N) over the sizes of an lr sweep, with N the total (default) or non-embedding parameter count. */
export function fitLrLaw(points: readonly LrPoint[], params: "total" | "nonEmbedding" = "total", about = ""): LrLawResult {
  const bySize = new Map<string, LrPoint[]>();
  for (const p of points) {
    if (!bySize.has(p.size)) bySize.set(p.size, []);
    bySize.get(p.size)!.push(p);
  }
  const sizes: LrSizeResult[] = [...bySize.entries()].map(([size, ps]) => ({
    size, params: ps[0].params, nonEmbedding: ps[0].nonEmbedding, ...bestLearningRate(ps), points: ps.map((p) => ({ lr: p.lr, loss: p.loss })),
  }));
  sizes.sort((a, b) => a.params - b.params);
  if (sizes.length < 2) throw new LrSweepError(`an LR law needs at least 2 sizes, got ${sizes.length} (add --sizes)`);
  const x = sizes.map((s) => Math.log(params === "total" ? s.params : s.nonEmbedding));
  const y = sizes.map((s) => Math.log(s.lrStar));
  const line = fitLine(Float64Array.from(x), Float64Array.from(y));
  const edges = sizes.filter((s) => s.atEdge).map((s) => `${s.size} (${s.atEdge})`);
  return {
    law: {
      coef: Math.exp(line.intercept), exponent: line.slope, params,
      about: about + (edges.length ? ` Best LR at the grid's edge for ${edges.join(", ")}: the law there is a bound.` : ""),
    },
    sizes,
    r2: line.r2,
  };
}

/** The runs of a finished lr sweep as {@link LrPoint}s (a failed or diverged run counts as infinitely bad). */
export function lrPoints(lab: Lab, sweep: string): LrPoint[] {
  return lab.listRuns({ sweep }).map((r) => ({
    size: typeof r.extra.size === "string" ? r.extra.size : r.name,
    params: r.params,
    nonEmbedding: r.N,
    lr: Number((r.config as { lr?: number }).lr),
    loss: r.status === "done" && r.finalValLoss !== null && Number.isFinite(r.finalValLoss) ? r.finalValLoss : Infinity,
  }));
}
