/**
 * `runSweep`: plan a sweep over a ladder, record it in the lab store, and train its runs with an executor
 * (re-running skips finished runs and resumes interrupted ones). `--dry-run` prints the plan instead: runs, FLOPs,
 * epochs over the data, and the time it would take here from a measured tokens/s of each size.
 */
import { Dataset } from "../data/loader.js";
import { createBackend, type AnyBackend } from "../engine/index.js";
import { runAccounting } from "../model/accounting.js";
import { GPT } from "../model/gpt.js";
import { syntheticStep } from "../model/synthetic-step.js";
import type { GPTConfig } from "../model/config.js";
import { type Lab, openLab } from "../store/index.js";
import type { RunRecord } from "../store/types.js";
import { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from "../train/config.js";
import { type Executor, type ExecutorHooks, LocalExecutor, type RunOutcome } from "./executor.js";
import { loadLadder } from "./ladder.js";
import { makePlan, type PlanKind, type PlannedRun, planTotals } from "./plan.js";

/** Options of {@link runSweep} and {@link planSweep}. */
export interface SweepOptions {
  /** Lab directory (default ./lab). */
  lab: string;
  /** Sweep name. */
  sweep: string;
  plan: PlanKind;
  /** Ladder name or ladder JSON path. */
  ladder: string;
  /** Prepared data directory. */
  data: string;
  tokens?: number[];
  budgets?: number[];
  /** lr plan: the peak learning rates to try. */
  lrs?: number[];
  seeds?: number[];
  sizes?: string[];
  /** Training-config fields for every run (evalEvery, backend, ...). */
  overrides?: Partial<TrainConfigInput>;
}

/** One planned run with its resolved config and data epochs. */
export interface ResolvedRun extends PlannedRun {
  resolved: TrainConfig;
  /** Passes over the training data this run makes. */
  epochs: number;
}

/** Plans a sweep without touching the lab: the runs with resolved configs. */
export function planSweep(opts: SweepOptions): { runs: ResolvedRun[]; dataset: Dataset } {
  const ladder = loadLadder(opts.ladder);
  const dataset = Dataset.open(opts.data);
  const vocabSize = dataset.tokenizer.vocabSize;
  const runs = makePlan({
    kind: opts.plan, sweep: opts.sweep, ladder, data: opts.data, tokens: opts.tokens, budgets: opts.budgets, lrs: opts.lrs,
    seeds: opts.seeds, vocabSize, sizes: opts.sizes, overrides: opts.overrides,
  });
  const trainTokens = dataset.manifest.sources.reduce((a, s) => a + s.tokens.train, 0);
  return {
    runs: runs.map((r) => ({ ...r, resolved: resolveTrainConfig(r.config, vocabSize), epochs: r.D / trainTokens })),
    dataset,
  };
}

/** Measured training throughput of a shape on a backend: tokens/s over a few steps on random tokens. */
export async function measureThroughput(backend: AnyBackend, model: GPTConfig, microBatch: number, steps = 2): Promise<number> {
  const gpt = new GPT(backend, model, 0);
  const B = microBatch;
  const T = model.blockSize;
  const step = syntheticStep(gpt, B, T);
  await step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  return (B * T * steps) / ((performance.now() - t0) / 1000);
}

/** A dry-run row: a planned run with its estimated training time here. */
export interface DryRunRow {
  id: string;
  size: string;
  N: number;
  params: number;
  D: number;
  C: number;
  epochs: number;
  budget?: number;
  tokensPerSec: number;
  estSeconds: number;
}

/** Estimates every run's time from measured throughput (one measurement per distinct size). */
export async function estimatePlan(runs: ResolvedRun[], backendName = "auto"): Promise<{ rows: DryRunRow[]; backend: string; totalSeconds: number }> {
  const backend = await createBackend(backendName);
  const speed = new Map<string, number>();
  const rows: DryRunRow[] = [];
  try {
    for (const r of runs) {
      let tps = speed.get(r.size);
      if (tps === undefined) {
        tps = await measureThroughput(backend, r.resolved.model, r.resolved.microBatch);
        speed.set(r.size, tps);
      }
      const evalOverhead = 1 + r.resolved.evalTokens / (r.resolved.evalEvery * r.resolved.batchTokens * 3);
      rows.push({
        id: r.id, size: r.size, N: r.N, params: r.params, D: r.D, C: r.C, epochs: r.epochs, budget: r.budget,
        tokensPerSec: tps, estSeconds: (r.D / tps) * evalOverhead,
      });
    }
  } finally {
    backend.dispose();
  }
  return { rows, backend: backend.name, totalSeconds: rows.reduce((a, r) => a + r.estSeconds, 0) };
}

/** Records a plan in the lab (idempotent: existing runs are kept as they are) and returns the stored runs. */
export function recordPlan(lab: Lab, opts: SweepOptions, runs: ResolvedRun[]): RunRecord[] {
  lab.ensureSweep({
    name: opts.sweep, plan: opts.plan, ladder: opts.ladder,
    spec: { data: opts.data, tokens: opts.tokens, budgets: opts.budgets, seeds: opts.seeds, sizes: opts.sizes, ...(opts.lrs ? { lrs: opts.lrs } : {}) },
  });
  return runs.map((r) =>
    lab.planRun({
      id: r.id, sweep: opts.sweep, name: r.size, config: r.resolved, accounting: runAccounting(r.resolved.model), D: r.D, C: r.C,
      extra: { size: r.size, ...(r.budget !== undefined ? { budget: r.budget } : {}) },
    }),
  );
}

/** Result of {@link runSweep}. */
export interface SweepResult {
  sweep: string;
  outcomes: RunOutcome[];
  runs: RunRecord[];
  totals: { runs: number; tokens: number; flops: number };
}

/** Plans, records and trains a sweep (see the module comment). */
export async function runSweep(opts: SweepOptions, executor: Executor = new LocalExecutor(), hooks: ExecutorHooks = {}): Promise<SweepResult> {
  const { runs } = planSweep(opts);
  const lab = openLab(opts.lab);
  try {
    const stored = recordPlan(lab, opts, runs);
    const outcomes = await executor.execute(stored, lab, hooks);
    return { sweep: opts.sweep, outcomes, runs: lab.listRuns({ sweep: opts.sweep }), totals: planTotals(runs) };
  } finally {
    lab.close();
  }
}
