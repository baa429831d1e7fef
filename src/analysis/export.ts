/**
 * Export of a sweep: its points and the laws fitted to them, with provenance (the runs each fit used, the law's
 * form and constants, where each run came from, the scaling-lab version), as one JSON object or one CSV table.
 * Fits are the existing ones of src/fit/: the compute frontier L(C) on every logged point, L(N) on the finished runs
 * when they share D, and Chinchilla's L(N, D) when their D varies. A fit the data does not allow is reported with
 * the reason instead of constants.
 */
import { type ScalingPoint, fitChinchilla, fitFrontier, fitPower } from "../fit/index.js";
import type { FitPoint, Lab, LossKind, RunRecord } from "../store/index.js";
import { packageVersion } from "../util/version.js";

/** One fitted law of the export. */
export interface ExportedLaw {
  /** "frontier" (L(C) on the lower envelope of the learning curves), "params" (L(N)) or "chinchilla" (L(N, D)). */
  name: "frontier" | "params" | "chinchilla";
  /** The law's form, in scaling-lab's units (N parameters, D tokens, C FLOP). */
  form: string;
  /** Fitted constants (absent when the fit was not possible). */
  constants?: Record<string, number>;
  /** R² of the fit in log-loss, where the fit reports one. */
  r2?: number;
  /** Points the fit used. */
  points: number;
  /** Ids of the runs whose points were used. */
  runs: string[];
  /** Why there is no fit, when there is none. */
  note?: string;
}

/** A sweep's export. */
export interface SweepExport {
  scalingLab: { version: string };
  generated: string;
  lab: string;
  sweep: { name: string; plan: string | null; ladder: string | null; created: string };
  /** Which loss the points and fits use. */
  loss: LossKind;
  runs: {
    id: string; name: string; status: string; N: number; D: number; C: number; finalTrainLoss: number | null; finalValLoss: number | null;
    /** The source file of an imported run, or its run folder. */
    source: string;
  }[];
  /** Every logged point with this loss (the frontier's input). */
  points: FitPoint[];
  laws: ExportedLaw[];
}

function sourceOf(r: RunRecord): string {
  return typeof r.extra.source === "string" ? r.extra.source : typeof r.extra.dataset === "string" ? `dataset ${r.extra.dataset}` : r.dir;
}

function attempt(name: ExportedLaw["name"], form: string, pts: ScalingPoint[], fit: () => { constants: Record<string, number>; r2?: number }): ExportedLaw {
  const runs = [...new Set(pts.map((p) => p.run!))];
  try {
    const { constants, r2 } = fit();
    return { name, form, constants, ...(r2 !== undefined ? { r2 } : {}), points: pts.length, runs };
  } catch (e) {
    return { name, form, points: pts.length, runs, note: (e as Error).message };
  }
}

/**
 * Collects a sweep's export. `loss` chooses the loss (default: validation, or training when no run of the sweep
 * logged a validation loss).
 */
export function exportSweep(lab: Lab, sweepName: string, opts: { loss?: LossKind; now?: Date } = {}): SweepExport {
  const sweep = lab.getSweep(sweepName);
  if (!sweep) lab.frontierPoints(sweepName); // throws the store's one-line "no sweep ... (known: ...)" error
  const records = lab.listRuns({ sweep: sweepName });
  const loss: LossKind = opts.loss ?? (lab.frontierPoints(sweepName, { loss: "val" }).length > 0 ? "val" : "train");
  const points = lab.frontierPoints(sweepName, { loss });
  const final = lab.runPoints(sweepName, { loss });
  const laws: ExportedLaw[] = [];
  const curve: ScalingPoint[] = points.map((p) => ({ run: p.run, C: p.C, loss: p.loss }));
  laws.push(attempt("frontier", "L(C) = E + k·C^(−alpha), lower envelope of all learning curves", curve, () => {
    const f = fitFrontier(curve);
    return { constants: { E: f.E, k: f.k, alpha: f.alpha }, r2: f.r2 };
  }));
  const runPts: ScalingPoint[] = final.map((p) => ({ run: p.run, N: p.N, D: p.D, C: p.C, loss: p.loss }));
  const Ds = runPts.map((p) => p.D!);
  const sharedD = Ds.length > 0 && Math.max(...Ds) <= 1.1 * Math.min(...Ds);
  if (sharedD || runPts.length < 6) {
    laws.push(attempt("params", "L(N) = E + k·N^(−alpha), final losses of runs sharing D", runPts, () => {
      const f = fitPower(runPts, { variable: "N", irreducible: new Set(runPts.map((p) => p.N)).size >= 4 });
      return { constants: { E: f.E, k: f.k, alpha: f.alpha }, r2: f.r2 };
    }));
  } else {
    laws.push(attempt("chinchilla", "L(N, D) = E + A/N^alpha + B/D^beta (Huber on log loss, L-BFGS)", runPts, () => {
      const f = fitChinchilla(runPts);
      return { constants: { E: f.E, A: f.A, B: f.B, alpha: f.alpha, beta: f.beta } };
    }));
  }
  return {
    scalingLab: { version: packageVersion() },
    generated: (opts.now ?? new Date()).toISOString(),
    lab: lab.dir,
    sweep: { name: sweep!.name, plan: sweep!.plan, ladder: sweep!.ladder, created: sweep!.created },
    loss,
    runs: records.map((r) => ({
      id: r.id, name: r.name, status: r.status, N: r.N, D: r.tokensDone || r.D, C: r.flopsDone || r.C,
      finalTrainLoss: r.finalTrainLoss, finalValLoss: r.finalValLoss, source: sourceOf(r),
    })),
    points,
    laws,
  };
}

/** The CSV columns of {@link exportCsv}. */
export const EXPORT_CSV_COLUMNS = [
  "record", "sweep", "run", "step", "N", "D", "C", "loss", "loss_kind", "law", "form", "constants", "r2", "runs_used", "note", "source",
  "scaling_lab_version",
] as const;

function field(x: unknown): string {
  if (x === undefined || x === null) return "";
  const s = String(x);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The export as one CSV table (RFC 4180): a `law` row per fitted law (constants as `name=value;…`, the runs it
 * used as `id;id;…`) and a `point` row per logged point; every row names the sweep and the scaling-lab version.
 */
export function exportCsv(x: SweepExport): string {
  const source = new Map(x.runs.map((r) => [r.id, r.source]));
  const rows: Record<(typeof EXPORT_CSV_COLUMNS)[number], unknown>[] = [];
  const base = { sweep: x.sweep.name, loss_kind: x.loss, scaling_lab_version: x.scalingLab.version };
  for (const l of x.laws) {
    rows.push({
      ...base, record: "law", run: "", step: "", N: "", D: "", C: "", loss: "", law: l.name, form: l.form,
      constants: l.constants ? Object.entries(l.constants).map(([k, v]) => `${k}=${v}`).join(";") : "", r2: l.r2, runs_used: l.runs.join(";"),
      note: l.note, source: "",
    });
  }
  for (const p of x.points) {
    rows.push({
      ...base, record: "point", run: p.run, step: p.step, N: p.N, D: p.D, C: p.C, loss: p.loss, law: "", form: "", constants: "", r2: "",
      runs_used: "", note: "", source: source.get(p.run),
    });
  }
  return [EXPORT_CSV_COLUMNS.join(","), ...rows.map((r) => EXPORT_CSV_COLUMNS.map((c) => field(r[c])).join(","))].join("\n") + "\n";
}
