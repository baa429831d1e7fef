/**
 * The training loop: GPT-3's recipe (AdamW β 0.9/0.95, wd 0.1, warmup + cosine to 10%, clip 1.0, batch in tokens
 * with gradient accumulation), validation every N steps, metrics as JSONL, atomic checkpoints, bit-exact resume,
 * and a clear stop on NaN/Inf or divergence that keeps the last good checkpoint. Records go to a {@link RunSink}:
 * the run folder (CLI), or memory (the browser playground).
 */
import { createBackend, type AnyBackend } from "../engine/index.js";
import { flopsPerToken, paramCounts } from "../model/accounting.js";
import { GPT } from "../model/gpt.js";
import type { MetricRecord } from "../util/run-folder.js";
import { yieldToEventLoop } from "../util/yield.js";
import type { LoopState } from "./checkpoint.js";
import { accumSteps, type TrainConfig, totalSteps, warmupSteps } from "./config.js";
import { folderSink } from "./run-folder.js";
import { cooldownSteps, learningRate, type LrSchedule } from "./schedule.js";
import type { RunSink } from "./sink.js";
import type { TrainSummary } from "./summary.js";

export { truncateMetrics } from "./run-folder.js";
export type { TrainSummary } from "./summary.js";

/** Where training batches come from (a prepared dataset, or a synthetic stream in tests). */
export interface TrainData {
  /** Tokenizer vocabulary size. */
  readonly vocabSize: number;
  /** Fills x and y (B·T each; y = x shifted by one) with the next training batch and advances the position. */
  nextTrain(x: Int32Array, y: Int32Array, B: number, T: number): void;
  /**
   * Deterministic validation batches covering up to `maxTokens` held-out tokens: the same batches on every call.
   * Each call of the returned iterator fills x and y and returns false when there are no more batches.
   */
  valBatches(B: number, T: number, maxTokens: number): (x: Int32Array, y: Int32Array) => boolean;
  /** The training position (JSON-serialisable), for checkpoints. */
  getState(): unknown;
  /** Restores a position from {@link getState}. */
  setState(state: unknown): void;
}

/** Progress events for a progress bar or a log: the step's metrics line and the run's totals. */
export interface ProgressEvent extends MetricRecord {
  steps: number;
  totalTokens: number;
  etaSec: number;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** The run directory (created): config.json, metrics.jsonl, checkpoint.safetensors, summary.json (util/run-folder.ts). */
  outDir?: string;
  /** Where the records go instead of `outDir` (e.g. {@link memorySink} in a browser). */
  sink?: RunSink;
  /** Continue from outDir's checkpoint (bit-exact with the same backend and seed). */
  resume?: boolean;
  /** Called after every optimizer step. */
  onProgress?: (e: ProgressEvent) => void;
  /** Called once with the backend in use. */
  onStart?: (info: { backend: AnyBackend; params: number; nonEmbedding: number; steps: number; resumedAt: number }) => void;
  /** Polled after every step: return true to checkpoint and stop early (e.g. on SIGINT). */
  shouldStop?: () => boolean;
  /** An existing backend to use instead of creating one from config.backend (the caller disposes it). */
  backend?: AnyBackend;
  /** Stop (as if interrupted) after this many steps in this process — for tests of resume. */
  maxStepsThisRun?: number;
}


/** Training stopped because the loss became NaN/Inf or diverged; the last good checkpoint is kept. */
export class DivergenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DivergenceError";
  }
}

/** Divergence: the smoothed training loss rose this many nats above the first step's loss. */
const DIVERGENCE_MARGIN = 1.0;

/** Training FLOPs per token of a config (6N + 6·V·d + 6·nLayer·nCtx·d: every product, the head included), from the one accounting function. */
export function runFlopsPerToken(c: TrainConfig): number {
  return flopsPerToken(c.model, c.model.blockSize).training;
}

/**
 * Trains a model as configured; resolves to a summary. Metrics and checkpoints go to `opts.sink` or `opts.outDir`. A
 * backend this function creates is disposed however training ends (done, stopped, diverged or failed).
 */
export async function train(config: TrainConfig, data: TrainData, opts: TrainOptions): Promise<TrainSummary> {
  if (!opts.sink && opts.outDir === undefined) throw new Error("train() needs outDir or sink");
  const sink = opts.sink ?? folderSink(opts.outDir!);
  const backend = opts.backend ?? (await createBackend(config.backend, { threads: config.threads || undefined }));
  try {
    return await trainWith(backend, sink, config, data, opts);
  } finally {
    if (!opts.backend) backend.dispose();
  }
}

/** The loop itself, on a backend the caller owns. */
async function trainWith(backend: AnyBackend, sink: RunSink, config: TrainConfig, data: TrainData, opts: TrainOptions): Promise<TrainSummary> {
  const dir = sink.where;
  const model = new GPT(backend, config.model, config.seed);
  const steps = totalSteps(config);
  const accum = accumSteps(config);
  const B = config.microBatch;
  const T = config.model.blockSize;
  const fpt = runFlopsPerToken(config);

  let state: LoopState = {
    step: 0, tokens: 0, flops: 0, elapsed: 0, data: null, bestValLoss: null, lastValLoss: null, firstLoss: null,
  };
  if (opts.resume && sink.hasCheckpoint()) {
    const ck = sink.loadCheckpoint();
    model.loadWeights(ck.weights);
    if (ck.optimizer) model.loadOptimizer(ck.optimizer);
    state = ck.state;
    data.setState(state.data);
    sink.startMetrics(state.step);
  } else {
    sink.startMetrics(null);
  }
  sink.writeConfig(config);
  const counts = paramCounts(config.model);
  opts.onStart?.({ backend, params: counts.total, nonEmbedding: counts.nonEmbedding, steps, resumedAt: state.step });

  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  const hp = { lr: 0, beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay, maxNorm: config.gradClip };
  const schedule: LrSchedule = {
    kind: config.schedule ?? "cosine", lr: config.lr, warmupSteps: warmupSteps(config, steps), decaySteps: steps,
    minLrFraction: config.minLrFraction, cooldownSteps: cooldownSteps(steps, config.cooldownFraction ?? 0.2),
    cooldownShape: config.cooldownShape,
  };
  // cooldown branches (wsd): each leaves the stable phase at its start step and ends at its budget
  const branches = (config.branches ?? []).map((tokens) => {
    const end = Math.round(tokens / config.batchTokens);
    return { tokens, end, start: end - cooldownSteps(end, config.cooldownFraction ?? 0.2) };
  });
  state.branchesDone ??= [];
  if (opts.resume) sink.keepEndpoints(state.branchesDone);
  const branchStepsLeft = () => branches.filter((b) => !state.branchesDone!.includes(b.tokens)).reduce((a, b) => a + b.end - b.start, 0);
  const endpointTokens = config.finalEvalTokens ?? config.evalTokens;
  let ema: number | null = null;
  let lastTrainLoss = NaN;
  let stepsThisRun = 0;
  let status: TrainSummary["status"] = "done";
  const runStart = performance.now();
  const elapsedBefore = state.elapsed;

  const evaluate = async (tokens = config.evalTokens): Promise<number> => {
    const next = data.valBatches(B, T, tokens);
    let sum = 0;
    let count = 0;
    while (next(x, y)) {
      const r = await model.forward(x, y, B, T);
      sum += r.loss! * r.count;
      count += r.count;
    }
    return count > 0 ? sum / count : NaN;
  };

  /** One optimizer step (index `step`, 0-based) at the schedule's LR; returns the mean loss and the gradient norm. */
  const trainStep = async (step: number, sched: LrSchedule): Promise<{ loss: number; gradNorm: number }> => {
    hp.lr = learningRate(sched, step);
    model.zeroGrad();
    let lossSum = 0;
    for (let micro = 0; micro < accum; micro++) {
      data.nextTrain(x, y, B, T);
      const r = await model.forward(x, y, B, T, { gradScale: 1 / accum });
      lossSum += r.loss!;
      model.backward(1 / accum);
    }
    const loss = lossSum / accum;
    if (!Number.isFinite(loss)) {
      throw new DivergenceError(
        `training loss became ${loss} at step ${step + 1}; stopped and kept the last good checkpoint in ${dir} (lower --lr or raise warmup, then --resume)`,
      );
    }
    const gradNorm = await model.step(hp);
    if (!Number.isFinite(gradNorm)) {
      throw new DivergenceError(
        `gradient norm became ${gradNorm} at step ${step + 1}; stopped and kept the last good checkpoint in ${dir} (lower --lr, then --resume)`,
      );
    }
    return { loss, gradNorm };
  };

  /**
   * Runs the cooldown branch `b` from the current (stable-phase) state, records its endpoint, and puts the model,
   * optimizer and data back where the main run left them. A checkpoint taken first makes a kill inside the branch
   * redo the branch on resume, bit-exactly.
   */
  const runBranch = async (b: (typeof branches)[number]): Promise<void> => {
    state.data = data.getState();
    await sink.saveCheckpoint(model, config, state);
    const weights = (await backend.read(model.params)).slice();
    const optimizer = await model.exportOptimizer();
    const dataState = data.getState();
    const sched: LrSchedule = { ...schedule, decaySteps: b.end, cooldownSteps: b.end - b.start };
    let last = { loss: NaN, gradNorm: NaN };
    for (let step = b.start; step < b.end; step++) last = await trainStep(step, sched);
    const valLoss = await evaluate(endpointTokens);
    sink.writeEndpoint({ kind: "branch", step: b.end, tokens: b.tokens, flops: fpt * b.tokens, valLoss, trainLoss: last.loss });
    backend.write(model.params, weights);
    if (optimizer) model.loadOptimizer(optimizer);
    data.setState(dataState);
    state.branchesDone!.push(b.tokens);
    state.elapsed = elapsedBefore + (performance.now() - runStart) / 1000;
    await sink.saveCheckpoint(model, config, state);
  };

  while (state.step < steps) {
    for (const b of branches) if (b.start === state.step && !state.branchesDone.includes(b.tokens)) await runBranch(b);
    const t0 = performance.now();
    const { loss, gradNorm } = await trainStep(state.step, schedule);
    state.step += 1;
    state.tokens += config.batchTokens;
    state.flops += fpt * config.batchTokens;
    state.firstLoss ??= loss;
    ema = ema === null ? loss : 0.9 * ema + 0.1 * loss;
    if (state.step > schedule.warmupSteps + 10 && ema > state.firstLoss + DIVERGENCE_MARGIN) {
      throw new DivergenceError(
        `training diverged: smoothed loss ${ema.toFixed(3)} rose above the first step's ${state.firstLoss.toFixed(3)} at step ${state.step}; stopped and kept the last good checkpoint in ${dir} (lower --lr)`,
      );
    }
    lastTrainLoss = loss;
    const stepSec = (performance.now() - t0) / 1000;
    state.elapsed = elapsedBefore + (performance.now() - runStart) / 1000;
    const row: MetricRecord = {
      step: state.step, tokens: state.tokens, flops: state.flops, lr: hp.lr, trainLoss: loss, gradNorm,
      elapsed: Number(state.elapsed.toFixed(3)), tokensPerSec: Math.round(config.batchTokens / stepSec),
    };
    stepsThisRun += 1;
    // CPU backends never leave the microtask queue: yield to the event loop once a step, so signal handlers (Ctrl-C →
    // checkpoint and stop) and timers get to run during training
    await yieldToEventLoop();
    const stopNow = (opts.shouldStop?.() ?? false) || (opts.maxStepsThisRun !== undefined && stepsThisRun >= opts.maxStepsThisRun);
    const last = state.step === steps;
    if (state.step % config.evalEvery === 0 || last) {
      const val = await evaluate(last ? endpointTokens : config.evalTokens);
      row.valLoss = val;
      state.lastValLoss = val;
      if (Number.isFinite(val) && (state.bestValLoss === null || val < state.bestValLoss)) state.bestValLoss = val;
    }
    sink.appendMetric(row);
    if (last) {
      sink.writeEndpoint({ kind: "final", step: state.step, tokens: state.tokens, flops: state.flops, valLoss: state.lastValLoss!, trainLoss: loss });
    }
    if (state.step % config.checkpointEvery === 0 || last || stopNow) {
      state.data = data.getState();
      await sink.saveCheckpoint(model, config, state);
    }
    const secPerStep = (performance.now() - runStart) / 1000 / stepsThisRun;
    opts.onProgress?.({ ...row, steps, totalTokens: steps * config.batchTokens, etaSec: secPerStep * (steps - state.step + branchStepsLeft()) });
    if (stopNow && !last) {
      status = "stopped";
      break;
    }
  }
  const summary: TrainSummary = {
    status, steps: state.step, tokens: state.tokens, flops: state.flops, finalTrainLoss: lastTrainLoss,
    finalValLoss: state.lastValLoss, bestValLoss: state.bestValLoss, elapsed: state.elapsed,
    params: counts.total, nonEmbeddingParams: counts.nonEmbedding, backend: backend.name, endpoints: sink.endpoints(),
  };
  sink.writeSummary(summary);
  return summary;
}
