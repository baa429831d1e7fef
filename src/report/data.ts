/**
 * Collects a sweep's {@link ReportData} from the lab store: runs, learning curves, the compute frontier, L(N),
 * IsoFLOP profiles, the held-out prediction, few-shot accuracy and the forecast. A section that cannot be made
 * (an empty lab, one run, no evals, a fit that fails) carries a one-line note instead of data.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { type ScalingPoint, fitFrontier, fitIsoflop, fitPower, groupByBudget } from "../fit/index.js";
import { DEFAULTS, powerComputeLaw, runForecast } from "../forecast/index.js";
import { findLaw, lawLoss, publishedLaws } from "../published/index.js";
import type { EvalRecord, Lab, MetricRecord, RunRecord, SweepRecord } from "../store/index.js";
import { predictFromRuns } from "../sweep/predict.js";
import { CHECKPOINT_FILE } from "../util/run-folder.js";
import { decimalYear } from "../util/time.js";
import { PF_DAY } from "../util/units.js";
import { si } from "./format.js";
import type {
  CurvePoint,
  CurvesData,
  EvalsData,
  ForecastData,
  FrontierData,
  IsoflopData,
  OverlayData,
  ParamsLawData,
  PredictionData,
  ReportData,
  ReportRun,
  Section,
  SizeKey,
  SizePoint,
} from "./types.js";

/** Options of {@link collectReport}. */
export interface CollectOptions {
  /** The sweep (default: the most recently created one). */
  sweep?: string;
  /** Bootstrap resamples of the held-out prediction (default 200; 0 skips the prediction). */
  bootstrap?: number;
  /** Worker threads of the bootstrap (default: one per core). */
  workers?: number;
  /** Forecast: dollars per hour of the machine that trained the runs (default $0.10, as the demo). */
  costPerHour?: number;
  /** Forecast: target loss (default half the reference loss). */
  targetLoss?: number;
  /** Forecast: budget in dollars (default the forecast's $1B). */
  budgetUSD?: number;
  /** Forecast: months for the cost of a capability to halve (default 16). */
  halvingMonths?: number;
  /** The time of the report (default now): the forecast's reference year. */
  now?: Date;
  /** Most points kept per learning curve (default 300, log-spaced in steps). */
  maxCurvePoints?: number;
  /** Published laws to draw over the charts (names of laws of C or N in src/published/, e.g. "kaplan-c"). */
  overlays?: string[];
}

/** Names of the published laws a report can overlay (laws of C or N). */
export function overlayLaws(): string[] {
  return publishedLaws().filter((l) => l.variable === "C" || l.variable === "N").map((l) => l.name);
}

/** A --sweep that names no sweep of the lab; the message lists the known ones. */
export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReportError";
  }
}

/** A sweep's runs as the report reads them, wherever they are stored (a lab, or a browser playground's memory). */
export interface ReportInput {
  /** The lab (or what holds the runs), for the page. */
  dir: string;
  /** Every sweep, oldest first. */
  sweeps: Pick<SweepRecord, "name" | "plan" | "ladder">[];
  /** The sweep shown (null: the runs belong to no sweep). */
  sweep: Pick<SweepRecord, "name" | "plan" | "ladder"> | null;
  records: RunRecord[];
  /** Each run's metric rows in step order. */
  metrics: Map<string, MetricRecord[]>;
  /** Few-shot evaluations of these runs. */
  evals: EvalRecord[];
  /** Whether a run has a checkpoint (text samples possible). */
  hasCheckpoint: (r: RunRecord) => boolean;
}

/** Collects everything the report shows for one sweep of an open lab (see the module comment). */
export async function collectReport(lab: Lab, opts: CollectOptions = {}): Promise<ReportData> {
  const sweeps = lab.listSweeps();
  let sweep = sweeps[sweeps.length - 1];
  if (opts.sweep !== undefined) {
    sweep = sweeps.find((s) => s.name === opts.sweep)!;
    if (!sweep) {
      throw new ReportError(
        `no sweep "${opts.sweep}" in the lab ${lab.dir} (${sweeps.length ? "known: " + sweeps.map((s) => s.name).join(", ") : "it has no sweeps yet"}); check --sweep`,
      );
    }
  }
  const records = sweep ? lab.listRuns({ sweep: sweep.name }) : lab.listRuns();
  const byId = new Set(records.map((r) => r.id));
  return reportFromRecords({
    dir: lab.dir,
    sweeps,
    sweep: sweep ?? null,
    records,
    metrics: new Map(records.map((r) => [r.id, lab.metrics(r.id)])),
    evals: (sweep ? lab.listEvals({ sweep: sweep.name }) : lab.listEvals()).filter((e) => byId.has(e.model)),
    hasCheckpoint: (r) => hasCheckpointIn(lab.dir, r),
  }, opts);
}

/** {@link collectReport} on runs given as records: the report's one analysis, for a lab or a browser playground. */
export async function reportFromRecords(input: ReportInput, opts: CollectOptions = {}): Promise<ReportData> {
  const now = opts.now ?? new Date();
  const { sweeps, sweep, records, metrics } = input;
  const runs = records.map((r) => reportRun(r, input.hasCheckpoint(r)));
  const sizes = sizeKeys(runs);
  const labelOf = new Map(runs.map((r) => [r.id, r.label]));
  for (const r of runs) {
    const last = metrics.get(r.id)!.at(-1);
    r.lastStep = last?.step ?? null;
    r.lastTrainLoss = last && Number.isFinite(last.trainLoss) ? last.trainLoss : null;
  }
  const empty = sweeps.length === 0 && records.length === 0;
  const noRuns = empty ? "the lab has no runs yet; run scaling-lab demo or scaling-lab sweep first" : "this sweep has no runs yet";

  const curves = collectCurves(records, metrics, labelOf, opts.maxCurvePoints ?? 300, noRuns);
  const frontier = collectFrontier(records, metrics, noRuns);
  const plan = sweep?.plan ?? null;
  const finished: SizePoint[] = records
    .filter((r) => r.status === "done" && r.finalValLoss !== null && r.tokensDone > 0)
    .map((r) => ({ run: r.id, label: labelOf.get(r.id)!, N: r.N, D: r.tokensDone, C: r.flopsDone, loss: r.finalValLoss! }));
  const paramsLaw = collectParamsLaw(finished, plan, noRuns);
  const isoflop = plan === "isoflop" ? collectIsoflop(finished) : null;
  const prediction = sweep
    ? await collectPrediction(records, sweep.name, plan, finished, labelOf, opts)
    : { ok: false as const, note: records.length ? "no held-out prediction: it is made within a sweep, and these runs belong to none" : noRuns };
  const evals = collectEvals(input.evals, records, labelOf);
  // a run still training has no wall time yet: its last logged step says how long it has trained
  const seconds = new Map(records.map((r) => [r.id, r.wallSeconds ?? metrics.get(r.id)!.at(-1)?.elapsed ?? 0]));
  const forecast = collectForecast(frontier, records, seconds, now, opts);
  const overlays = collectOverlays(opts.overlays ?? [], curves, finished);
  return {
    lab: input.dir,
    generated: now.toISOString(),
    sweep: sweep?.name ?? null,
    sweeps: sweeps.map((s) => s.name),
    plan,
    ladder: sweep?.ladder ?? null,
    runs,
    sizes,
    curves,
    frontier,
    paramsLaw,
    isoflop,
    prediction,
    evals,
    forecast,
    ...(overlays.length ? { overlays } : {}),
  };
}

/** The published laws asked for, over the x range of the chart each belongs to (none where that chart is empty). */
function collectOverlays(names: string[], curves: Section<CurvesData>, finished: SizePoint[]): OverlayData[] {
  const out: OverlayData[] = [];
  for (const name of names) {
    const law = findLaw(name);
    if (!law || (law.variable !== "C" && law.variable !== "N")) {
      throw new ReportError(`--overlay "${name}" is not a published law of C or N; use one of ${overlayLaws().join(", ")}`);
    }
    const xs = law.variable === "C" ? (curves.ok ? curves.data.points.map((p) => p.C) : []) : finished.map((p) => p.N);
    if (xs.length === 0) continue;
    const lo = Math.min(...xs) / 1.15;
    const hi = Math.max(...xs) * 1.15;
    const points = Array.from({ length: 40 }, (_, i) => lo * (hi / lo) ** (i / 39)).map((x) => ({ x, loss: lawLoss(law, x) }));
    out.push({ name: law.name, label: law.label, source: law.source, variable: law.variable, points });
  }
  return out;
}

/** Whether a run of the lab in `labDir` has a checkpoint in its folder (stored relative to the lab). */
function hasCheckpointIn(labDir: string, r: RunRecord): boolean {
  return existsSync(join(isAbsolute(r.dir) ? r.dir : join(labDir, r.dir), CHECKPOINT_FILE));
}

/** A run of a lab as the report shows it (lastStep/lastTrainLoss are filled from the metrics by the caller). */
export function toReportRun(lab: Pick<Lab, "dir">, r: RunRecord): ReportRun {
  return reportRun(r, hasCheckpointIn(lab.dir, r));
}

/** A run as the report shows it, given whether it has a checkpoint. */
function reportRun(r: RunRecord, hasCheckpoint: boolean): ReportRun {
  const size = typeof r.extra.size === "string" ? r.extra.size : r.name;
  return {
    id: r.id, size, label: `${size} · N=${si(r.N)}`, status: r.status, N: r.N, D: r.D, C: r.C,
    tokensDone: r.tokensDone, flopsDone: r.flopsDone, finalValLoss: r.finalValLoss, finalTrainLoss: r.finalTrainLoss,
    wallSeconds: r.wallSeconds, lastStep: null, lastTrainLoss: null, hasCheckpoint,
  };
}

/** Distinct size labels in increasing N (the legend order). */
export function sizeKeys(runs: readonly ReportRun[]): SizeKey[] {
  const byLabel = new Map<string, number>();
  for (const r of runs) if (!byLabel.has(r.label)) byLabel.set(r.label, r.N);
  return [...byLabel].map(([label, N]) => ({ label, N })).sort((a, b) => a.N - b.N || a.label.localeCompare(b.label));
}

/** At most `max` rows of a learning curve, log-spaced in position (the first and last rows always kept). */
export function thinCurve<T>(rows: readonly T[], max: number): T[] {
  if (rows.length <= max || max < 2) return rows.slice();
  const keep = new Set<number>([0, rows.length - 1]);
  const top = Math.log(rows.length);
  for (let i = 0; i < max - 1; i++) keep.add(Math.min(rows.length - 1, Math.round(Math.exp((top * i) / (max - 2))) - 1));
  return [...keep].sort((a, b) => a - b).map((i) => rows[i]);
}

function curveRows(rows: readonly MetricRecord[], loss: "val" | "train"): MetricRecord[] {
  return rows.filter((m) => (loss === "val" ? m.valLoss !== undefined && m.valLoss > 0 : m.trainLoss > 0) && m.flops > 0);
}

function collectCurves(
  records: RunRecord[], metrics: Map<string, MetricRecord[]>, labelOf: Map<string, string>, max: number, noRuns: string,
): Section<CurvesData> {
  if (records.length === 0) return { ok: false, note: noRuns };
  const hasVal = records.some((r) => curveRows(metrics.get(r.id)!, "val").length > 0);
  const loss = hasVal ? "val" : "train";
  const points: CurvePoint[] = [];
  for (const r of records) {
    for (const m of thinCurve(curveRows(metrics.get(r.id)!, loss), max)) {
      points.push({ run: r.id, label: labelOf.get(r.id)!, step: m.step, C: m.flops, loss: loss === "val" ? m.valLoss! : m.trainLoss });
    }
  }
  if (points.length === 0) return { ok: false, note: "no run has logged a step yet; the curves appear once training starts" };
  return { ok: true, data: { loss, points } };
}

function collectFrontier(records: RunRecord[], metrics: Map<string, MetricRecord[]>, noRuns: string): Section<FrontierData> {
  if (records.length === 0) return { ok: false, note: noRuns };
  const live = records.filter((r) => r.status !== "failed");
  const hasVal = live.some((r) => curveRows(metrics.get(r.id)!, "val").length > 0);
  const loss = hasVal ? "val" : "train";
  const points: ScalingPoint[] = [];
  const sizes = new Set<number>();
  for (const r of live) {
    const rows = curveRows(metrics.get(r.id)!, loss);
    if (rows.length) sizes.add(r.N);
    for (const m of rows) points.push({ run: r.id, C: m.flops, loss: loss === "val" ? m.valLoss! : m.trainLoss });
  }
  if (sizes.size < 2) {
    return { ok: false, note: `no frontier fit: it needs learning curves of at least 2 model sizes (this sweep has ${sizes.size}); train more sizes` };
  }
  try {
    const f = fitFrontier(points);
    const envelope = f.frontier.map((p) => ({ C: p.C!, loss: p.loss }));
    const Cs = points.map((p) => p.C!);
    return {
      ok: true,
      data: { law: { k: f.k, alpha: f.alpha, E: f.E }, r2: f.r2, envelope, cMin: Math.min(...Cs), cMax: Math.max(...Cs) },
    };
  } catch (e) {
    return { ok: false, note: `no frontier fit: ${(e as Error).message}` };
  }
}

function collectParamsLaw(finished: SizePoint[], plan: string | null, noRuns: string): Section<ParamsLawData> {
  if (plan === "isoflop") return { ok: false, note: "no L(N) fit: the runs of an IsoFLOP sweep differ in D (see the IsoFLOP profiles)" };
  if (finished.length === 0) return { ok: false, note: `no L(N) fit: no finished run with a validation loss (${noRuns === "this sweep has no runs yet" ? "finish a run" : noRuns})` };
  // L(N) compares sizes trained on the same data: keep the largest group of runs sharing D (within 10%).
  const groups = groupByD(finished);
  const points = groups.reduce((a, b) => (distinctN(b) > distinctN(a) || (distinctN(b) === distinctN(a) && b[0].D > a[0].D) ? b : a));
  const n = distinctN(points);
  if (n < 3) return { ok: false, note: `no L(N) fit: it needs finished runs of at least 3 sizes on the same tokens (found ${n}); finish more runs` };
  for (const irreducible of n >= 4 ? [true, false] : [false]) {
    try {
      const f = fitPower(points, { variable: "N", irreducible });
      return { ok: true, data: { law: { k: f.k, alpha: f.alpha, E: f.E }, r2: f.r2, points } };
    } catch (e) {
      if (!irreducible) return { ok: false, note: `no L(N) fit: ${(e as Error).message}` };
    }
  }
  return { ok: false, note: "no L(N) fit" };
}

function groupByD(points: SizePoint[]): SizePoint[][] {
  const sorted = points.slice().sort((a, b) => a.D - b.D);
  const out: SizePoint[][] = [];
  for (const p of sorted) {
    const g = out.at(-1);
    if (g && p.D <= g[0].D * 1.1) g.push(p);
    else out.push([p]);
  }
  return out;
}

function distinctN(points: SizePoint[]): number {
  return new Set(points.map((p) => p.N)).size;
}

function collectIsoflop(finished: SizePoint[]): Section<IsoflopData> {
  try {
    const f = fitIsoflop(finished);
    const groups = f.groups.map((g) => {
      const members = groupByBudget(finished).find((m) => m.some((p) => Math.abs(Math.log(p.C! / g.C)) < 0.1)) ?? [];
      const Ns = members.map((p) => p.N!);
      return { C: g.C, label: `${si(g.C)}FLOP`, Nopt: g.Nopt, lossMin: g.lossMin, parabola: g.parabola, nMin: Math.min(...Ns), nMax: Math.max(...Ns), inRange: g.inRange };
    });
    const points = finished.map((p) => {
      const g = groups.reduce((a, b) => (Math.abs(Math.log(p.C / b.C)) < Math.abs(Math.log(p.C / a.C)) ? b : a));
      return { ...p, budget: g.label };
    });
    return { ok: true, data: { groups, points, a: f.a, b: f.b } };
  } catch (e) {
    return { ok: false, note: `no IsoFLOP profiles: ${(e as Error).message}` };
  }
}

async function collectPrediction(
  records: RunRecord[], sweep: string, plan: string | null, finished: SizePoint[], labelOf: Map<string, string>, opts: CollectOptions,
): Promise<Section<PredictionData>> {
  if (plan !== null && plan !== "curves" && plan !== "import") {
    return { ok: false, note: `no held-out prediction in the report for a ${plan} sweep (its runs differ in D); run scaling-lab predict --law chinchilla` };
  }
  if (opts.bootstrap === 0) return { ok: false, note: "held-out prediction skipped (bootstrap 0)" };
  try {
    const level = 0.9;
    const r = await predictFromRuns(records, sweep, { bootstrap: opts.bootstrap ?? 200, level, seed: 0, workers: opts.workers, irreducible: "auto" });
    const p = r.predictions[0];
    if (r.report.kind !== "power") return { ok: false, note: `no held-out prediction in the report for a ${r.report.kind} law` };
    const fit = r.report.fit;
    const fitRuns = new Set(r.fitRuns);
    return {
      ok: true,
      data: {
        run: p.run, label: labelOf.get(p.run) ?? p.run, N: p.N, predicted: p.predicted, interval: p.interval, level,
        actual: p.actual, errorPct: p.errorPct, inInterval: p.inInterval, law: { E: fit.E, k: fit.k, alpha: fit.alpha },
        fitPoints: finished.filter((q) => fitRuns.has(q.run)),
      },
    };
  } catch (e) {
    return { ok: false, note: `no held-out prediction: ${(e as Error).message}` };
  }
}

function collectEvals(all: EvalRecord[], records: RunRecord[], labelOf: Map<string, string>): Section<EvalsData> {
  const byId = new Map(records.map((r) => [r.id, r]));
  const evals = all.filter((e) => e.accuracy !== null && byId.has(e.model));
  if (evals.length === 0) {
    return { ok: false, note: "no few-shot evaluations of these runs yet; run scaling-lab eval --lab DIR on the sweep's runs to see accuracy vs compute" };
  }
  const points = evals.map((e) => {
    const r = byId.get(e.model)!;
    return {
      run: r.id, label: labelOf.get(r.id)!, task: e.task, shots: e.shots, series: `${e.task} (${e.shots}-shot)`,
      N: r.N, C: r.flopsDone || r.C, accuracy: e.accuracy!, n: e.n,
    };
  });
  return { ok: true, data: { points: points.sort((a, b) => a.series.localeCompare(b.series) || a.C - b.C) } };
}

function collectForecast(
  frontier: Section<FrontierData>, records: RunRecord[], seconds: Map<string, number>, now: Date, opts: CollectOptions,
): Section<ForecastData> {
  if (!frontier.ok) return { ok: false, note: "no forecast: it extrapolates the frontier fit, which is missing" };
  const trained = records.filter((r) => r.status !== "failed" && r.flopsDone > 0);
  const ref = trained.reduce((a, b) => (b.flopsDone > a.flopsDone ? b : a));
  const costPerHour = opts.costPerHour ?? 0.1;
  const costUSD = Math.max(1e-6, ((seconds.get(ref.id) ?? 0) / 3600) * costPerHour);
  const year = decimalYear(now);
  const { law } = frontier.data;
  try {
    const fc = runForecast({
      law: powerComputeLaw(law.k, law.alpha, law.E, "flop"),
      lawSource: "the sweep's frontier fit",
      referenceName: ref.id,
      referencePfDays: ref.flopsDone / PF_DAY,
      referenceCostUSD: costUSD,
      referenceYear: year,
      targetLoss: opts.targetLoss,
      budgetUSD: opts.budgetUSD,
      halvingMonths: opts.halvingMonths,
      samples: 0,
    });
    return {
      ok: true,
      data: {
        law,
        reference: { run: ref.id, flops: ref.flopsDone, costUSD, year, loss: fc.referenceLoss },
        costPerHour,
        targetLoss: fc.targetLoss,
        budgetUSD: opts.budgetUSD ?? DEFAULTS.budgetUSD.value,
        halvingMonths: opts.halvingMonths ?? DEFAULTS.halvingMonths.value,
        result: {
          referenceLoss: fc.referenceLoss, targetLoss: fc.targetLoss, targetFlops: fc.targetComputeFlops, computeMultiple: fc.computeMultiple,
          costUSD: fc.costUSD, yearsToBudget: fc.yearsToBudget, yearWithinBudget: fc.yearWithinBudget,
        },
        cMin: frontier.data.cMin,
        cMax: frontier.data.cMax,
        envelope: frontier.data.envelope,
      },
    };
  } catch (e) {
    return { ok: false, note: `no forecast: ${(e as Error).message}` };
  }
}

