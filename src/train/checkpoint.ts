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
  const config = JSON.parse(st.metadata.config) as TrainConfig;
  const state = JSON.parse(st.metadata.state) as LoopState;
  const weights = new Map<string, Float32Array>();
  for (const [name, t] of st.tensors) if (!name.startsWith("optim.")) weights.set(name, t.data as Float32Array);
  const m = st.tensors.get("optim.m")?.data as Float32Array | undefined;
  const v = st.tensors.get("optim.v")?.data as Float32Array | undefined;
  const optimizer = m && v ? { m, v, step: Number(st.metadata.optimizerStep ?? state.step) } : null;
  return { config, state, weights, optimizer };
}

/** Reads only the loop state from a checkpoint's header (cheap: the tensors are not read); null if absent/damaged. */
export function readCheckpointState(dir: string): LoopState | null {
  const file = join(dir, CHECKPOINT_FILE);
  if (!existsSync(file)) return null;
  const fd = openSync(file, "r");
  try {
    const len = Buffer.alloc(8);
    if (readSync(fd, len, 0, 8, 0) !== 8) return null;
    const hlen = Number(len.readBigUInt64LE(0));
    if (!(hlen > 0 && hlen < 1 << 30)) return null;
    const header = Buffer.alloc(hlen);
    if (readSync(fd, header, 0, hlen, 8) !== hlen) return null;
    const meta = (JSON.parse(header.toString("utf8")) as { __metadata__?: Record<string, string> }).__metadata__;
    return meta?.state ? (JSON.parse(meta.state) as LoopState) : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
