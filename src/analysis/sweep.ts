/**
 * The analysis of a sweep in a lab: its endpoints and learning curves from the store, the target (the run with the
 * most planned compute), {@link analyzeEndpoints}, and the result stored in the lab's `analyses` table.
 */
import type { Lab } from "../store/index.js";
import { type AnalysisOptions, analyzeEndpoints, type TargetInput } from "./analyze.js";
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

/** Analyses a sweep (see src/analysis/analyze.ts), stores the result in the lab and returns it. */
export async function analyzeSweep(lab: Lab, sweep: string, opts: SweepAnalysisOptions): Promise<SweepAnalysis> {
  const runs = lab.listRuns({ sweep });
  const byId = new Map(runs.map((r) => [r.id, r]));
  const targetRun = opts.target ? byId.get(opts.target) : runs.reduce((a, b) => (b.C > a.C ? b : a), runs[0]);
  let target: TargetInput | null = null;
  if (targetRun) {
    const final = targetRun.status === "done" ? lab.endpoints(targetRun.id).find((e) => e.kind === "final") : undefined;
    target = {
      run: targetRun.id, nonEmbedding: targetRun.N, params: targetRun.params, D: final?.tokens ?? targetRun.D,
      C: final?.flops ?? targetRun.C, actual: final?.valLoss ?? null,
    };
  }
  const endpoints = lab.endpointPoints(sweep).map((p) => ({ run: p.run, nonEmbedding: p.N, params: p.params!, D: p.D, C: p.C, loss: p.loss }));
  const curves = lab.frontierPoints(sweep).map((p) => ({ run: p.run, C: p.C, loss: p.loss }));
  const result: SweepAnalysis = {
    sweep, version: opts.version, created: new Date().toISOString(),
    ...(await analyzeEndpoints(endpoints, target, { ...opts, curves })),
  };
  if (opts.store ?? true) lab.saveAnalysis(sweep, opts.version, result);
  return result;
}

/** The analysis stored for a sweep, if any. */
export function storedAnalysis(lab: Lab, sweep: string): SweepAnalysis | null {
  return (lab.getAnalysis(sweep)?.result as SweepAnalysis | undefined) ?? null;
}
