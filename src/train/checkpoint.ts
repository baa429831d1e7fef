/**
 * Checkpoints: one safetensors file per run holding the weights by name, the AdamW moments and, in its metadata,
 * the resolved config and the loop state (step, tokens, data position, RNG). Written atomically (temp file + fsync +
 * rename), so a crash mid-write leaves the previous checkpoint intact; a truncated file is refused with a clear error.
 */
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import type { GPT } from "../model/gpt.js";
import { readSafetensors, SafetensorsError, type StWriteTensor, writeSafetensors } from "../model/safetensors.js";
import { CHECKPOINT_FILE } from "../util/run-folder.js";
import type { TrainConfig } from "./config.js";

/** Format tag stored in the metadata. */
export const CHECKPOINT_FORMAT = "scaling-lab-checkpoint/1";

/** The training loop's state at a checkpoint. */
export interface LoopState {
  /** Optimizer steps completed. */
  step: number;
  /** Training tokens consumed. */
  tokens: number;
  /** Training FLOPs so far. */
  flops: number;
  /** Wall-clock seconds of training so far (summed over resumes). */
  elapsed: number;
  /** The data loader's position (opaque JSON). */
  data: unknown;
  /** Best validation loss so far (null before the first evaluation). */
  bestValLoss: number | null;
  /** Last validation loss (null before the first evaluation). */
  lastValLoss: number | null;
  /** Loss of the first step (for divergence detection). */
  firstLoss: number | null;
  /** Token budgets of the cooldown branches already run and recorded (wsd; absent in older checkpoints). */
  branchesDone?: number[];
  /** Training loss of the last step (absent in older checkpoints), so a resumed finished run still reports it. */
  lastTrainLoss?: number | null;
}

/** A loaded checkpoint. */
export interface Checkpoint {
  config: TrainConfig;
  state: LoopState;
  weights: Map<string, Float32Array>;
  optimizer: { m: Float32Array; v: Float32Array; step: number } | null;
}

/** A checkpoint that cannot be used; the message names the file and the fix. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Writes the model, its optimizer state, the config and the loop state to DIR/checkpoint.safetensors atomically. */
export async function saveCheckpoint(dir: string, model: GPT<object, object>, config: TrainConfig, state: LoopState): Promise<void> {
  const tensors = new Map<string, StWriteTensor>();
  const weights = await model.exportWeights();
  for (const s of model.layout) tensors.set(s.name, { shape: s.shape, data: weights.get(s.name)! });
  const opt = await model.exportOptimizer();
  if (opt) {
    tensors.set("optim.m", { shape: [opt.m.length], data: opt.m });
    tensors.set("optim.v", { shape: [opt.v.length], data: opt.v });
  }
  writeSafetensors(join(dir, CHECKPOINT_FILE), tensors, {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(config),
    state: JSON.stringify(state),
    optimizerStep: String(opt?.step ?? 0),
  });
}

/** Whether DIR holds a checkpoint. */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_FILE));
}

/** Loads DIR/checkpoint.safetensors (or a checkpoint file path), refusing truncated or foreign files clearly. */
export function loadCheckpoint(dirOrFile: string): Checkpoint {
  const file = dirOrFile.endsWith(".safetensors") ? dirOrFile : join(dirOrFile, CHECKPOINT_FILE);
  if (!existsSync(file)) throw new CheckpointError(`no checkpoint at ${file} (train first, or drop --resume)`);
  let st;
  try {
    st = readSafetensors(file);
  } catch (e) {
    if (e instanceof SafetensorsError) {
      throw new CheckpointError(`checkpoint ${file} is damaged: ${e.message}`);
    }
    throw e;
  }
  if (st.metadata.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${file} is not a scaling-lab checkpoint (format "${st.metadata.format ?? "none"}"; expected ${CHECKPOINT_FORMAT})`);
  }
  const { config, state } = parseHeader(st.metadata, file);
  const weights = new Map<string, Float32Array>();
  for (const [name, t] of st.tensors) if (!name.startsWith("optim.")) weights.set(name, t.data as Float32Array);
  const m = st.tensors.get("optim.m")?.data as Float32Array | undefined;
  const v = st.tensors.get("optim.v")?.data as Float32Array | undefined;
  const optimizer = m && v ? { m, v, step: Number(st.metadata.optimizerStep ?? state.step) } : null;
  return { config, state, weights, optimizer };
}

/** The config and loop state in a checkpoint's metadata, checked; a CheckpointError naming the fix otherwise. */
function parseHeader(meta: Record<string, string> | undefined, file: string): { config: TrainConfig; state: LoopState } {
  const damaged = (what: string) =>
    new CheckpointError(
      `checkpoint ${file} is damaged (${what}); it cannot be resumed: restore it from a copy, or delete it to train the run again from the start`,
    );
  if (meta?.format !== CHECKPOINT_FORMAT) throw damaged(`no ${CHECKPOINT_FORMAT} metadata`);
  let config: TrainConfig;
  let state: LoopState;
  try {
    config = JSON.parse(meta.config) as TrainConfig;
  } catch {
    throw damaged("its config is not valid JSON");
  }
  try {
    state = JSON.parse(meta.state) as LoopState;
  } catch {
    throw damaged("its loop state is not valid JSON");
  }
  if (!config || typeof config !== "object" || !config.model) throw damaged("its config has no model");
  if (!state || typeof state !== "object" || !Number.isInteger(state.step) || state.step < 0) throw damaged("its loop state has no step");
  return { config, state };
}

/**
 * Reads only the config and loop state from a checkpoint's header (cheap: the tensors are not read). Null when DIR
 * has no checkpoint; a {@link CheckpointError} when it has one that cannot be read (a resume must not start over).
 */
export function readCheckpointHeader(dir: string): { config: TrainConfig; state: LoopState } | null {
  const file = join(dir, CHECKPOINT_FILE);
  if (!existsSync(file)) return null;
  let meta: Record<string, string> | undefined;
  const fd = openSync(file, "r");
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) !== 8) throw new CheckpointError(`checkpoint ${file} is truncated (no header); delete it to train the run again from the start`);
    const hlen = Number(len.readBigUInt64LE(0));
    const header = Buffer.alloc(hlen > 0 && hlen < 1 << 30 ? hlen : 0);
    if (header.length === 0 || readSync(fd, header, 0, hlen, 8) !== hlen) {
      throw new CheckpointError(`checkpoint ${file} is truncated or not a safetensors file; delete it to train the run again from the start`);
    }
    try {
      meta = (JSON.parse(header.toString("utf8")) as { __metadata__?: Record<string, string> }).__metadata__;
    } catch {
      throw new CheckpointError(`checkpoint ${file} has a header that is not valid JSON; delete it to train the run again from the start`);
    }
  } finally {
    closeSync(fd);
  }
  return parseHeader(meta, file);
}

/** The loop state of DIR's checkpoint (see {@link readCheckpointHeader}): null without one, CheckpointError if damaged. */
export function readCheckpointState(dir: string): LoopState | null {
  return readCheckpointHeader(dir)?.state ?? null;
}
