/**
 * A run bundle: the runs of one sweep in one JSONL file — a header line, then one line per run holding what its
 * run folder holds (config.json, metrics.jsonl, summary.json, endpoints.jsonl). The browser playground exports its
 * runs this way (a page can offer one file, not a folder), and `scaling-lab runs --import FILE` unpacks a bundle into
 * run folders of a lab and stores them as a sweep, so the CLI's fit, predict, report and serve work on them.
 *
 * Browser-safe except {@link importRunBundle}, which writes the folders.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LabError } from "./errors.js";
import { checkRunConfig } from "./folder.js";
import type { ImportOptions, Lab } from "./lab.js";
import { checkId } from "./rows.js";
import type { EndpointRecord, FinishInput, MetricRecord, RunConfig, RunRecord } from "./types.js";

/** The `format` of a bundle's header line. */
export const RUN_BUNDLE_FORMAT = "scaling-lab-runs";

/** The first line of a bundle. */
export interface RunBundleHeader {
  format: typeof RUN_BUNDLE_FORMAT;
  version: 1;
  /** The sweep the runs belong to. */
  sweep: string;
  /** How the sweep was planned ("curves": every size on one token budget). */
  plan: string | null;
  /** The ladder the sizes come from. */
  ladder: string | null;
  /** What wrote the bundle (e.g. "scaling-lab playground"). */
  source: string;
  /** ISO 8601 time of writing. */
  created: string;
}

/** One run of a bundle: the contents of its run folder. */
export interface BundledRun {
  id: string;
  /** The run's name (a ladder size, e.g. "p-2"). */
  name: string;
  /** The resolved training config (config.json). */
  config: RunConfig;
  /** One row per optimizer step (metrics.jsonl). */
  metrics: MetricRecord[];
  /** summary.json; null for a run that never finished. */
  summary: (FinishInput & { steps?: number }) | null;
  /** endpoints.jsonl. */
  endpoints: EndpointRecord[];
}

/** A parsed bundle. */
export interface RunBundle {
  header: RunBundleHeader;
  runs: BundledRun[];
}

/** The bundle as JSONL text: the header, then one line per run. */
export function runBundleText(bundle: RunBundle): string {
  return [bundle.header, ...bundle.runs].map((x) => JSON.stringify(x) + "\n").join("");
}

/** Parses and checks bundle text; a LabError("invalid") names the file, the line and the fix. */
export function parseRunBundle(text: string, file: string): RunBundle {
  const lines = text.split("\n").map((l, i) => [l.trim(), i + 1] as const).filter(([l]) => l.length > 0);
  const bad = (line: number, what: string) =>
    new LabError("invalid", `${file}:${line}: ${what}; export the runs again from the playground (a bundle is one header line and one line per run)`);
  const parse = ([l, n]: readonly [string, number]): Record<string, unknown> => {
    try {
      const v = JSON.parse(l) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw bad(n, "not a JSON object (a truncated or damaged line)");
  };
  if (lines.length === 0) throw new LabError("invalid", `${file} is empty; export the runs again from the playground`);
  const header = parse(lines[0]);
  if (header.format !== RUN_BUNDLE_FORMAT || header.version !== 1) {
    throw bad(lines[0][1], `not a scaling-lab run bundle (its first line has no "format": "${RUN_BUNDLE_FORMAT}", "version": 1)`);
  }
  if (typeof header.sweep !== "string") throw bad(lines[0][1], "the header names no sweep");
  const runs: BundledRun[] = [];
  const seen = new Set<string>();
  for (const line of lines.slice(1)) {
    const r = parse(line);
    const n = line[1];
    if (typeof r.id !== "string") throw bad(n, "a run without an id");
    try {
      checkId(r.id, "run id");
      checkRunConfig(r.config, `run ${r.id}'s config`);
    } catch (e) {
      throw bad(n, (e as Error).message);
    }
    if (seen.has(r.id)) throw bad(n, `run ${r.id} appears twice`);
    seen.add(r.id);
    if (!Array.isArray(r.metrics) || r.metrics.some((m) => !m || !Number.isInteger((m as MetricRecord).step))) {
      throw bad(n, `run ${r.id} has no metrics array of rows with a step`);
    }
    runs.push({
      id: r.id,
      name: typeof r.name === "string" ? r.name : r.id,
      config: r.config as RunConfig,
      metrics: r.metrics as MetricRecord[],
      summary: r.summary && typeof r.summary === "object" ? (r.summary as BundledRun["summary"]) : null,
      endpoints: Array.isArray(r.endpoints) ? (r.endpoints as EndpointRecord[]) : [],
    });
  }
  if (runs.length === 0) throw new LabError("invalid", `${file} holds no runs; export again once a run has finished`);
  return { header: header as unknown as RunBundleHeader, runs };
}

/**
 * Imports a bundle file into a lab: every run is checked first (a malformed bundle writes nothing), then unpacked
 * into LAB/runs/<id>/ as a run folder and stored in the sweep (the header's, or `opts.sweep`), with its endpoints.
 * Importing the same bundle again changes nothing. Returns the stored runs.
 */
export function importRunBundle(lab: Lab, file: string, opts: Pick<ImportOptions, "accounting"> & { sweep?: string }): RunRecord[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new LabError("invalid", `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check the path`);
  }
  const bundle = parseRunBundle(text, file);
  const sweep = opts.sweep ?? bundle.header.sweep;
  lab.ensureSweep({ name: sweep, plan: bundle.header.plan, ladder: bundle.header.ladder, spec: { source: bundle.header.source, bundle: file } });
  return bundle.runs.map((r) => {
    const dir = lab.runDir(r.id);
    writeFileSync(join(dir, "config.json"), JSON.stringify(r.config, null, 2) + "\n");
    writeFileSync(join(dir, "metrics.jsonl"), r.metrics.map((m) => JSON.stringify(m) + "\n").join(""));
    writeFileSync(join(dir, "endpoints.jsonl"), r.endpoints.map((e) => JSON.stringify(e) + "\n").join(""));
    if (r.summary) writeFileSync(join(dir, "summary.json"), JSON.stringify(r.summary, null, 2) + "\n");
    const run = lab.importRunFolder(r.id, dir, { accounting: opts.accounting, sweep, name: r.name });
    lab.recordEndpoints(r.id, r.endpoints);
    return run;
  });
}
