/**
 * The records the lab store reads and writes. Field names follow the papers and the rest of scaling-lab
 * (nLayer, nHead, nEmbd, blockSize, vocabSize; N = non-embedding parameters, D = tokens, C = FLOPs).
 * The store defines these shapes structurally, so the training loop's TrainConfig and TrainSummary can be passed as
 * they are without the store depending on the trainer; a metrics line (MetricRecord) is defined once, in util/.
 */
/** Lifecycle of a run: planned → running → done | stopped (interrupted, resumable) | failed (error recorded). */
export type RunStatus = "planned" | "running" | "done" | "failed" | "stopped";

/** Every run status, in lifecycle order. */
export const RUN_STATUSES: readonly RunStatus[] = ["planned", "running", "done", "failed", "stopped"];

/** The shape columns of a run (GPTShape in src/model/accounting.ts has these fields). */
export interface ModelShape {
  vocabSize: number;
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
}

/**
 * A run's parameter counts and training FLOPs per token, as the model's accounting computes them
 * (`runAccounting` in src/model/accounting.ts): the store records these numbers, it never computes them.
 */
export interface RunAccounting {
  /** Every trainable parameter. */
  params: number;
  /** Non-embedding parameters (Kaplan's N). */
  N: number;
  /** Training FLOPs per token; the planned C is this × D unless the planner gives C. */
  flopsPerToken: number;
}

/**
 * The part of a resolved training config (TrainConfig in src/train/config.ts) the store reads; the whole object is
 * stored as JSON and returned as it was given.
 */
export interface RunConfig {
  /** Model shape. */
  model: ModelShape;
  /** Training tokens asked for (the loop trains ceil(tokens / batchTokens) steps). */
  tokens: number;
  /** Tokens per optimizer step. */
  batchTokens: number;
  /** Seed for the weights and data order. */
  seed?: number;
  /** Everything else the config holds (lr, schedule, data path, backend, ...). */
  [key: string]: unknown;
}

/** A sweep: a named set of runs produced by one plan over one ladder. */
export interface SweepRecord {
  /** Unique name (the `--sweep` flag). */
  name: string;
  /** Plan kind, e.g. "curves", "isoflop", "grid" (null when not given). */
  plan: string | null;
  /** Ladder name, e.g. "cpu-xs" (null when not given). */
  ladder: string | null;
  /** The plan's parameters as given (budgets, seeds, ...). */
  spec: Record<string, unknown>;
  /** ISO 8601 creation time. */
  created: string;
}

/** Input of {@link Lab.ensureSweep}. */
export interface SweepInput {
  name: string;
  plan?: string | null;
  ladder?: string | null;
  spec?: Record<string, unknown>;
}

/** One stored run. */
export interface RunRecord {
  /** Unique id; also the run folder's name under DIR/runs/. */
  id: string;
  /** Sweep it belongs to (null for a stand-alone run). */
  sweep: string | null;
  /** Human name (defaults to the id). */
  name: string;
  status: RunStatus;
  /** The resolved training config, as given to planRun. */
  config: RunConfig;
  /** Shape columns; 0 when the shape is unknown (a run imported with only its parameter count). */
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  vocabSize: number;
  /** Every trainable parameter. */
  params: number;
  /** Non-embedding parameters (Kaplan's N). */
  N: number;
  /** Planned training tokens D (steps × batchTokens unless the planner gave its own). */
  D: number;
  /** Planned training FLOPs C (the loop's accounting, 6N + 6·nLayer·nCtx·d per token, unless the planner gave its own). */
  C: number;
  /** Tokens trained so far (from the latest metric row or the summary). */
  tokensDone: number;
  /** FLOPs spent so far. */
  flopsDone: number;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
  /** Lowest validation loss logged. */
  bestValLoss: number | null;
  seed: number | null;
  /** Backend that trained it ("native", "wasm", "js", "webgpu"). */
  backend: string | null;
  /** Machine description (see describeMachine). */
  machine: string | null;
  /** The error of a failed run. */
  error: string | null;
  /** ISO 8601 times: planned, first started, ended (null while running). */
  created: string;
  started: string | null;
  ended: string | null;
  /** Training time in seconds, summed over resumes (the loop's `elapsed`). */
  wallSeconds: number | null;
  /** Run folder: relative to the lab directory when inside it, absolute otherwise. */
  dir: string;
  /** How many times the run was started (1 + resumes). */
  attempts: number;
  /** ISO 8601 time of the last metrics write or state change while running (stale-claim detection). */
  heartbeat: string | null;
  /** Planner-specific extras (budget index, nominal budget, ...). */
  extra: Record<string, unknown>;
}

/** Input of {@link Lab.planRun}: the shape columns come from `config.model`, params and N from `accounting`. */
export interface PlanRunInput {
  /** Unique id: letters, digits, '.', '_', '-' (it names the run folder). */
  id: string;
  /** Sweep (must exist: call ensureSweep first); omit for a stand-alone run. */
  sweep?: string | null;
  /** Human name; defaults to the id. */
  name?: string;
  /** The resolved training config. */
  config: RunConfig;
  /** Parameter counts and FLOPs per token of `config.model` (`runAccounting(config.model)`). */
  accounting: RunAccounting;
  /** Planned tokens; default ceil(tokens / batchTokens) × batchTokens (what the loop trains). */
  D?: number;
  /** Planned FLOPs; default accounting.flopsPerToken × D (the loop's accounting). */
  C?: number;
  /** Run folder; default runs/<id> inside the lab. */
  dir?: string;
  /** Planner-specific extras, stored as JSON. */
  extra?: Record<string, unknown>;
}

/** One logged training step: one line of a run folder's metrics.jsonl (defined with the run folder's layout). */
export type { MetricRecord } from "../util/run-folder.js";
import type { MetricRecord } from "../util/run-folder.js";

/** What {@link Lab.finishRun} records: TrainSummary (src/train/loop.ts) has all of these fields. */
export interface FinishInput {
  /** "done" (default) or "stopped" (interrupted, resumable). */
  status?: "done" | "stopped";
  tokens: number;
  flops: number;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
  bestValLoss: number | null;
  /** Training seconds (summed over resumes). */
  elapsed: number;
  backend?: string;
}

/** Who is running a run. */
export interface RunnerInfo {
  /** Backend name ("native", "wasm", "js", "webgpu"). */
  backend: string;
  /** Machine description; default {@link describeMachine}(). */
  machine?: string;
}

/** A point for the scaling-law fits (compatible with ScalingPoint in src/fit/points.ts). */
export interface FitPoint {
  /** Run id. */
  run: string;
  /** Non-embedding parameters. */
  N: number;
  /** Every parameter, embeddings included (endpointPoints only). */
  params?: number;
  /** Tokens trained at this point. */
  D: number;
  /** FLOPs spent at this point. */
  C: number;
  /** Loss in nats/token. */
  loss: number;
  /** Step of the metric row (frontierPoints only). */
  step?: number;
}

/** A cooled-down endpoint of a run (RUN_DIR/endpoints.jsonl; Endpoint in src/train/endpoints.ts has these fields). */
export interface EndpointRecord {
  /** `final`: the run's own end; `branch`: a WSD cooldown branch. */
  kind: "final" | "branch";
  /** Optimizer steps of the equivalent run. */
  step: number;
  /** Training tokens D of the equivalent run. */
  tokens: number;
  /** Training FLOPs C of the equivalent run. */
  flops: number;
  /** Validation loss after the cooldown. */
  valLoss: number | null;
  /** Training loss of the last step. */
  trainLoss: number | null;
}

/** A stored analysis of a sweep (src/analysis/): the result as JSON, with the scaling-lab version that made it. */
export interface AnalysisRecord {
  sweep: string;
  /** ISO 8601 time it was stored. */
  created: string;
  /** scaling-lab version and training-code hash of the analysis. */
  version: string;
  /** The analysis (its type belongs to src/analysis/). */
  result: unknown;
}

/** Which loss a fit point carries. */
export type LossKind = "val" | "train";

/** One few-shot evaluation result. */
export interface EvalRecord {
  /** A run id or a model path. */
  model: string;
  task: string;
  shots: number;
  /** Number of examples scored. */
  n: number;
  accuracy: number | null;
  meanLogLik: number | null;
  /** ISO 8601 time of the (latest) recording. */
  created: string;
  extra: Record<string, unknown>;
}

/** Input of {@link Lab.recordEval}. */
export interface EvalInput {
  model: string;
  task: string;
  shots: number;
  n: number;
  accuracy?: number | null;
  meanLogLik?: number | null;
  extra?: Record<string, unknown>;
}

/**
 * A run trained elsewhere (another trainer's logs, a published table), for {@link Lab.recordExternalRuns}. Its
 * shape may be unknown (then the shape columns are stored as 0 and N comes from `N`).
 */
export interface ExternalRunInput {
  /** Unique id: letters, digits, '.', '_', '-'. */
  id: string;
  /** Human name (the report's size label); defaults to the id. */
  name?: string;
  /** What the source holds (its own config, where it came from), stored as the run's config. */
  config: Record<string, unknown>;
  /** The model's shape when the source records it, else null. */
  shape: ModelShape | null;
  /** Non-embedding parameters (Kaplan's N). */
  N: number;
  /** Every parameter, when known (default N). */
  params?: number;
  /** Tokens trained. */
  D: number;
  /** Training FLOPs. */
  C: number;
  /** Logged steps (replace any stored for this id). */
  metrics: MetricRecord[];
  finalTrainLoss: number | null;
  finalValLoss: number | null;
  /** Folder the run came from (stored as the run's dir). */
  dir: string;
  /** Stored as the run's extras; `external: true` is added. */
  extra?: Record<string, unknown>;
}

/** What {@link Lab.recordExternalRuns} did. */
export interface ExternalRunsResult {
  /** Ids of runs created, updated (a changed source) and left as they were (the same source again). */
  created: string[];
  updated: string[];
  unchanged: string[];
}
