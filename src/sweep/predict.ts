/**
 * Predict before train: fit a scaling law to the finished runs of a sweep except the held-out one(s) — by default
 * the largest model — and predict the held-out run's final validation loss with a bootstrap interval. When the
 * held-out run has finished, the prediction is scored against it (error in %).
 *
 * Default law: L(N) = E + (N0/N)^α over final validation losses (runs of a `curves` sweep share D, so N is the
 * variable). `law: "compute"` fits L(C) instead; `law: "chinchilla"` fits L(N, D) for sweeps with varied D.
 *
 * One-layer models are left out of the fit by default when enough deeper runs remain: Kaplan et al. (2020, §3.1 and
 * Figure 6) found that with non-embedding N, models of every depth fall on one trend "except models with fewer than
 * 2 layers", and that is what a tiny ladder shows too (its 1-layer rungs flatten the curve and bias the
 * extrapolation). `minLayers: 1` keeps them.
 */
import { runFit, type FitReport, type ScalingPoint } from "../fit/index.js";
import type { Lab } from "../store/index.js";
import type { RunRecord } from "../store/types.js";

/** Which law the prediction uses. */
export type PredictLaw = "params" | "compute" | "chinchilla";

/** Options of {@link predictHeldOut}. */
export interface PredictOptions {
  law?: PredictLaw;
  /** Hold out every run with planned C ≥ this (default: hold out the largest-N run only). */
  belowCompute?: number;
  /** Bootstrap resamples for the interval (default 200). */
  bootstrap?: number;
  /** Interval level (default 0.9). */
  level?: number;
  /** Fit only runs with at least this many layers, when enough remain (default 2, after Kaplan et al.). */
  minLayers?: number;
  /**
   * Fit the irreducible loss E of a power law (default true; needs 4 runs). False fits L = k·X^(−α) alone, which
   * 3 runs determine (a ladder of 4 sizes predicting its largest); "auto" fits E where 4 runs allow it.
   */
  irreducible?: boolean | "auto";
  seed?: number;
  /** Bootstrap worker threads (default: cores). */
  workers?: number;
}

/** One held-out prediction. */
export interface HeldOutPrediction {
  run: string;
  N: number;
  D: number;
  C: number;
  predicted: number;
  interval: [number, number] | null;
  /** Final validation loss once the run has finished (null before). */
  actual: number | null;
  /** 100·(predicted − actual)/actual, when actual is known. */
  errorPct: number | null;
  /** Whether the actual loss fell inside the interval. */
  inInterval: boolean | null;
}

/** Result of {@link predictHeldOut}. */
export interface PredictResult {
  sweep: string;
  law: PredictLaw;
  fitPoints: number;
  fitRuns: string[];
  /** Finished runs left out of the fit (shallower than minLayers). */
  excluded: number;
  report: FitReport;
  predictions: HeldOutPrediction[];
}

/** A prediction that cannot be made; the message names the fix. */
export class PredictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PredictError";
  }
}

/** Fits on all but the held-out runs of `sweep` and predicts the held-out ones (see the module comment). */
export async function predictHeldOut(lab: Lab, sweep: string, opts: PredictOptions = {}): Promise<PredictResult> {
  return predictFromRuns(lab.listRuns({ sweep }), sweep, opts);
}

/** {@link predictHeldOut} on the runs of a sweep given as records (from a lab, or from a browser playground's memory). */
export async function predictFromRuns(runs: readonly RunRecord[], sweep: string, opts: PredictOptions = {}): Promise<PredictResult> {
  const law = opts.law ?? "params";
  if (runs.length === 0) throw new PredictError(`sweep ${sweep} has no runs (run scaling-lab sweep --sweep ${sweep} first)`);
  const heldOut: RunRecord[] =
    opts.belowCompute !== undefined
      ? runs.filter((r) => r.C >= opts.belowCompute!)
      : [runs.reduce((a, b) => (b.N > a.N || (b.N === a.N && b.C > a.C) ? b : a))];
  if (heldOut.length === 0) throw new PredictError(`no run of ${sweep} has C ≥ ${opts.belowCompute} FLOPs to hold out (lower the threshold)`);
  const held = new Set(heldOut.map((r) => r.id));
  const finished = runs.filter((r) => !held.has(r.id) && r.status === "done" && r.finalValLoss !== null);
  const deep = finished.filter((r) => r.nLayer >= (opts.minLayers ?? 2));
  const irreducible = opts.irreducible === "auto" ? finished.length >= 4 : (opts.irreducible ?? true);
  const need = law === "chinchilla" ? 6 : irreducible ? 4 : 3;
  const train = deep.length >= need ? deep : finished;
  if (train.length < need) {
    throw new PredictError(
      `only ${train.length} finished runs below the held-out one(s) in ${sweep}; the ${law} law needs at least ${need} (finish more runs of the sweep)`,
    );
  }
  const points: ScalingPoint[] = train.map((r) => ({ run: r.id, N: r.N, D: r.tokensDone || r.D, C: r.flopsDone || r.C, loss: r.finalValLoss! }));
  const queries = heldOut.map((r) => (law === "chinchilla" ? { N: r.N, D: r.D } : law === "compute" ? { C: r.C } : { N: r.N }));
  const report = await runFit(law === "chinchilla" ? "chinchilla" : "power", points, {
    variable: law === "compute" ? "C" : "N",
    irreducible,
    bootstrap: opts.bootstrap ?? 200,
    level: opts.level ?? 0.9,
    seed: opts.seed ?? 0,
    workers: opts.workers,
    predict: queries,
  });
  const predictions = heldOut.map((r, i): HeldOutPrediction => {
    const p = report.predictions![i];
    const predicted = p.loss!;
    const interval = (p.intervals?.loss as [number, number] | undefined) ?? null;
    const actual = r.status === "done" ? r.finalValLoss : null;
    return {
      run: r.id, N: r.N, D: r.D, C: r.C, predicted, interval, actual,
      errorPct: actual !== null ? (100 * (predicted - actual)) / actual : null,
      inInterval: actual !== null && interval ? actual >= interval[0] && actual <= interval[1] : null,
    };
  });
  return { sweep, law, fitPoints: points.length, fitRuns: train.map((r) => r.id), excluded: finished.length - train.length, report, predictions };
}
