/**
 * Reading a run folder written by the training loop (src/train/loop.ts): config.json (the resolved config),
 * metrics.jsonl (one MetricRecord per line; a half-written last line from a killed process is skipped) and
 * summary.json (written when train() returns, also when it stopped early).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE, METRICS_FILE, SUMMARY_FILE } from "../util/run-folder.js";
import { LabError } from "./errors.js";
import type { FinishInput, MetricRecord, RunConfig } from "./types.js";

/** The contents of a run folder. */
export interface RunFolder {
  config: RunConfig;
  metrics: MetricRecord[];
  /** The summary, or null when the process never returned (killed) or the file is missing. */
  summary: (FinishInput & { steps?: number }) | null;
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
  return { config, metrics, summary };
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new LabError("invalid", `cannot read ${file}: ${(e as Error).message.split("\n")[0]}; fix or delete the file`);
  }
}
