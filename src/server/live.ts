/**
 * The dashboard's read-only view of a lab while sweeps write to it: opens the store read-only (once lab.sqlite
 * exists), keeps each run's metric rows cached until its heartbeat moves (the sweep writes metrics about every
 * second), and caches the report data of a sweep until one of its runs finishes, an eval is recorded or a new analysis
 * of it is stored. The report data is the report's own (collectReport): the frontier, prediction, Chinchilla and
 * forecast sections come from the sweep's stored analysis, or one made for the page (see src/server/server.ts).
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type CollectOptions, collectReport } from "../report/data.js";
import { toReportRun } from "../report/data.js";
import type { ReportData, ReportRun } from "../report/types.js";
import { LAB_DB_FILE, type Lab, LabError, type MetricRecord, type RunRecord, openLab } from "../store/index.js";

/** A run as the dashboard's runs table and live charts see it. */
export interface LiveRun extends ReportRun {
  sweep: string | null;
  heartbeat: string | null;
}

/** The lab's state for the page: sweeps and runs (with their last logged step). */
export interface LabSnapshot {
  dir: string;
  /** Whether lab.sqlite exists (yet, or still). */
  exists: boolean;
  sweeps: string[];
  runs: LiveRun[];
  /** Why the lab cannot be read (damaged: truncated or corrupt), with the fix; absent when it reads. */
  error?: string;
}

/** A read-only, caching view of one lab directory. */
export class LabWatcher {
  /** Absolute lab directory. */
  readonly dir: string;
  private lab: Lab | null = null;
  private readonly metricsCache = new Map<string, { key: string; rows: MetricRecord[] }>();
  private readonly reportCache = new Map<string, { key: string; data: Promise<ReportData> }>();
  private readonly reportOptions: CollectOptions;

  constructor(dir: string, reportOptions: CollectOptions = {}) {
    this.dir = resolve(dir);
    this.reportOptions = reportOptions;
  }

  /**
   * The open store, or null while the lab has no database (yet, or any more: deleted under the dashboard). A
   * database file replaced under it is opened again; one truncated or corrupt throws LabError("damaged"), whose
   * message says how to rebuild it. An open connection would keep reading a deleted file, so every call checks.
   */
  store(): Lab | null {
    if (this.lab && this.lab.fileState() !== "ok") {
      this.close();
      this.metricsCache.clear();
      this.reportCache.clear();
    }
    if (!this.lab && existsSync(join(this.dir, LAB_DB_FILE))) this.lab = openLab(this.dir, { readonly: true });
    return this.lab;
  }

  /** Sweeps and runs now (every run of the lab, each with its sweep); a damaged lab gives none and its error. */
  snapshot(): LabSnapshot {
    let lab: Lab | null;
    try {
      lab = this.store();
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
      return { dir: this.dir, exists: true, sweeps: [], runs: [], error: e.message };
    }
    if (!lab) return { dir: this.dir, exists: false, sweeps: [], runs: [] };
    const records = lab.listRuns();
    const runs = records.map((r) => {
      const rows = this.rows(lab, r);
      const last = rows.at(-1);
      return {
        ...toReportRun(lab, r), sweep: r.sweep, heartbeat: r.heartbeat,
        lastStep: last?.step ?? null, lastTrainLoss: last && Number.isFinite(last.trainLoss) ? last.trainLoss : null,
      };
    });
    const known = new Set(records.map((r) => r.id));
    for (const id of this.metricsCache.keys()) if (!known.has(id)) this.metricsCache.delete(id);
    return { dir: this.dir, exists: true, sweeps: lab.listSweeps().map((s) => s.name), runs };
  }

  /** A run's metric rows after `after` (all with -1), or null when there is no such run. */
  metrics(id: string, after = -1): MetricRecord[] | null {
    const lab = this.store();
    const run = lab?.getRun(id);
    if (!lab || !run) return null;
    return this.rows(lab, run).filter((m) => m.step > after);
  }

  /** A run record, or undefined. */
  run(id: string): RunRecord | undefined {
    return this.store()?.getRun(id);
  }

  /**
   * The report data of a sweep (default the newest), recomputed only when a run of it changes status or final
   * loss, an eval is recorded, or an analysis of it is stored. Throws ReportError for an unknown sweep.
   */
  async report(sweep?: string): Promise<ReportData | null> {
    const lab = this.store();
    if (!lab) return null;
    const name = sweep ?? lab.listSweeps().at(-1)?.name;
    const runs = name ? lab.listRuns({ sweep: name }) : lab.listRuns();
    const evals = name ? lab.listEvals({ sweep: name }).length : 0;
    const analysis = name ? (lab.getAnalysis(name)?.created ?? null) : null;
    const key = JSON.stringify([runs.map((r) => [r.id, r.status, r.finalValLoss, r.tokensDone > 0]), evals, analysis]);
    const cacheKey = name ?? "";
    const hit = this.reportCache.get(cacheKey);
    if (hit && hit.key === key) return hit.data;
    const data = collectReport(lab, { ...this.reportOptions, sweep: name });
    this.reportCache.set(cacheKey, { key, data });
    data.catch(() => this.reportCache.delete(cacheKey));
    return data;
  }

  /** Closes the store. */
  close(): void {
    this.lab?.close();
    this.lab = null;
  }

  private rows(lab: Lab, r: RunRecord): MetricRecord[] {
    // every metrics write moves the heartbeat and usually tokensDone; a resume's truncation moves both too
    const key = `${r.heartbeat}|${r.tokensDone}|${r.status}`;
    const hit = this.metricsCache.get(r.id);
    if (hit && hit.key === key) return hit.rows;
    const rows = lab.metrics(r.id);
    this.metricsCache.set(r.id, { key, rows });
    return rows;
  }
}
