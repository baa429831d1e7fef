/**
 * Where the training loop's records go: a run folder on disk (src/train/run-folder.ts: config.json,
 * metrics.jsonl, checkpoint.safetensors, endpoints.jsonl, summary.json), or memory (the browser playground, which
 * keeps finished runs itself). The loop's arithmetic is the same for both; only this seam differs.
 */
import type { GPT } from "../model/gpt.js";
import type { Checkpoint, LoopState } from "./checkpoint.js";
import type { TrainConfig } from "./config.js";
import type { Endpoint } from "./endpoints.js";
import type { MetricRecord } from "../util/run-folder.js";
import type { TrainSummary } from "./summary.js";

/** The records of one run, as the training loop writes them. */
export interface RunSink {
  /** Where the records go, for messages ("… kept the last good checkpoint in WHERE"). */
  readonly where: string;
  /** Whether a checkpoint exists to resume from. */
  hasCheckpoint(): boolean;
  /** Loads the checkpoint (only called when {@link hasCheckpoint} is true). */
  loadCheckpoint(): Checkpoint;
  /** Saves the model, its optimizer state, the config and the loop state. */
  saveCheckpoint(model: GPT<object, object>, config: TrainConfig, state: LoopState): Promise<void>;
  /** Starts the metrics: empty for a new run, or keeping the rows up to `resumedAt` for a resumed one. */
  startMetrics(resumedAt: number | null): void;
  /** Records the run's resolved config. */
  writeConfig(config: TrainConfig): void;
  /** Appends one metric row (one optimizer step). */
  appendMetric(row: MetricRecord): void;
  /** Records an endpoint, replacing one at the same token count. */
  writeEndpoint(e: Endpoint): void;
  /** Keeps only the branch endpoints whose budgets are in `branchesDone` (a resumed run redoes the others). */
  keepEndpoints(branchesDone: readonly number[]): void;
  /** The endpoints recorded so far, in token order. */
  endpoints(): Endpoint[];
  /** Records the summary when the loop returns. */
  writeSummary(summary: TrainSummary): void;
}

/** A run kept in memory: what a {@link memorySink} has recorded. */
export interface MemoryRun {
  config: TrainConfig | null;
  metrics: MetricRecord[];
  endpoints: Endpoint[];
  summary: TrainSummary | null;
}

/**
 * A sink that keeps the run in memory (no checkpoints: a run that stops is started again). `onMetric` sees every
 * row as it is recorded.
 */
export function memorySink(where = "memory", onMetric?: (row: MetricRecord) => void): RunSink & { run: MemoryRun } {
  const run: MemoryRun = { config: null, metrics: [], endpoints: [], summary: null };
  return {
    where,
    run,
    hasCheckpoint: () => false,
    loadCheckpoint: () => {
      throw new Error(`${where} keeps no checkpoints; start the run again`);
    },
    saveCheckpoint: async () => {},
    startMetrics: (resumedAt) => {
      run.metrics = resumedAt === null ? [] : run.metrics.filter((m) => m.step <= resumedAt);
    },
    writeConfig: (config) => {
      run.config = config;
    },
    appendMetric: (row) => {
      run.metrics.push(row);
      onMetric?.(row);
    },
    writeEndpoint: (e) => {
      run.endpoints = [...run.endpoints.filter((x) => x.tokens !== e.tokens), e].sort((a, b) => a.tokens - b.tokens);
    },
    keepEndpoints: (done) => {
      run.endpoints = run.endpoints.filter((x) => x.kind === "branch" && done.includes(x.tokens));
    },
    endpoints: () => run.endpoints.slice(),
    writeSummary: (summary) => {
      run.summary = summary;
    },
  };
}
