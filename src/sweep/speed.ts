/**
 * How fast a run trains here, measured per shape and cached: the time of one optimizer step, of validation and of a
 * checkpoint, on a given backend and thread count. The sweep's dry run, the executors' choice of how many runs to
 * train at once, the demo's ETA and `npm run bench -- --ladder` all read these numbers, so they agree.
 *
 * The cache is a JSON file (SCALING_LAB_CACHE, else ~/.cache/scaling-lab/speed.json) keyed by the machine (CPU model,
 * cores), the backend, the thread count, the shape and the scaling-lab version: measuring a shape costs a few steps
 * once per machine.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { createBackend, type AnyBackend } from "../engine/index.js";
import { GPT } from "../model/gpt.js";
import { writeSafetensors } from "../model/safetensors.js";
import { BENCH_HPARAMS } from "../model/synthetic-step.js";
import { accumSteps, type TrainConfig, totalSteps } from "../train/config.js";
import { writeFileAtomic } from "../util/files.js";
import { Rng } from "../util/rng.js";
import { packageVersion } from "../util/version.js";

/** Measured costs of one shape on one backend and thread count. */
export interface ShapeSpeed {
  /** Seconds of one optimizer step (all its micro-batches, forward, backward, AdamW). */
  stepSec: number;
  /** Validation throughput (forward only), tokens per second. */
  evalTokensPerSec: number;
  /** Seconds to write one checkpoint (weights and AdamW moments). */
  checkpointSec: number;
  /** Kernel threads the measurement used. */
  threads: number;
  /** Backend that was measured. */
  backend: string;
}

/** The estimated wall time of a run, by part. */
export interface RunTimeEstimate {
  seconds: number;
  trainSeconds: number;
  evalSeconds: number;
  checkpointSeconds: number;
  /** Optimizer steps, cooldown branches included. */
  steps: number;
}

/** Seconds a `scaling-lab train` process takes to start and load its data (measured on a 2-core machine). */
export const PROCESS_START_SEC = 0.6;

/** Measures a shape: a warm-up step, then `steps` optimizer steps, one validation batch and one checkpoint write. */
export async function measureShapeSpeed(config: TrainConfig, backend: AnyBackend, steps = 2): Promise<ShapeSpeed> {
  const model = new GPT(backend, config.model, 0);
  const B = config.microBatch;
  const T = config.model.blockSize;
  const accum = accumSteps(config);
  const rng = new Rng(0);
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  const fill = () => {
    for (let i = 0; i < x.length; i++) {
      x[i] = rng.int(config.model.vocabSize);
      y[i] = rng.int(config.model.vocabSize);
    }
  };
  const step = async () => {
    model.zeroGrad();
    for (let m = 0; m < accum; m++) {
      fill();
      await model.forward(x, y, B, T, { gradScale: 1 / accum });
      model.backward(1 / accum);
    }
    await model.step(BENCH_HPARAMS);
  };
  await step();
  let t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  const stepSec = (performance.now() - t0) / 1000 / steps;
  fill();
  t0 = performance.now();
  await model.forward(x, y, B, T);
  const evalTokensPerSec = (B * T) / ((performance.now() - t0) / 1000);
  const dir = mkdtempSync(join(os.tmpdir(), "sl-speed-"));
  try {
    const p = await backend.read(model.params);
    t0 = performance.now();
    writeSafetensors(join(dir, "c.safetensors"), { w: { shape: [p.length], data: p }, m: { shape: [p.length], data: p }, v: { shape: [p.length], data: p } });
    const checkpointSec = (performance.now() - t0) / 1000;
    return { stepSec, evalTokensPerSec, checkpointSec, threads: backend.info().threads, backend: backend.name };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.freeActivations();
  }
}

/** The wall time of a run from its shape's speed: its steps and cooldown branches, validations, checkpoints, start. */
export function estimateRunSeconds(config: TrainConfig, speed: ShapeSpeed): RunTimeEstimate {
  const mainSteps = totalSteps(config);
  const branchSteps = (config.branches ?? []).reduce((a, tokens) => a + Math.max(1, Math.round(config.cooldownFraction * (tokens / config.batchTokens))), 0);
  const evals = Math.ceil(mainSteps / config.evalEvery) + (config.branches ?? []).length;
  const checkpoints = Math.ceil(mainSteps / config.checkpointEvery) + 2 * (config.branches ?? []).length;
  const trainSeconds = (mainSteps + branchSteps) * speed.stepSec;
  const endpoints = 1 + (config.branches ?? []).length;
  const endpointTokens = config.finalEvalTokens ?? config.evalTokens;
  const evalSeconds = ((evals - endpoints) * config.evalTokens + endpoints * endpointTokens) / speed.evalTokensPerSec;
  const checkpointSeconds = checkpoints * speed.checkpointSec;
  return { seconds: PROCESS_START_SEC + trainSeconds + evalSeconds + checkpointSeconds, trainSeconds, evalSeconds, checkpointSeconds, steps: mainSteps + branchSteps };
}

/** The training FLOPs a run does: its own, plus its cooldown branches' steps. */
export function runWorkFlops(config: TrainConfig, C: number): number {
  const perToken = C / config.tokens;
  const branchTokens = (config.branches ?? []).reduce((a, tokens) => a + Math.max(1, Math.round(config.cooldownFraction * (tokens / config.batchTokens))) * config.batchTokens, 0);
  return C + perToken * branchTokens;
}

/** Where measured speeds are kept. */
export function speedCachePath(): string {
  return process.env.SCALING_LAB_CACHE ? join(process.env.SCALING_LAB_CACHE, "speed.json") : join(os.homedir(), ".cache", "scaling-lab", "speed.json");
}

/** The cache key of a shape on this machine. */
function speedKey(config: TrainConfig, backend: string, threads: number): string {
  const cpu = os.cpus()[0]?.model ?? "cpu";
  const m = config.model;
  return [packageVersion(), cpu, os.availableParallelism(), backend, threads, m.nLayer, m.nHead, m.nEmbd, m.blockSize, m.vocabSize, config.microBatch, accumSteps(config)].join("|");
}

function readCache(): Record<string, ShapeSpeed> {
  try {
    return JSON.parse(readFileSync(speedCachePath(), "utf8")) as Record<string, ShapeSpeed>;
  } catch {
    return {};
  }
}

/**
 * The speed of a shape on `backendName` with `threads` threads: from the cache, else measured (and cached).
 * `onMeasure` is told before a measurement starts, so a command can say what it is doing.
 */
export async function shapeSpeed(
  config: TrainConfig, backendName: string, threads: number, onMeasure?: (what: string) => void,
): Promise<ShapeSpeed> {
  const probe = await createBackend(backendName, { threads });
  try {
    const key = speedKey(config, probe.name, threads);
    const cache = readCache();
    if (cache[key]) return cache[key];
    const m = config.model;
    onMeasure?.(`measuring the speed of ${m.nLayer}×${m.nEmbd} on ${probe.name} with ${threads} thread${threads === 1 ? "" : "s"} (once per machine)`);
    const speed = await measureShapeSpeed(config, probe);
    const fresh = readCache(); // another process may have added entries meanwhile
    fresh[key] = speed;
    try {
      mkdirSync(dirname(speedCachePath()), { recursive: true });
      writeFileAtomic(speedCachePath(), JSON.stringify(fresh, null, 1));
    } catch {
      // an unwritable cache only costs a measurement next time
    }
    return speed;
  } finally {
    probe.dispose();
  }
}
