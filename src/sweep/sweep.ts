/**
 * `runSweep`: plan a sweep over a ladder, record it in the lab store, and train its runs with an executor
 * (re-running skips finished runs and resumes interrupted ones). `--dry-run` prints the plan instead: runs, FLOPs,
 * epochs over the data, and the time it would take here, scheduled as the local executor trains it from the measured
 * speed of each shape (estimate.ts).
 */
import { createHash } from "node:crypto";
import { Dataset } from "../data/loader.js";
import { repeatedDataWarning } from "../data/mixture.js";
import { createBackend } from "../engine/index.js";
import { runAccounting } from "../model/accounting.js";
import { type Lab, openLab } from "../store/index.js";
import type { RunConfig, RunRecord, SweepRecord } from "../store/types.js";
import { manifestHash } from "../data/shards.js";
import { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from "../train/config.js";
import { defaultThreads } from "../util/threads.js";
import { estimateRuns } from "./estimate.js";
import { type Executor, type ExecutorHooks, LocalExecutor, type RunOutcome } from "./executor.js";
import { type Ladder, loadLadder } from "./ladder.js";
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

/** A dry-run row: a planned run with its estimated wall time here. */
export interface DryRunRow {
  id: string;
  size: string;
  N: number;
  params: number;
  D: number;
  C: number;
  epochs: number;
  budget?: number;
  /** Training tokens per second of the run's shape on its threads (measured, cached per machine). */
  tokensPerSec: number;
  /** Kernel threads the run gets (1 when runs train side by side). */
  threads: number;
  /** The run's wall time: its steps and cooldown branches, validations, checkpoints and start. */
  estSeconds: number;
}

/** Options of {@link estimatePlan}. */
export interface EstimatePlanOptions {
  backend?: string;
  /** Threads to share between runs (default: SCALING_LAB_THREADS or every core). */
  threads?: number;
  /** Runs at a time, as the local executor takes it (default auto). */
  concurrency?: number | "auto";
  /** Told what is measured while it is (a shape's speed, once per machine). */
  onMeasure?: (what: string) => void;
}

/**
 * Estimates every run's wall time and the whole plan's, as the local executor would train it here: the same threads
 * per run and the same order, from the measured speed of each shape (speed.ts, cached per machine).
 */
export async function estimatePlan(runs: ResolvedRun[], opts: EstimatePlanOptions = {}): Promise<{ rows: DryRunRow[]; backend: string; threads: number; totalSeconds: number }> {
  const threads = Math.max(1, opts.threads ?? defaultThreads());
  const probe = await createBackend(opts.backend ?? "auto");
  const backend = probe.name;
  probe.dispose();
  const est = await estimateRuns(runs.map((r) => ({ id: r.id, C: r.C, config: r.resolved })), {
    threads, backend, concurrency: opts.concurrency ?? "auto", onMeasure: opts.onMeasure,
  });
  const byId = new Map(est.runs.map((e) => [e.id, e]));
  const rows = runs.map((r): DryRunRow => {
    const e = byId.get(r.id)!;
    return {
      id: r.id, size: r.size, N: r.N, params: r.params, D: r.D, C: r.C, epochs: r.epochs, budget: r.budget,
      tokensPerSec: r.resolved.batchTokens / e.speed.stepSec, threads: e.threads, estSeconds: e.seconds,
    };
  });
  return { rows, backend, threads, totalSeconds: est.seconds };
}

/**
 * A warning when a plan reads its training data more than once (see repeatedDataWarning), naming how many runs do and
 * the most epochs; null when no run repeats its data.
 */
export function repetitionWarning(runs: readonly { epochs: number }[]): string | null {
  const over = runs.filter((r) => r.epochs > 1.0001);
  if (over.length === 0) return null;
  const most = Math.max(...over.map((r) => r.epochs));
  const who = runs.length === 1 ? "the run reads" : over.length === runs.length ? `all ${runs.length} runs read up to` : `${over.length} of ${runs.length} runs read up to`;
  return repeatedDataWarning(who, most);
}

/** A sweep re-run that would mix other runs into it (other data, ladder or plan); the message names the difference. */
export class SweepMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SweepMismatchError";
  }
}

/** The identity of a ladder's definition: sha256 (16 hex digits) of its sizes and recipe as loaded. */
export function ladderHash(ladder: Ladder): string {
  return createHash("sha256").update(JSON.stringify({ ...ladder, name: undefined })).digest("hex").slice(0, 16);
}

/**
 * Records a plan in the lab (idempotent: existing runs are kept as they are) and returns the stored runs. A sweep
 * that exists already must have been planned the same way: the same plan kind, the same ladder definition and the
 * same data (by manifest hash); otherwise a {@link SweepMismatchError} names the difference, since its fits would
 * silently mix two studies.
 */
export function recordPlan(lab: Lab, opts: SweepOptions, runs: ResolvedRun[]): RunRecord[] {
  const spec = {
    data: opts.data, dataHash: manifestHash(opts.data) ?? undefined, ladderHash: ladderHash(loadLadder(opts.ladder)),
    tokens: opts.tokens, budgets: opts.budgets, seeds: opts.seeds, sizes: opts.sizes, ...(opts.lrs ? { lrs: opts.lrs } : {}),
  };
  const existing = lab.getSweep(opts.sweep);
  if (existing) checkSameSweep(existing, opts, spec);
  lab.ensureSweep({ name: opts.sweep, plan: opts.plan, ladder: opts.ladder, spec });
  return runs.map((r) =>
    lab.planRun({
      id: r.id, sweep: opts.sweep, name: r.size, config: r.resolved, accounting: runAccounting(r.resolved.model), D: r.D, C: r.C,
      extra: { size: r.size, ...(r.budget !== undefined ? { budget: r.budget } : {}) },
    }),
  );
}

/** Refuses a re-run of `existing` with another plan kind, ladder or data (see {@link recordPlan}). */
function checkSameSweep(existing: SweepRecord, opts: SweepOptions, spec: { dataHash?: string; ladderHash: string }): void {
  const fix = `use another --sweep name for a new study, or re-run it as it was planned`;
  const was = existing.spec as { data?: string; dataHash?: string; ladderHash?: string };
  if (existing.plan !== null && existing.plan !== opts.plan) {
    const what = existing.plan === "import" ? "holds imported runs" : `was planned with --plan ${existing.plan}`;
    throw new SweepMismatchError(`sweep "${opts.sweep}" ${what}, not a --plan ${opts.plan} sweep; ${fix}`);
  }
  if (was.ladderHash !== undefined ? was.ladderHash !== spec.ladderHash : existing.ladder !== null && existing.ladder !== opts.ladder) {
    const same = existing.ladder === opts.ladder;
    throw new SweepMismatchError(
      same
        ? `the ladder ${opts.ladder} has changed since sweep "${opts.sweep}" was planned over it (its sizes or recipe: ${was.ladderHash} ≠ ${spec.ladderHash}); ${fix}`
        : `sweep "${opts.sweep}" was planned over ladder ${existing.ladder}, not ${opts.ladder}; ${fix}`,
    );
  }
  if (was.dataHash !== undefined && was.dataHash !== spec.dataHash) {
    throw new SweepMismatchError(
      `sweep "${opts.sweep}" was trained on other data (${was.data ?? "?"}, manifest ${was.dataHash}) than --data ${opts.data} (manifest ${spec.dataHash ?? "missing"}); ${fix}`,
    );
  }
}

/**
 * Why a run folder's config does not belong in `sweep` (other data, vocabulary, context, batch or recipe than the
 * sweep's runs), or null when it does: `runs --import --sweep` refuses a foreign run rather than mix it into fits.
 */
export function importMismatch(sweep: SweepRecord, sweepRuns: readonly RunRecord[], config: RunConfig): string | null {
  const dataHash = (sweep.spec as { dataHash?: string }).dataHash;
  if (dataHash !== undefined && typeof config.dataHash === "string" && config.dataHash !== dataHash) {
    return `it was trained on other data (manifest ${config.dataHash}) than sweep ${sweep.name} (${dataHash})`;
  }
  const ref = sweepRuns[0]?.config;
  if (!ref) return null;
  const fields: [string, (c: RunConfig) => unknown][] = [
    ["vocabSize", (c) => c.model.vocabSize], ["blockSize", (c) => c.model.blockSize], ["batchTokens", (c) => c.batchTokens],
    ...(["schedule", "warmupFraction", "minLrFraction", "weightDecay", "beta1", "beta2", "gradClip", "cooldownFraction"] as const).map(
      (k): [string, (c: RunConfig) => unknown] => [k, (c) => c[k]],
    ),
  ];
  if (dataHash === undefined && typeof ref.dataHash === "string" && typeof config.dataHash === "string" && ref.dataHash !== config.dataHash) {
    return `it was trained on other data (manifest ${config.dataHash}) than the runs of sweep ${sweep.name} (${ref.dataHash})`;
  }
  for (const [name, get] of fields) {
    const a = get(ref);
    const b = get(config);
    if (a !== undefined && b !== undefined && a !== b) return `its ${name} is ${JSON.stringify(b)} but the runs of sweep ${sweep.name} have ${JSON.stringify(a)}`;
  }
  return null;
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
  const warning = repetitionWarning(runs);
  if (warning) hooks.log?.(`sweep: ${warning}`);
  const lab = openLab(opts.lab);
  try {
    const stored = recordPlan(lab, opts, runs);
    const outcomes = await executor.execute(stored, lab, hooks);
    return { sweep: opts.sweep, outcomes, runs: lab.listRuns({ sweep: opts.sweep }), totals: planTotals(runs) };
  } finally {
    lab.close();
  }
}
