/**
 * The run folder: the {@link RunSink} of every CLI run — config.json, metrics.jsonl (one row a line, appended),
 * checkpoint.safetensors (atomic), endpoints.jsonl and summary.json in one directory.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/files.js";
import { CONFIG_FILE, METRICS_FILE, type MetricRecord, SUMMARY_FILE } from "../util/run-folder.js";
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { keepEndpoints, readEndpoints, writeEndpoint } from "./endpoints.js";
import type { RunSink } from "./sink.js";

/** The sink writing to the run directory `dir` (created). */
export function folderSink(dir: string): RunSink {
  mkdirSync(dir, { recursive: true });
  const metricsPath = join(dir, METRICS_FILE);
  return {
    where: dir,
    hasCheckpoint: () => hasCheckpoint(dir),
    loadCheckpoint: () => loadCheckpoint(dir),
    saveCheckpoint: (model, config, state) => saveCheckpoint(dir, model, config, state),
    startMetrics: (resumedAt) => {
      if (resumedAt === null) writeFileSync(metricsPath, "");
      else truncateMetrics(metricsPath, resumedAt);
    },
    writeConfig: (config) => writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + "\n"),
    appendMetric: (row) => appendFileSync(metricsPath, JSON.stringify(row) + "\n"),
    writeEndpoint: (e) => writeEndpoint(dir, e),
    keepEndpoints: (done) => keepEndpoints(dir, done),
    endpoints: () => readEndpoints(dir),
    writeSummary: (summary) => writeFileAtomic(join(dir, SUMMARY_FILE), JSON.stringify(summary, null, 2) + "\n"),
  };
}

/**
 * Keeps only the metric rows with step ≤ `step` (after a resume, the curve continues exactly where it stopped).
 * Returns the number of rows kept.
 */
export function truncateMetrics(path: string, step: number): number {
  if (!existsSync(path)) return 0;
  const kept = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as MetricRecord).step <= step;
      } catch {
        return false; // a half-written last line from a killed process
      }
    });
  writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
  return kept.length;
}
