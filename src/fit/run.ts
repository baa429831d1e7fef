/**
 * One entry point for every fit: `runFit(kind, points, options)` validates the points, fits the law (the
 * Chinchilla grid split over worker threads), optionally bootstraps it, and adds the derived quantities and
 * predictions. The CLI's `fit` command and the run store call this with points from any source.
 */
import { type ChinchillaFit, type ChinchillaGrid, HOFFMANN_GRID, chinchillaResult, chinchillaSetup, distinctOptima, gridStarts } from "./chinchilla.js";
import { type OptimalScaling, optimalScaling } from "./derived.js";
import { FitError } from "./errors.js";
import { type BootstrapResult, bootstrap, summarize } from "./bootstrap.js";
import { type FrontierFit, fitFrontier } from "./frontier.js";
import { type IsoflopFit, fitIsoflop } from "./isoflop.js";
import type { LbfgsOptions } from "./lbfgs.js";
import type { ScalingPoint } from "./points.js";
import { defaultWorkers, runTasks } from "./pool.js";
import { type PowerFit, type PowerVariable, fitPower } from "./power.js";
import { type Prediction, type PredictQuery, predict } from "./predict.js";
import type { FitKind, FitTask, ReplicateOptions, StartsResult } from "./tasks.js";

/** Options for {@link runFit}; each applies to the kinds named. */
export interface RunFitOptions {
  /** chinchilla (default 1e-3), power/frontier (default: least squares): Huber δ on log-loss residuals. */
  huberDelta?: number;
  /** chinchilla: grid of starts (default the 4,500-point grid of Hoffmann et al.). */
  grid?: ChinchillaGrid;
  /** chinchilla: starts of each bootstrap refit: "warm" (default; the full fit's distinct optima) or "grid". */
  bootstrapStarts?: "warm" | "grid";
  /** chinchilla: L-BFGS settings. */
  lbfgs?: LbfgsOptions;
  /** power: the variable (default "C"). */
  variable?: PowerVariable;
  /** power/frontier: fit an irreducible loss E ≥ 0 (default false). */
  irreducible?: boolean;
  /** isoflop: relative tolerance grouping runs into budgets (default 0.1). */
  groupTolerance?: number;
  /** Bootstrap resamples (0 or absent: none). */
  bootstrap?: number;
  /** chinchilla/power: resample whole runs, not points (see ReplicateOptions.byRun). */
  bootstrapByRun?: boolean;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Interval level (default 0.95). */
  level?: number;
  /** Worker threads (default one per core; 0 or 1: inline). */
  workers?: number;
  /** Where to predict. */
  predict?: PredictQuery[];
}

/** The fitted law of each fit kind. */
export interface FitOfKind {
  chinchilla: ChinchillaFit;
  power: PowerFit;
  frontier: FrontierFit;
  isoflop: IsoflopFit;
}

/** What a fit of kind `K` produces. */
export interface FitReportBase<K extends FitKind> {
  kind: K;
  /** The fitted law (its own `kind` equals the report's). */
  fit: FitOfKind[K];
  /** Bootstrap samples and intervals. */
  bootstrap?: BootstrapResult;
  /** Predictions at the requested queries. */
  predictions?: Prediction[];
  /** Seconds spent fitting (including the bootstrap). */
  seconds: number;
}

/** What a Chinchilla fit produces: also the compute-optimal constants. */
export interface ChinchillaReport extends FitReportBase<"chinchilla"> {
  /** The compute-optimal constants (G, exponents of N_opt and D_opt, K). */
  optimal: OptimalScaling;
  /** Intervals of the derived constants over the bootstrap samples (with a bootstrap). */
  optimalIntervals?: Record<string, [number, number]>;
}

/** The report of a fit of kind `K` (a union over kinds when `K` is). */
export type FitReportOf<K extends FitKind> = K extends "chinchilla" ? ChinchillaReport : FitReportBase<K>;

/** Everything a fit produces, discriminated by `kind` (and `fit.kind`). */
export type FitReport = FitReportOf<FitKind>;

/** The fit kinds {@link runFit} knows. */
export const FIT_KINDS: readonly FitKind[] = ["chinchilla", "power", "frontier", "isoflop"];

/**
 * Fits `kind` to `points`, bootstraps when `opts.bootstrap` > 0, and predicts at `opts.predict`. Bad input
 * throws a {@link FitError} with a one-line message.
 * @example await runFit("chinchilla", points, { bootstrap: 1000 })
 */
export async function runFit<K extends FitKind>(kind: K, points: readonly ScalingPoint[], opts: RunFitOptions = {}): Promise<FitReportOf<K>> {
  const t0 = performance.now();
  if (!FIT_KINDS.includes(kind)) throw new FitError(`unknown fit kind "${kind}"; choose one of ${FIT_KINDS.join(", ")}`);
  const workers = opts.workers ?? defaultWorkers();
  const replicateOptions: ReplicateOptions = { byRun: opts.bootstrapByRun };
  let report: FitReport;
  if (kind === "chinchilla") {
    const delta = opts.huberDelta ?? 1e-3;
    const fit = await fitChinchillaParallel(points, { huberDelta: delta, grid: opts.grid, lbfgs: opts.lbfgs, workers });
    replicateOptions.huberDelta = delta;
    replicateOptions.lbfgs = opts.lbfgs;
    replicateOptions.starts = opts.bootstrapStarts === "grid" ? gridStarts(opts.grid ?? HOFFMANN_GRID) : fit.optima;
    report = { kind: "chinchilla", fit, optimal: optimalScaling(fit), seconds: 0 };
  } else if (kind === "power") {
    replicateOptions.power = { variable: opts.variable, irreducible: opts.irreducible, huberDelta: opts.huberDelta };
    report = { kind: "power", fit: fitPower(points, replicateOptions.power), seconds: 0 };
  } else if (kind === "frontier") {
    replicateOptions.power = { irreducible: opts.irreducible, huberDelta: opts.huberDelta };
    report = { kind: "frontier", fit: fitFrontier(points, replicateOptions.power), seconds: 0 };
  } else {
    replicateOptions.groupTolerance = opts.groupTolerance;
    report = { kind: "isoflop", fit: fitIsoflop(points, { groupTolerance: opts.groupTolerance }), seconds: 0 };
  }
  if (opts.bootstrap !== undefined && opts.bootstrap > 0) {
    const bs = await bootstrap(kind, points, replicateOptions, {
      replicates: opts.bootstrap,
      seed: opts.seed,
      level: opts.level,
      workers,
    });
    report.bootstrap = bs;
    if (report.kind === "chinchilla") {
      const derived = bs.samples.map((s) => {
        const o = optimalScaling({ E: s[0], A: s[1], B: s[2], alpha: s[3], beta: s[4] });
        return [o.G, o.nExponent, o.dExponent, o.lossExponent];
      });
      report.optimalIntervals = summarize(["G", "nOptExponent", "dOptExponent", "lossExponent"], derived, bs.level).intervals;
    }
  }
  if (opts.predict && opts.predict.length > 0) {
    report.predictions = predict(report.fit, opts.predict, report.bootstrap?.samples, report.bootstrap?.level ?? opts.level ?? 0.95);
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report as FitReportOf<K>; // report.kind === kind: each branch above built the report of `kind`
}

/**
 * The Chinchilla fit with its grid of starts split over worker threads; the same result as
 * {@link fitChinchilla} (best objective, ties to the earlier start) with any number of workers.
 */
export async function fitChinchillaParallel(
  points: readonly ScalingPoint[],
  opts: { huberDelta?: number; grid?: ChinchillaGrid; starts?: number[][]; lbfgs?: LbfgsOptions; workers?: number; keepOptima?: number } = {},
): Promise<ChinchillaFit> {
  const { data, delta, starts } = chinchillaSetup(points, opts); // validates before any thread starts
  const keep = opts.keepOptima ?? 8;
  const workers = opts.workers ?? defaultWorkers();
  const chunks = Math.max(1, Math.min(starts.length, workers > 1 ? workers * 4 : 1));
  const size = Math.ceil(starts.length / chunks);
  const tasks: FitTask[] = [];
  for (let i = 0; i < starts.length; i += size) {
    tasks.push({ type: "starts", points: points.slice(), starts: starts.slice(i, i + size), huberDelta: delta, keep, lbfgs: opts.lbfgs });
  }
  const results = await runTasks<StartsResult>(tasks, workers);
  let best = results[0];
  for (const r of results) if (r.objective < best.objective) best = r;
  const found = results.flatMap((r) => r.optima.map((x, j) => ({ x, f: r.optimaObjectives[j] })));
  const { optima } = distinctOptima(found, keep);
  return chinchillaResult(best.best, best.objective, data.lnN.length, delta, starts.length, optima);
}
