/**
 * The run folder: the {@link RunSink} of every CLI run — config.json, metrics.jsonl (one row a line, appended),
 * checkpoint.safetensors (atomic), endpoints.jsonl and summary.json in one directory, locked by the process that
 * trains it (train.lock, see lock.ts). Every metrics line is also kept in memory, so that a metrics.jsonl deleted or
 * cut short under a running run (by a user, a cleanup script) is rewritten whole at the next step instead of
 * silently losing its rows (the sweep executors tail it into the lab store).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/files.js";
import { CONFIG_FILE, METRICS_FILE, type MetricRecord, SUMMARY_FILE } from "../util/run-folder.js";
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { keepEndpoints, readEndpoints, writeEndpoint } from "./endpoints.js";
import { lockRunFolder } from "./lock.js";
import type { RunSink } from "./sink.js";

/** The sink writing to the run directory `dir` (created); `log` hears of a metrics.jsonl rewritten after a deletion. */
export function folderSink(dir: string, log?: (line: string) => void): RunSink {
  mkdirSync(dir, { recursive: true });
  const metricsPath = join(dir, METRICS_FILE);
  let lines: string[] = [];
  let bytes = 0;
  const rewrite = () => {
    writeFileAtomic(metricsPath, lines.map((l) => l + "\n").join(""));
    bytes = statSync(metricsPath).size;
  };
  return {
    where: dir,
    hasCheckpoint: () => hasCheckpoint(dir),
    loadCheckpoint: () => loadCheckpoint(dir),
    saveCheckpoint: (model, config, state) => saveCheckpoint(dir, model, config, state),
    startMetrics: (resumedAt) => {
      lines = resumedAt === null ? [] : keptMetricLines(metricsPath, resumedAt);
      rewrite();
    },
    writeConfig: (config) => writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + "\n"),
    appendMetric: (row) => {
      const line = JSON.stringify(row);
      lines.push(line);
      const size = statSync(metricsPath, { throwIfNoEntry: false })?.size;
      if (size === bytes) {
        appendFileSync(metricsPath, line + "\n");
        bytes += Buffer.byteLength(line) + 1;
        return;
      }
      rewrite();
      log?.(`train: ${metricsPath} was ${size === undefined ? "deleted" : "changed"} while training; rewrote it with all ${lines.length} rows`);
    },
    lastMetric: () => {
      const last = lines.at(-1);
      return last === undefined ? null : (JSON.parse(last) as MetricRecord);
    },
    lock: () => lockRunFolder(dir),
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
  const kept = keptMetricLines(path, step);
  writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
  return kept.length;
}

/** The complete lines of metrics.jsonl with step ≤ `step` (none when the file is missing). */
function keptMetricLines(path: string, step: number): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        return (JSON.parse(line) as MetricRecord).step <= step;
      } catch {
        return false; // a half-written last line from a killed process
      }
    });
}
