/**
 * The report's sections that come from the sweep's analysis (src/analysis/): the compute frontier of the cooled-down
 * endpoints with Kaplan's learning-curve frontier beside it, the leave-future-out prediction with the error at every
 * extrapolation distance, and Chinchilla's L(N, D) with the compute-optimal tokens per parameter.
 *
 * The analysis is the one stored in the lab (by `demo` or `predict`) when it covers the sweep's current endpoints;
 * otherwise it is made for the report, not stored (`analyzeInput`), with the sweep's settings
 * (its ladder's `analysis`: K, which N, the early endpoints left out) or, for a stale stored one, with that one's.
 * Nothing here fits a law itself.
 */
import { type AnalysisOptions, type AnalysisPoint, analyzeInput, leaveFutureOut, type SweepAnalysis, type SweepInput } from "../analysis/index.js";
import type { SweepRecord } from "../store/index.js";
import { formatStamp, versionStamp } from "../util/version.js";
import type { AnalysisInfo, ChinchillaResult, EndpointPoint, FrontierData, PredictionData, Section } from "./types.js";

/** What the report analyses a sweep from: the analysis stored with it (if any) and its endpoints now. */
export interface AnalysisSource extends SweepInput {
  /** The analysis stored in the lab (by `demo` or `predict`), or null. */
  stored: SweepAnalysis | null;
}

/** What the analysis needs to know of a sweep: its name, and its ladder and spec for the settings. */
export type SweepRef = Pick<SweepRecord, "name" | "ladder" | "spec">;

/** The analysis settings of a sweep that has none stored (a sweep's ladder gives them: src/sweep/ladder.ts). */
export type AnalysisSettings = Pick<AnalysisOptions, "K" | "paramCount" | "minTokens">;

/** Options of {@link collectAnalysis}. */
export interface AnalysisCollectOptions {
  /** Bootstrap replicates of an analysis made for the report (default 200; 0: the frontier only). */
  bootstrap?: number;
  /** Worker threads of its fits (default: one per core). */
  workers?: number;
  /** The settings of an analysis made for the report (default: the analysis's defaults). */
  analysisSettings?: (sweep: SweepRef) => AnalysisSettings;
  /** The version recorded in an analysis made for the report (default: this installation's stamp). */
  version?: string;
}

/** The analysis-backed sections of a report. */
export interface AnalysisSections {
  analysis: AnalysisInfo | null;
  frontier: Section<FrontierData>;
  prediction: Section<PredictionData>;
  chinchilla: Section<ChinchillaResult>;
}

/** The same note in every analysis-backed section (an empty sweep, runs outside any sweep). */
export function noAnalysis(note: string): AnalysisSections {
  return { analysis: null, frontier: { ok: false, note }, prediction: { ok: false, note }, chinchilla: { ok: false, note } };
}

/** The sweep's analysis (stored, else made now) as the report's sections. */
export async function collectAnalysis(
  input: AnalysisSource, sweep: SweepRef, labelOf: Map<string, string>, opts: AnalysisCollectOptions,
): Promise<AnalysisSections> {
  const { analysis, source, staleNote } = await sweepAnalysisFor(input, sweep, opts);
  const label = (p: AnalysisPoint): EndpointPoint => ({ ...p, label: labelOf.get(p.run) ?? p.run });
  const minTokens = analysis.minTokens ?? 0;
  const main = analysis.prediction?.main ?? null;
  const info: AnalysisInfo = {
    source, version: analysis.version, created: analysis.created, paramCount: analysis.paramCount, minTokens, K: main?.K ?? null,
    points: analysis.points.length, runs: analysis.runs.length, notes: staleNote ? [staleNote, ...analysis.notes] : analysis.notes,
  };
  return {
    analysis: info,
    frontier: frontierSection(analysis, label),
    prediction: predictionSection(analysis, label, labelOf),
    chinchilla: analysis.chinchilla
      ? { ok: true, data: analysis.chinchilla }
      : { ok: false, note: `no Chinchilla L(N, D): ${noteOf(analysis, "Chinchilla") ?? "the analysis has none"}` },
  };
}

/**
 * The stored analysis when it was made from exactly the sweep's current endpoints, else a new one (not stored): with
 * the stale one's settings, or the sweep's.
 */
async function sweepAnalysisFor(
  input: AnalysisSource, sweep: SweepRef, opts: AnalysisCollectOptions,
): Promise<{ analysis: SweepAnalysis; source: AnalysisInfo["source"]; staleNote: string | null }> {
  const stored = input.stored;
  const now = input.endpoints.filter((p) => Number.isFinite(p.loss) && p.loss > 0);
  const key = (p: { run: string; D: number; loss: number }) => `${p.run}|${p.D}|${p.loss}`;
  if (stored) {
    const have = new Set(stored.points.map(key));
    if (have.size === now.length && now.every((p) => have.has(key(p)))) return { analysis: stored, source: "stored", staleNote: null };
  }
  const settings: AnalysisSettings = stored
    ? { K: stored.prediction?.main?.K, paramCount: stored.paramCount, minTokens: stored.minTokens }
    : (opts.analysisSettings?.(sweep) ?? {});
  const analysis = await analyzeInput(sweep.name, input, {
    ...settings, version: opts.version ?? formatStamp(versionStamp()), bootstrap: opts.bootstrap ?? 200, workers: opts.workers, seed: 0,
  });
  const staleNote = stored
    ? `the analysis stored on ${stored.created.slice(0, 10)} does not cover the sweep's ${now.length} endpoints; this one was made for the report (scaling-lab predict --sweep ${sweep.name} stores a new one)`
    : null;
  return { analysis, source: "computed", staleNote };
}

/** The analysis's note about `part` (its notes read "part: why"), without the part. */
function noteOf(a: SweepAnalysis, part: string): string | null {
  const n = a.notes.find((x) => x.startsWith(part));
  return n ? n.slice(n.indexOf(":") + 1).trim() : null;
}

function frontierSection(a: SweepAnalysis, label: (p: AnalysisPoint) => EndpointPoint): Section<FrontierData> {
  const f = a.frontier;
  if (!f) return { ok: false, note: `no frontier fit: ${noteOf(a, "frontier") ?? "the analysis has none"}` };
  const Cs = a.points.map((p) => p.C);
  const k = a.kaplan;
  return {
    ok: true,
    data: {
      law: { k: f.A, alpha: f.alpha, E: f.E }, r2: f.r2, decades: f.decades,
      envelope: f.envelope.map((p) => ({ C: p.C, loss: p.loss })), endpoints: a.points.map(label),
      cMin: Math.min(...Cs), cMax: Math.max(...Cs),
      kaplan: k ? { law: { k: k.k, alpha: k.alpha, E: 0 }, r2: k.r2, points: k.points } : null,
    },
  };
}

function predictionSection(
  a: SweepAnalysis, label: (p: AnalysisPoint) => EndpointPoint, labelOf: Map<string, string>,
): Section<PredictionData> {
  const p = a.prediction;
  const why = noteOf(a, "prediction") ?? noteOf(a, "Chinchilla L(N, D) and the held-out prediction");
  if (!p) return { ok: false, note: `no held-out prediction: ${why ?? "the sweep has no run to predict"}` };
  if (!p.main) return { ok: false, note: `no held-out prediction of ${p.run}: ${why ?? "too few endpoints"}` };
  const K = p.main.K;
  const fitSet = leaveFutureOut(a.points.filter((q) => q.D >= (a.minTokens ?? 0)), { run: p.run, C: p.C }, K);
  return {
    ok: true,
    data: {
      run: p.run, label: labelOf.get(p.run) ?? p.run, paramCount: a.paramCount, N: p.N, D: p.D, C: p.C, law: p.law, level: p.level, main: p.main,
      fitPoints: fitSet.map(label), table: p.table,
    },
  };
}
