/**
 * CSV input for the fits: an RFC 4180 parser (quoted fields, doubled quotes, commas and newlines inside
 * quotes, CRLF) and the mapping of chosen columns to {@link ScalingPoint}s.
 */
import { FitError } from "./errors.js";
import { type ScalingPoint, completePoints, dropHighestLoss } from "./points.js";

/** A parsed CSV table: the header row and the data rows (as strings). */
export interface CsvTable {
  header: string[];
  rows: string[][];
}

/**
 * Parses CSV text (RFC 4180): fields separated by commas, optionally quoted with ", a quote inside a quoted
 * field written "", records separated by LF or CRLF. Blank lines are skipped. The first record is the header.
 */
export function parseCsv(text: string): CsvTable {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let inQuotes = false;
  let quotedField = false;
  let i = 0;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const endRecord = () => {
    record.push(field);
    if (!(record.length === 1 && record[0] === "" && !quotedField)) records.push(record);
    record = [];
    field = "";
    quotedField = false;
  };
  while (i < src.length) {
    const ch = src[i];
    if (inQuotes) {
      if (ch === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === "") {
      inQuotes = true;
      quotedField = true;
      i++;
    } else if (ch === ",") {
      record.push(field);
      field = "";
      quotedField = false;
      i++;
    } else if (ch === "\n" || ch === "\r") {
      endRecord();
      i += ch === "\r" && src[i + 1] === "\n" ? 2 : 1;
    } else {
      field += ch;
      i++;
    }
  }
  if (inQuotes) throw new FitError("CSV has an unterminated quoted field; close the quote (\") or fix the file");
  if (field !== "" || record.length > 0 || quotedField) endRecord();
  if (records.length === 0) throw new FitError("CSV is empty; give a file with a header row and data rows");
  const [header, ...rows] = records;
  return { header: header.map((h) => h.trim()), rows };
}

/** Which CSV columns hold which quantity; unset columns are looked up by their usual names. */
export interface CsvColumns {
  /** Column holding N (parameters). */
  n?: string;
  /** Column holding D (tokens). */
  d?: string;
  /** Column holding C (FLOPs). */
  c?: string;
  /** Column holding the loss. */
  loss?: string;
  /** Column holding a run identifier. */
  run?: string;
}

/** Options for {@link pointsFromCsv}. */
export interface CsvPointOptions extends CsvColumns {
  /** Quantities that must be present (after D = C/(6N) / C = 6ND are derived). */
  require?: ("N" | "D" | "C" | "run")[];
  /** Drop the k highest-loss points (default 0). */
  dropHighest?: number;
  /** Name of the source for messages (e.g. the file path). */
  source?: string;
}

/** Usual column names, matched case-insensitively, tried when no column is given. */
export const DEFAULT_COLUMN_NAMES: Record<keyof CsvColumns, string[]> = {
  n: ["N", "params", "parameters", "n_params", "model size", "model_size"],
  d: ["D", "tokens", "training tokens", "n_tokens", "data"],
  c: ["C", "flops", "compute", "training flop", "training flops"],
  loss: ["loss", "L", "final loss", "val_loss"],
  run: ["run", "run_id", "name", "model"],
};

const FLAG: Record<keyof CsvColumns, string> = { n: "--n-col", d: "--d-col", c: "--c-col", loss: "--loss-col", run: "--run-col" };

/**
 * Turns CSV text into points: finds the columns (given or by usual name), parses numbers, derives
 * D = C/(6N) or C = 6ND, checks requirements, and drops the highest-loss points if asked. Every problem
 * raises a one-line {@link FitError} naming the column, row and flag to fix.
 */
export function pointsFromCsv(text: string, opts: CsvPointOptions = {}): ScalingPoint[] {
  const src = opts.source ?? "CSV";
  const table = parseCsv(text);
  const lower = table.header.map((h) => h.toLowerCase());
  const find = (key: keyof CsvColumns): number => {
    const given = opts[key];
    if (given !== undefined) {
      const idx = table.header.indexOf(given);
      const idx2 = idx >= 0 ? idx : lower.indexOf(given.toLowerCase());
      if (idx2 < 0) {
        throw new FitError(
          `${src} has no column "${given}" (${FLAG[key]}); columns are: ${table.header.join(", ")}`,
        );
      }
      return idx2;
    }
    for (const name of DEFAULT_COLUMN_NAMES[key]) {
      const idx = lower.indexOf(name.toLowerCase());
      if (idx >= 0) return idx;
    }
    return -1;
  };
  const cols = { n: find("n"), d: find("d"), c: find("c"), loss: find("loss"), run: find("run") };
  if (cols.loss < 0) {
    throw new FitError(`${src} has no loss column; name it with --loss-col (columns are: ${table.header.join(", ")})`);
  }
  const required = new Set(opts.require ?? []);
  const haveN = cols.n >= 0;
  const haveD = cols.d >= 0 || (cols.c >= 0 && haveN);
  const haveC = cols.c >= 0 || (cols.d >= 0 && haveN);
  const missing = (what: string, flag: string) =>
    new FitError(`${src} has no ${what} column; name it with ${flag} (columns are: ${table.header.join(", ")})`);
  if (required.has("N") && !haveN) throw missing("parameter-count (N)", "--n-col");
  if (required.has("D") && !haveD) throw missing("token (D) or compute (C)", "--d-col or --c-col");
  if (required.has("C") && !haveC) throw missing("compute (C) or token (D)", "--c-col or --d-col");
  if (required.has("run") && cols.run < 0) throw missing("run", "--run-col");

  const num = (row: string[], idx: number, rowNo: number, key: keyof CsvColumns): number | undefined => {
    if (idx < 0) return undefined;
    const raw = (row[idx] ?? "").trim();
    const v = Number(raw);
    if (raw === "" || !Number.isFinite(v)) {
      throw new FitError(`${src} row ${rowNo}: ${table.header[idx]} is not a number ("${raw}"); fix or remove that row`);
    }
    if (v <= 0) {
      throw new FitError(
        `${src} row ${rowNo}: ${table.header[idx]} must be positive, got ${raw}; fix or remove that row (or choose another ${FLAG[key]})`,
      );
    }
    return v;
  };
  const points: ScalingPoint[] = table.rows.map((row, r) => {
    const rowNo = r + 2; // 1-based, counting the header
    const p: ScalingPoint = { loss: num(row, cols.loss, rowNo, "loss")! };
    const N = num(row, cols.n, rowNo, "n");
    const D = num(row, cols.d, rowNo, "d");
    const C = num(row, cols.c, rowNo, "c");
    if (N !== undefined) p.N = N;
    if (D !== undefined) p.D = D;
    if (C !== undefined) p.C = C;
    if (cols.run >= 0) p.run = (row[cols.run] ?? "").trim();
    return p;
  });
  if (points.length === 0) throw new FitError(`${src} has a header but no data rows; add rows`);
  return dropHighestLoss(completePoints(points), opts.dropHighest ?? 0);
}
