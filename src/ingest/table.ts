/**
 * Table sources: CSV (a Weights & Biases run-history export, a W&B chart export, any CSV with a header) and JSONL
 * (one JSON object per line: a metrics log, W&B's history lines, scaling-lab's own metrics.jsonl). Columns are
 * matched to quantities by flag or by their usual names (see names.ts).
 *
 * A W&B chart ("panel") export holds several runs: a `Step` column, then `<run> - <metric>` columns with
 * `__MIN`/`__MAX` companions (ignored); each run becomes one ParsedRun.
 */
import { parseCsv } from "../fit/csv.js";
import { IngestError } from "./errors.js";
import { isNonFinite, parsePythonJson } from "./hf-trainer.js";
import { type Quantity, matchNames } from "./names.js";
import type { ColumnNames, LoggedStep, ParsedRun, SourceFormat } from "./types.js";

/** A table read from a file: column names and rows (cells as text or numbers; undefined when empty). */
interface Table {
  columns: string[];
  rows: Record<string, unknown>[];
  /** Line number of each row in the file (1-based), for messages. */
  lines: number[];
}

const PANEL_COLUMN = /^(.+) - (.+)$/;

function givenNames(columns: ColumnNames): Partial<Record<Quantity, string>> {
  const given: Partial<Record<Quantity, string>> = {};
  if (columns.step !== undefined) given.step = columns.step;
  if (columns.loss !== undefined) given.trainLoss = columns.loss;
  if (columns.valLoss !== undefined) given.valLoss = columns.valLoss;
  if (columns.tokens !== undefined) given.tokens = columns.tokens;
  return given;
}

function cellNumber(v: unknown): number | undefined | "bad" {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "number") return Number.isFinite(v) ? v : "bad";
  if (isNonFinite(v)) return "bad";
  const x = Number(String(v).trim());
  return Number.isFinite(x) ? x : "bad";
}

/** Turns table rows into steps, with the column of each quantity already chosen. */
function stepsOf(file: string, table: Table, names: Partial<Record<Quantity, string>>): LoggedStep[] {
  const byStep = new Map<number, LoggedStep>();
  const fields: [Quantity, keyof LoggedStep][] = [
    ["trainLoss", "trainLoss"], ["valLoss", "valLoss"], ["tokens", "tokens"], ["lr", "lr"], ["gradNorm", "gradNorm"], ["elapsed", "elapsed"],
  ];
  table.rows.forEach((row, i) => {
    const line = table.lines[i];
    const step = cellNumber(row[names.step!]);
    if (step === undefined) return; // a row of another logger's keys (W&B logs system metrics on their own rows)
    if (step === "bad" || !Number.isInteger(step) || step < 0) {
      throw new IngestError(`${file}:${line}: step ${JSON.stringify(row[names.step!])} in column "${names.step}" is not an integer ≥ 0; fix the row or name the step column with --step-col`);
    }
    const entry: LoggedStep = byStep.get(step) ?? { step };
    let any = false;
    for (const [q, key] of fields) {
      const col = names[q];
      if (col === undefined) continue;
      const x = cellNumber(row[col]);
      if (x === undefined) continue;
      if (x === "bad") {
        if (q === "trainLoss" || q === "valLoss") {
          throw new IngestError(`${file}:${line}: loss ${JSON.stringify(String(row[col]))} in column "${col}" at step ${step} is not a finite number (training diverged?); cut the log before it`);
        }
        continue; // a non-numeric lr or norm is not worth refusing the run for
      }
      entry[key] = x;
      any = true;
    }
    if (any) byStep.set(step, entry);
  });
  return [...byStep.values()].filter((s) => s.trainLoss !== undefined || s.valLoss !== undefined).sort((a, b) => a.step - b.step);
}

function requireLoss(file: string, columns: readonly string[], names: Partial<Record<Quantity, string>>, missing: string[]): void {
  if (missing.length) {
    throw new IngestError(`${file}: no column ${missing.map((m) => JSON.stringify(m)).join(", ")} (columns: ${columns.join(", ")}); fix --step-col/--loss-col/--val-col/--tokens-col`);
  }
  if (names.step === undefined) {
    throw new IngestError(`${file}: no step column (columns: ${columns.join(", ")}); name it with --step-col NAME`);
  }
  if (names.trainLoss === undefined && names.valLoss === undefined) {
    throw new IngestError(`${file}: no loss column (columns: ${columns.join(", ")}); name it with --loss-col NAME or --val-col NAME`);
  }
}

function tableRuns(file: string, format: SourceFormat, table: Table, columns: ColumnNames): ParsedRun[] {
  const panel = table.columns.slice(1).filter((c) => PANEL_COLUMN.test(c));
  if (format === "csv" && panel.length > 0 && panel.length === table.columns.length - 1) {
    // W&B chart export: Step, then "<run> - <metric>" (+ __MIN / __MAX)
    const runs = new Map<string, string[]>();
    for (const c of panel) {
      const [, run, metric] = PANEL_COLUMN.exec(c)!;
      if (/__(MIN|MAX)$/.test(metric)) continue;
      runs.set(run, [...(runs.get(run) ?? []), metric]);
    }
    return [...runs].map(([run, metrics]) => {
      const { names, missing } = matchNames(metrics, givenNames({ ...columns, step: undefined }));
      requireLoss(file, metrics, { ...names, step: table.columns[0] }, missing);
      const full: Partial<Record<Quantity, string>> = { step: table.columns[0] };
      for (const [q, m] of Object.entries(names)) if (q !== "step") full[q as Quantity] = `${run} - ${m}`;
      return { file, format, runName: run, steps: stepsOf(file, table, full), config: { columns: full } };
    });
  }
  const { names, missing } = matchNames(table.columns, givenNames(columns));
  requireLoss(file, table.columns, names, missing);
  return [{ file, format, steps: stepsOf(file, table, names), config: { columns: names } }];
}

/** Reads a CSV file's text into runs (one, or one per run of a W&B chart export). */
export function parseCsvRuns(file: string, text: string, columns: ColumnNames = {}): ParsedRun[] {
  let csv;
  try {
    csv = parseCsv(text);
  } catch (e) {
    throw new IngestError(`${file}: ${(e as Error).message}`);
  }
  const rows = csv.rows.map((r) => Object.fromEntries(csv.header.map((h, i) => [h, r[i]])));
  return tableRuns(file, "csv", { columns: csv.header, rows, lines: rows.map((_, i) => i + 2) }, columns);
}

/** Reads a JSONL file's text (one object per line; blank lines skipped) into one run. */
export function parseJsonlRuns(file: string, text: string, columns: ColumnNames = {}): ParsedRun[] {
  const rows: Record<string, unknown>[] = [];
  const lines: number[] = [];
  const keys = new Set<string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let obj: unknown;
    try {
      obj = parsePythonJson(line);
    } catch {
      throw new IngestError(`${file}:${i + 1}: not a JSON object (a truncated or damaged line); remove or repair it`);
    }
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new IngestError(`${file}:${i + 1}: expected one JSON object per line`);
    rows.push(obj as Record<string, unknown>);
    lines.push(i + 1);
    for (const k of Object.keys(obj)) keys.add(k);
  });
  if (rows.length === 0) throw new IngestError(`${file}: no JSON lines; give a JSONL log with one object per logged step`);
  return tableRuns(file, "jsonl", { columns: [...keys], rows, lines }, columns);
}
