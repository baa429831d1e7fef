/**
 * scaling-lab's fitting library (pure math, no I/O except CSV text parsing): power laws, the compute
 * frontier, the Chinchilla law, IsoFLOP profiles, the bootstrap, compute-optimal allocations and predictions.
 * Every function takes plain arrays of {@link ScalingPoint}s, so any source (a CSV, the run store) can call it.
 */
export { FitError } from "./errors.js";
export { type ScalingPoint, type PointField, completePoints, dropHighestLoss, requireCount, requirePositive } from "./points.js";
export { type CsvTable, type CsvColumns, type CsvPointOptions, DEFAULT_COLUMN_NAMES, parseCsv, pointsFromCsv } from "./csv.js";
export { type Objective, type LbfgsOptions, type LbfgsResult, minimizeLbfgs } from "./lbfgs.js";
export { quantile, median, percentileInterval, fitLine, fitParabola, huber, huberGrad, type LineFit, type ParabolaFit } from "./stats.js";
export {
  type ChinchillaParams,
  type ChinchillaFit,
  type ChinchillaGrid,
  type ChinchillaOptions,
  HOFFMANN_GRID,
  chinchillaLoss,
  chinchillaObjective,
  fitChinchilla,
  gridStarts,
} from "./chinchilla.js";
export { type PowerParams, type PowerFit, type PowerOptions, type PowerVariable, fitPower, powerLoss, powerInverse } from "./power.js";
export { type FrontierFit, fitFrontier, lowerEnvelope } from "./frontier.js";
export { type IsoflopFit, type IsoflopGroup, type IsoflopOptions, fitIsoflop, groupByBudget } from "./isoflop.js";
export { type ComputeOptimal, type OptimalScaling, computeOptimal, computeForLoss, optimalLoss, optimalScaling } from "./derived.js";
export { type BootstrapOptions, type BootstrapResult, bootstrap, summarize } from "./bootstrap.js";
export { type FitKind, BOOTSTRAP_PARAMS } from "./tasks.js";
export { type AnyFit, type Prediction, type PredictQuery, predict } from "./predict.js";
export {
  type ChinchillaReport,
  type FitOfKind,
  type FitReport,
  type FitReportBase,
  type FitReportOf,
  type RunFitOptions,
  FIT_KINDS,
  fitChinchillaParallel,
  runFit,
} from "./run.js";
