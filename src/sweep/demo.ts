/**
 * The demo: the whole scaling experiment end to end on the built-in corpus, on one machine.
 *   built-in corpus → BPE tokenizer → the cpu-xs ladder (Kaplan-style curves: every size, same tokens) →
 *   predict the largest model from the others BEFORE training it → train it → score the prediction →
 *   L(C) frontier fit (R²) → forecast from the fitted law → summary files (JSON + a readable table).
 * Everything lands in the lab directory; a re-run reuses the prepared data and the finished runs.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { prepareDataset } from "../data/prepare.js";
import { MANIFEST_FILE } from "../data/shards.js";
import { runFit } from "../fit/index.js";
import { type ForecastReport, powerComputeLaw, runForecast } from "../forecast/index.js";
import { writeReport } from "../report/index.js";
import { type Lab, openLab } from "../store/index.js";
import { writeFileAtomic } from "../util/files.js";
import { decimalYear } from "../util/time.js";
import { PF_DAY } from "../util/units.js";
import { type ExecutorHooks, LocalExecutor } from "./executor.js";
import { type HeldOutPrediction, predictHeldOut } from "./predict.js";
import { planSweep, recordPlan, repetitionWarning, type SweepOptions } from "./sweep.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  lab: string;
  /** Ladder (default cpu-xs). */
  ladder?: string;
  /** Tokens per run (default 4M). */
  tokens?: number;
  /** BPE vocabulary of the demo's tokenizer (default 2048: small, so the output head does not dominate tiny models). */
  vocab?: number;
  backend?: string;
  threads?: number;
  /** Only these sizes (tests). */
  sizes?: string[];
  /** Dollars per hour of this machine, to price the runs for the forecast (default $0.10). */
  costPerHour?: number;
  /** A line the outputs carry about themselves (e.g. that a quick demo is too small for meaningful fits). */
  note?: string;
  hooks?: ExecutorHooks;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What the demo measured. */
export interface DemoResult {
  lab: string;
  sweep: string;
  runs: number;
  wallSeconds: number;
  trainSeconds: number;
  /** The part of trainSeconds done by an earlier demo in this lab (its finished runs were reused). */
  reusedTrainSeconds: number;
  /** The note given in the options (e.g. a quick demo's caveat). */
  note?: string;
  frontier: { k: number; alpha: number; E: number; r2: number; points: number; law: string };
  frontierR2: number;
  prediction: HeldOutPrediction & { law: string; fitPoints: number; excluded: number };
  /** The same prediction with every smaller run in the fit (1-layer rungs included). */
  predictionAllRuns: { fitPoints: number; predicted: number; errorPct: number | null };
  predictionErrorPct: number | null;
  /** The forecast from the fitted law, or why there is none (e.g. the law never reaches the target). */
  forecast: Pick<ForecastReport, "referenceLoss" | "targetLoss" | "computeMultiple" | "costUSD" | "yearWithinBudget" | "targetComputeFlops"> | { error: string };
  table: { run: string; N: number; D: number; C: number; finalValLoss: number | null; wallSeconds: number | null }[];
  /** The summary files and the report (LAB/report/index.html with every chart as SVG and PNG). */
  files: { json: string; summary: string; report: string };
}

/** Runs the demo (see the module comment). */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const lab = resolve(opts.lab);
  const vocab = opts.vocab ?? 2048;
  const data = join(lab, "data", `builtin-bpe${vocab}`);
  mkdirSync(lab, { recursive: true });
  if (!existsSync(join(data, MANIFEST_FILE))) {
    log(`demo: preparing the built-in corpus (State of the Union addresses + Moby-Dick) with a ${vocab}-token BPE`);
    await prepareDataset({ sources: ["builtin"], tokenizer: "bpe", vocabSize: vocab, outDir: data, onProgress: (m) => log(`demo: ${m}`) });
  } else {
    log(`demo: reusing the prepared corpus in ${data}`);
  }
  const sweepOpts: SweepOptions = {
    lab, sweep: "demo", plan: "curves", ladder: opts.ladder ?? "cpu-xs", data, tokens: [opts.tokens ?? 4_000_000],
    sizes: opts.sizes, overrides: opts.backend ? { backend: opts.backend } : {},
  };
  const { runs } = planSweep(sweepOpts);
  const repeated = repetitionWarning(runs);
  if (repeated) log(`demo: ${repeated}`);
  const store = openLab(lab);
  try {
    const stored = recordPlan(store, sweepOpts, runs);
    const reusedTrainSeconds = stored.filter((r) => r.status === "done").reduce((a, r) => a + (r.wallSeconds ?? 0), 0);
    const largest = stored.reduce((a, b) => (b.N > a.N ? b : a));
    const executor = new LocalExecutor({ backend: opts.backend, threads: opts.threads });
    log(`demo: training ${stored.length - 1} sizes of ${sweepOpts.ladder} on ${(sweepOpts.tokens![0] / 1e6).toFixed(1)}M tokens each`);
    await executor.execute(stored.filter((r) => r.id !== largest.id), store, opts.hooks);
    requireNoFailedRun(store, lab);

    // predict before train: the largest model's loss from the others
    const before = await predictHeldOut(store, "demo", { bootstrap: 200 });
    // the same prediction with the 1-layer rungs kept in the fit, for the record (see predict.ts on why they are out)
    const beforeAll = await predictHeldOut(store, "demo", { bootstrap: 0, minLayers: 1 });
    const p0 = before.predictions[0];
    log(
      `demo: predicted before training ${largest.id}: val loss ${p0.predicted.toFixed(4)}` +
        (p0.interval ? ` [${p0.interval[0].toFixed(4)}, ${p0.interval[1].toFixed(4)}] (90%)` : ""),
    );
    await executor.execute([store.getRun(largest.id)!], store, opts.hooks);
    requireNoFailedRun(store, lab);
    const after = await predictHeldOut(store, "demo", { bootstrap: 200 });
    const p = after.predictions[0];
    if (p.actual !== null) log(`demo: ${largest.id} reached ${p.actual.toFixed(4)}: prediction error ${p.errorPct!.toFixed(2)}%`);

    // the compute frontier over every learning curve
    const curvePoints = store.frontierPoints("demo").map((q) => ({ run: q.run, C: q.C, loss: q.loss }));
    const fr = await runFit("frontier", curvePoints, {});
    const f = fr.fit;
    const law = powerComputeLaw(f.k, f.alpha, f.E, "flop");
    log(`demo: frontier ${law.description}, R² ${f.r2.toFixed(4)} on ${f.frontier.length} envelope points`);

    // forecast: the essay's calculation with our law, our largest run as the reference
    const runsNow = store.listRuns({ sweep: "demo" });
    const big = runsNow.find((r) => r.id === largest.id)!;
    const costPerHour = opts.costPerHour ?? 0.1;
    const refCost = Math.max(1e-6, ((big.wallSeconds ?? 0) / 3600) * costPerHour);
    let fc: ForecastReport | null = null;
    let forecastError: string | null = null;
    try {
      fc = runForecast({
        law, lawSource: "demo frontier fit", referenceName: big.id, referencePfDays: big.flopsDone / PF_DAY,
        referenceCostUSD: refCost, referenceYear: decimalYear(new Date()), samples: 0,
      });
    } catch (e) {
      forecastError = (e as Error).message;
      log(`demo: no forecast from this law: ${forecastError}`);
    }
    const table = runsNow.map((r) => ({ run: r.id, N: r.N, D: r.tokensDone, C: r.flopsDone, finalValLoss: r.finalValLoss, wallSeconds: r.wallSeconds }));
    const trainSeconds = runsNow.reduce((a, r) => a + (r.wallSeconds ?? 0), 0);
    const result: DemoResult = {
      lab, sweep: "demo", runs: runsNow.length, wallSeconds: (performance.now() - t0) / 1000, trainSeconds, reusedTrainSeconds,
      ...(opts.note ? { note: opts.note } : {}),
      frontier: { k: f.k, alpha: f.alpha, E: f.E, r2: f.r2, points: f.frontier.length, law: law.description },
      frontierR2: f.r2,
      prediction: { ...p0, actual: p.actual, errorPct: p0.actual === null && p.actual !== null ? (100 * (p0.predicted - p.actual)) / p.actual : p.errorPct,
        inInterval: p.actual !== null && p0.interval ? p.actual >= p0.interval[0] && p.actual <= p0.interval[1] : null,
        law: before.law, fitPoints: before.fitPoints, excluded: before.excluded },
      predictionAllRuns: {
        fitPoints: beforeAll.fitPoints, predicted: beforeAll.predictions[0].predicted,
        errorPct: p.actual !== null ? (100 * (beforeAll.predictions[0].predicted - p.actual)) / p.actual : null,
      },
      predictionErrorPct: null,
      forecast: fc
        ? {
            referenceLoss: fc.referenceLoss, targetLoss: fc.targetLoss, computeMultiple: fc.computeMultiple, costUSD: fc.costUSD,
            yearWithinBudget: fc.yearWithinBudget, targetComputeFlops: fc.targetComputeFlops,
          }
        : { error: forecastError ?? "unknown" },
      table,
      files: { json: join(lab, "report", "demo.json"), summary: join(lab, "report", "demo.txt"), report: join(lab, "report", "index.html") },
    };
    result.predictionErrorPct = result.prediction.errorPct;
    mkdirSync(join(lab, "report"), { recursive: true });
    writeFileAtomic(result.files.json, JSON.stringify(result, null, 2) + "\n");
    writeFileAtomic(result.files.summary, demoSummary(result));
    log("demo: writing the report (charts as SVG and PNG, index.html)");
    await writeReport({ lab, sweep: "demo", out: join(lab, "report"), costPerHour, log });
    return result;
  } finally {
    store.close();
  }
}

/** The demo cannot go on (a run failed); the message names the run and the fix. */
export class DemoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoError";
  }
}

/** Throws a {@link DemoError} when a demo run failed: the fit and the prediction would be meaningless without it. */
function requireNoFailedRun(store: Lab, lab: string): void {
  const failed = store.listRuns({ sweep: "demo", status: "failed" });
  if (failed.length) {
    throw new DemoError(
      `run ${failed[0].id} failed (${failed[0].error ?? "no message"}); see ${join(lab, "runs", failed[0].id)}, fix the cause and re-run the demo (finished runs are reused)`,
    );
  }
}

/** The readable summary of a demo. */
export function demoSummary(r: DemoResult): string {
  const si = (x: number) => (x >= 1e12 ? `${(x / 1e12).toPrecision(3)}T` : x >= 1e9 ? `${(x / 1e9).toPrecision(3)}G` : x >= 1e6 ? `${(x / 1e6).toPrecision(3)}M` : x >= 1e3 ? `${(x / 1e3).toPrecision(3)}k` : `${x}`);
  const lines = [
    `scaling-lab demo — ${r.runs} models of one ladder, trained the same way (lab ${r.lab})`,
    ...(r.note ? [`NOTE: ${r.note}`] : []),
    "",
    `${"run".padEnd(24)} ${"N".padStart(7)} ${"D".padStart(7)} ${"C (FLOP)".padStart(9)} ${"val loss".padStart(9)} ${"time".padStart(7)}`,
    ...r.table.map((t) => `${t.run.padEnd(24)} ${si(t.N).padStart(7)} ${si(t.D).padStart(7)} ${si(t.C).padStart(9)} ${(t.finalValLoss?.toFixed(4) ?? "-").padStart(9)} ${`${Math.round(t.wallSeconds ?? 0)}s`.padStart(7)}`),
    "",
    `Frontier (lower envelope of all learning curves): ${r.frontier.law}; R² = ${r.frontier.r2.toFixed(4)} on ${r.frontier.points} points`,
    `Prediction of ${r.prediction.run} before training it (${r.prediction.law} law on ${r.prediction.fitPoints} smaller runs` +
      `${r.prediction.excluded ? `, ${r.prediction.excluded} one-layer runs left out as Kaplan et al. advise` : ""}): ` +
      `${r.prediction.predicted.toFixed(4)}${r.prediction.interval ? ` [${r.prediction.interval[0].toFixed(4)}, ${r.prediction.interval[1].toFixed(4)}] (90%)` : ""}` +
      (r.prediction.actual !== null ? `; actual ${r.prediction.actual.toFixed(4)}, error ${r.prediction.errorPct!.toFixed(2)}%` : "") +
      (r.prediction.inInterval === false ? " — OUTSIDE the predicted 90% interval: the smaller runs' law did not carry to this size" : ""),
    ...(r.prediction.excluded
      ? [`  (with all ${r.predictionAllRuns.fitPoints} smaller runs in the fit: ${r.predictionAllRuns.predicted.toFixed(4)}` +
          `${r.predictionAllRuns.errorPct !== null ? `, error ${r.predictionAllRuns.errorPct.toFixed(2)}%` : ""})`]
      : []),
    "error" in r.forecast
      ? `Forecast: none (${r.forecast.error})`
      : `Forecast from the fitted law: halving the largest model's loss (${r.forecast.referenceLoss.toFixed(3)} → ${r.forecast.targetLoss.toFixed(3)}) ` +
        `needs ${r.forecast.computeMultiple.toExponential(2)}× its compute (${r.forecast.targetComputeFlops.toExponential(2)} FLOP)`,
    `Wall time ${Math.round(r.wallSeconds)} s; ${trainingTime(r.trainSeconds, r.reusedTrainSeconds)}`,
    "",
  ];
  return lines.join("\n");
}

/** How the summary words the training time: what ran now, and what an earlier demo did ("23 s of training reused"). */
export function trainingTime(trainSeconds: number, reusedSeconds: number): string {
  const now = Math.max(0, trainSeconds - reusedSeconds);
  if (reusedSeconds < 0.5) return `training ${Math.round(trainSeconds)} s`;
  if (now < 0.5) return `${Math.round(reusedSeconds)} s of training reused from an earlier demo in this lab (nothing trained now)`;
  return `training ${Math.round(now)} s now, and ${Math.round(reusedSeconds)} s of training reused from an earlier demo in this lab`;
}
