/**
 * The run store: the lab directory (lab.sqlite + runs/), its schema and migrations, and the queries the sweeps,
 * fits, evals, reports and dashboard use. See {@link openLab}.
 */
export { DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_LAB_DIR, LAB_DB_FILE, Lab, describeMachine, openLab } from "./lab.js";
export type { ClaimOptions, EvalFilter, ImportOptions, OpenLabOptions, PointOptions, RunFilter } from "./lab.js";
export { LabError, type LabErrorCode } from "./errors.js";
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from "./schema.js";
export { parseMetricsJsonl, readRunFolder, type RunFolder } from "./folder.js";
export { RUN_BUNDLE_FORMAT, type BundledRun, type RunBundle, type RunBundleHeader, importRunBundle, parseRunBundle, runBundleText } from "./bundle.js";
export { CSV_COLUMNS, csvField, formatCount, formatDuration, formatFlops, formatShape, runsCsv, runsTable } from "./format.js";
export {
  RUN_STATUSES,
  type EvalInput,
  type EvalRecord,
  type ExternalRunInput,
  type ExternalRunsResult,
  type FinishInput,
  type FitPoint,
  type LossKind,
  type MetricRecord,
  type ModelShape,
  type PlanRunInput,
  type RunAccounting,
  type RunConfig,
  type RunnerInfo,
  type RunRecord,
  type RunStatus,
  type SweepInput,
  type SweepRecord,
} from "./types.js";
