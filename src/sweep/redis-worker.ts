/**
 * The worker side of sweeps on Redis (BullMQ): `runWorker` takes training jobs from the queue, trains each in its
 * own child process (src/sweep/queue-train-child.ts) with the run folder at ARTIFACTS/<runId>/, streams `start`
 * and `metrics` events to the sweep's Redis stream, and completes the job with the summary and the loss curve.
 *
 * Why a child process per run rather than calling runTraining here: training steps are synchronous compute that
 * would starve this process's event loop, and BullMQ renews the job's lock from that loop — a long step would make
 * a healthy worker look stalled. The child also owns its native thread pool, can be stopped cleanly (a stop file →
 * checkpoint) or at once (SIGKILL when the lock is lost), and exits by itself if this worker is killed.
 *
 * Faults: a worker killed mid-run stops renewing its lock; after the lock duration BullMQ's stalled-job check (run
 * by the other workers) puts the job back and another worker resumes it from ARTIFACTS/<runId>/checkpoint.safetensors
 * when the artifacts folder is shared, from scratch otherwise. When this worker's lock is lost (Redis restarted
 * without its data, or the job was taken over after a long outage) its training is killed at once. A job made by
 * other code (version stamp) or for other data is refused: it goes back to the queue and this worker stops.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DelayedError, type Job, WaitingError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { describeMachine } from "../store/lab.js";
import type { MetricRecord } from "../store/types.js";
import { readCheckpointState } from "../train/checkpoint.js";
import { truncateMetrics, type TrainSummary } from "../train/loop.js";
import { CONFIG_FILE, METRICS_FILE } from "../util/run-folder.js";
import { shareThreads } from "../util/threads.js";
import { readMetricLines } from "./executor.js";
import type { ChildMessage } from "./queue-train-child.js";
import {
  DEFAULT_QUEUE, dataHash, encodeEvent, formatStamp, type RunEvent, type RunJob, type RunResult, STOP_FILE, versionStamp,
} from "./queue-protocol.js";
import { firstLine, parseRedisUrl, RedisLink } from "./redis-connection.js";

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** redis://host:port[/db][?queue=NAME] */
  redis: string;
  /** Runs trained at once (default 1). */
  concurrency?: number;
  /** Folder of the run folders (default ./artifacts); share it between machines to resume across them. */
  artifacts?: string;
  /** Backend for the runs (default: each run's config, usually auto). */
  backend?: string;
  /** Total kernel threads, split between concurrent runs (default: SCALING_LAB_THREADS or all cores, at most 64). */
  threads?: number;
  /** The prepared data directory on this machine (default: the path in each job, i.e. a shared filesystem). */
  data?: string;
  /** Name recorded as the run's machine (default: host, CPUs, OS). */
  name?: string;
  /** BullMQ lock duration and stalled-check interval in seconds (default 30): how soon a dead worker's run moves on. */
  lockSeconds?: number;
  /** How often to send new metric rows, in ms (default 1000). */
  pollMs?: number;
  /** Log lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Called when a run ends here. */
  onRunEnd?: (runId: string, outcome: WorkerRunOutcome) => void;
  /** Aborting it stops the worker: running jobs checkpoint and go back to the queue. */
  signal?: AbortSignal;
}

/** How a run ended on this worker. */
export interface WorkerRunOutcome {
  /** done: job completed; failed: training error; requeued: stopped and put back; lost: lock lost, training killed. */
  status: "done" | "failed" | "requeued" | "lost";
  error?: string;
}

/** What {@link runWorker} resolves to. */
export interface WorkerReport {
  machine: string;
  queue: string;
  runs: { id: string; status: WorkerRunOutcome["status"]; error?: string }[];
  /** Set when the worker stopped because it refused a job (other version or data). */
  refused?: string;
}

/** A worker that cannot start (unwritable artifacts folder); the message names the fix. */
export class WorkerSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkerSetupError";
  }
}

const CHILD = resolve(dirname(fileURLToPath(import.meta.url)), "queue-train-child.js");

/** Runs a worker until `opts.signal` aborts or it refuses a job; see the module comment. */
export async function runWorker(opts: WorkerOptions): Promise<WorkerReport> {
  const target = parseRedisUrl(opts.redis, DEFAULT_QUEUE);
  const log = opts.log ?? (() => {});
  const machine = opts.name ? `${opts.name} @ ${describeMachine()}` : describeMachine();
  const who = `worker ${opts.name ?? ""}`.trim();
  const link = new RedisLink(target, who, log);
  const concurrency = Math.max(1, opts.concurrency ?? 1);
  const runThreads = shareThreads(opts.threads, concurrency);
  const artifacts = resolve(opts.artifacts ?? "artifacts");
  try {
    mkdirSync(artifacts, { recursive: true });
    accessSync(artifacts, constants.W_OK);
  } catch (e) {
    throw new WorkerSetupError(`cannot write the artifacts folder ${artifacts} (${firstLine(e)}); pass --artifacts DIR with a writable folder`);
  }
  const lockMs = Math.round((opts.lockSeconds ?? 30) * 1000);
  const pollMs = opts.pollMs ?? 1000;
  const stamp = versionStamp();
  const report: WorkerReport = { machine, queue: target.queue, runs: [] };
  const children = new Map<string, { child: ChildProcess; dir: string }>();
  const events = link.connect();
  let stopping = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((res) => (finish = res));

  const ended = (id: string, outcome: WorkerRunOutcome) => {
    report.runs.push({ id, ...outcome });
    opts.onRunEnd?.(id, outcome);
  };
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const { dir } of children.values()) writeFileSync(join(dir, STOP_FILE), "");
    finish();
  };
  const refuse = (message: string) => {
    report.refused ??= message;
    log(`${who}: ${message}`);
    stop();
  };

  const processor = async (job: Job<RunJob, RunResult>, token?: string, signal?: AbortSignal): Promise<RunResult> => {
    const run = job.data;
    const fail = checkJob(run, stamp, opts.data);
    if (fail) {
      // put it back for a worker that can train it, and stop this one
      await job.moveToDelayed(Date.now() + 1000, token);
      refuse(fail);
      throw new DelayedError();
    }
    const outcome = await trainJob(job, run, {
      artifacts, threadsPerRun: runThreads, backend: opts.backend, data: opts.data, machine, pollMs, events, log, who, children,
      signal, isStopping: () => stopping,
    });
    if (outcome.kind === "done") {
      ended(run.runId, { status: "done" });
      return outcome.result;
    }
    if (outcome.kind === "stopped") {
      await job.moveToWait(token);
      ended(run.runId, { status: "requeued" });
      throw new WaitingError();
    }
    if (outcome.kind === "lost") {
      ended(run.runId, { status: "lost", error: outcome.message });
      throw new Error(outcome.message);
    }
    ended(run.runId, { status: "failed", error: outcome.message });
    throw new Error(outcome.message);
  };

  const worker = new Worker<RunJob, RunResult>(target.queue, processor, {
    connection: link.connect(),
    concurrency,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 10,
    autorun: false,
  });
  worker.on("error", (e) => {
    if (/could not renew lock|Missing key for job|Missing lock for job/i.test(firstLine(e))) return; // reported below
    link.onError(e);
  });
  worker.on("lockRenewalFailed", (ids) => {
    for (const id of ids) {
      log(`${who}: lost the lock on ${id} (Redis restarted without its data, or the run was handed to another worker); stopping its training here`);
      worker.cancelJob(id, "lock lost");
    }
  });
  worker.on("stalled", (id) => log(`${who}: ${id} had stalled (its worker died?); it is queued again`));

  const onAbort = () => stop();
  opts.signal?.addEventListener("abort", onAbort);
  if (opts.signal?.aborted) stop();
  log(`${who}: ${machine}: serving queue "${target.queue}" on ${target.display} (${concurrency} at a time, ${runThreads} threads each, version ${formatStamp(stamp)}); artifacts in ${artifacts}`);
  const running = worker
    .run()
    .catch((e) => link.onError(e))
    .finally(stop);
  await finished;
  await worker.close();
  await running;
  opts.signal?.removeEventListener("abort", onAbort);
  link.close();
  return report;
}

/** Why a worker must refuse a job, or null when it can train it. */
export function checkJob(run: RunJob, stamp: ReturnType<typeof versionStamp>, dataOverride?: string): string | null {
  if (!run?.version || run.version.package !== stamp.package || run.version.code !== stamp.code) {
    const theirs = run?.version ? formatStamp(run.version) : "an unknown version";
    return `refusing ${run?.runId ?? "a job"}: it was queued by scaling-lab ${theirs} but this worker runs ${formatStamp(stamp)}; install the coordinator's version on this machine (same package version, rebuilt from the same source) and start the worker again`;
  }
  const dir = dataOverride ?? run.config.data;
  if (typeof dir !== "string" || !existsSync(dir)) {
    return `refusing ${run.runId}: its data directory ${String(dir)} does not exist here; share it at the same path or pass --data DIR (a copy of the prepared data)`;
  }
  const h = dataHash(dir);
  if (h !== run.dataHash) {
    return `refusing ${run.runId}: the data at ${dir} is not the data it was planned on (manifest ${h ?? "missing"} ≠ ${run.dataHash}); pass --data DIR with a copy of the coordinator's prepared data`;
  }
  return null;
}

interface TrainContext {
  artifacts: string;
  threadsPerRun: number;
  backend?: string;
  data?: string;
  machine: string;
  pollMs: number;
  events: Redis;
  log: (line: string) => void;
  who: string;
  children: Map<string, { child: ChildProcess; dir: string }>;
  signal?: AbortSignal;
  isStopping: () => boolean;
}

type TrainOutcome =
  | { kind: "done"; result: RunResult }
  | { kind: "stopped" }
  | { kind: "lost"; message: string }
  | { kind: "failed"; message: string };

/** Trains one job in a child process (see the module comment), streaming its events. */
async function trainJob(job: Job<RunJob, RunResult>, run: RunJob, ctx: TrainContext): Promise<TrainOutcome> {
  const dir = join(ctx.artifacts, run.runId);
  mkdirSync(dir, { recursive: true });
  const metricsPath = join(dir, METRICS_FILE);
  const dataDir = resolve(ctx.data ?? run.config.data as string);
  const config = { ...run.config, data: dataDir, threads: ctx.threadsPerRun, ...(ctx.backend ? { backend: ctx.backend } : {}) };
  // Resuming: cut metrics.jsonl to the checkpoint's step first (so tailing it by line stays aligned) and point the
  // saved config at this machine's data and thread count (the saved config wins on resume).
  const ck = readCheckpointState(dir);
  if (ck) {
    truncateMetrics(metricsPath, ck.step);
    const saved = join(dir, CONFIG_FILE);
    if (existsSync(saved)) {
      const c = JSON.parse(readFileSync(saved, "utf8")) as Record<string, unknown>;
      writeFileSync(saved, JSON.stringify({ ...c, data: dataDir, threads: ctx.threadsPerRun, ...(ctx.backend ? { backend: ctx.backend } : {}) }, null, 2) + "\n");
    }
  } else if (existsSync(metricsPath)) {
    writeFileSync(metricsPath, "");
  }
  rmSync(join(dir, STOP_FILE), { force: true });
  const cfgPath = join(dir, "job-config.json");
  writeFileSync(cfgPath, JSON.stringify(config, null, 2));
  const publish = async (e: RunEvent) => {
    await ctx.events.xadd(run.events, "*", ...encodeEvent(e));
  };

  const child = spawn(process.execPath, [CHILD, cfgPath, dir, ...(ck ? ["--resume"] : [])], { stdio: ["ignore", "pipe", "pipe"] });
  ctx.children.set(run.runId, { child, dir });
  if (ctx.isStopping()) writeFileSync(join(dir, STOP_FILE), "");
  let lost = false;
  const onAbort = () => {
    lost = true;
    child.kill("SIGKILL");
  };
  ctx.signal?.addEventListener("abort", onAbort);
  let started = false;
  let summary: TrainSummary | null = null;
  let error: string | null = null;
  let stderr = "";
  let buffer = "";
  let line = 0;
  let chain = Promise.resolve();
  // events go out in order, one at a time; while Redis is away they wait and leave when it is back
  const enqueue = (fn: () => Promise<void>) => {
    chain = chain.then(fn).catch((e) => ctx.log(`${ctx.who}: could not send an event of ${run.runId}: ${firstLine(e)}`));
  };
  const tail = () => {
    if (!started) return;
    const { rows, next } = readMetricLines(metricsPath, line);
    line = next;
    if (rows.length === 0) return;
    enqueue(async () => {
      await publish({ type: "metrics", run: run.runId, rows });
      const last = rows[rows.length - 1];
      await job.updateProgress({ step: last.step, trainLoss: last.trainLoss }).catch(() => {});
    });
  };
  let tailing = false;
  const timer = setInterval(() => {
    if (tailing) return;
    tailing = true;
    try {
      tail();
    } finally {
      tailing = false;
    }
  }, ctx.pollMs);
  child.on("error", (e) => (error ??= `could not start the training process: ${firstLine(e)}`));
  child.stderr!.on("data", (d) => {
    stderr += d;
    if (stderr.length > 20000) stderr = stderr.slice(-10000);
  });
  child.stdout!.on("data", (d) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let m: ChildMessage;
      try {
        m = JSON.parse(text) as ChildMessage;
      } catch {
        continue;
      }
      if (m.type === "start") {
        started = true;
        ctx.log(`${ctx.who}: ${run.runId} ${m.resumedAt ? `resumed at step ${m.resumedAt}` : "started"} (${m.steps} steps, ${m.backend})`);
        enqueue(() => publish({ type: "start", run: run.runId, machine: ctx.machine, backend: m.backend, resumedAt: m.resumedAt || null, steps: m.steps }));
      } else if (m.type === "summary") {
        summary = m.summary;
      } else if (m.type === "error") {
        error = m.message;
      }
    }
  });
  const code: number = await new Promise((res) => child.on("close", (c, sig) => res(c ?? (sig ? 128 : 1))));
  clearInterval(timer);
  ctx.children.delete(run.runId);
  rmSync(join(dir, STOP_FILE), { force: true });
  ctx.signal?.removeEventListener("abort", onAbort);
  if (!lost) tail();
  await chain;
  if (lost || ctx.signal?.aborted) {
    // the job is no longer ours (its end would not count): whoever holds it now finishes it
    return { kind: "lost", message: `${ctx.machine} lost the lock on ${run.runId}; its training there was stopped` };
  }
  if (code === 0 && summary !== null) {
    const s = summary as TrainSummary;
    if (s.status !== "done") return { kind: "stopped" };
    const metrics: MetricRecord[] = readMetricLines(metricsPath, 0).rows;
    ctx.log(`${ctx.who}: ${run.runId} done: ${s.steps} steps, val loss ${s.finalValLoss?.toFixed(4) ?? "n/a"}`);
    return { kind: "done", result: { summary: s, metrics, machine: ctx.machine, dir } };
  }
  const message = error ?? (stderr.trim().split("\n").pop() || `training process exited with status ${code}`);
  ctx.log(`${ctx.who}: ${run.runId} failed: ${message}`);
  return { kind: "failed", message };
}
