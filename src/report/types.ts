/**
 * The report's data: everything the charts and the dashboard show, collected from the lab store once
 * (src/report/data.ts) and passed as plain JSON to the chart specs (src/report/specs.ts), the HTML report and the
 * dashboard page. Each section either has its data or a one-line note saying why it is missing and what to do.
 */
import type { LabForecast, PowerLaw } from "./forecast-math.js";

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

/** The compute frontier: L(C) fitted to the lower envelope of all learning curves. */
export interface FrontierData {
  law: PowerLaw;
  r2: number;
  /** Envelope points fitted. */
  envelope: { C: number; loss: number }[];
  cMin: number;
  cMax: number;
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

/** The held-out prediction: the largest run's loss predicted from the others. */
export interface PredictionData {
  run: string;
  label: string;
  N: number;
  predicted: number;
  /** Bootstrap interval at `level` (null without one). */
  interval: [number, number] | null;
  level: number;
  /** Final validation loss once trained (null before). */
  actual: number | null;
  errorPct: number | null;
  inInterval: boolean | null;
  /** The law fitted to the smaller runs: L(N) = E + k·N^(−α). */
  law: PowerLaw;
  fitPoints: SizePoint[];
}

/** Few-shot accuracy of the sweep's runs. */
export interface EvalsData {
  points: { run: string; label: string; task: string; shots: number; series: string; N: number; C: number; accuracy: number; n: number }[];
}

/** The forecast from the fitted frontier law, the largest run as the reference. */
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
  evals: Section<EvalsData>;
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
