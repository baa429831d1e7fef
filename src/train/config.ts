/**
 * Training configuration: a zod schema with GPT-3's recipe as defaults, model presets by name
 * (presets/models.json), and resolution of a partial user config (preset + flags) into the full config that is
 * saved with every run.
 */
import { existsSync, readFileSync } from "node:fs";
import { totalmem } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { BACKEND_NAMES } from "../engine/index.js";
import { paramCounts } from "../model/accounting.js";
import { type GPTConfig, validateConfig } from "../model/config.js";
import { cooldownSteps } from "./schedule.js";

/** The full, resolved configuration of a training run (saved as config.json in the run directory). */
export const TrainConfigSchema = z.object({
  /** Model preset the shape came from (informational once resolved). */
  preset: z.string().optional(),
  model: z.object({
    vocabSize: z.number().int(),
    blockSize: z.number().int(),
    nLayer: z.number().int(),
    nHead: z.number().int(),
    nEmbd: z.number().int(),
    /** GPT-3's local attention window of the odd layers (0 = all dense); absent in configs older than it. */
    localWindow: z.number().int().min(0).optional(),
  }),
  /** Prepared data directory (scaling-lab prepare --out DIR). */
  data: z.string(),
  /** The data's identity when the run started (manifestHash of src/data/shards.ts): a resume on other data is refused. */
  dataHash: z.string().optional(),
  /** Training tokens D for the whole run (steps = ceil(tokens / batchTokens)). */
  tokens: z.number().int().positive(),
  /** Tokens per optimizer step (GPT-3 gives batch sizes in tokens); reached by gradient accumulation. */
  batchTokens: z.number().int().positive(),
  /** Sequences per micro-batch B (memory knob; does not change the maths). */
  microBatch: z.number().int().positive(),
  /** Peak learning rate. */
  lr: z.number().positive(),
  /** Cosine floor as a fraction of the peak (GPT-3: 10%). */
  minLrFraction: z.number().min(0).max(1),
  /** Warmup as a fraction of the run's steps. */
  warmupFraction: z.number().min(0).max(1),
  /** Learning-rate schedule: GPT-3's cosine, or warmup-stable-decay (src/train/schedule.ts). */
  schedule: z.enum(["cosine", "wsd"]).default("cosine"),
  /** wsd: the cooldown as a fraction of the run's (or a branch's) steps. */
  cooldownFraction: z.number().gt(0).lt(1).default(0.2),
  /** wsd: the cooldown's shape. */
  cooldownShape: z.enum(["1-sqrt", "linear", "cosine"]).default("1-sqrt"),
  /**
   * wsd: token budgets (below `tokens`, multiples of batchTokens) at which a cooldown branch leaves the stable phase;
   * each branch's final validation loss is one more (N, D, C, L) endpoint of the run.
   */
  branches: z.array(z.number().int().positive()).default([]),
  weightDecay: z.number().min(0),
  /** AdamW moment decay rates, in [0, 1) (1 would divide by zero in the bias correction). */
  beta1: z.number().min(0).lt(1),
  beta2: z.number().min(0).lt(1),
  eps: z.number().positive(),
  /** Global gradient-norm clip (0 = off). */
  gradClip: z.number().min(0),
  /** Validation loss every this many steps (and at the end). */
  evalEvery: z.number().int().positive(),
  /** Validation tokens per evaluation. */
  evalTokens: z.number().int().positive(),
  /** Validation tokens of the evaluations that make endpoints (the run's end and its cooldown branches). */
  finalEvalTokens: z.number().int().positive().optional(),
  /** Checkpoint every this many steps (and at the end). */
  checkpointEvery: z.number().int().positive(),
  /** Seed for the weights and the data order. */
  seed: z.number().int(),
  /** Backend: auto | native | js. */
  backend: z.string(),
  /** Kernel threads (0 = all cores). */
  threads: z.number().int().min(0),
});

/** A resolved training configuration. */
export type TrainConfig = z.infer<typeof TrainConfigSchema>;

/** An invalid training configuration (unknown preset, impossible batch, ...); the message names the fix. */
export class TrainConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainConfigError";
  }
}

/** A model preset: shape plus a suggested peak learning rate. */
export interface ModelPreset {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  lr: number;
  vocabSize?: number;
  /** GPT-3's alternating attention: odd layers see the last `localWindow` tokens (absent = dense). */
  localWindow?: number;
  about?: string;
}

/** Path of presets/models.json, from the compiled (dist/src/train) or source (src/train) location. */
function presetsPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ["../../../presets/models.json", "../../presets/models.json"]) {
    const p = resolve(here, rel);
    if (existsSync(p)) return p;
  }
  return resolve(here, "../../../presets/models.json");
}

/** All model presets by name. */
export function modelPresets(): Record<string, ModelPreset> {
  return (JSON.parse(readFileSync(presetsPath(), "utf8")) as { models: Record<string, ModelPreset> }).models;
}

/** A preset by name, or a TrainConfigError listing the known names. */
export function modelPreset(name: string): ModelPreset {
  const all = modelPresets();
  const p = all[name];
  if (!p) throw new TrainConfigError(`unknown preset "${name}" (known presets: ${Object.keys(all).join(", ")})`);
  return p;
}

/** What a user may give: any field, plus a preset name; model fields may be given flat. */
export type TrainConfigInput = Partial<Omit<TrainConfig, "model">> & {
  model?: Partial<GPTConfig>;
};

/**
 * Branch budgets as steps: a value ≤ 1 is a fraction of the run's tokens, a larger one a token count. Each must end
 * before the run does and start its cooldown after the warmup; the one-line errors say which flag to change.
 */
export function resolveBranches(budgets: readonly number[], steps: number, batchTokens: number, warmupSteps: number, cooldownFraction: number): number[] {
  const out = new Set<number>();
  for (const b of budgets) {
    if (!(b > 0) || !Number.isFinite(b)) throw new TrainConfigError(`cooldown branch budget ${b} must be a positive fraction of the run (e.g. 0.25) or a token count`);
    const branchSteps = b <= 1 ? Math.round(b * steps) : Math.round(b / batchTokens);
    if (branchSteps >= steps) {
      throw new TrainConfigError(
        `cooldown branch budget ${b} (${branchSteps * batchTokens} tokens) is not below the run's ${steps * batchTokens} tokens (give fractions below 1 or token counts below --tokens; the run's own end is always an endpoint)`,
      );
    }
    const start = branchSteps - cooldownSteps(branchSteps, cooldownFraction);
    if (start < warmupSteps) {
      throw new TrainConfigError(
        `cooldown branch budget ${b} (${branchSteps} steps) would start its cooldown at step ${start}, inside the ${warmupSteps}-step warmup (use a larger budget or a smaller --warmup-fraction)`,
      );
    }
    out.add(branchSteps * batchTokens);
  }
  return [...out].sort((a, b) => a - b);
}

/** Warmup steps of a run: round(warmupFraction · steps), at least 1. */
export function warmupSteps(c: Pick<TrainConfig, "warmupFraction">, steps: number): number {
  return Math.max(1, Math.round(c.warmupFraction * steps));
}

/** GPT-3's recipe and sensible small-scale defaults. */
export const TRAIN_DEFAULTS = {
  minLrFraction: 0.1,
  warmupFraction: 0.02,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  gradClip: 1.0,
  cooldownFraction: 0.2,
  seed: 1337,
  backend: "auto",
  threads: 0,
} as const;

/**
 * Resolves a partial config into a full one: preset shape → overrides → defaults; vocabSize from the tokenizer.
 * Throws {@link TrainConfigError} for an unknown preset or a batch that does not fit.
 */
export function resolveTrainConfig(input: TrainConfigInput, vocabSize: number): TrainConfig {
  const m = input.model ?? {};
  const explicitShape = m.nLayer !== undefined && m.nHead !== undefined && m.nEmbd !== undefined && m.blockSize !== undefined;
  // a full explicit shape needs no preset (the preset name is then only a label, e.g. "cpu-xs/xs-3"); with the
  // learning rate given too, nothing is read from presets/models.json (a browser bundle has no such file)
  const presetName = input.preset ?? "cpu-1m";
  const preset: Partial<ModelPreset> =
    explicitShape && (input.lr !== undefined || !(presetName in modelPresets())) ? {} : modelPreset(presetName);
  const model = validateConfig({
    vocabSize: m.vocabSize ?? vocabSize,
    blockSize: m.blockSize ?? preset.blockSize,
    nLayer: m.nLayer ?? preset.nLayer,
    nHead: m.nHead ?? preset.nHead,
    nEmbd: m.nEmbd ?? preset.nEmbd,
    localWindow: m.localWindow ?? preset.localWindow ?? 0,
  });
  if (model.vocabSize < vocabSize) {
    throw new TrainConfigError(`vocabSize ${model.vocabSize} is smaller than the tokenizer's ${vocabSize} (drop --vocab-size or raise it)`);
  }
  const T = model.blockSize;
  const microBatch = input.microBatch ?? Math.max(1, Math.floor(4096 / T));
  const batchTokens = input.batchTokens ?? microBatch * T * 2;
  if (batchTokens % (microBatch * T) !== 0) {
    throw new TrainConfigError(
      `batchTokens ${batchTokens} is not a multiple of microBatch×blockSize = ${microBatch}×${T} = ${microBatch * T} (choose e.g. ${microBatch * T * Math.max(1, Math.round(batchTokens / (microBatch * T)))})`,
    );
  }
  const tokens = input.tokens ?? batchTokens * 200;
  const steps = Math.ceil(tokens / batchTokens);
  const cfg = {
    preset: presetName,
    model,
    data: input.data ?? "",
    tokens,
    batchTokens,
    microBatch,
    lr: input.lr ?? preset.lr ?? kaplanLearningRate(paramCounts(model).nonEmbedding),
    minLrFraction: input.minLrFraction ?? TRAIN_DEFAULTS.minLrFraction,
    warmupFraction: input.warmupFraction ?? TRAIN_DEFAULTS.warmupFraction,
    schedule: input.schedule ?? "cosine",
    cooldownFraction: input.cooldownFraction ?? TRAIN_DEFAULTS.cooldownFraction,
    cooldownShape: input.cooldownShape ?? "1-sqrt",
    branches: [] as number[],
    weightDecay: input.weightDecay ?? TRAIN_DEFAULTS.weightDecay,
    beta1: input.beta1 ?? TRAIN_DEFAULTS.beta1,
    beta2: input.beta2 ?? TRAIN_DEFAULTS.beta2,
    eps: input.eps ?? TRAIN_DEFAULTS.eps,
    gradClip: input.gradClip ?? TRAIN_DEFAULTS.gradClip,
    evalEvery: input.evalEvery ?? Math.max(1, Math.ceil(steps / 20)),
    evalTokens: input.evalTokens ?? Math.max(T, Math.min(65536, batchTokens * 4)),
    finalEvalTokens: input.finalEvalTokens,
    checkpointEvery: input.checkpointEvery ?? Math.max(1, Math.ceil(steps / 10)),
    seed: input.seed ?? TRAIN_DEFAULTS.seed,
    backend: input.backend ?? TRAIN_DEFAULTS.backend,
    threads: input.threads ?? TRAIN_DEFAULTS.threads,
  };
  if (!(BACKEND_NAMES as readonly string[]).includes(cfg.backend)) {
    throw new TrainConfigError(`unknown backend "${cfg.backend}" (use one of: ${BACKEND_NAMES.join(", ")})`);
  }
  const r = TrainConfigSchema.safeParse(cfg);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new TrainConfigError(`invalid training config: ${issue.path.join(".")}: ${issue.message}`);
  }
  checkMemory(model, microBatch);
  const branches = input.branches ?? [];
  if (branches.length > 0) {
    if (r.data.schedule !== "wsd") throw new TrainConfigError("cooldown branches need the wsd schedule (add --schedule wsd)");
    r.data.branches = resolveBranches(branches, steps, batchTokens, warmupSteps(r.data, steps), r.data.cooldownFraction);
  }
  return r.data;
}

/** Largest typed array (bytes) this runtime allocates. */
const MAX_BUFFER_BYTES = 2 ** 32;

/**
 * Host memory training a model takes, roughly, in bytes: weights, gradients and the two AdamW moments (4 floats per
 * parameter) plus the activations of one micro-batch of B sequences (those the model preallocates: per layer about
 * 16·B·T·C floats and the B·nHead·T² attention map, the (B, T, V) logits, a few more (B, T, C) buffers). `largest` is
 * the largest single buffer.
 */
export function trainingMemory(model: GPTConfig, microBatch: number): { bytes: number; largest: number } {
  const { nEmbd: C, nHead: NH, nLayer: L, vocabSize: V, blockSize: T } = model;
  const BT = microBatch * T;
  const att = microBatch * NH * T * T;
  const params = paramCounts(model).total;
  const acts = L * (16 * BT * C + att) + 12 * BT * C + BT * V + att;
  return { bytes: 4 * (4 * params + acts), largest: 4 * Math.max(params, BT * V, att, 4 * BT * C) };
}

/** Refuses a shape or micro-batch that cannot fit in this machine's memory (one line naming the flags to lower). */
function checkMemory(model: GPTConfig, microBatch: number): void {
  const need = trainingMemory(model, microBatch);
  const gb = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 2 : 1)} GB`;
  // a browser (the playground) does not say how much memory the machine has: only the buffer limit applies there
  const total = typeof process === "object" ? totalmem() : Infinity;
  if (need.bytes > total || need.largest > MAX_BUFFER_BYTES) {
    throw new TrainConfigError(
      `this model needs about ${gb(need.bytes)} of memory to train (micro-batch ${microBatch} × ${model.blockSize} tokens, vocab ${model.vocabSize}${need.largest > MAX_BUFFER_BYTES ? `, one buffer of ${gb(need.largest)}, above the ${gb(MAX_BUFFER_BYTES)} a buffer may hold` : ""})${Number.isFinite(total) ? `; this machine has ${gb(total)}` : ""}: lower --micro-batch, --vocab-size or the model's size`,
    );
  }
}

/**
 * Kaplan et al. (2020) eq. D.1: the learning rate that worked across their sizes, LR(N) ≈ 0.003239 − 0.0001395·ln N
 * with N the non-embedding parameters; capped at 3e-3 for the tiniest models.
 */
export function kaplanLearningRate(nonEmbedding: number): number {
  return Math.min(3e-3, 0.003239 - 0.0001395 * Math.log(Math.max(1, nonEmbedding)));
}

/** Optimizer steps of a run: ceil(tokens / batchTokens). */
export function totalSteps(c: TrainConfig): number {
  return Math.ceil(c.tokens / c.batchTokens);
}

/** Micro-batches per optimizer step (gradient accumulation). */
export function accumSteps(c: TrainConfig): number {
  return c.batchTokens / (c.microBatch * c.model.blockSize);
}
