/**
 * Reading a run folder written by the training loop (src/train/loop.ts): config.json (the resolved config),
 * metrics.jsonl (one MetricRecord per line; a half-written last line from a killed process is skipped),
 * summary.json (written when train() returns, also when it stopped early), endpoints.jsonl, and lab-run.json (what
 * the lab recorded of the run: its sweep, name and extras; written by {@link Lab.runDir}).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE, ENDPOINTS_FILE, LAB_RUN_FILE, METRICS_FILE, SUMMARY_FILE } from "../util/run-folder.js";
import { LabError } from "./errors.js";
import type { EndpointRecord, FinishInput, MetricRecord, RunConfig, SweepRecord } from "./types.js";

/** The lab's record of a run kept in its folder (lab-run.json), enough to put it back into a rebuilt lab. */
export interface LabRunFile {
  id: string;
  /** The sweep it belongs to, as the lab stored it (null for a stand-alone run). */
  sweep: SweepRecord | null;
  name: string;
  extra: Record<string, unknown>;
  /** Planned tokens and FLOPs. */
  D: number;
  C: number;
}

/** The contents of a run folder. */
export interface RunFolder {
  config: RunConfig;
  metrics: MetricRecord[];
  /** The summary, or null when the process never returned (killed) or the file is missing. */
  summary: (FinishInput & { steps?: number }) | null;
  /** The cooled-down endpoints (endpoints.jsonl; none when missing). */
  endpoints: EndpointRecord[];
  /** lab-run.json, or null when the folder has none (a run trained outside a lab). */
  labRun: LabRunFile | null;
}

/**
 * Checks that a parsed config.json (or a config given to planRun) has the fields the store needs; throws
 * LabError("invalid") naming `where` (the file or the run).
 */
export function checkRunConfig(value: unknown, where: string): RunConfig {
  const c = value as Partial<RunConfig> | null;
  const m = c?.model as Partial<Record<string, unknown>> | undefined;
  const isInt = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x > 0;
  if (!c || typeof c !== "object" || !m || typeof m !== "object") {
    throw new LabError("invalid", `${where} has no "model" object; it is not a config written by scaling-lab train`);
  }
  for (const k of ["vocabSize", "blockSize", "nLayer", "nHead", "nEmbd"]) {
    if (!isInt(m[k])) throw new LabError("invalid", `${where}: model.${k} must be a positive integer, got ${JSON.stringify(m[k])}; fix the config`);
  }
  for (const k of ["tokens", "batchTokens"] as const) {
    if (!isInt(c[k])) throw new LabError("invalid", `${where}: ${k} must be a positive integer, got ${JSON.stringify(c[k])}; fix the config`);
  }
  return c as RunConfig;
}

/** Parses metrics.jsonl text; lines that are blank or not complete JSON objects with a step are skipped. */
export function parseMetricsJsonl(text: string): MetricRecord[] {
  const rows: MetricRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      continue; // a half-written last line
    }
    if (row && typeof row === "object" && Number.isInteger((row as MetricRecord).step)) rows.push(row as MetricRecord);
  }
  return rows;
}

/** Reads a run folder; throws LabError("invalid") when there is no readable config.json. */
export function readRunFolder(dir: string): RunFolder {
  const configPath = join(dir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new LabError("invalid", `no config.json in ${dir}; point at a run folder written by scaling-lab train`);
  }
  const config = checkRunConfig(readJson(configPath), configPath);
  const metricsPath = join(dir, METRICS_FILE);
  const metrics = existsSync(metricsPath) ? parseMetricsJsonl(readFileSync(metricsPath, "utf8")) : [];
  const summaryPath = join(dir, SUMMARY_FILE);
  const summary = existsSync(summaryPath) ? (readJson(summaryPath) as FinishInput & { steps?: number }) : null;
  const endpointsPath = join(dir, ENDPOINTS_FILE);
  const endpoints = existsSync(endpointsPath) ? parseJsonLines(readFileSync(endpointsPath, "utf8")).filter(isEndpoint) : [];
  const labRunPath = join(dir, LAB_RUN_FILE);
  const labRun = existsSync(labRunPath) ? (readJson(labRunPath) as LabRunFile) : null;
  return { config, metrics, summary, endpoints, labRun };
}

function parseJsonLines(text: string): unknown[] {
  const out: unknown[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut short by a crash
    }
  }
  return out;
}

function isEndpoint(x: unknown): x is EndpointRecord {
  const e = x as Partial<EndpointRecord> | null;
  return !!e && (e.kind === "final" || e.kind === "branch") && Number.isInteger(e.step) && Number.isFinite(e.tokens) && Number.isFinite(e.flops);
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new LabError("invalid", `cannot read ${file}: ${(e as Error).message.split("\n")[0]}; fix or delete the file`);
  }
}
