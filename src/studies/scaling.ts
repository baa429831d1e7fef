/**
 * The demo: the scaling experiment end to end on the built-in corpus, on one machine.
 *   built-in corpus → BPE tokenizer (the ladder's vocabulary) → every rung of the ladder but the largest, trained by
 *   the ladder's tuned recipe (warmup-stable-decay with cooldown branches: several cooled-down endpoints per run) →
 *   the analysis (src/analysis/) predicts the largest model's loss BEFORE it is trained, from endpoints with at most
 *   1/K of its compute → it is trained and the prediction scored → the frontier E + A·C^−α over every endpoint,
 *   Chinchilla's L(N, D) with compute-optimal tokens per parameter, the error at every extrapolation distance →
 *   forecast from the fitted frontier → LAB/report (demo.json, demo.txt, index.html).
 * Everything lands in the lab directory; a re-run reuses the prepared data, the finished runs and the analysis inputs.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { analyzeSweep, type ExtrapolationRow, type SweepAnalysis } from "../analysis/index.js";
import { prepareDataset } from "../data/prepare.js";
import { MANIFEST_FILE } from "../data/shards.js";
import { type ForecastReport, powerComputeLaw, runForecast } from "../forecast/index.js";
import { writeReport } from "../report/index.js";
import { type Lab, openLab } from "../store/index.js";
import type { RunRecord } from "../store/types.js";
import { type ExecutorHooks, LocalExecutor } from "../sweep/executor.js";
import { loadLadder } from "../sweep/ladder.js";
import { formatStamp, versionStamp } from "../util/version.js";
import { planSweep, recordPlan, type SweepOptions } from "../sweep/sweep.js";
import { writeFileAtomic } from "../util/files.js";
import { decimalYear } from "../util/time.js";
import { PF_DAY } from "../util/units.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  lab: string;
  /** Ladder (default cpu-xs). */
  ladder?: string;
  /** Tokens per run (default: the ladder's). */
  tokens?: number;
  /** BPE vocabulary of the demo's tokenizer (default: the ladder's, which its recipe was tuned on). */
  vocab?: number;
  backend?: string;
  threads?: number;
  /** Only these sizes (tests). */
  sizes?: string[];
  /** Leave-future-out ratio: predict from endpoints with ≤ 1/K of the target's compute (default: the ladder's, else 10). */
  K?: number;
  /** Bootstrap replicates of the analysis (default 200). */
  bootstrap?: number;
  /** Dollars per hour of this machine, to price the runs for the forecast (default $0.10). */
  costPerHour?: number;
  hooks?: ExecutorHooks;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** One rung of the demo's table. */
export interface DemoRow {
  run: string;
  /** Every parameter (the N the laws use). */
  params: number;
  /** Non-embedding parameters (Kaplan's N). */
  N: number;
  D: number;
  C: number;
  finalValLoss: number | null;
  /** Cooled-down endpoints: [tokens, validation loss]. */
  endpoints: [number, number][];
  wallSeconds: number | null;
}

/** What the demo measured. */
export interface DemoResult {
  lab: string;
  sweep: string;
  ladder: string;
  runs: number;
  wallSeconds: number;
  /** Training seconds of the runs trained in this call. */
  trainSeconds: number;
  /** Training seconds of runs finished before this call and reused. */
  reusedSeconds: number;
  /** R² of the frontier E + A·C^−α on the lower envelope of every endpoint. */
  frontierR2: number | null;
  /** Decades of compute the frontier spans. */
  frontierDecades: number | null;
  frontierLaw: string | null;
  /** The held-out prediction made before the largest model was trained, scored after. */
  prediction: (ExtrapolationRow & { run: string; law: string; level: number }) | null;
  predictionErrorPct: number | null;
  /** Target compute ÷ the largest compute in the prediction's fit. */
  extrapolationFactor: number | null;
  /** The prediction at every extrapolation distance the sweep allows. */
  extrapolation: ExtrapolationRow[];
  /** The same headline prediction with the other parameter count as N (total vs non-embedding), for comparison. */
  predictionOtherN: { paramCount: "total" | "nonEmbedding"; predicted: number; errorPct: number | null; inInterval: boolean | null } | null;
  /** Compute-optimal tokens per parameter at the largest run's compute (Chinchilla L(N, D) on the endpoints). */
  tokensPerParam: number | null;
  tokensPerParamInterval: [number, number] | null;
  chinchillaLaw: string | null;
  /** Whether each rung ended below the next smaller one. */
  ordered: boolean;
  /** The smallest rung's last two endpoints: how much the loss still fell over the second half of its tokens. */
  smallestRung: { run: string; halfLoss: number; fullLoss: number; improvementPct: number } | null;
  forecast: Pick<ForecastReport, "referenceLoss" | "targetLoss" | "computeMultiple" | "costUSD" | "yearWithinBudget" | "targetComputeFlops"> | { error: string };
  /** Why a part of the analysis is missing. */
  notes: string[];
  table: DemoRow[];
  /** The summary files and the report (LAB/report/index.html with every chart as SVG and PNG). */
  files: { json: string; summary: string; report: string };
}

/** The demo cannot go on (a run failed); the message names the run and the fix. */
export class DemoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DemoError";
  }
}

/** Runs the demo (see the module comment). */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const lab = resolve(opts.lab);
  const ladder = loadLadder(opts.ladder ?? "cpu-xs");
  const vocab = opts.vocab ?? ladder.vocab ?? 2048;
  const tokens = opts.tokens ?? ladder.tokens ?? 4e6;
  const data = join(lab, "data", `builtin-bpe${vocab}`);
  mkdirSync(lab, { recursive: true });
  if (!existsSync(join(data, MANIFEST_FILE))) {
    log(`demo: preparing the built-in corpus (State of the Union addresses + Moby-Dick) with a ${vocab}-token BPE`);
    await prepareDataset({ sources: ["builtin"], tokenizer: "bpe", vocabSize: vocab, outDir: data, onProgress: (m) => log(`demo: ${m}`) });
  } else {
    log(`demo: reusing the prepared corpus in ${data}`);
  }
  const sweepOpts: SweepOptions = {
    lab, sweep: "demo", plan: "curves", ladder: opts.ladder ?? "cpu-xs", data, tokens: [tokens], sizes: opts.sizes,
    overrides: opts.backend ? { backend: opts.backend } : {},
  };
  const { runs } = planSweep(sweepOpts);
  const store = openLab(lab);
  try {
    const stored = recordPlan(store, sweepOpts, runs);
    const reusedSeconds = stored.filter((r) => r.status === "done").reduce((a, r) => a + (r.wallSeconds ?? 0), 0);
    const target = stored.reduce((a, b) => (b.C > a.C ? b : a));
    const executor = new LocalExecutor({ backend: opts.backend, threads: opts.threads });
    log(`demo: training ${stored.length - 1} sizes of ${ladder.name} on ${(tokens / 1e6).toFixed(1)}M tokens each (${ladder.recipe?.schedule ?? "cosine"} schedule${ladder.recipe?.branches?.length ? `, cooldown branches at ${ladder.recipe.branches.map((b) => `${Math.round(b * 100)}%`).join(", ")} of D` : ""})`);
    await executor.execute(stored.filter((r) => r.id !== target.id), store, opts.hooks);
    requireNoFailedRun(store, lab);

    // predict before train: the target's loss from the endpoints with ≤ 1/K of its compute
    const analysisOpts = {
      version: formatStamp(versionStamp()), K: opts.K ?? ladder.analysis?.K ?? 10, bootstrap: opts.bootstrap ?? 200,
      paramCount: ladder.analysis?.params ?? ("total" as const),
      minTokens: (ladder.analysis?.minTokensFraction ?? 0) * tokens, target: target.id,
    };
    const before = await analyzeSweep(store, "demo", analysisOpts);
    const p0 = before.prediction?.main ?? null;
    if (p0) {
      log(
        `demo: predicted before training ${target.id}: val loss ${p0.predicted.toFixed(4)} [${p0.interval[0].toFixed(4)}, ${p0.interval[1].toFixed(4)}] (${Math.round(100 * (before.prediction!.level))}%), ` +
          `from ${p0.fitPoints} endpoints of ${p0.fitRuns} runs with ≤ 1/${p0.K} of its compute (${p0.extrapolationFactor.toFixed(1)}× extrapolation)`,
      );
    } else {
      log(`demo: no prediction before training ${target.id}: ${before.notes.join("; ")}`);
    }
    await executor.execute([store.getRun(target.id)!], store, opts.hooks);
    requireNoFailedRun(store, lab);
    const after = await analyzeSweep(store, "demo", analysisOpts);
    const main = after.prediction?.main ?? null;
    const otherN = analysisOpts.paramCount === "total" ? ("nonEmbedding" as const) : ("total" as const);
    const other = (await analyzeSweep(store, "demo", { ...analysisOpts, paramCount: otherN, store: false })).prediction?.main ?? null;
    if (main && p0 && main.predicted !== p0.predicted) {
      throw new Error(`the held-out prediction changed after training its target (${p0.predicted} → ${main.predicted}); the analysis must not see the target`);
    }
    if (main?.actual != null) {
      log(`demo: ${target.id} reached ${main.actual.toFixed(4)}: prediction error ${main.errorPct!.toFixed(2)}%${main.inInterval ? ", inside the interval" : ", OUTSIDE the interval"}`);
    }
    if (after.frontier) log(`demo: frontier ${after.frontier.law}, R² ${after.frontier.r2.toFixed(4)} over ${after.frontier.decades.toFixed(2)} decades of compute`);
    if (after.chinchilla) {
      const c = after.chinchilla;
      log(`demo: Chinchilla ${c.law}; compute-optimal ${c.tokensPerParam.toFixed(1)} tokens/parameter [${c.tokensPerParamInterval[0].toFixed(1)}, ${c.tokensPerParamInterval[1].toFixed(1)}] (${Math.round(100 * c.level)}%)`);
    }

    const runsNow = store.listRuns({ sweep: "demo" });
    const costPerHour = opts.costPerHour ?? 0.1;
    const forecast = forecastFrom(after, store.getRun(target.id)!, costPerHour, log);
    const table = runsNow
      .map((r): DemoRow => ({
        run: r.id, params: r.params, N: r.N, D: r.tokensDone, C: r.flopsDone, finalValLoss: r.finalValLoss,
        endpoints: store.endpoints(r.id).filter((e) => e.valLoss !== null).map((e) => [e.tokens, e.valLoss!]), wallSeconds: r.wallSeconds,
      }))
      .sort((a, b) => a.params - b.params);
    const trainSeconds = runsNow.reduce((a, r) => a + (r.wallSeconds ?? 0), 0) - reusedSeconds;
    const result: DemoResult = {
      lab, sweep: "demo", ladder: ladder.name, runs: runsNow.length, wallSeconds: (performance.now() - t0) / 1000,
      trainSeconds, reusedSeconds,
      frontierR2: after.frontier?.r2 ?? null, frontierDecades: after.frontier?.decades ?? null, frontierLaw: after.frontier?.law ?? null,
      prediction: main ? { ...main, run: target.id, law: after.prediction!.law, level: after.prediction!.level } : null,
      predictionErrorPct: main?.errorPct ?? null, extrapolationFactor: main?.extrapolationFactor ?? null,
      extrapolation: after.prediction?.table ?? [],
      predictionOtherN: other ? { paramCount: otherN, predicted: other.predicted, errorPct: other.errorPct, inInterval: other.inInterval } : null,
      tokensPerParam: after.chinchilla?.tokensPerParam ?? null, tokensPerParamInterval: after.chinchilla?.tokensPerParamInterval ?? null,
      chinchillaLaw: after.chinchilla?.law ?? null,
      ordered: table.every((r, i) => i === 0 || (r.finalValLoss !== null && table[i - 1].finalValLoss !== null && r.finalValLoss < table[i - 1].finalValLoss!)),
      smallestRung: smallestRung(table[0]),
      forecast, notes: after.notes, table,
      files: { json: join(lab, "report", "demo.json"), summary: join(lab, "report", "demo.txt"), report: join(lab, "report", "index.html") },
    };
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

/** How much the smallest rung still gained over the second half of its tokens (its last two endpoints). */
function smallestRung(row: DemoRow | undefined): DemoResult["smallestRung"] {
  if (!row || row.endpoints.length < 2) return null;
  const [full, half] = [row.endpoints[row.endpoints.length - 1], row.endpoints.find(([d]) => Math.abs(d - row.D / 2) <= row.D * 0.01)];
  if (!half) return null;
  return { run: row.run, halfLoss: half[1], fullLoss: full[1], improvementPct: (100 * (half[1] - full[1])) / half[1] };
}

/**
 * The essay's calculation with the fitted frontier: the compute, cost and year to halve the largest model's reducible
 * loss (its distance to the frontier's floor E).
 */
function forecastFrom(a: SweepAnalysis, big: RunRecord, costPerHour: number, log: (l: string) => void): DemoResult["forecast"] {
  if (!a.frontier) return { error: `no frontier to forecast from (${a.notes.join("; ")})` };
  try {
    const law = powerComputeLaw(a.frontier.A, a.frontier.alpha, a.frontier.E, "flop");
    // with a floor E, halving the loss itself may be out of reach: halve its reducible part L − E instead
    const refLoss = law.lossAt(big.flopsDone);
    const fc = runForecast({
      targetLoss: a.frontier.E + (refLoss - a.frontier.E) / 2,
      law, lawSource: "the demo's frontier fit", referenceName: big.id, referencePfDays: big.flopsDone / PF_DAY,
      referenceCostUSD: Math.max(1e-6, ((big.wallSeconds ?? 0) / 3600) * costPerHour), referenceYear: decimalYear(new Date()), samples: 0,
    });
    return {
      referenceLoss: fc.referenceLoss, targetLoss: fc.targetLoss, computeMultiple: fc.computeMultiple, costUSD: fc.costUSD,
      yearWithinBudget: fc.yearWithinBudget, targetComputeFlops: fc.targetComputeFlops,
    };
  } catch (e) {
    log(`demo: no forecast from this law: ${(e as Error).message}`);
    return { error: (e as Error).message };
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
  const p = r.prediction;
  const lines = [
    `scaling-lab demo — ${r.runs} sizes of the ${r.ladder} ladder, trained by one tuned recipe (lab ${r.lab})`,
    "",
    `${"run".padEnd(22)} ${"params".padStart(7)} ${"N".padStart(7)} ${"D".padStart(6)} ${"C (FLOP)".padStart(9)} ${"final".padStart(7)}  endpoints (tokens: loss)`,
    ...r.table.map((t) =>
      `${t.run.padEnd(22)} ${si(t.params).padStart(7)} ${si(t.N).padStart(7)} ${si(t.D).padStart(6)} ${si(t.C).padStart(9)} ${(t.finalValLoss?.toFixed(4) ?? "-").padStart(7)}  ` +
      t.endpoints.map(([d, l]) => `${si(d)}: ${l.toFixed(3)}`).join(", "),
    ),
    "",
    `Each rung below the next smaller one: ${r.ordered ? "yes" : "NO"}` +
      (r.smallestRung ? `; the smallest rung gained ${r.smallestRung.improvementPct.toFixed(2)}% from D/2 to D (near its capacity below 1%)` : ""),
    r.frontierLaw
      ? `Frontier (lower envelope of the cooled-down endpoints): ${r.frontierLaw}; R² = ${r.frontierR2!.toFixed(4)} over ${r.frontierDecades!.toFixed(2)} decades of compute`
      : "Frontier: none",
    p
      ? `Prediction of ${p.run} BEFORE training it (${p.law}, from ${p.fitPoints} endpoints of ${p.fitRuns} runs with ≤ 1/${p.K} of its compute, ` +
        `${p.extrapolationFactor.toFixed(1)}× extrapolation): ${p.predicted.toFixed(4)} [${p.interval[0].toFixed(4)}, ${p.interval[1].toFixed(4)}] (${Math.round(100 * p.level)}%)` +
        (p.actual !== null ? `; actual ${p.actual.toFixed(4)}, error ${p.errorPct!.toFixed(2)}%, ${p.inInterval ? "inside" : "OUTSIDE"} the interval` : "")
      : "Prediction: none",
    ...(r.extrapolation.length
      ? ["  error by extrapolation distance: " + r.extrapolation.map((e) => `${e.extrapolationFactor.toFixed(1)}× ${e.errorPct !== null ? `${e.errorPct.toFixed(2)}%` : "-"}`).join(", ")]
      : []),
    ...(r.predictionOtherN
      ? [`  with N = ${r.predictionOtherN.paramCount === "total" ? "total" : "non-embedding"} parameters instead: ${r.predictionOtherN.predicted.toFixed(4)}` +
          (r.predictionOtherN.errorPct !== null ? `, error ${r.predictionOtherN.errorPct.toFixed(2)}%` : "")]
      : []),
    r.chinchillaLaw
      ? `Chinchilla L(N, D) on the endpoints (bootstrap by run): ${r.chinchillaLaw}; compute-optimal ${r.tokensPerParam!.toFixed(1)} tokens per parameter ` +
        `[${r.tokensPerParamInterval![0].toFixed(1)}, ${r.tokensPerParamInterval![1].toFixed(1)}] (90%)`
      : "Chinchilla L(N, D): none",
    "error" in r.forecast
      ? `Forecast: none (${r.forecast.error})`
      : `Forecast from the frontier: halving the largest model's reducible loss (${r.forecast.referenceLoss.toFixed(3)} → ${r.forecast.targetLoss.toFixed(3)}, floor ${r.frontierLaw?.match(/^L = ([0-9.]+)/)?.[1] ?? "?"}) ` +
        `needs ${r.forecast.computeMultiple.toExponential(2)}× its compute (${r.forecast.targetComputeFlops.toExponential(2)} FLOP)`,
    ...r.notes.map((n) => `Note: ${n}`),
    `Wall time ${Math.round(r.wallSeconds)} s: ${Math.round(r.trainSeconds)} s of training now` + (r.reusedSeconds > 0 ? `, ${Math.round(r.reusedSeconds)} s of training reused from earlier runs` : ""),
    "",
  ];
  return lines.join("\n");
}
