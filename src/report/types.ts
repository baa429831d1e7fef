/**
 * The report's data: everything the charts and the dashboard show, collected from the lab store once
 * (src/report/data.ts) and passed as plain JSON to the chart specs (src/report/specs.ts), the HTML report and the
 * dashboard page. Each section either has its data or a one-line note saying why it is missing and what to do.
 */
import type { ChinchillaResult, ExtrapolationRow, ParamCount } from "../analysis/types.js";
import type { LabForecast, PowerLaw } from "./forecast-math.js";

export type { ChinchillaResult, ExtrapolationRow, ParamCount };

/** A section of the report: its data, or a note explaining why there is none. */
export type Section<T> = { ok: true; data: T } | { ok: false; note: string };

/** One run as the report shows it. */
export interface ReportRun {
  id: string;
  /** Ladder size name (e.g. "xs-3"), or the run's name. */
  size: string;
  /** Legend label: size and N, e.g. "xs-3 · N=51.2k". */
  label: string;
  status: string;
  /** Non-embedding parameters. */
  N: number;
  /** Planned tokens and FLOPs. */
  D: number;
  C: number;
  tokensDone: number;
  flopsDone: number;
  finalValLoss: number | null;
  finalTrainLoss: number | null;
  wallSeconds: number | null;
  /** Last logged step and its training loss (null before the first). */
  lastStep: number | null;
  lastTrainLoss: number | null;
  /** Whether the run folder holds a checkpoint (text samples possible). */
  hasCheckpoint: boolean;
}

/** A model size in legend order (increasing N). */
export interface SizeKey {
  label: string;
  N: number;
}

/** One point of a learning curve. */
export interface CurvePoint {
  run: string;
  /** Legend label of the run's size. */
  label: string;
  step: number;
  /** FLOPs spent at this step. */
  C: number;
  loss: number;
}

/** A run's final loss at its size. */
export interface SizePoint {
  run: string;
  label: string;
  N: number;
  D: number;
  C: number;
  loss: number;
}

/** Learning curves of every run. */
export interface CurvesData {
  /** Which loss the curves carry: validation where it was logged, training otherwise. */
  loss: "val" | "train";
  points: CurvePoint[];
}

/** A cooled-down endpoint of a run (its end, or a WSD cooldown branch), as the analysis used it. */
export interface EndpointPoint {
  run: string;
  /** Legend label of the run's size. */
  label: string;
  /** The N the analysis's laws use (see {@link AnalysisInfo.paramCount}). */
  N: number;
  D: number;
  C: number;
  loss: number;
}

/**
 * The compute frontier of the sweep's analysis: L(C) = E + k·C^(−α) fitted to the lower envelope of the cooled-down
 * endpoints, with Kaplan et al.'s mid-schedule learning-curve frontier beside it.
 */
export interface FrontierData {
  law: PowerLaw;
  r2: number;
  /** Decades of compute the envelope spans. */
  decades: number;
  /** Envelope points fitted (increasing C). */
  envelope: { C: number; loss: number }[];
  /** Every endpoint of the sweep (the envelope is those below every endpoint of less compute). */
  endpoints: EndpointPoint[];
  /** Compute range of the endpoints. */
  cMin: number;
  cMax: number;
  /** Kaplan et al.'s method: a pure power law (E = 0) on the envelope of mid-schedule learning-curve points. */
  kaplan: { law: PowerLaw; r2: number; points: number } | null;
}

/** L(N): final loss against non-embedding parameters. */
export interface ParamsLawData {
  law: PowerLaw;
  r2: number;
  points: SizePoint[];
}

/** IsoFLOP profiles (Chinchilla approach 2). */
export interface IsoflopData {
  /** One profile per compute budget, in increasing C. */
  groups: { C: number; label: string; Nopt: number; lossMin: number; parabola: { c0: number; c1: number; c2: number }; nMin: number; nMax: number; inRange: boolean }[];
  points: (SizePoint & { budget: string })[];
  /** N_opt ∝ C^a, D_opt ∝ C^b. */
  a: number;
  b: number;
}

/**
 * The leave-future-out prediction of the analysis: the target (the largest run's final endpoint) predicted by L(N, D)
 * fitted to the endpoints of other runs with at most 1/K of its compute, and the same at every distance the sweep
 * allows.
 */
export interface PredictionData {
  run: string;
  label: string;
  /** Which N the law uses. */
  paramCount: ParamCount;
  /** The target's N (as the analysis counts it), D and C. */
  N: number;
  D: number;
  C: number;
  /** The law's form. */
  law: string;
  level: number;
  /** The headline prediction (K = the analysis's K). */
  main: ExtrapolationRow;
  /** The endpoints the headline fit used. */
  fitPoints: EndpointPoint[];
  /** Every extrapolation distance the sweep allows, in increasing K. */
  table: ExtrapolationRow[];
}

/** Which analysis the report shows, and how it was made. */
export interface AnalysisInfo {
  /** "stored": the sweep's stored analysis (demo, predict); "computed": made for this report, not stored. */
  source: "stored" | "computed";
  /** scaling-lab version and code hash of the analysis. */
  version: string;
  created: string;
  /** Which N its laws use. */
  paramCount: ParamCount;
  /** Endpoints with fewer tokens were left out of the L(N, D) fits and the predictions. */
  minTokens: number;
  /** Leave-future-out ratio of the headline prediction (null without a prediction). */
  K: number | null;
  /** Cooled-down endpoints and runs it used. */
  points: number;
  runs: number;
  /** Why a part is missing (one line each). */
  notes: string[];
}

/** Few-shot accuracy of the sweep's runs. */
export interface EvalsData {
  points: { run: string; label: string; task: string; shots: number; series: string; N: number; C: number; accuracy: number; n: number }[];
}

/** In-context learning curves (evals/icl.ts): loss at each position of the context, per run. */
export interface IclData {
  /** Context length of the curves. */
  T: number;
  /** Context-length bands of the score (inclusive). */
  bands: { early: [number, number]; late: [number, number] };
  /** Loss at each context length (1 … T), per run. */
  points: { run: string; label: string; N: number; position: number; loss: number }[];
  /** Each run's in-context learning score: late − early mean loss (nats; negative = learns from context). */
  scores: { run: string; label: string; N: number; C: number; score: number; early: number; late: number; meanLoss: number }[];
}

/** The emergence study's metrics (evals/metrics.ts) of each run, task and shot count. */
export interface EmergenceData {
  points: {
    run: string; label: string; N: number; C: number; task: string; shots: number; series: string; n: number;
    exactMatch: number; lo: number; hi: number; answerLogLikelihood: number; digitAccuracy: number;
    sampledPassRate: number; sampledLo: number; sampledHi: number; sampledResolved: boolean;
  }[];
}

/** The forecast from the analysis's frontier law, the largest run as the reference. */
export interface ForecastData {
  law: PowerLaw;
  /** The reference run and its price. */
  reference: { run: string; flops: number; costUSD: number; year: number; loss: number };
  /** Dollars per hour used to price the reference run. */
  costPerHour: number;
  /** The assumptions the sliders start from. */
  targetLoss: number;
  budgetUSD: number;
  halvingMonths: number;
  result: LabForecast;
  /** Compute range of the measured frontier (for drawing the extrapolation). */
  cMin: number;
  cMax: number;
  envelope: { C: number; loss: number }[];
}

/** Everything a report (or the dashboard) shows for one sweep. */
export interface ReportData {
  /** Absolute lab directory. */
  lab: string;
  /** ISO 8601 time the data was collected. */
  generated: string;
  /** The sweep shown (null when the lab has none). */
  sweep: string | null;
  /** Every sweep of the lab, oldest first. */
  sweeps: string[];
  plan: string | null;
  ladder: string | null;
  runs: ReportRun[];
  /** Sizes in legend order. */
  sizes: SizeKey[];
  curves: Section<CurvesData>;
  frontier: Section<FrontierData>;
  paramsLaw: Section<ParamsLawData>;
  /** Null when the sweep is not an IsoFLOP sweep. */
  isoflop: Section<IsoflopData> | null;
  prediction: Section<PredictionData>;
  /** Chinchilla's L(N, D) on the endpoints (approach 3, bootstrap by run): compute-optimal tokens per parameter. */
  chinchilla: Section<ChinchillaResult>;
  /** The analysis behind the frontier, prediction, Chinchilla and forecast sections (null: none could be made). */
  analysis: AnalysisInfo | null;
  evals: Section<EvalsData>;
  /** In-context learning curves of the runs (scaling-lab eval --icl, or the demo). */
  icl: Section<IclData>;
  /** The emergence study's metrics; null when the sweep has none. */
  emergence: Section<EmergenceData> | null;
  forecast: Section<ForecastData>;
  /** Published laws drawn over the charts (report --overlay); absent when none was asked for. */
  overlays?: OverlayData[];
}

/** A published law drawn over the sweep's own points (`report --overlay NAME`, src/published/). */
export interface OverlayData {
  /** The law's name, e.g. "kaplan-c". */
  name: string;
  /** The law as a legend label, e.g. "Kaplan et al. 2020: L(C_min) = (C_c^min/C_min)^α_C^min". */
  label: string;
  /** Where its constants come from. */
  source: string;
  /** The chart it is drawn on: loss vs compute (C, FLOP) or final loss vs non-embedding parameters (N). */
  variable: "C" | "N";
  /** The law over the chart's range of x. */
  points: { x: number; loss: number }[];
}
