/**
 * The `redis` executor (`scaling-lab sweep --executor redis://host:6379`): the sweep process becomes the
 * coordinator of workers on other machines (`scaling-lab worker --redis …`, src/sweep/redis-worker.ts), through a
 * BullMQ queue on Redis.
 *
 * - Each run not yet done in the lab becomes one job whose id is the run id, so queueing it again is a no-op; the
 *   job carries the resolved config, a hash of the data's manifest and the version stamp (src/sweep/queue-protocol.ts).
 * - Only the coordinator writes the lab store: it applies the workers' `start` and `metrics` events from the
 *   sweep's Redis stream (metrics are upserts; a resumed run's curve is cut back to its checkpoint), and records a
 *   run's end from its job's final state — completed (summary + full curve) → finishRun, failed → failRun — then
 *   removes the job. A run is recorded as ended once: later events and duplicates for it are ignored. When the
 *   worker's run folder is visible here (shared artifacts folder), the lab's runs/<id> becomes a link to it.
 * - A restarted coordinator re-attaches: jobs already queued or training are left as they are, finished ones are
 *   recorded, failed ones are queued again (as the local executor retries failed runs).
 * - Redis going away: every command waits and retries with backoff (one log line when it goes, one when it is
 *   back). A job that vanished (Redis restarted without its data) is queued again after `requeueAfterMs`, once any
 *   worker still training it has noticed its lost lock and stopped.
 */
import { existsSync, lstatSync, readdirSync, rmdirSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Job, Queue } from "bullmq";
import type { Lab } from "../store/index.js";
import type { RunRecord } from "../store/types.js";
import type { Executor, ExecutorHooks, RunOutcome, SweepProgress } from "./executor.js";
import {
  dataHash, decodeEvent, DEFAULT_QUEUE, eventsKey, JOB_NAME, type RunJob, type RunResult, sweepKeyOf, versionStamp,
} from "./queue-protocol.js";
import { firstLine, parseRedisUrl, RedisLink, type RedisTarget } from "./redis-connection.js";

/** Options of the redis executor. */
export interface RedisExecutorOptions {
  /** redis://[user:password@]host[:port][/db][?queue=NAME] (queue default "scaling-lab"). */
  url: string;
  /** How often job states are checked, and the longest wait for events, in ms (default 1000). */
  pollMs?: number;
  /**
   * How long a run's job may be missing from Redis before it is queued again, in ms (default 35,000: a little over
   * the workers' default 30 s lock, so a worker still training it has stopped by then).
   */
  requeueAfterMs?: number;
}

/** A sweep that cannot go through this queue; the message names the fix. */
export class RedisExecutorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisExecutorError";
  }
}

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

const STOPPED = Symbol("stopped");

/** The redis executor (see the module comment). */
export class RedisExecutor implements Executor {
  readonly name = "redis";
  /** Where the queue is (parsed from the URL; throws RedisUrlError for a bad one). */
  readonly target: RedisTarget;

  constructor(private readonly opts: RedisExecutorOptions) {
    this.target = parseRedisUrl(opts.url, DEFAULT_QUEUE);
  }

  /** @inheritdoc */
  async execute(runs: RunRecord[], lab: Lab, hooks: ExecutorHooks = {}): Promise<RunOutcome[]> {
    const session = new CoordinatorSession(this.target, this.opts, runs, lab, hooks);
    return session.run();
  }
}

/** One coordinator pass over a sweep's runs. */
class CoordinatorSession {
  private readonly log: (line: string) => void;
  private readonly pollMs: number;
  private readonly requeueAfterMs: number;
  private readonly outcomes: RunOutcome[] = [];
  private readonly pending = new Map<string, RunRecord>();
  private readonly active = new Map<string, { id: string; step: number; trainLoss: number; valLoss?: number }>();
  private readonly flops = new Map<string, number>();
  private readonly missingSince = new Map<string, number>();
  private readonly start = performance.now();
  private flopsThisProcess = 0;
  private runsDone = 0;
  private warnedFolders = false;

  constructor(
    private readonly target: RedisTarget,
    opts: RedisExecutorOptions,
    private readonly runs: RunRecord[],
    private readonly lab: Lab,
    private readonly hooks: ExecutorHooks,
  ) {
    this.log = hooks.log ?? (() => {});
    this.pollMs = opts.pollMs ?? 1000;
    this.requeueAfterMs = opts.requeueAfterMs ?? 35_000;
  }

  async run(): Promise<RunOutcome[]> {
    for (const r of this.runs) {
      if (r.status === "done") {
        this.outcomes.push({ id: r.id, status: "skipped" });
        this.flops.set(r.id, r.C);
        this.runsDone++;
      } else {
        this.pending.set(r.id, r);
      }
    }
    if (this.pending.size === 0) return this.outcomes;
    const first = [...this.pending.values()][0];
    const sweep = first.sweep ?? "";
    const created = (first.sweep !== null ? this.lab.getSweep(first.sweep)?.created : undefined) ?? "";
    const sweepKey = sweepKeyOf(this.lab.dir, sweep, created);
    const events = eventsKey(this.target.queue, sweepKey);
    const link = new RedisLink(this.target, "sweep", this.log);
    const cmd = link.connect();
    const blocking = link.connect();
    const queue = new Queue<RunJob, RunResult>(this.target.queue, { connection: cmd });
    queue.on("error", (e) => link.onError(e));
    const hashes = new Map<string, string>();
    const jobData = (run: RunRecord): RunJob => {
      const data = resolve(String(run.config.data));
      let h = hashes.get(data);
      if (h === undefined) {
        h = dataHash(data) ?? "";
        if (!h) throw new RedisExecutorError(`run ${run.id}: ${data} is not a prepared data directory (no manifest.json); run scaling-lab prepare --out ${data}`);
        hashes.set(data, h);
      }
      return { runId: run.id, sweep, sweepKey, lab: this.lab.dir, events, config: { ...run.config, data }, dataHash: h, version: versionStamp() };
    };
    const add = (run: RunRecord) =>
      queue.add(JOB_NAME, jobData(run), { jobId: run.id, attempts: 1, removeOnComplete: false, removeOnFail: false });

    // wait for a promise, unless the user stops the sweep first
    const guarded = <T>(p: Promise<T>): Promise<T | typeof STOPPED> => {
      p.catch(() => {});
      return new Promise((res, rej) => {
        const t = setInterval(() => {
          if (this.hooks.shouldStop?.()) {
            clearInterval(t);
            res(STOPPED);
          }
        }, 200);
        p.then((v) => (clearInterval(t), res(v)), (e) => (clearInterval(t), rej(e)));
      });
    };

    let lastId = "0";
    const drain = async (block: boolean): Promise<boolean> => {
      const read = block
        ? blocking.xread("COUNT", 500, "BLOCK", this.pollMs, "STREAMS", events, lastId)
        : blocking.xread("COUNT", 500, "STREAMS", events, lastId);
      const reply = await guarded(read as Promise<StreamReply>);
      if (reply === STOPPED) return false;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) return true;
      for (const [id, fields] of entries) {
        this.apply(fields);
        lastId = id;
      }
      await cmd.xdel(events, ...entries.map((e) => e[0]));
      return entries.length < 500 || drain(false);
    };

    const reportRunEnd = (id: string, outcome: RunOutcome) => {
      this.pending.delete(id);
      this.active.delete(id);
      this.missingSince.delete(id);
      this.outcomes.push(outcome);
      this.hooks.onRunEnd?.(this.lab.getRun(id)!, outcome);
    };
    const recordDone = async (job: Job<RunJob, RunResult>) => {
      const id = job.id!;
      const result = job.returnvalue;
      const stored = this.lab.getRun(id)!;
      if (stored.status === "done") {
        // another coordinator of this sweep recorded it first
        reportRunEnd(id, { id, status: "skipped" });
        await job.remove().catch(() => {});
        return;
      }
      if (stored.machine !== result.machine) this.lab.markRunning(id, { backend: result.summary.backend, machine: result.machine });
      const last = result.metrics[result.metrics.length - 1];
      this.lab.truncateMetrics(id, last?.step ?? -1);
      if (result.metrics.length) this.lab.appendMetrics(id, result.metrics);
      // a job finished by resuming from its final checkpoint trained no step in that process: take the curve's end
      const finalTrainLoss = Number.isFinite(result.summary.finalTrainLoss) ? result.summary.finalTrainLoss : (last?.trainLoss ?? null);
      this.lab.recordEndpoints(id, result.summary.endpoints ?? []);
      this.lab.finishRun(id, { ...result.summary, finalTrainLoss });
      this.linkRunFolder(id, result.dir);
      const before = this.flops.get(id) ?? 0;
      this.flops.set(id, this.pending.get(id)!.C);
      this.flopsThisProcess += Math.max(0, result.summary.flops - before);
      this.runsDone++;
      reportRunEnd(id, { id, status: "done" });
      await job.remove().catch((e) => this.log(`sweep: could not remove the finished job ${id}: ${firstLine(e)}`));
    };
    const recordFailed = async (job: Job<RunJob, RunResult>) => {
      const id = job.id!;
      const reason = job.failedReason || "failed on a worker (no reason given)";
      this.lab.failRun(id, reason);
      this.flops.set(id, 0);
      reportRunEnd(id, { id, status: "failed", error: reason });
      await job.remove().catch((e) => this.log(`sweep: could not remove the failed job ${id}: ${firstLine(e)}`));
    };

    // looks at one run's job; at startup failed jobs are retried and foreign ones cleared or refused
    const inspect = async (run: RunRecord, startup: boolean): Promise<"queued" | "attached" | "ended" | "missing"> => {
      let job = (await queue.getJob(run.id)) as Job<RunJob, RunResult> | undefined;
      if (job && job.data?.sweepKey !== sweepKey) {
        const state = await job.getState();
        if (state !== "completed" && state !== "failed" && state !== "unknown") {
          throw new RedisExecutorError(
            `queue "${this.target.queue}" on ${this.target.display} already holds run ${run.id} for another lab (${job.data?.lab ?? "unknown"}); give this sweep its own queue: --executor redis://${this.target.display}?queue=NAME (and the same URL for its workers)`,
          );
        }
        await job.remove();
        job = undefined;
      }
      if (!job) {
        if (!startup) return "missing";
        await add(run);
        return "queued";
      }
      this.missingSince.delete(run.id);
      const state = await job.getState();
      if (state === "completed" || state === "failed") {
        // read it again: it may have finished between the read above and getState
        job = (await queue.getJob(run.id)) as Job<RunJob, RunResult> | undefined;
        if (!job) return startup ? (await add(run), "queued") : "missing";
      }
      if (state === "completed") {
        if (!job.returnvalue?.summary) return "attached"; // not readable yet: look again next time
        await recordDone(job);
        return "ended";
      }
      if (state === "failed") {
        if (startup) {
          this.log(`sweep: ${run.id} had failed on a worker (${job.failedReason}); queueing it again`);
          await job.remove();
          await add(run);
          return "queued";
        }
        await recordFailed(job);
        return "ended";
      }
      return "attached";
    };

    const check = async () => {
      for (const run of [...this.pending.values()]) {
        const r = await inspect(run, false);
        if (r !== "missing") continue;
        const now = Date.now();
        const since = this.missingSince.get(run.id) ?? now;
        this.missingSince.set(run.id, since);
        if (now - since >= this.requeueAfterMs) {
          this.log(`sweep: the job of ${run.id} is gone from Redis (restarted without its data?); queueing it again`);
          this.missingSince.delete(run.id);
          await add(run);
        }
      }
    };

    try {
      const ready = await guarded(drain(false));
      if (ready === STOPPED || ready === false) return this.detach(link, queue);
      const counts = { queued: 0, attached: 0 };
      for (const run of [...this.pending.values()]) {
        const r = await guarded(inspect(run, true));
        if (r === STOPPED) return this.detach(link, queue);
        if (r === "queued") counts.queued++;
        if (r === "attached") counts.attached++;
      }
      if (this.pending.size > 0) {
        this.log(
          `sweep: ${counts.queued} runs queued${counts.attached ? `, ${counts.attached} already queued or training (re-attached)` : ""} on ${this.target.display} (queue "${this.target.queue}"); ` +
            `workers: scaling-lab worker --redis redis://${this.target.display}${this.target.queue !== DEFAULT_QUEUE ? `?queue=${this.target.queue}` : ""}`,
        );
      }
      this.progress();
      let lastCheck = Date.now();
      while (this.pending.size > 0) {
        if (this.hooks.shouldStop?.()) break;
        if (!(await drain(true))) break;
        if (Date.now() - lastCheck >= this.pollMs) {
          if ((await guarded(check())) === STOPPED) break;
          lastCheck = Date.now();
        }
        this.progress();
      }
      if (this.pending.size === 0) await cmd.del(events).catch(() => 0);
      return this.detach(link, queue);
    } catch (e) {
      await queue.close().catch(() => {});
      link.close();
      throw e;
    }
  }

  /**
   * Makes the lab's run folder (runs/<id>) a link to the worker's run folder when this machine sees it (a shared
   * artifacts folder), so sample, eval and the dashboard find the checkpoint; otherwise says once where they are.
   */
  private linkRunFolder(id: string, workerDir: string | undefined): void {
    if (!workerDir) return;
    const here = join(this.lab.runsDir, id);
    const linked = existsSync(workerDir) && resolve(workerDir) !== resolve(here);
    if (linked) {
      try {
        if (existsSync(here) && lstatSync(here).isDirectory() && readdirSync(here).length === 0) rmdirSync(here);
        if (!existsSync(here)) {
          symlinkSync(resolve(workerDir), here, "dir");
          return;
        }
      } catch (e) {
        this.log(`sweep: could not link ${here} to ${workerDir}: ${firstLine(e)}`);
        return;
      }
    }
    if (!linked && !this.warnedFolders) {
      this.warnedFolders = true;
      this.log(`sweep: run folders (checkpoints) stay on the workers, e.g. ${workerDir}; share the artifacts folder with this machine to sample or evaluate them from the lab`);
    }
  }

  /** Applies one stream event to the lab (ignored once the run's end is recorded). */
  private apply(fields: string[]): void {
    const e = decodeEvent(fields);
    if (!e || !this.pending.has(e.run)) return;
    const run = this.lab.getRun(e.run);
    if (!run || run.status === "done") return;
    if (e.type === "start") {
      this.lab.markRunning(e.run, { backend: e.backend, machine: e.machine });
      this.lab.truncateMetrics(e.run, e.resumedAt ?? -1);
      this.active.set(e.run, { id: e.run, step: e.resumedAt ?? 0, trainLoss: NaN });
      this.log(`sweep: ${e.run} ${e.resumedAt ? `resumed at step ${e.resumedAt}` : "started"} on ${e.machine} (${e.backend})`);
      return;
    }
    if (e.rows.length === 0) return;
    this.lab.appendMetrics(e.run, e.rows);
    const last = e.rows[e.rows.length - 1];
    const prev = this.active.get(e.run);
    const val = [...e.rows].reverse().find((r) => r.valLoss !== undefined)?.valLoss ?? prev?.valLoss;
    this.active.set(e.run, { id: e.run, step: last.step, trainLoss: last.trainLoss, valLoss: val });
    const before = this.flops.get(e.run) ?? 0;
    this.flops.set(e.run, last.flops);
    this.flopsThisProcess += Math.max(0, last.flops - before);
  }

  private progress(): void {
    const p: SweepProgress = {
      active: [...this.active.values()],
      flopsDone: [...this.flops.values()].reduce((a, b) => a + b, 0),
      flopsTotal: this.runs.reduce((a, r) => a + r.C, 0),
      runsDone: this.runsDone,
      runsTotal: this.runs.length,
      elapsed: (performance.now() - this.start) / 1000,
      flopsThisProcess: this.flopsThisProcess,
    };
    this.hooks.onProgress?.(p);
  }

  /** Closes the connections; runs still pending are reported as stopped (they stay queued for a re-attach). */
  private async detach(link: RedisLink, queue: Queue<RunJob, RunResult>): Promise<RunOutcome[]> {
    if (this.pending.size > 0) {
      this.log(`sweep: stopped waiting with ${this.pending.size} runs unfinished (those queued on ${this.target.display} stay queued and training); run the same command again to re-attach`);
      for (const id of this.pending.keys()) {
        this.outcomes.push({ id, status: "stopped", error: `still queued on ${this.target.display}` });
      }
    }
    await queue.close().catch(() => {});
    link.close();
    return this.outcomes;
  }
}
