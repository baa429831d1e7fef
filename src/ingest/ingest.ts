/**
 * From foreign training logs to runs of a lab: parse every source (detect.ts), give each run its N, D and C, and
 * record them all in one transaction through the store's public API (Lab.recordExternalRuns). Everything is read
 * and checked before the lab is touched, so a malformed file changes nothing.
 *
 * - N (non-embedding parameters, Kaplan's N) comes from `params` (a flag), else from the shape the source records
 *   (src/model/accounting.ts), else from a parameter count it records.
 * - Tokens at a step come from the source when it logs them, else step × tokens per step (a flag, or the source's
 *   own record: nanoGPT's "tokens per iteration", llm.c's total batch size, or the Hugging Face Trainer's
 *   total_flos / (6·N·global_step)).
 * - C = 6·N·D (Kaplan's C without the attention term, the convention the Trainer's total_flos also uses).
 * - Step 0 (before any update, 0 tokens) is not a scaling point and is left out.
 *
 * Run ids are stable: a slug of the run's name plus a hash of the sweep, the file's absolute path and the run's name
 * within the file, so importing the same source again finds the same runs.
 */
import { createHash } from "node:crypto";
import { basename, dirname, extname, resolve } from "node:path";
import { paramCounts } from "../model/accounting.js";
import type { ExternalRunInput, ExternalRunsResult, Lab, MetricRecord } from "../store/index.js";
import { parseSource } from "./detect.js";
import { IngestError } from "./errors.js";
import type { ColumnNames, ParsedRun, SourceFormat } from "./types.js";

/** Options of {@link readSources} and {@link importSources}. */
export interface IngestOptions {
  /** The sweep the runs go to. */
  sweep: string;
  /** Non-embedding parameters: one value for every run, or one per run (in file order). */
  params?: number[];
  /** Tokens per optimizer step: one value for every run, or one per run. */
  tokensPerStep?: number[];
  /** Force a format instead of detecting it. */
  format?: SourceFormat;
  /** Column (or TensorBoard tag) names. */
  columns?: ColumnNames;
}

/** One imported run, as reported. */
export interface IngestedRun {
  id: string;
  name: string;
  file: string;
  format: SourceFormat;
  N: number;
  D: number;
  C: number;
  /** Logged steps stored. */
  points: number;
  finalTrainLoss: number | null;
  finalValLoss: number | null;
  /** Where N came from: "flag", "shape" or "log". */
  paramsFrom: "flag" | "shape" | "log";
  /** What the import did to it. */
  action?: "created" | "updated" | "unchanged";
}

/** What {@link importSources} did. */
export interface IngestResult {
  sweep: string;
  runs: IngestedRun[];
  /** Logged steps stored in all. */
  points: number;
  created: number;
  updated: number;
  unchanged: number;
}

const GENERIC_NAMES = /^(trainer_state\.json|events\.out\.tfevents.*|main\.log|log\d*\.txt|train\.log|metrics\.jsonl|history\.csv|log\.txt)$/i;

/** A readable name for a run: its name within the file, else the file's (or, for a generic file name, its folder's). */
function runName(run: ParsedRun): string {
  if (run.runName) return run.runName;
  const file = resolve(run.file);
  const base = basename(file);
  if (!GENERIC_NAMES.test(base)) return basename(base, extname(base));
  const dir = basename(dirname(file));
  // a Hugging Face checkpoint folder: name it after the run's folder and the checkpoint
  return /^checkpoint-\d+$/.test(dir) ? `${basename(dirname(dirname(file)))}-${dir}` : dir;
}

function slug(s: string): string {
  const x = s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "").slice(0, 60);
  return x || "run";
}

function pick(list: number[] | undefined, i: number, count: number, flag: string): number | undefined {
  if (list === undefined) return undefined;
  if (list.length === 1) return list[0];
  if (list.length !== count) {
    throw new IngestError(`--${flag} has ${list.length} values for ${count} runs; give one value for all, or one per run in file order`);
  }
  return list[i];
}

/** Gives a parsed run its N, D, C and metric rows; throws an IngestError naming the file for what is missing. */
export function resolveRun(run: ParsedRun, i: number, count: number, opts: IngestOptions): ExternalRunInput & { paramsFrom: IngestedRun["paramsFrom"] } {
  const where = run.runName ? `${run.file} (run ${run.runName})` : run.file;
  const flagN = pick(opts.params, i, count, "params");
  let N: number;
  let paramsFrom: IngestedRun["paramsFrom"];
  if (flagN !== undefined) [N, paramsFrom] = [flagN, "flag"];
  else if (run.shape) [N, paramsFrom] = [paramCounts(run.shape).nonEmbedding, "shape"];
  else if (run.params !== undefined) [N, paramsFrom] = [run.params, "log"];
  else {
    throw new IngestError(`${where}: the log does not record the model's size; pass --params N (non-embedding parameters; a list gives one per run)`);
  }
  const logged = run.steps.filter((s) => s.step > 0 || (s.tokens ?? 0) > 0);
  const allTokens = logged.length > 0 && logged.every((s) => s.tokens !== undefined);
  let tps = pick(opts.tokensPerStep, i, count, "tokens-per-step") ?? run.tokensPerStep;
  if (tps === undefined && !allTokens && run.totalFlops !== undefined && run.lastStep !== undefined) {
    tps = run.totalFlops / (6 * N * run.lastStep); // the Trainer's total_flos = 6·N·D
  }
  if (tps === undefined && !allTokens) {
    throw new IngestError(
      `${where}: the log does not record tokens per step; pass --tokens-per-step K (batch size × gradient accumulation × devices × sequence length)`,
    );
  }
  const metrics: MetricRecord[] = [];
  for (const s of logged) {
    const tokens = s.tokens ?? s.step * tps!;
    if (!(tokens > 0)) continue;
    const m: MetricRecord = {
      step: s.step, tokens: Math.round(tokens), flops: 6 * N * tokens, lr: s.lr ?? NaN, trainLoss: s.trainLoss ?? NaN,
      gradNorm: s.gradNorm ?? NaN, elapsed: s.elapsed ?? NaN, tokensPerSec: s.elapsed ? tokens / s.elapsed : NaN,
    };
    if (s.valLoss !== undefined) m.valLoss = s.valLoss;
    metrics.push(m);
  }
  if (metrics.length === 0) throw new IngestError(`${where}: no loss logged after step 0; import the log once training has logged a step`);
  const lastTrain = [...metrics].reverse().find((m) => Number.isFinite(m.trainLoss));
  const lastVal = [...metrics].reverse().find((m) => m.valLoss !== undefined);
  const D = metrics[metrics.length - 1].tokens;
  const name = runName(run);
  const file = resolve(run.file);
  const key = createHash("sha256").update(`${opts.sweep}\n${file}\n${run.runName ?? ""}`).digest("hex").slice(0, 8);
  return {
    id: `${slug(name)}-${key}`,
    name,
    shape: run.shape ?? null,
    N,
    ...(run.shape ? { params: paramCounts(run.shape).total } : {}),
    D,
    C: 6 * N * D,
    metrics,
    finalTrainLoss: lastTrain?.trainLoss ?? null,
    finalValLoss: lastVal?.valLoss ?? null,
    dir: dirname(file),
    config: {
      model: run.shape ?? null,
      tokens: D,
      batchTokens: tps ?? null,
      source: { file, format: run.format, ...(run.runName ? { run: run.runName } : {}) },
      N: { value: N, from: paramsFrom },
      flops: "C = 6·N·D (N non-embedding)",
      ...run.config,
    },
    extra: { source: file, format: run.format, size: name },
    paramsFrom,
  };
}

/** Parses and resolves every source (nothing written); throws the first IngestError. */
export function readSources(files: readonly string[], opts: IngestOptions): (ExternalRunInput & { paramsFrom: IngestedRun["paramsFrom"]; format: SourceFormat; file: string })[] {
  if (files.length === 0) throw new IngestError("give at least one file to import (trainer_state.json, events.out.tfevents.*, a CSV/JSONL export or a training log)");
  const unique = [...new Map(files.map((f) => [resolve(f), f])).values()];
  const parsed = unique.flatMap((f) => parseSource(f, { ...(opts.format ? { format: opts.format } : {}), ...(opts.columns ? { columns: opts.columns } : {}) }));
  return parsed.map((run, i) => ({ ...resolveRun(run, i, parsed.length, opts), format: run.format, file: run.file }));
}

/**
 * Imports sources into a sweep of an open lab: parses and checks them all, then records every run in one
 * transaction. Re-importing the same sources changes nothing; a changed source updates its runs.
 */
export function importSources(lab: Lab, files: readonly string[], opts: IngestOptions): IngestResult {
  const runs = readSources(files, opts);
  const done = lab.recordExternalRuns({ name: opts.sweep, plan: "import" }, runs.map(({ paramsFrom: _p, format: _f, file: _file, ...r }) => r));
  return summarize(opts.sweep, runs.map((r) => ({ ...r, file: r.file, format: r.format, paramsFrom: r.paramsFrom })), done);
}

/** The report of an import: each run with what was done to it, and the totals. */
export function summarize(
  sweep: string,
  runs: (ExternalRunInput & { file: string; format: SourceFormat; paramsFrom: IngestedRun["paramsFrom"] })[],
  done: ExternalRunsResult,
): IngestResult {
  const action = (id: string): IngestedRun["action"] =>
    done.created.includes(id) ? "created" : done.updated.includes(id) ? "updated" : "unchanged";
  const out: IngestedRun[] = runs.map((r) => ({
    id: r.id, name: r.name ?? r.id, file: r.file, format: r.format, N: r.N, D: r.D, C: r.C, points: r.metrics.length,
    finalTrainLoss: r.finalTrainLoss, finalValLoss: r.finalValLoss, paramsFrom: r.paramsFrom, action: action(r.id),
  }));
  return {
    sweep, runs: out, points: out.reduce((a, r) => a + r.points, 0),
    created: done.created.length, updated: done.updated.length, unchanged: done.unchanged.length,
  };
}
