/**
 * The units of work that the fits hand to worker threads (or run inline): a chunk of multi-start L-BFGS
 * runs for the Chinchilla fit, and a range of bootstrap replicates of any fit kind. Each task is plain data
 * in and plain data out, and a replicate's random draw depends only on (seed, replicate index), so results
 * do not depend on how tasks are split between threads.
 */
import { Rng } from "../util/rng.js";
import { type ChinchillaParams, chinchillaData, chinchillaParamsFrom, multiStartChinchilla } from "./chinchilla.js";
import { FitError } from "./errors.js";
import { fitFrontier } from "./frontier.js";
import { fitIsoflop, groupByBudget } from "./isoflop.js";
import type { LbfgsOptions } from "./lbfgs.js";
import { type ScalingPoint, completePoints } from "./points.js";
import { type PowerOptions, fitPower } from "./power.js";

/** Fit kinds that can be bootstrapped. */
export type FitKind = "chinchilla" | "power" | "frontier" | "isoflop";

/** The parameters each kind's bootstrap records, in order. */
export const BOOTSTRAP_PARAMS: Record<FitKind, readonly string[]> = {
  chinchilla: ["E", "A", "B", "alpha", "beta"],
  power: ["E", "k", "alpha"],
  frontier: ["E", "k", "alpha"],
  isoflop: ["a", "b", "kN", "kD"],
};

/** Options a replicate needs to refit (plain data, so it can cross a thread boundary). */
export interface ReplicateOptions {
  /** Chinchilla: starting vectors [a, b, e, α, β] for each replicate. */
  starts?: number[][];
  /** Chinchilla: Huber δ. */
  huberDelta?: number;
  /** Chinchilla: L-BFGS settings. */
  lbfgs?: LbfgsOptions;
  /** Power/frontier options. */
  power?: PowerOptions;
  /** IsoFLOP budget tolerance. */
  groupTolerance?: number;
  /**
   * Chinchilla and power laws: resample whole runs (every point of a drawn run, as often as it is drawn) instead of
   * single points — the cluster bootstrap that points from one run (its endpoints, sharing its seed and its noise)
   * call for (Choshen et al. 2024). Needs points labelled with `run`; falls back to points below 3 runs.
   */
  byRun?: boolean;
}

/** A task for a worker. */
export type FitTask =
  | { type: "starts"; points: ScalingPoint[]; starts: number[][]; huberDelta: number; keep: number; lbfgs?: LbfgsOptions }
  | { type: "replicates"; kind: FitKind; points: ScalingPoint[]; options: ReplicateOptions; seed: number; indices: number[] };

/** Result of a "starts" task. */
export interface StartsResult {
  best: number[];
  objective: number;
  optima: number[][];
  optimaObjectives: number[];
}

/** Result of a "replicates" task: one parameter vector per replicate (null when that replicate's fit failed). */
export interface ReplicatesResult {
  samples: (number[] | null)[];
  /** The first failure's message, if any replicate failed. */
  firstError?: string;
}

/** Runs one task (in a worker thread or inline). */
export function runTask(task: FitTask): StartsResult | ReplicatesResult {
  if (task.type === "starts") {
    const data = chinchillaData(task.points);
    const r = multiStartChinchilla(data, task.starts, task.huberDelta, task.keep, task.lbfgs);
    return { best: Array.from(r.best), objective: r.objective, optima: r.optima, optimaObjectives: r.optimaObjectives };
  }
  const samples: (number[] | null)[] = [];
  let firstError: string | undefined;
  const fitOne = makeReplicateFitter(task.kind, task.points, task.options);
  for (const i of task.indices) {
    try {
      samples.push(fitOne(new Rng(task.seed, i)));
    } catch (e) {
      if (!(e instanceof FitError)) throw e;
      firstError ??= e.message;
      samples.push(null);
    }
  }
  return { samples, ...(firstError ? { firstError } : {}) };
}

/** Builds the function that draws one bootstrap resample and refits it. */
function makeReplicateFitter(
  kind: FitKind,
  points: ScalingPoint[],
  options: ReplicateOptions,
): (rng: Rng) => number[] {
  const n = points.length;
  if (kind === "chinchilla") {
    const data = chinchillaData(points);
    const starts = options.starts;
    if (!starts || starts.length === 0) throw new Error("chinchilla bootstrap needs starting points");
    const delta = options.huberDelta ?? 1e-3;
    const weights = new Float64Array(n);
    const clusters = options.byRun ? runClusters(points) : null;
    return (rng) => {
      // Resampling with replacement = integer weights that count each point's draws (whole runs when by run).
      weights.fill(0);
      if (clusters) {
        for (let i = 0; i < clusters.length; i++) for (const j of clusters[rng.int(clusters.length)]) weights[j]++;
      } else {
        for (let i = 0; i < n; i++) weights[rng.int(n)]++;
      }
      const r = multiStartChinchilla(data, starts, delta, 0, options.lbfgs, weights);
      const p: ChinchillaParams = chinchillaParamsFrom(r.best);
      return [p.E, p.A, p.B, p.alpha, p.beta];
    };
  }
  if (kind === "power") {
    const clusters = options.byRun ? runClusters(points) : null;
    return (rng) => {
      const sample = clusters ? clusters.flatMap(() => clusters[rng.int(clusters.length)].map((j) => points[j])) : resample(points, rng);
      const f = fitPower(sample, options.power);
      return [f.E, f.k, f.alpha];
    };
  }
  if (kind === "frontier") {
    // Learning curves: resample whole runs (a cluster bootstrap) when runs are labelled.
    const byRun = new Map<string, ScalingPoint[]>();
    for (const p of points) {
      const key = p.run ?? "";
      if (!byRun.has(key)) byRun.set(key, []);
      byRun.get(key)!.push(p);
    }
    const runs = [...byRun.values()];
    return (rng) => {
      let sample: ScalingPoint[];
      if (runs.length >= 3) {
        sample = [];
        for (let i = 0; i < runs.length; i++) sample.push(...runs[rng.int(runs.length)]);
      } else {
        sample = resample(points, rng);
      }
      const f = fitFrontier(sample, options.power);
      return [f.E, f.k, f.alpha];
    };
  }
  // isoflop: resample within each compute budget (a stratified bootstrap) so every budget keeps its runs.
  const groups = groupByBudget(completePoints(points), options.groupTolerance ?? 0.1);
  return (rng) => {
    const sample: ScalingPoint[] = [];
    for (const g of groups) for (let i = 0; i < g.length; i++) sample.push(g[rng.int(g.length)]);
    const f = fitIsoflop(sample, { groupTolerance: options.groupTolerance });
    return [f.a, f.b, f.kN, f.kD];
  };
}

/** Indices of the points of each run (null when fewer than 3 runs are labelled: then points are resampled). */
function runClusters(points: readonly ScalingPoint[]): number[][] | null {
  const byRun = new Map<string, number[]>();
  points.forEach((p, i) => {
    const key = p.run ?? `#${i}`;
    if (!byRun.has(key)) byRun.set(key, []);
    byRun.get(key)!.push(i);
  });
  return byRun.size >= 3 ? [...byRun.values()] : null;
}

function resample<T>(xs: readonly T[], rng: Rng): T[] {
  const out: T[] = new Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[rng.int(xs.length)];
  return out;
}
