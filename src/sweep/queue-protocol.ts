/**
 * What the sweep coordinator and its workers agree on when runs travel through Redis (BullMQ): the job a run
 * becomes, the events a worker sends back, the Redis key names, and the version stamp that makes a worker on
 * other code refuse a job rather than train something different.
 *
 * Data flow: the coordinator (`scaling-lab sweep --executor redis://…`) adds one BullMQ job per run to the queue
 * (job id = run id). A worker (`scaling-lab worker --redis …`) takes a job, trains it, and appends `start` and
 * `metrics` events to the sweep's Redis stream while it trains; the job's return value holds the summary and the
 * full loss curve. The coordinator applies the events to the lab store and records the outcome from the job's
 * final state (completed or failed), then removes the job.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MANIFEST_FILE } from "../data/shards.js";
import { type VersionStamp, formatStamp, packageVersion, versionStamp } from "../util/version.js";

export { type VersionStamp, formatStamp, packageVersion, versionStamp };
import type { MetricRecord, RunConfig } from "../store/types.js";
import type { TrainSummary } from "../train/loop.js";

/** Default BullMQ queue name (override with `?queue=NAME` on the Redis URL). */
export const DEFAULT_QUEUE = "scaling-lab";
/** Prefix of the Redis keys scaling-lab itself writes (BullMQ's own keys start with "bull:"). */
export const KEY_PREFIX = "scaling-lab";
/** BullMQ job name of a training run. */
export const JOB_NAME = "train";
/** Name of the file in a run folder that asks its training process to checkpoint and stop. */
export const STOP_FILE = "stop-requested";


/** The data of one BullMQ job: a run with its resolved config. */
export interface RunJob {
  /** Run id (also the job id). */
  runId: string;
  /** Sweep name. */
  sweep: string;
  /** Identifies the sweep instance (lab directory + sweep + its creation time), so two labs never mix up runs. */
  sweepKey: string;
  /** The lab directory on the coordinator's machine (for messages only). */
  lab: string;
  /** Redis stream that receives this run's events. */
  events: string;
  /** The resolved training config (config.data is the coordinator's absolute data path). */
  config: RunConfig;
  /** sha256 (16 hex digits) of the data directory's manifest.json, so a worker never trains on other data. */
  dataHash: string;
  /** Version stamp of the coordinator. */
  version: VersionStamp;
}

/** What a worker returns for a completed job. */
export interface RunResult {
  summary: TrainSummary;
  /** The whole loss curve (metrics.jsonl of the run folder). */
  metrics: MetricRecord[];
  /** The worker's machine name. */
  machine: string;
  /** The run folder on the worker (ARTIFACTS/<runId>, absolute). */
  dir: string;
}

/** An event a worker appends to the sweep's stream. */
export type RunEvent =
  | { type: "start"; run: string; machine: string; backend: string; resumedAt: number | null; steps: number }
  | { type: "metrics"; run: string; rows: MetricRecord[] };

/** The Redis stream of a sweep instance's events. */
export function eventsKey(queue: string, sweepKey: string): string {
  return `${KEY_PREFIX}:${queue}:events:${sweepKey}`;
}

/** A short id of a sweep instance: lab directory + sweep name + sweep creation time. */
export function sweepKeyOf(labDir: string, sweep: string, created: string): string {
  return createHash("sha256").update(`${labDir}\0${sweep}\0${created}`).digest("hex").slice(0, 16);
}

/** Encodes an event as stream fields. */
export function encodeEvent(e: RunEvent): string[] {
  return ["type", e.type, "run", e.run, "data", JSON.stringify(e)];
}

/** Decodes stream fields written by {@link encodeEvent}; null for anything else. */
export function decodeEvent(fields: string[]): RunEvent | null {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "data") {
      try {
        const e = JSON.parse(fields[i + 1]) as RunEvent;
        return e && typeof e.run === "string" && (e.type === "start" || e.type === "metrics") ? e : null;
      } catch {
        return null;
      }
    }
  }
  return null;
}


/** sha256 (16 hex digits) of a prepared data directory's manifest.json; null when it has none. */
export function dataHash(dataDir: string): string | null {
  const p = join(dataDir, MANIFEST_FILE);
  if (!existsSync(p)) return null;
  return createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 16);
}
