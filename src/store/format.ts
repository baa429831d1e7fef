/**
 * Presenting runs: a readable fixed-width table and CSV (RFC 4180 quoting), used by `scaling-lab runs` and
 * anything else that prints runs (the demo's summary).
 */
import type { RunRecord } from "./types.js";

/** A count with a metric suffix: 12345 → "12.3k", 2.5e6 → "2.50M", 3e9 → "3.00G". */
export function formatCount(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "-";
  const a = Math.abs(x);
  const units: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [scale, suffix] of units) {
    if (a >= scale) {
      const v = x / scale;
      return `${Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)}${suffix}`;
    }
  }
  return String(Math.round(x));
}

/** FLOPs in scientific notation: 3.21e13. */
export function formatFlops(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "-";
  return x.toExponential(2).replace("e+", "e");
}

/** Seconds as "42s", "3m07s", "2h05m". */
export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return "-";
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A model shape as "4L·128d·4h (ctx 64)"; "-" for a run whose shape is unknown (an imported one: nLayer 0). */
export function formatShape(r: Pick<RunRecord, "nLayer" | "nEmbd" | "nHead" | "blockSize">): string {
  if (r.nLayer === 0) return "-";
  return `${r.nLayer}L·${r.nEmbd}d·${r.nHead}h (ctx ${r.blockSize})`;
}

function loss(x: number | null): string {
  return x === null ? "-" : x.toFixed(4);
}

/** The columns of {@link runsTable}: header and how to render one run. */
const TABLE_COLUMNS: [string, (r: RunRecord) => string, "left" | "right"][] = [
  ["id", (r) => r.id, "left"],
  ["sweep", (r) => r.sweep ?? "-", "left"],
  ["shape", formatShape, "left"],
  ["N", (r) => formatCount(r.N), "right"],
  ["D", (r) => formatCount(r.D), "right"],
  ["C", (r) => formatFlops(r.C), "right"],
  ["status", (r) => (r.status === "running" || r.status === "stopped" ? `${r.status} ${Math.round((100 * r.tokensDone) / r.D)}%` : r.status), "left"],
  ["final val", (r) => loss(r.finalValLoss), "right"],
  ["best val", (r) => loss(r.bestValLoss), "right"],
  ["wall", (r) => formatDuration(r.wallSeconds), "right"],
  ["backend", (r) => r.backend ?? "-", "left"],
];

/** A fixed-width table of runs, one line per run, with a header and a rule. */
export function runsTable(runs: readonly RunRecord[]): string {
  const cells = runs.map((r) => TABLE_COLUMNS.map(([, f]) => f(r)));
  const widths = TABLE_COLUMNS.map(([h], i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) =>
    row.map((c, i) => (TABLE_COLUMNS[i][2] === "right" ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(TABLE_COLUMNS.map(([h]) => h)), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

/** The columns of {@link runsCsv}, in order (RunRecord fields; the config and extras are left to --json). */
export const CSV_COLUMNS = [
  "id", "sweep", "name", "status", "nLayer", "nHead", "nEmbd", "blockSize", "vocabSize", "params", "N", "D", "C",
  "tokensDone", "flopsDone", "finalTrainLoss", "finalValLoss", "bestValLoss", "seed", "backend", "machine",
  "created", "started", "ended", "wallSeconds", "attempts", "dir", "error",
] as const satisfies readonly (keyof RunRecord)[];

/** Quotes a CSV field when it holds a comma, quote, or line break (RFC 4180). */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Runs as CSV with a header line ({@link CSV_COLUMNS}); numbers at full precision, missing values empty. */
export function runsCsv(runs: readonly RunRecord[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const r of runs) lines.push(CSV_COLUMNS.map((c) => csvField(r[c])).join(","));
  return lines.join("\n") + "\n";
}
