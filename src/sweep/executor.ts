/**
 * Executors run a sweep's planned runs. The `local` executor trains up to k runs at a time on this machine, each
 * in its own `scaling-lab train` child process (so a crash or a kill of one run never takes the sweep down, and
 * each process owns its native thread pool), splitting the cores between them. The sweep process tails each run's
 * metrics.jsonl into the lab store while it trains, and records the outcome when it ends. A run interrupted before
 * resumes from its checkpoint; a finished run is skipped.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Lab } from "../store/index.js";
import type { MetricRecord, RunRecord } from "../store/types.js";
import { readCheckpointState } from "../train/checkpoint.js";
import { truncateMetrics } from "../train/loop.js";
import type { TrainSummary } from "../train/loop.js";
import type { TrainConfig } from "../train/config.js";
import { METRICS_FILE } from "../util/run-folder.js";
import { defaultThreads, MAX_THREADS, shareThreads } from "../util/threads.js";
import { shapeSpeed } from "./speed.js";

/** Progress of a sweep, for a progress bar. */
export interface SweepProgress {
  /** Run ids currently training, with their latest step. */
  active: { id: string; step: number; trainLoss: number; valLoss?: number }[];
  /** FLOPs done across the sweep (finished runs count fully). */
  flopsDone: number;
  /** FLOPs of the whole sweep. */
  flopsTotal: number;
  runsDone: number;
  runsTotal: number;
  /** Seconds since the sweep started in this process. */
  elapsed: number;
  /** FLOPs done in this process (for the ETA: skipped runs do not count as speed). */
  flopsThisProcess: number;
}

/** What an executor reports for a run it handled. */
export interface RunOutcome {
  id: string;
  status: "done" | "stopped" | "failed" | "skipped";
  error?: string;
}

/** Runs a set of stored runs (all planned in the lab already). */
export interface Executor {
  readonly name: string;
  execute(runs: RunRecord[], lab: Lab, hooks?: ExecutorHooks): Promise<RunOutcome[]>;
}

/** Callbacks of an executor. */
export interface ExecutorHooks {
  onProgress?: (p: SweepProgress) => void;
  onRunEnd?: (run: RunRecord, outcome: RunOutcome) => void;
  /** Log lines (one line each). */
  log?: (line: string) => void;
  /** Polled between runs: true stops starting new ones. */
  shouldStop?: () => boolean;
}

/** Options of the local executor. */
export interface LocalExecutorOptions {
  /**
   * Runs trained at once. "auto" (default): each run gets one thread beside others when that trains more tokens per
   * second than one run on every core (small models: measured per shape, see speed.ts), else all the threads.
   * A number k: k runs at a time, the threads split between them.
   */
  concurrency?: number | "auto";
  /** Total kernel threads to split between concurrent runs (default: SCALING_LAB_THREADS or all cores, at most 64). */
  threads?: number;
  /** Backend for the runs (auto | native | js). */
  backend?: string;
  /** How often to tail metrics into the store, in ms. */
  pollMs?: number;
}

/**
 * A run left "running" with no heartbeat (metrics write) for this long is taken to be orphaned by a dead sweep
 * process and may be claimed again. Generous, so a slow first step of a large model is not mistaken for a crash.
 */
export const STALE_AFTER_SEC = 900;

/** Path of the CLI entry point (dist/src/cli/main.js) used to spawn runs. */
export function cliPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../cli/main.js");
}

/** Reads the complete metric lines of a metrics.jsonl from line index `from`; `next` is where to continue. */
export function readMetricLines(path: string, from: number): { rows: MetricRecord[]; next: number } {
  if (!existsSync(path)) return { rows: [], next: from };
  const lines = readFileSync(path, "utf8").split("\n");
  const complete = lines.length - 1; // the last element is "" or a line still being written
  const rows: MetricRecord[] = [];
  let next = from;
  for (let i = from; i < complete; i++) {
    if (lines[i].trim()) {
      try {
        rows.push(JSON.parse(lines[i]) as MetricRecord);
      } catch {
        break;
      }
    }
    next = i + 1;
  }
  return { rows, next };
}

/**
 * How much two single-thread runs side by side keep of their speed alone (they share the memory bus and the last-level
 * cache); measured on a 2-core machine for the cpu-xs shapes: 0.9–0.97.
 */
const SIDE_BY_SIDE_EFFICIENCY = 0.9;

/**
 * Threads for each run: 1 where `threads` single-thread runs side by side train faster than one run on all threads
 * (measured speeds of its shape, cached per machine), else all of them. A run's numbers do not depend on its thread
 * count (the kernels split work by shape), so this changes only the wall time.
 */
export async function threadsPerRun(runs: readonly RunRecord[], threads: number, backend: string, log?: (line: string) => void): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of runs) {
    if (threads <= 1 || runs.length <= 1) {
      out.set(r.id, threads);
      continue;
    }
    const config = r.config as unknown as TrainConfig;
    try {
      const one = await shapeSpeed(config, backend, 1, log);
      const all = await shapeSpeed(config, backend, threads, log);
      out.set(r.id, sideBySide(one.stepSec, all.stepSec, threads) ? 1 : threads);
    } catch {
      // the backend cannot be measured here (not available, a bad name): each run gets every thread and reports its
      // own error when it starts
      out.set(r.id, threads);
    }
  }
  return out;
}

/** Whether `threads` single-thread runs side by side out-train one run on `threads` threads (step times given). */
export function sideBySide(stepSecOneThread: number, stepSecAllThreads: number, threads: number): boolean {
  return (threads * SIDE_BY_SIDE_EFFICIENCY) / stepSecOneThread > 1 / stepSecAllThreads;
}

/** The local executor (see the module comment). */
export class LocalExecutor implements Executor {
  readonly name = "local";
  private readonly threads: number;

  constructor(private readonly opts: LocalExecutorOptions = {}) {
    this.threads = Math.max(1, opts.threads ?? defaultThreads());
  }

  /** @inheritdoc */
  async execute(runs: RunRecord[], lab: Lab, hooks: ExecutorHooks = {}): Promise<RunOutcome[]> {
    const outcomes: RunOutcome[] = [];
    const flopsTotal = runs.reduce((a, r) => a + r.C, 0);
    const done = new Map<string, number>(); // flops done per run
    const active = new Map<string, { id: string; step: number; trainLoss: number; valLoss?: number }>();
    const start = performance.now();
    let flopsThisProcess = 0;
    let runsDone = 0;
    const progress = () =>
      hooks.onProgress?.({
        active: [...active.values()], flopsDone: [...done.values()].reduce((a, b) => a + b, 0), flopsTotal,
        runsDone, runsTotal: runs.length, elapsed: (performance.now() - start) / 1000, flopsThisProcess,
      });
    const queue = runs.filter((r) => {
      if (r.status === "done") {
        done.set(r.id, r.C);
        runsDone++;
        outcomes.push({ id: r.id, status: "skipped" });
        return false;
      }
      return true;
    });
    // threads of each run: a fixed split for a given concurrency, or decided per run from measured speed
    const k = this.opts.concurrency ?? "auto";
    const want = k === "auto"
      ? await threadsPerRun(queue, this.threads, this.opts.backend ?? "auto", hooks.log)
      : new Map(queue.map((r) => [r.id, shareThreads(this.threads, Math.min(Math.max(1, k), queue.length))]));
    let free = this.threads;
    const waiters: (() => void)[] = [];
    const release = (n: number) => {
      free += n;
      waiters.splice(0).forEach((w) => w());
    };
    const acquire = async (n: number) => {
      while (free < n) await new Promise<void>((res) => waiters.push(res));
      free -= n;
    };
    const runOne = async (run: RunRecord, perRun: number) => {
      const claimed = lab.claimRun(run.id, { backend: this.opts.backend ?? "auto" }, { from: ["planned", "stopped", "failed"], staleAfterSec: STALE_AFTER_SEC });
      if (!claimed) {
        hooks.log?.(`sweep: ${run.id} is being trained by another process; skipping it here`);
        return;
      }
      const before = done.get(run.id) ?? 0;
      const outcome = await this.trainOne(claimed, lab, perRun, hooks, (row) => {
        active.set(run.id, { id: run.id, step: row.step, trainLoss: row.trainLoss, valLoss: row.valLoss ?? active.get(run.id)?.valLoss });
        const prev = done.get(run.id) ?? 0;
        done.set(run.id, row.flops);
        flopsThisProcess += Math.max(0, row.flops - prev);
        progress();
      });
      active.delete(run.id);
      if (outcome.status === "done") {
        runsDone++;
        done.set(run.id, run.C);
      } else {
        done.set(run.id, before);
      }
      outcomes.push(outcome);
      hooks.onRunEnd?.(lab.getRun(run.id)!, outcome);
      progress();
    };
    // several runs at once: the longest first, so the last to finish is a short one (less idle time at the end)
    const order = [...want.values()].some((n) => n < this.threads) ? [...queue].sort((a, b) => b.C - a.C) : queue;
    const running: Promise<void>[] = [];
    for (const run of order) {
      if (hooks.shouldStop?.() ?? false) break;
      const n = Math.min(MAX_THREADS, this.threads, want.get(run.id) ?? this.threads); // one run's pool takes ≤ 64
      await acquire(n);
      if (hooks.shouldStop?.() ?? false) {
        release(n);
        break;
      }
      running.push(runOne(run, n).finally(() => release(n)));
    }
    await Promise.all(running);
    return outcomes;
  }

  /** Trains one run in a child process, tailing its metrics into the store. */
  private async trainOne(run: RunRecord, lab: Lab, threads: number, hooks: ExecutorHooks, onRow: (r: MetricRecord) => void): Promise<RunOutcome> {
    const dir = lab.runDir(run.id);
    const cfgPath = join(dir, "sweep-config.json");
    writeFileSync(cfgPath, JSON.stringify({ ...run.config, threads, backend: this.opts.backend ?? run.config.backend ?? "auto" }, null, 2));
    const metricsPath = join(dir, METRICS_FILE);
    // On resume the curve continues from the checkpoint: cut metrics.jsonl and the store to its step first (the
    // child's own truncation is then a no-op), so tailing the file by line index stays aligned.
    const ck = readCheckpointState(dir);
    let line = 0;
    if (ck) {
      hooks.log?.(`sweep: resuming ${run.id} from its checkpoint at step ${ck.step}`);
      truncateMetrics(metricsPath, ck.step);
      lab.truncateMetrics(run.id, ck.step);
      // line stays 0: the kept rows are (re-)recorded too (upserts), in case the store missed them
    } else if (existsSync(metricsPath)) {
      writeFileSync(metricsPath, "");
      lab.truncateMetrics(run.id, -1);
    }
    const resume = ck !== null;
    const tail = () => {
      const { rows, next } = readMetricLines(metricsPath, line);
      line = next;
      if (rows.length) {
        lab.appendMetrics(run.id, rows);
        onRow(rows[rows.length - 1]);
      }
    };
    const args = [cliPath(), "train", "--config", cfgPath, "--out", dir, "--json", ...(resume ? ["--resume"] : [])];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      if (stderr.length > 20000) stderr = stderr.slice(-10000);
    });
    const timer = setInterval(() => {
      try {
        tail();
      } catch (e) {
        hooks.log?.(`sweep: could not record metrics of ${run.id}: ${(e as Error).message}`);
      }
    }, this.opts.pollMs ?? 1000);
    const code: number = await new Promise((res) => child.on("close", (c, sig) => res(c ?? (sig ? 128 : 1))));
    clearInterval(timer);
    tail();
    if (code === 0) {
      const summary = JSON.parse(stdout.trim().split("\n").pop()!) as TrainSummary;
      lab.recordEndpoints(run.id, summary.endpoints ?? []);
      lab.finishRun(run.id, summary);
      return { id: run.id, status: summary.status === "done" ? "done" : "stopped" };
    }
    const message = stderr.trim().split("\n").filter((l) => !l.startsWith("train ")).pop() ?? `exit status ${code}`;
    if (code === 130 || code === 128) {
      // killed by a signal: the checkpoint says how far it got; the run resumes from there next time
      const st = readCheckpointState(dir);
      lab.finishRun(run.id, {
        status: "stopped", tokens: st?.tokens ?? 0, flops: st?.flops ?? 0, finalTrainLoss: null,
        finalValLoss: st?.lastValLoss ?? null, bestValLoss: st?.bestValLoss ?? null, elapsed: st?.elapsed ?? 0,
      });
      return { id: run.id, status: "stopped" };
    }
    lab.failRun(run.id, message);
    return { id: run.id, status: "failed", error: message };
  }
}
