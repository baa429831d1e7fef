/**
 * What a parser reads out of a foreign training log: the logged steps and whatever the source says about the
 * model (shape, parameter count, tokens per step, its own config). src/ingest/resolve.ts turns it into a run.
 */
import type { GPTShape } from "../model/accounting.js";

/** The formats `scaling-lab import` reads. */
export type SourceFormat = "hf-trainer" | "tensorboard" | "csv" | "jsonl" | "text-log";

/** Every format, in the order `--format` lists them. */
export const SOURCE_FORMATS: readonly SourceFormat[] = ["hf-trainer", "tensorboard", "csv", "jsonl", "text-log"];

/** One logged step: the number of optimizer steps done and what was measured there (losses in nats/token). */
export interface LoggedStep {
  step: number;
  /** Tokens trained so far, when the source records them. */
  tokens?: number;
  trainLoss?: number;
  valLoss?: number;
  lr?: number;
  gradNorm?: number;
  /** Seconds since the start of training, when the source records them. */
  elapsed?: number;
}

/** One run read from a source file (a file can hold several: a W&B panel export has one per run). */
export interface ParsedRun {
  /** The file it came from (as given). */
  file: string;
  format: SourceFormat;
  /** The run's name within the file (W&B panel exports), else undefined. */
  runName?: string;
  /** Logged steps in increasing step order, one entry per step. */
  steps: LoggedStep[];
  /** The model's shape, when the source records it (config.json beside trainer_state.json, llm.c's table, ...). */
  shape?: GPTShape;
  /** Non-embedding parameters, when the source records them without a shape. */
  params?: number;
  /** Tokens per optimizer step, when the source records them. */
  tokensPerStep?: number;
  /** Training FLOPs the trainer counted in all (Hugging Face's total_flos, 6·N·D with non-embedding N). */
  totalFlops?: number;
  /** The last step the trainer reports (Hugging Face's global_step), when it does. */
  lastStep?: number;
  /** The configuration the source holds, stored with the run. */
  config: Record<string, unknown>;
}

/** Column names for table sources (CSV, JSONL), from the command's flags. */
export interface ColumnNames {
  step?: string;
  loss?: string;
  valLoss?: string;
  tokens?: string;
}

/** Options every parser gets. */
export interface ParseOptions {
  /** Force a format instead of detecting it. */
  format?: SourceFormat;
  /** Column names for CSV/JSONL. */
  columns?: ColumnNames;
}
