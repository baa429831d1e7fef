/**
 * How long a sweep takes here, from the measured, cached speed of each shape (speed.ts): the threads the local
 * executor gives each run, the order it starts them in, the wall time of that schedule, and — while the sweep trains —
 * the time left (an ETA that starts from the estimate and is corrected by how fast the work actually goes).
 * `sweep --dry-run`, the executor's progress and `npm run bench -- --ladder` all use these, so their numbers agree.
 */
import { cooldownSteps } from "../train/schedule.js";
import { type TrainConfig, totalSteps } from "../train/config.js";
import { MAX_THREADS, shareThreads } from "../util/threads.js";
import { estimateRunSeconds, type RunTimeEstimate, type ShapeSpeed, shapeSpeed } from "./speed.js";

/** A run as the estimate needs it: an id, its planned FLOPs and its resolved config. */
export interface EstimatedRunInput {
  id: string;
  /** Planned training FLOPs (the executor trains the largest first when runs share the cores). */
  C: number;
  config: TrainConfig;
}

/** One run of a schedule: its estimated seconds on its thread count. */
export interface ScheduledRun {
  id: string;
  threads: number;
  seconds: number;
}

/**
 * How much two single-thread runs side by side keep of their speed alone (they share the memory bus and the last-level
 * cache); measured on a 2-core machine for the cpu-xs shapes: 0.9–0.97.
 */
const SIDE_BY_SIDE_EFFICIENCY = 0.9;

/** Whether `threads` single-thread runs side by side out-train one run on `threads` threads (step times given). */
export function sideBySide(stepSecOneThread: number, stepSecAllThreads: number, threads: number): boolean {
  return (threads * SIDE_BY_SIDE_EFFICIENCY) / stepSecOneThread > 1 / stepSecAllThreads;
}

/**
 * Threads for each run: 1 where `threads` single-thread runs side by side train faster than one run on all threads
 * (measured speeds of its shape, cached per machine), else all of them. A run's numbers do not depend on its thread
 * count (the kernels split work by shape), so this changes only the wall time.
 */
export async function threadsPerRun(
  runs: readonly { id: string; config: unknown }[], threads: number, backend: string, log?: (line: string) => void,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of runs) {
    if (threads <= 1 || runs.length <= 1) {
      out.set(r.id, threads);
      continue;
    }
    const config = r.config as TrainConfig;
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

/**
 * The threads of each run for a concurrency setting: "auto" decides per run from measured speed
 * ({@link threadsPerRun}); a number k splits the threads evenly between k runs at a time. Capped at what one run's
 * thread pool takes.
 */
export async function runThreads(
  runs: readonly { id: string; config: unknown }[], threads: number, concurrency: number | "auto", backend: string, log?: (line: string) => void,
): Promise<Map<string, number>> {
  const want = concurrency === "auto"
    ? await threadsPerRun(runs, threads, backend, log)
    : new Map(runs.map((r) => [r.id, shareThreads(threads, Math.min(Math.max(1, concurrency), runs.length))]));
  for (const [id, n] of want) want.set(id, Math.min(MAX_THREADS, threads, n));
  return want;
}

/** The order the local executor starts runs in: the largest first when runs share the cores (less idle time at the end). */
export function runOrder<R extends { id: string; C: number }>(runs: readonly R[], want: ReadonlyMap<string, number>, threads: number): R[] {
  return [...want.values()].some((n) => n < threads) ? [...runs].sort((a, b) => b.C - a.C) : [...runs];
}

/**
 * Wall time of `runs` started in this order on `threads` threads, each run holding its threads until it ends and
 * starting as soon as enough are free (the local executor's schedule). `running` runs hold their threads from time 0.
 */
export function scheduleSeconds(runs: readonly { seconds: number; threads: number }[], threads: number): number {
  const ends: { at: number; threads: number }[] = [];
  let now = 0;
  let free = threads;
  for (const r of runs) {
    const n = Math.min(threads, Math.max(1, r.threads));
    while (free < n) {
      ends.sort((a, b) => a.at - b.at);
      const e = ends.shift()!;
      now = Math.max(now, e.at);
      free += e.threads;
    }
    free -= n;
    ends.push({ at: now + Math.max(0, r.seconds), threads: n });
  }
  return Math.max(now, ...ends.map((e) => e.at));
}

/** A run's estimate on its thread count. */
export interface RunEstimate extends RunTimeEstimate {
  id: string;
  threads: number;
  speed: ShapeSpeed;
}

/**
 * The estimated seconds of each run on the threads it will get (measured speeds, cached per machine; `onMeasure` is
 * told what is measured while it is), in the order the executor starts them, and the wall time of that schedule.
 * Throws when the backend cannot be created or measured.
 */
export async function estimateRuns(
  runs: readonly EstimatedRunInput[],
  opts: { threads: number; backend: string; concurrency?: number | "auto"; onMeasure?: (what: string) => void; want?: ReadonlyMap<string, number> },
): Promise<{ runs: RunEstimate[]; seconds: number }> {
  const want = opts.want ?? (await runThreads(runs, opts.threads, opts.concurrency ?? "auto", opts.backend, opts.onMeasure));
  const out: RunEstimate[] = [];
  for (const r of runOrder(runs, want, opts.threads)) {
    const threads = want.get(r.id) ?? opts.threads;
    const speed = await shapeSpeed(r.config, opts.backend, threads, opts.onMeasure);
    out.push({ id: r.id, threads, speed, ...estimateRunSeconds(r.config, speed) });
  }
  return { runs: out, seconds: scheduleSeconds(out, opts.threads) };
}

/**
 * The fraction of a run's optimizer steps (its cooldown branches' included, as {@link estimateRunSeconds} counts
 * them) done once the main run has finished `step` steps: a branch runs when the main run reaches its start.
 */
export function runFractionDone(config: TrainConfig, step: number): number {
  const main = totalSteps(config);
  let total = main;
  let done = Math.min(step, main);
  for (const tokens of config.branches ?? []) {
    const end = Math.round(tokens / config.batchTokens);
    const len = cooldownSteps(end, config.cooldownFraction);
    total += len;
    if (end - len < step) done += len;
  }
  return total > 0 ? Math.min(1, done / total) : 1;
}

/**
 * The time left of a sweep while it trains. It starts from the schedule of the estimated run times and scales the
 * remaining schedule by how the time actually spent compares with the estimate of the work done (shrunk towards 1
 * while there is little evidence), so a machine busier or faster than when it was measured is accounted for within
 * the first few per cent of the sweep. Each run also pays a process start (loading the code and the data), which the
 * caller can replace by what it has observed.
 */
export class SweepEta {
  /** The schedule's wall time at the start. */
  readonly totalSeconds: number;

  /**
   * @param runs each run's threads and estimated seconds of work (its process start excluded)
   * @param threads the threads the runs share
   * @param startSeconds the seconds each run's process takes to start (default 0)
   */
  constructor(private readonly runs: readonly ScheduledRun[], private readonly threads: number, private readonly startSeconds = 0) {
    this.totalSeconds = this.schedule(new Map(), startSeconds);
  }

  /**
   * Seconds left, given each run's fraction of work done (0–1; absent or 0: not started) and the seconds elapsed since
   * the sweep started; `startSeconds` replaces the constructor's once starts have been observed, and `starting` gives
   * the seconds since each run's process was started that has not reported progress yet. Runs under way keep their
   * threads; the rest start in the planned order.
   */
  secondsLeft(done: ReadonlyMap<string, number>, elapsed: number, startSeconds = this.startSeconds, starting: ReadonlyMap<string, number> = new Map()): number {
    const total = this.schedule(new Map(), startSeconds);
    const remaining = this.schedule(done, startSeconds, starting);
    const expectedSoFar = Math.max(0, total - remaining);
    const prior = Math.min(10, 0.1 * total); // seconds of evidence the estimate is worth
    const ratio = expectedSoFar + prior > 0 ? (elapsed + prior) / (expectedSoFar + prior) : 1;
    return remaining * Math.min(50, Math.max(0.02, ratio));
  }

  /** The wall time of what is left: runs under way (starting or training) first, on their threads, then the rest in order. */
  private schedule(done: ReadonlyMap<string, number>, start: number, starting: ReadonlyMap<string, number> = new Map()): number {
    const f = (r: ScheduledRun) => Math.min(1, done.get(r.id) ?? 0);
    const started = (r: ScheduledRun) => f(r) <= 0 && starting.has(r.id);
    const running = this.runs.filter((r) => (f(r) > 0 && f(r) < 1) || started(r)).map((r) => ({
      threads: r.threads,
      seconds: started(r) ? Math.max(0, start - starting.get(r.id)!) + r.seconds : r.seconds * (1 - f(r)),
    }));
    const waiting = this.runs.filter((r) => f(r) <= 0 && !started(r)).map((r) => ({ threads: r.threads, seconds: start + r.seconds }));
    return scheduleSeconds([...running, ...waiting], this.threads);
  }
}
