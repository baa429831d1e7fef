/**
 * Fixture labs for the report, server and browser tests, written straight into the store (no training): runs of a
 * small ladder whose learning curves follow a known law L = E + A·N^−α + B·D^−β (with a little deterministic
 * wiggle), optional few-shot evals, an IsoFLOP sweep, and a checkpoint for text samples.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { bytesTokenizer, saveTokenizer } from "../src/data/tokenizer.js";
import { JsBackend } from "../src/engine/index.js";
import { GPT } from "../src/model/gpt.js";
import { type Lab, type MetricRecord, openLab } from "../src/store/index.js";
import { saveCheckpoint } from "../src/train/checkpoint.js";
import { resolveTrainConfig, type TrainConfig } from "../src/train/config.js";
import { planned } from "./helpers.js";

/** The law the fixture curves follow. */
export const LAW = { E: 1.8, A: 60, alpha: 0.34, B: 120, beta: 0.3 };

/** Loss of the fixture law at N parameters after D tokens. */
export function fixtureLoss(N: number, D: number, wiggle = 0): number {
  return LAW.E + LAW.A * N ** -LAW.alpha + LAW.B * D ** -LAW.beta + 0.004 * Math.sin(wiggle);
}

/** Sizes of the fixture ladder (nHead 2, blockSize 32, vocab 256). */
export const SIZES = [
  { name: "f-1", nLayer: 1, nEmbd: 16 },
  { name: "f-2", nLayer: 2, nEmbd: 16 },
  { name: "f-3", nLayer: 2, nEmbd: 32 },
  { name: "f-4", nLayer: 4, nEmbd: 32 },
  { name: "f-5", nLayer: 4, nEmbd: 64 },
];

const BATCH = 1024;

/** The training config of a fixture size (a real config: checkpoints made from it load). */
export function fixtureConfig(size: { nLayer: number; nEmbd: number }, tokens: number, data = "(fixture)"): TrainConfig {
  return resolveTrainConfig(
    { model: { nLayer: size.nLayer, nHead: 2, nEmbd: size.nEmbd, blockSize: 32 }, data, tokens, batchTokens: BATCH, microBatch: 32 },
    256,
  );
}

/** Metric rows of a fixture run from step `from` to `to` (validation every 5 steps and at the end). */
export function fixtureRows(N: number, from: number, to: number, last = to): MetricRecord[] {
  const rows: MetricRecord[] = [];
  for (let step = from; step <= to; step++) {
    const tokens = step * BATCH;
    const loss = fixtureLoss(N, tokens, step);
    const row: MetricRecord = {
      step, tokens, flops: 6 * N * tokens, lr: 1e-3, trainLoss: loss + 0.02 * Math.cos(step), gradNorm: 1, elapsed: step * 60, tokensPerSec: 20,
    };
    if (step % 5 === 0 || step === last) row.valLoss = loss;
    rows.push(row);
  }
  return rows;
}

/** Options of {@link makeFixtureLab}. */
export interface FixtureOptions {
  /** Sizes to add (default all 5). */
  sizes?: number;
  /** Steps per run (default 60). */
  steps?: number;
  /** Leave the largest run "running" halfway (default false: every run done). */
  running?: boolean;
  /** Record few-shot evals (default false). */
  evals?: boolean;
  /** Save a real checkpoint (random weights, bytes tokenizer) in the smallest run's folder (default false). */
  checkpoint?: boolean;
  /** Sweep name (default "fx"). */
  sweep?: string;
}

/** Writes a fixture "curves" sweep into the lab in `dir` and returns the run ids (increasing N). */
export async function makeFixtureLab(dir: string, opts: FixtureOptions = {}): Promise<string[]> {
  const lab = openLab(dir);
  const sweep = opts.sweep ?? "fx";
  const steps = opts.steps ?? 60;
  try {
    lab.ensureSweep({ name: sweep, plan: "curves", ladder: "fixture", spec: { tokens: [steps * BATCH] } });
    const sizes = SIZES.slice(0, opts.sizes ?? SIZES.length);
    const ids: string[] = [];
    for (const [i, s] of sizes.entries()) {
      const id = `${sweep}.${s.name}`;
      const config = fixtureConfig(s, steps * BATCH, lab.runDir(id));
      const run = lab.planRun(planned({ id, sweep, name: s.name, config, extra: { size: s.name } }));
      ids.push(id);
      lab.markRunning(id, { backend: "js", machine: "fixture" });
      const isLive = opts.running === true && i === sizes.length - 1;
      const rows = fixtureRows(run.N, 1, isLive ? Math.floor(steps / 2) : steps, steps);
      lab.appendMetrics(id, rows);
      if (!isLive) finish(lab, id, rows);
      if (opts.checkpoint && i === 0) await saveFixtureCheckpoint(lab.runDir(id), config);
    }
    if (opts.evals) {
      for (const id of ids) {
        const r = lab.getRun(id)!;
        const x = Math.log(r.N);
        lab.recordEval({ model: id, task: "add2", shots: 4, n: 50, accuracy: Math.min(1, Math.max(0, (x - 6) / 6)) });
        lab.recordEval({ model: id, task: "rev3", shots: 4, n: 50, accuracy: Math.min(1, Math.max(0, (x - 8) / 4)) });
      }
    }
    return ids;
  } finally {
    lab.close();
  }
}

function finish(lab: Lab, id: string, rows: MetricRecord[]): void {
  const last = rows[rows.length - 1];
  const vals = rows.filter((m) => m.valLoss !== undefined).map((m) => m.valLoss!);
  lab.finishRun(id, {
    tokens: last.tokens, flops: last.flops, finalTrainLoss: last.trainLoss, finalValLoss: last.valLoss ?? null,
    bestValLoss: Math.min(...vals), elapsed: last.elapsed, backend: "js",
  });
}

/**
 * Writes an IsoFLOP sweep: 3 budgets × 5 sizes, each run trained D = C/(6N) tokens, final loss from the fixture
 * law (whose compute-optimal N lies inside the sizes' range for these budgets).
 */
export function makeIsoflopLab(dir: string, sweep = "iso"): void {
  const lab = openLab(dir);
  try {
    const budgets = [2e10, 8e10, 3.2e11];
    lab.ensureSweep({ name: sweep, plan: "isoflop", ladder: "fixture", spec: { budgets } });
    const sizes = [
      { name: "i-1", nLayer: 1, nEmbd: 8 },
      { name: "i-2", nLayer: 1, nEmbd: 16 },
      { name: "i-3", nLayer: 2, nEmbd: 24 },
      { name: "i-4", nLayer: 2, nEmbd: 48 },
      { name: "i-5", nLayer: 4, nEmbd: 64 },
    ];
    for (const C of budgets) {
      for (const s of sizes) {
        const id = `${sweep}.${s.name}.c${C}`;
        const config = fixtureConfig(s, BATCH * 4);
        const run = lab.planRun(planned({ id, sweep, name: s.name, config, extra: { size: s.name, budget: C } }));
        const D = C / (6 * run.N);
        const loss = fixtureLoss(run.N, D);
        lab.markRunning(id, { backend: "js", machine: "fixture" });
        const rows: MetricRecord[] = [1, 2].map((k) => ({
          step: k, tokens: (D * k) / 2, flops: (C * k) / 2, lr: 1e-3, trainLoss: loss + 0.1 / k, valLoss: loss + 0.05 * (2 - k),
          gradNorm: 1, elapsed: k, tokensPerSec: 1000,
        }));
        lab.appendMetrics(id, rows);
        lab.finishRun(id, { tokens: D, flops: C, finalTrainLoss: loss, finalValLoss: loss, bestValLoss: loss, elapsed: 2, backend: "js" });
      }
    }
  } finally {
    lab.close();
  }
}

/** Saves a randomly initialised model of `config` as a checkpoint in `dir`, with the bytes tokenizer next to it. */
export async function saveFixtureCheckpoint(dir: string, config: TrainConfig): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const backend = new JsBackend();
  try {
    const model = new GPT(backend, config.model, 1);
    await saveCheckpoint(dir, model, config, {
      step: 1, tokens: BATCH, flops: 1, elapsed: 0, data: null, bestValLoss: null, lastValLoss: null, firstLoss: null,
    });
    saveTokenizer(bytesTokenizer(), join(dir, "tokenizer.json"));
  } finally {
    backend.dispose();
  }
}
