/**
 * Executors run a sweep's planned runs. The `local` executor trains up to k runs at a time on this machine, each
 * in its own `scaling-lab train` child process (so a crash or a kill of one run never takes the sweep down, and
 * each process owns its native thread pool), splitting the cores between them. The sweep process tails each run's
 * metrics.jsonl into the lab store while it trains, and records the outcome when it ends. A run interrupted before
 * resumes from its checkpoint; a finished run is skipped.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Lab } from "../store/index.js";
import type { MetricRecord, RunRecord } from "../store/types.js";
import { CheckpointError, readCheckpointState } from "../train/checkpoint.js";
import { runFolderOwner } from "../train/lock.js";
import { truncateMetrics } from "../train/loop.js";
import type { TrainSummary } from "../train/loop.js";
import type { TrainConfig } from "../train/config.js";
import { describeProcess, PARENT_PID_ENV } from "../util/process.js";
import { METRICS_FILE } from "../util/run-folder.js";
import { defaultThreads, MAX_THREADS } from "../util/threads.js";
import { estimateRuns, runFractionDone, runOrder, runThreads, SweepEta } from "./estimate.js";
import { PROCESS_START_SEC } from "./speed.js";

export { sideBySide, threadsPerRun } from "./estimate.js";

/** Progress of a sweep, for a progress bar. */
export interface SweepProgress {
  /** Run ids currently training, with their latest step and training speed. */
  active: { id: string; step: number; trainLoss: number; valLoss?: number; tokensPerSec?: number }[];
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
  /**
   * Seconds left, from the measured speed of each run's shape and the schedule of the runs, corrected by how fast the
   * work has actually gone (estimate.ts); absent when the speeds could not be measured.
   */
  etaSec?: number;
  /** Training tokens per second of the runs under way, together. */
  tokensPerSec?: number;
}

/** What an executor reports for a run it handled ("busy": another live process is training it; left alone). */
export interface RunOutcome {
  id: string;
  status: "done" | "stopped" | "failed" | "skipped" | "busy";
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
 * A run left "running" by a sweep process of this machine that is gone is claimed again at once (the lab records
 * the claiming process). One claimed from another machine, or in a lab that recorded no owner, is taken to be
 * orphaned when it has had no heartbeat (metrics write) for this long. Generous, so a slow first step of a large
 * model is not mistaken for a crash.
 */
export const STALE_AFTER_SEC = 900;

/** How long to wait for a dead sweep's training child to notice and exit before calling its run busy, in ms. */
const ORPHAN_GRACE_MS = 5000;

/** Path of the CLI entry point (dist/src/cli/main.js) used to spawn runs. */
export function cliPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../cli/main.js");
}

/**
 * Reads the complete metric lines of a metrics.jsonl from line index `from`; `next` is where to continue. A file
 * with fewer lines than `from` was rewritten (the trainer restores a deleted or truncated file whole): it is read
 * again from its start (storing a row twice is harmless: the store replaces a step).
 */
export function readMetricLines(path: string, fromGiven: number): { rows: MetricRecord[]; next: number } {
  if (!existsSync(path)) return { rows: [], next: fromGiven };
  const lines = readFileSync(path, "utf8").split("\n");
  const complete = lines.length - 1; // the last element is "" or a line still being written
  const from = complete < fromGiven ? 0 : fromGiven;
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
    const active = new Map<string, SweepProgress["active"][number]>();
    let flopsThisProcess = 0;
    let runsDone = 0;
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
    const backend = this.opts.backend ?? "auto";
    const want = await runThreads(queue, this.threads, this.opts.concurrency ?? "auto", backend, hooks.log);
    const eta = await this.sweepEta(queue, want, backend, lab, hooks.log);
    const start = performance.now();
    const progress = () =>
      hooks.onProgress?.({
        active: [...active.values()], flopsDone: [...done.values()].reduce((a, b) => a + b, 0), flopsTotal,
        runsDone, runsTotal: runs.length, elapsed: (performance.now() - start) / 1000, flopsThisProcess,
        ...(eta ? { etaSec: eta.secondsLeft((performance.now() - start) / 1000) } : {}),
        tokensPerSec: [...active.values()].reduce((a, r) => a + (r.tokensPerSec ?? 0), 0),
      });
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
      const busy = (why: string) => {
        hooks.log?.(`sweep: ${run.id} is being trained by ${why}; leaving it to that process (re-run this sweep once it ends)`);
        outcomes.push({ id: run.id, status: "busy", error: `being trained by ${why}` });
      };
      // a dead sweep's training child exits within a second of its parent (exitWithParent): give it that long
      const folderOwner = await waitForOwnerGone(join(lab.runsDir, run.id), ORPHAN_GRACE_MS);
      if (folderOwner) return busy(folderOwner.pid > 0 ? describeProcess(folderOwner) : "another process");
      const claimed = lab.claimRun(run.id, { backend: this.opts.backend ?? "auto" }, { from: ["planned", "stopped", "failed"], staleAfterSec: STALE_AFTER_SEC });
      if (!claimed) {
        const owner = lab.getRun(run.id)?.owner;
        return busy(owner ? `another sweep process (${describeProcess(owner)})` : "another process");
      }
      const before = done.get(run.id) ?? 0;
      eta?.spawn(run.id);
      const outcome = await this.trainOne(claimed, lab, perRun, hooks, (row) => {
        active.set(run.id, {
          id: run.id, step: row.step, trainLoss: row.trainLoss, valLoss: row.valLoss ?? active.get(run.id)?.valLoss, tokensPerSec: row.tokensPerSec,
        });
        eta?.step(run.id, row.step);
        const prev = done.get(run.id) ?? 0;
        done.set(run.id, row.flops);
        flopsThisProcess += Math.max(0, row.flops - prev);
        progress();
      });
      active.delete(run.id);
      eta?.end(run.id);
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
    const order = runOrder(queue, want, this.threads);
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

  /**
   * The ETA of the queued runs from their shapes' measured speeds (cached per machine; a run resumed from a checkpoint
   * counts what is left of it), or null when the backend cannot be measured here (each run then reports its own error).
   */
  private async sweepEta(queue: RunRecord[], want: ReadonlyMap<string, number>, backend: string, lab: Lab, log?: (line: string) => void): Promise<RunEta | null> {
    if (queue.length === 0) return null;
    try {
      const inputs = queue.map((r) => ({ id: r.id, C: r.C, config: r.config as unknown as TrainConfig }));
      const est = await estimateRuns(inputs, { threads: this.threads, backend, want, onMeasure: log });
      return new RunEta(inputs, est.runs, this.threads, (id) => readCheckpointState(lab.runDir(id))?.step ?? 0);
    } catch {
      return null;
    }
  }

  /** Trains one run in a child process, tailing its metrics into the store. */
  private async trainOne(run: RunRecord, lab: Lab, threads: number, hooks: ExecutorHooks, onRow: (r: MetricRecord) => void): Promise<RunOutcome> {
    const dir = lab.runDir(run.id);
    let ck;
    try {
      ck = readCheckpointState(dir);
    } catch (e) {
      // a damaged checkpoint: fail the run and touch nothing (starting over would throw its metrics away)
      if (!(e instanceof CheckpointError)) throw e;
      lab.failRun(run.id, e.message);
      return { id: run.id, status: "failed", error: e.message };
    }
    const cfgPath = join(dir, "sweep-config.json");
    writeFileSync(cfgPath, JSON.stringify({ ...run.config, threads, backend: this.opts.backend ?? run.config.backend ?? "auto" }, null, 2));
    const metricsPath = join(dir, METRICS_FILE);
    // On resume the curve continues from the checkpoint: cut metrics.jsonl and the store to its step first (the
    // child's own truncation is then a no-op), so tailing the file by line index stays aligned.
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
    // the child exits by itself if this process dies (SCALING_LAB_PARENT_PID), and is killed if this one exits
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, [PARENT_PID_ENV]: String(process.pid) } });
    const untrack = killOnExit(child);
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
    untrack();
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
      let st = null;
      try {
        st = readCheckpointState(dir);
      } catch {
        // damaged by the kill: the next attempt reports it
      }
      lab.finishRun(run.id, {
        status: "stopped", tokens: st?.tokens ?? 0, flops: st?.flops ?? 0, finalTrainLoss: st?.lastTrainLoss ?? null,
        finalValLoss: st?.lastValLoss ?? null, bestValLoss: st?.bestValLoss ?? null, elapsed: st?.elapsed ?? 0,
      });
      return { id: run.id, status: "stopped" };
    }
    lab.failRun(run.id, message);
    return { id: run.id, status: "failed", error: message };
  }
}

/**
 * The sweep's ETA as the executor feeds it: each run's work (its steps, cooldown branches included) from where it
 * (re)started, and each run's fixed cost — its process start (spawn to first metrics row) and end (last row to exit),
 * as observed once runs have started and ended (speed.ts's PROCESS_START_SEC until then).
 */
class RunEta {
  private readonly eta: SweepEta;
  private readonly runs = new Map<string, { config: TrainConfig; before: number }>();
  private readonly done = new Map<string, number>();
  private readonly spawned = new Map<string, number>();
  private readonly lastRow = new Map<string, number>();
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(inputs: { id: string; config: TrainConfig }[], estimates: { id: string; threads: number; seconds: number }[], threads: number, resumedStep: (id: string) => number) {
    const configs = new Map(inputs.map((r) => [r.id, r.config]));
    const work = estimates.map((e) => {
      const config = configs.get(e.id)!;
      const before = runFractionDone(config, resumedStep(e.id));
      this.runs.set(e.id, { config, before });
      return { id: e.id, threads: e.threads, seconds: Math.max(0, e.seconds - PROCESS_START_SEC) * (1 - before) };
    });
    this.eta = new SweepEta(work, threads, PROCESS_START_SEC);
  }

  /** A run's process is being started. */
  spawn(id: string): void {
    this.spawned.set(id, performance.now());
  }

  /** A run reached `step` (main-run steps). */
  step(id: string, step: number): void {
    const r = this.runs.get(id);
    if (!r) return;
    const f = r.before >= 1 ? 1 : (runFractionDone(r.config, step) - r.before) / (1 - r.before);
    if (f <= 0) return; // a row kept from before a resume, read again
    const now = performance.now();
    const at = this.spawned.get(id);
    if (at !== undefined && !this.done.has(id)) this.starts.push((now - at) / 1000);
    this.lastRow.set(id, now);
    this.done.set(id, Math.min(1, f));
  }

  /** A run ended (done, stopped or failed: nothing more of it runs in this process). */
  end(id: string): void {
    const last = this.lastRow.get(id);
    if (last !== undefined && this.done.get(id) === 1) this.ends.push((performance.now() - last) / 1000);
    this.done.set(id, 1);
  }

  /** Seconds left after `elapsed` seconds. */
  secondsLeft(elapsed: number): number {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const fixed = (this.starts.length ? median(this.starts) : PROCESS_START_SEC) + (this.ends.length ? median(this.ends) : 0);
    const now = performance.now();
    const starting = new Map([...this.spawned].filter(([id]) => !this.done.has(id)).map(([id, at]) => [id, (now - at) / 1000]));
    return this.eta.secondsLeft(this.done, elapsed, fixed, starting);
  }
}

/** Children to kill when this process exits (however it exits: a thrown error included). */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills `child` if this process exits while it runs; returns the function that stops tracking it. */
function killOnExit(child: ChildProcess): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of liveChildren) c.kill("SIGKILL");
    });
  }
  liveChildren.add(child);
  return () => liveChildren.delete(child);
}

/** The live process still training the run folder `dir` after waiting up to `ms` for it to exit, or null. */
async function waitForOwnerGone(dir: string, ms: number) {
  const t0 = Date.now();
  for (;;) {
    const owner = runFolderOwner(dir);
    if (!owner || Date.now() - t0 >= ms) return owner;
    await new Promise((r) => setTimeout(r, 100));
  }
}
