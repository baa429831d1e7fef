/**
 * Row mapping between SQLite rows and the store's records, and the small checks and helpers the lab uses
 * (id and status validation, derived shape columns, finite-or-null numbers, timestamps).
 */
import { LabError } from "./errors.js";
import { checkRunConfig } from "./folder.js";
import {
  type EvalRecord,
  type MetricRecord,
  type PlanRunInput,
  RUN_STATUSES,
  type RunConfig,
  type RunRecord,
  type RunStatus,
  type SweepRecord,
} from "./types.js";

/** A row of the sweeps table, as SQLite returns it. */
export interface SweepSqlRow {
  name: string;
  plan: string | null;
  ladder: string | null;
  spec: string;
  created: string;
}

/** A row of the runs table (JSON columns as text). */
export type RunSqlRow = Omit<RunRecord, "config" | "extra"> & { config: string; extra: string };

/** A row of the metrics table: a {@link MetricRecord} with its run id, NULL where a value was missing or not finite. */
export type MetricSqlRow = { runId: string; step: number } & { [K in Exclude<keyof MetricRecord, "step">]-?: number | null };

/** A row of the evals table. */
export type EvalSqlRow = Omit<EvalRecord, "extra"> & { id: number; extra: string };

/** A sweeps row as a record. */
export function toSweep(r: SweepSqlRow): SweepRecord {
  return { name: r.name, plan: r.plan, ladder: r.ladder, spec: JSON.parse(r.spec) as Record<string, unknown>, created: r.created };
}

/** A runs row as a record (config and extras parsed). */
export function toRun(r: RunSqlRow): RunRecord {
  return { ...r, config: JSON.parse(r.config) as RunConfig, extra: JSON.parse(r.extra) as Record<string, unknown> };
}

/** A metrics row as a record (valLoss only where validation ran). */
export function toMetric(r: MetricSqlRow): MetricRecord {
  const m: MetricRecord = {
    step: r.step,
    tokens: r.tokens ?? NaN,
    flops: r.flops ?? NaN,
    lr: r.lr ?? NaN,
    trainLoss: r.trainLoss ?? NaN,
    gradNorm: r.gradNorm ?? NaN,
    elapsed: r.elapsed ?? NaN,
    tokensPerSec: r.tokensPerSec ?? NaN,
  };
  if (r.valLoss !== null) m.valLoss = r.valLoss;
  return m;
}

/** An evals row as a record. */
export function toEval(r: EvalSqlRow): EvalRecord {
  return {
    model: r.model, task: r.task, shots: r.shots, n: r.n, accuracy: r.accuracy, meanLogLik: r.meanLogLik, created: r.created,
    extra: JSON.parse(r.extra) as Record<string, unknown>,
  };
}

// ------------------------------------------------------------------ helpers

/** SCALING_LAB_BUSY_TIMEOUT_MS as a whole number of ms, or undefined when unset or invalid. */
export function envBusyTimeout(): number | undefined {
  const raw = process.env.SCALING_LAB_BUSY_TIMEOUT_MS;
  const ms = raw === undefined || raw === "" ? NaN : Number(raw);
  return Number.isInteger(ms) && ms >= 0 ? ms : undefined;
}

/** Blocks this thread for `ms` milliseconds (the store is synchronous, like better-sqlite3). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The current time, ISO 8601 UTC. */
export function now(): string {
  return new Date().toISOString();
}

/** A finite number, or null (SQLite has no NaN/Infinity; a missing value is NULL). */
export function num(x: number | null | undefined): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

/** Throws LabError("invalid") unless `id` is 1–200 safe characters (it names a folder). */
export function checkId(id: string, what: string): void {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new LabError(
      "invalid",
      `invalid ${what} ${JSON.stringify(id)}: use 1–200 letters, digits, '.', '_' or '-', not starting with '.' or '-'`,
    );
  }
}

/** Throws LabError("invalid") for an unknown status; returns the list typed. */
export function checkStatuses(statuses: readonly string[]): RunStatus[] {
  for (const s of statuses) {
    if (!RUN_STATUSES.includes(s as RunStatus)) {
      throw new LabError("invalid", `unknown run status "${s}" (known: ${RUN_STATUSES.join(", ")})`);
    }
  }
  return statuses as RunStatus[];
}

/**
 * Shape columns, params, N, D and C of a planned run: the shape from its config, the counts from the accounting the
 * caller computed (src/model/accounting.ts). Throws LabError("invalid") for a config or accounting that cannot be.
 */
export function deriveColumns(input: PlanRunInput) {
  const c = checkRunConfig(input.config, `run ${input.id}`);
  const m = c.model;
  const a = input.accounting;
  const positive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;
  if (!a || !positive(a.params) || !positive(a.N) || !positive(a.flopsPerToken)) {
    throw new LabError(
      "invalid",
      `run ${input.id}: accounting needs positive params, N and flopsPerToken, got ${JSON.stringify(a)}; pass runAccounting(config.model)`,
    );
  }
  const D = input.D ?? Math.ceil(c.tokens / c.batchTokens) * c.batchTokens;
  const C = input.C ?? a.flopsPerToken * D;
  return {
    nLayer: m.nLayer, nHead: m.nHead, nEmbd: m.nEmbd, blockSize: m.blockSize, vocabSize: m.vocabSize,
    params: a.params, N: a.N, D, C,
  };
}
