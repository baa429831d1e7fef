/**
 * Hugging Face Trainer state (`trainer_state.json`, written by `Trainer.save_state()` and into every checkpoint
 * folder): `log_history` holds one entry per logging step (`loss`, `learning_rate`, `grad_norm`, `epoch`, `step`,
 * and `num_input_tokens_seen` when `include_num_input_tokens_seen` was on) and one per evaluation (`eval_loss`, ...,
 * `step`); the last entry sums up training (`train_loss` is the mean over the run, not a final loss, and is not
 * used). Top-level fields used: `global_step`, `max_steps`, `train_batch_size`, `total_flos` (the Trainer's
 * 6·N·D count, N without embeddings), `logging_steps`, `eval_steps`, `num_train_epochs`.
 *
 * The model's shape comes from the `config.json` beside it (GPT-2 style: n_layer, n_head, n_embd, n_positions,
 * vocab_size), when it has one.
 */
import type { GPTShape } from "../model/accounting.js";
import { IngestError } from "./errors.js";
import type { LoggedStep, ParsedRun } from "./types.js";

const NONFINITE = "__scaling_lab_nonfinite__";

/**
 * JSON as Python's json module writes it: also accepts the bare NaN, Infinity and -Infinity it emits (JSON.parse
 * does not); they come back as the string {@link NONFINITE} so that a NaN loss is seen, not dropped.
 */
export function parsePythonJson(text: string): unknown {
  return JSON.parse(text.replace(/([:\[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, `$1"${NONFINITE}"`));
}

/** Whether a value parsed by {@link parsePythonJson} was NaN or ±Infinity. */
export function isNonFinite(x: unknown): boolean {
  return x === NONFINITE;
}

/** A GPT-2 style config.json as a shape, or undefined when it lacks one of the fields (another architecture). */
export function gpt2Shape(config: Record<string, unknown>): GPTShape | undefined {
  const n = (k: string) => (Number.isInteger(config[k]) && (config[k] as number) > 0 ? (config[k] as number) : undefined);
  const shape = { nLayer: n("n_layer"), nHead: n("n_head"), nEmbd: n("n_embd"), blockSize: n("n_positions") ?? n("n_ctx"), vocabSize: n("vocab_size") };
  return Object.values(shape).every((v) => v !== undefined) ? (shape as GPTShape) : undefined;
}

function num(x: unknown): number | undefined {
  return typeof x === "number" && Number.isFinite(x) ? x : undefined;
}

/**
 * Reads a trainer_state.json (its text) and, when given, the model's config.json (its parsed object). Throws an
 * IngestError naming the file for a state without log_history, entries without a step, no loss at all, or a
 * non-finite loss.
 */
export function parseTrainerState(file: string, text: string, modelConfig?: Record<string, unknown>): ParsedRun {
  let state: Record<string, unknown>;
  try {
    state = parsePythonJson(text) as Record<string, unknown>;
  } catch (e) {
    throw new IngestError(`${file}: not valid JSON (${(e as Error).message}); the file is truncated or damaged, copy it again`);
  }
  const history = state?.log_history;
  if (!Array.isArray(history)) {
    throw new IngestError(`${file}: no "log_history" list; give the trainer_state.json the Hugging Face Trainer saved (output_dir or a checkpoint-* folder)`);
  }
  const byStep = new Map<number, LoggedStep>();
  history.forEach((entry: Record<string, unknown>, i: number) => {
    const hasLoss = entry && ("loss" in entry || "eval_loss" in entry);
    if (!hasLoss) return; // the closing summary (train_loss, train_runtime, ...) or another metric
    const step = entry.step;
    if (!Number.isInteger(step) || (step as number) < 0) {
      throw new IngestError(`${file}: log_history[${i}] has no integer "step"; the file is damaged or not written by the Trainer`);
    }
    for (const key of ["loss", "eval_loss"]) {
      if (key in entry && (isNonFinite(entry[key]) || num(entry[key]) === undefined)) {
        throw new IngestError(
          `${file}: "${key}" is ${isNonFinite(entry[key]) ? "NaN/Infinity" : JSON.stringify(entry[key])} at step ${step} (training diverged?); import a checkpoint's trainer_state.json from before it, or remove those entries`,
        );
      }
    }
    const row = byStep.get(step as number) ?? { step: step as number };
    if ("loss" in entry) row.trainLoss = entry.loss as number;
    if ("eval_loss" in entry) row.valLoss = entry.eval_loss as number;
    const tokens = num(entry.num_input_tokens_seen);
    if (tokens !== undefined && tokens > 0) row.tokens = tokens;
    const lr = num(entry.learning_rate);
    if (lr !== undefined) row.lr = lr;
    const g = num(entry.grad_norm);
    if (g !== undefined) row.gradNorm = g;
    byStep.set(step as number, row);
  });
  if (byStep.size === 0) {
    throw new IngestError(`${file}: log_history has no "loss" or "eval_loss" entry; train with logging_steps below the run's length, then import again`);
  }
  const trainer: Record<string, unknown> = {};
  for (const k of ["global_step", "max_steps", "train_batch_size", "logging_steps", "eval_steps", "num_train_epochs", "epoch", "total_flos", "num_input_tokens_seen"]) {
    if (state[k] !== undefined) trainer[k] = state[k];
  }
  const run: ParsedRun = {
    file,
    format: "hf-trainer",
    steps: [...byStep.values()].sort((a, b) => a.step - b.step),
    config: { trainer, ...(modelConfig ? { model: modelConfig } : {}) },
  };
  const shape = modelConfig ? gpt2Shape(modelConfig) : undefined;
  if (shape) run.shape = shape;
  const flops = num(state.total_flos);
  if (flops !== undefined && flops > 0) run.totalFlops = flops;
  const last = state.global_step;
  if (Number.isInteger(last) && (last as number) > 0) run.lastStep = last as number;
  return run;
}
