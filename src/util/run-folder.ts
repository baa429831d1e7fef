/**
 * The layout of a run folder, shared by the trainer that writes it (train/), the store that imports it (store/), the
 * executors that tail it (sweep/) and the readers (report/, server/, cli/):
 *
 * | file | holds |
 * |---|---|
 * | config.json | the resolved training config |
 * | metrics.jsonl | one {@link MetricRecord} per optimizer step, appended as training goes |
 * | summary.json | the training summary, written when training returns (also when it stopped early) |
 * | checkpoint.safetensors | weights, AdamW moments, and the config and loop state in its metadata |
 */

/** The resolved training config of a run. */
export const CONFIG_FILE = "config.json";
/** The run's metrics, one JSON line per optimizer step. */
export const METRICS_FILE = "metrics.jsonl";
/** The training summary. */
export const SUMMARY_FILE = "summary.json";
/** The run's checkpoint. */
export const CHECKPOINT_FILE = "checkpoint.safetensors";

/** One logged training step: one line of metrics.jsonl, and one row of the lab store's metrics table. */
export interface MetricRecord {
  /** Optimizer steps completed. */
  step: number;
  /** Training tokens consumed so far. */
  tokens: number;
  /** Training FLOPs spent so far. */
  flops: number;
  /** Learning rate of this step. */
  lr: number;
  /** Mean training loss of this step, in nats/token. */
  trainLoss: number;
  /** Validation loss, present on steps where validation ran. */
  valLoss?: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** Training seconds so far (summed over resumes). */
  elapsed: number;
  /** Throughput of this step. */
  tokensPerSec: number;
}
