/**
 * Nonparametric bootstrap for every fit kind: resample the points with replacement (whole runs for learning
 * curves, within each budget for IsoFLOP), refit, and report percentile intervals. Replicates run on worker
 * threads (both cores of a two-core machine by default); replicate i always draws from the stream
 * (seed, i), so the result is the same with any number of workers.
 */
import { FitError } from "./errors.js";
import { defaultWorkers, runTasks } from "./pool.js";
import type { ScalingPoint } from "./points.js";
import { median, percentileInterval } from "./stats.js";
import { BOOTSTRAP_PARAMS, type FitKind, type FitTask, type ReplicateOptions, type ReplicatesResult } from "./tasks.js";

/** Options for {@link bootstrap}. */
export interface BootstrapOptions {
  /** Number of resamples K (≥ 1). */
  replicates: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
  /** Central level of the percentile intervals (default 0.95). */
  level?: number;
  /** Worker threads (default: one per core, at most 8; 0 or 1 runs inline). */
  workers?: number;
}

/** Bootstrap samples and their summaries. */
export interface BootstrapResult {
  /** Resamples drawn. */
  replicates: number;
  /** Resamples whose refit failed (too few distinct values, no convergence); they are left out. */
  failures: number;
  /** Message of the first failure, if any. */
  firstError?: string;
  /** Interval level. */
  level: number;
  /** Seed used. */
  seed: number;
  /** Parameter names, the order of each sample vector. */
  params: string[];
  /** One parameter vector per successful resample. */
  samples: number[][];
  /** Percentile interval per parameter. */
  intervals: Record<string, [number, number]>;
  /** Median per parameter. */
  medians: Record<string, number>;
}

/**
 * Bootstraps a fit of `kind` on `points`: K resamples, each refitted with `options` (for the Chinchilla law,
 * `options.starts` are the L-BFGS starts of every refit). Throws a {@link FitError} when K < 1 or when every
 * refit failed.
 */
export async function bootstrap(
  kind: FitKind,
  points: readonly ScalingPoint[],
  options: ReplicateOptions,
  bs: BootstrapOptions,
): Promise<BootstrapResult> {
  const K = bs.replicates;
  if (!Number.isInteger(K) || K < 1) throw new FitError(`bootstrap replicates must be a whole number ≥ 1, got ${K}`);
  const level = bs.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new FitError(`interval level must be between 0 and 1, got ${level}`);
  const seed = bs.seed ?? 0;
  const workers = bs.workers ?? defaultWorkers();
  // Several chunks per worker so a slow chunk does not leave a core idle.
  const chunkCount = Math.max(1, Math.min(K, Math.max(1, workers) * 4));
  const size = Math.ceil(K / chunkCount);
  const tasks: FitTask[] = [];
  for (let from = 0; from < K; from += size) {
    const indices = Array.from({ length: Math.min(size, K - from) }, (_, j) => from + j);
    tasks.push({ type: "replicates", kind, points: points.slice(), options, seed, indices });
  }
  const results = await runTasks<ReplicatesResult>(tasks, workers);
  const samples: number[][] = [];
  let failures = 0;
  let firstError: string | undefined;
  for (const r of results) {
    firstError ??= r.firstError;
    for (const s of r.samples) {
      if (s && s.every(Number.isFinite)) samples.push(s);
      else failures++;
    }
  }
  if (samples.length === 0) {
    throw new FitError(`every bootstrap refit failed (${firstError ?? "non-finite parameters"}); add points or drop --bootstrap`);
  }
  const params = [...BOOTSTRAP_PARAMS[kind]];
  const { intervals, medians } = summarize(params, samples, level);
  return { replicates: K, failures, ...(firstError ? { firstError } : {}), level, seed, params, samples, intervals, medians };
}

/** Percentile intervals and medians of each column of `samples`. */
export function summarize(
  params: readonly string[],
  samples: readonly number[][],
  level: number,
): { intervals: Record<string, [number, number]>; medians: Record<string, number> } {
  const intervals: Record<string, [number, number]> = {};
  const medians: Record<string, number> = {};
  params.forEach((name, j) => {
    const col = samples.map((s) => s[j]);
    intervals[name] = percentileInterval(col, level);
    medians[name] = median(col);
  });
  return { intervals, medians };
}
