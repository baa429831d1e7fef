/**
 * The analysis of a sweep in a lab: its endpoints and learning curves from the store, the target (the run with the
 * most planned compute), {@link analyzeEndpoints}, and the result stored in the lab's `analyses` table.
 */
import type { Lab } from "../store/index.js";
import type { ScalingPoint } from "../fit/index.js";
import { type AnalysisOptions, analyzeEndpoints, type EndpointInput, type TargetInput } from "./analyze.js";
import type { SweepAnalysis } from "./types.js";

/** Options of {@link analyzeSweep}. */
export interface SweepAnalysisOptions extends AnalysisOptions {
  /** The version stamp stored with the result (e.g. "0.1.0+1a2b3c4d"). */
  version: string;
  /** The run to predict (default: the sweep's run with the most planned compute). */
  target?: string;
  /** Store the result in the lab (default true). */
  store?: boolean;
}

/** What an analysis of a sweep is made of, wherever the runs are kept (a lab, or the browser playground's memory). */
export interface SweepInput {
  /** Every cooled-down endpoint of the sweep's runs (failed runs left out). */
  endpoints: EndpointInput[];
  /** The run to predict, or null for a sweep without runs. */
  target: TargetInput | null;
  /** The learning curves' (C, loss) points, for Kaplan's frontier. */
  curves: ScalingPoint[];
}

/** What {@link targetInput} reads of a run. */
export interface TargetRun {
  id: string;
  /** Non-embedding parameters. */
  N: number;
  params: number;
  /** Planned tokens and FLOPs. */
  D: number;
  C: number;
  status: string;
}

/**
 * The run a sweep's analysis predicts: the run `target` names, else the one with the most planned compute; once it is
 * done, its final endpoint (`finalOf`) gives its D, C and actual loss.
 */
export function targetInput<R extends TargetRun>(
  runs: readonly R[], finalOf: (r: R) => { tokens: number; flops: number; valLoss: number | null } | undefined, target?: string,
): TargetInput | null {
  const r = target ? runs.find((x) => x.id === target) : runs.reduce<R | undefined>((a, b) => (a === undefined || b.C > a.C ? b : a), undefined);
  if (!r) return null;
  const final = r.status === "done" ? finalOf(r) : undefined;
  return { run: r.id, nonEmbedding: r.N, params: r.params, D: final?.tokens ?? r.D, C: final?.flops ?? r.C, actual: final?.valLoss ?? null };
}

/** The {@link SweepInput} of a sweep of a lab (`target`: a run id, default the run with the most planned compute). */
export function sweepInput(lab: Lab, sweep: string, target?: string): SweepInput {
  return {
    endpoints: lab.endpointPoints(sweep).map((p) => ({ run: p.run, nonEmbedding: p.N, params: p.params!, D: p.D, C: p.C, loss: p.loss })),
    target: targetInput(lab.listRuns({ sweep }), (r) => lab.endpoints(r.id).find((e) => e.kind === "final"), target),
    curves: lab.frontierPoints(sweep).map((p) => ({ run: p.run, C: p.C, loss: p.loss })),
  };
}

/** The analysis of a {@link SweepInput} (see src/analysis/analyze.ts), stamped with the sweep and version. */
export async function analyzeInput(sweep: string, input: SweepInput, opts: AnalysisOptions & { version: string }): Promise<SweepAnalysis> {
  return {
    sweep, version: opts.version, created: new Date().toISOString(),
    ...(await analyzeEndpoints(input.endpoints, input.target, { ...opts, curves: input.curves })),
  };
}

/** Analyses a sweep (see src/analysis/analyze.ts), stores the result in the lab and returns it. */
export async function analyzeSweep(lab: Lab, sweep: string, opts: SweepAnalysisOptions): Promise<SweepAnalysis> {
  const result = await analyzeInput(sweep, sweepInput(lab, sweep, opts.target), opts);
  if (opts.store ?? true) lab.saveAnalysis(sweep, opts.version, result);
  return result;
}

/** The analysis stored for a sweep, if any. */
export function storedAnalysis(lab: Lab, sweep: string): SweepAnalysis | null {
  return (lab.getAnalysis(sweep)?.result as SweepAnalysis | undefined) ?? null;
}
