/**
 * Sweeps across worker processes through a real redis-server on 127.0.0.1 (BullMQ): two workers complete a sweep
 * and a restarted coordinator re-attaches without duplicates; a worker SIGKILLed mid-run hands its run to the
 * other, which resumes it from the shared checkpoint; a Redis restart mid-sweep (without its data) is survived;
 * a job queued by another version is refused; a banded ladder's attention window reaches the worker's runs. Every
 * run ends exactly once in the store.
 * Skipped only where redis-server is missing and CI is not "true".
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Queue } from "bullmq";
import { openLab } from "../src/store/index.js";
import { cliPath, type ExecutorHooks, type RunOutcome } from "../src/sweep/executor.js";
import { dataHash, DEFAULT_QUEUE, JOB_NAME, type RunJob, versionStamp } from "../src/sweep/queue-protocol.js";
import { RedisExecutor } from "../src/sweep/redis-executor.js";
import { runSweep, type SweepOptions } from "../src/sweep/sweep.js";
import { Redis } from "ioredis";
import { freePort, tinyCorpusData, writeBandedLadder } from "./helpers.js";

const haveRedis = spawnSync("redis-server", ["--version"]).status === 0;
const skip = !haveRedis && process.env.CI !== "true" ? "redis-server is not installed (apt-get install redis-server)" : false;

const LOCK_SECONDS = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A redis-server on a free port of 127.0.0.1, without persistence (a restart comes back empty). */
class RedisServer {
  proc: ChildProcess | null = null;
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.proc = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    await until("redis-server to accept connections", async () => {
      const r = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      r.on("error", () => {});
      try {
        await r.connect();
        return (await r.ping()) === "PONG";
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    }, 10_000);
  }
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    p.kill("SIGKILL");
    await new Promise((r) => p.once("exit", r));
  }
}

/** A `scaling-lab worker` process. */
class WorkerProc {
  readonly proc: ChildProcess;
  stderr = "";
  readonly exited: Promise<number>;
  constructor(readonly name: string, url: string, artifacts: string, extra: string[] = []) {
    this.proc = spawn(process.execPath, [
      cliPath(), "worker", "--redis", url, "--artifacts", artifacts, "--name", name, "--lock-seconds", String(LOCK_SECONDS),
      "--threads", "1", ...extra,
    ], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc.stderr!.on("data", (d) => (this.stderr += d));
    this.exited = new Promise((r) => this.proc.on("exit", (c, s) => r(c ?? (s ? 128 : 1))));
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 15_000);
    await this.exited;
    clearTimeout(t);
  }
}


/** Hooks that record logs and count every run end (a run must end once). */
function recorder(stopAfter?: number) {
  const logs: string[] = [];
  const ends = new Map<string, number>();
  const hooks: ExecutorHooks = {
    log: (l) => logs.push(l),
    onRunEnd: (run, o: RunOutcome) => {
      if (o.status === "done" || o.status === "failed") ends.set(run.id, (ends.get(run.id) ?? 0) + 1);
    },
    shouldStop: () => stopAfter !== undefined && ends.size >= stopAfter,
  };
  return { logs, ends, hooks };
}

function metricSteps(lab: string, id: string): number[] {
  const l = openLab(lab);
  try {
    return l.metrics(id).map((m) => m.step);
  } finally {
    l.close();
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

test("two workers complete a sweep; a coordinator stopped midway re-attaches without duplicates", { skip, timeout: 60_000 }, async () => {
  const data = await tinyCorpusData();
  const redis = new RedisServer(await freePort());
  await redis.start();
  const artifacts = mkdtempSync(join(tmpdir(), "sl-art-"));
  const a = new WorkerProc("A", redis.url, artifacts);
  const b = new WorkerProc("B", redis.url, artifacts);
  try {
    const lab = mkdtempSync(join(tmpdir(), "sl-dlab-"));
    const steps = 24;
    const opts: SweepOptions = { lab, sweep: "d1", plan: "curves", ladder: "tiny-test", data, tokens: [256 * steps] };
    // first coordinator: leaves after the first run ends (the rest stay queued and training)
    const first = recorder(1);
    const r1 = await runSweep(opts, new RedisExecutor({ url: redis.url, pollMs: 100 }), first.hooks);
    assert.ok(r1.outcomes.filter((o) => o.status === "done").length >= 1);
    assert.ok(first.logs.some((l) => /5 runs queued/.test(l)), first.logs.join("\n"));
    // second coordinator: re-attaches to the jobs in flight and records the rest
    const second = recorder();
    const r2 = await runSweep(opts, new RedisExecutor({ url: redis.url, pollMs: 100 }), second.hooks);
    const byId = new Map(r2.outcomes.map((o) => [o.id, o.status]));
    assert.equal(byId.size, 5);
    for (const [id, status] of byId) assert.equal(status, first.ends.has(id) ? "skipped" : "done", id);
    for (const id of second.ends.keys()) assert.ok(!first.ends.has(id), `${id} ended twice`);
    assert.deepEqual([...first.ends.values(), ...second.ends.values()], [1, 1, 1, 1, 1]);
    const l = openLab(lab);
    const machines = new Set<string>();
    for (const run of l.listRuns({ sweep: "d1" })) {
      assert.equal(run.status, "done");
      assert.deepEqual(l.metrics(run.id).map((m) => m.step), range(steps), run.id);
      assert.ok(run.finalValLoss !== null && run.finalValLoss > 0);
      assert.match(run.machine ?? "", /^[AB] @ /);
      // the artifacts folder is visible here, so the lab's run folder links to the worker's
      assert.ok(existsSync(join(lab, run.dir, "checkpoint.safetensors")), `${run.id}: no checkpoint through ${run.dir}`);
      machines.add(run.machine!.slice(0, 1));
    }
    l.close();
    assert.equal(machines.size, 2, "both workers trained runs");
    // finished jobs are removed from Redis: a re-run skips everything without touching the queue
    const r3 = await runSweep(opts, new RedisExecutor({ url: redis.url, pollMs: 100 }));
    assert.deepEqual(r3.outcomes.map((o) => o.status), ["skipped", "skipped", "skipped", "skipped", "skipped"]);
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const q = new Queue(DEFAULT_QUEUE, { connection: conn });
    assert.equal((await q.getJobs(["completed", "failed", "waiting", "active", "delayed"])).length, 0);
    await q.close();
    conn.disconnect();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await redis.kill();
  }
});

test("a worker SIGKILLed mid-run: the other worker resumes the run from the shared checkpoint; nothing lost or doubled", { skip, timeout: 60_000 }, async () => {
  const data = await tinyCorpusData();
  const redis = new RedisServer(await freePort());
  await redis.start();
  const artifacts = mkdtempSync(join(tmpdir(), "sl-art-"));
  const workers = [new WorkerProc("A", redis.url, artifacts), new WorkerProc("B", redis.url, artifacts)];
  try {
    const lab = mkdtempSync(join(tmpdir(), "sl-dlab-"));
    const steps = 600;
    const opts: SweepOptions = {
      lab, sweep: "d2", plan: "curves", ladder: "tiny-test", data, tokens: [256 * steps], sizes: ["t-4", "t-5"],
      overrides: { checkpointEvery: 10, evalEvery: 100 },
    };
    const rec = recorder();
    let victim: { worker: WorkerProc; run: string } | null = null;
    const sweep = runSweep(opts, new RedisExecutor({ url: redis.url, pollMs: 100 }), rec.hooks);
    // kill whichever worker is training a run once that run has a checkpoint and ~20 steps logged
    await until("a run with a checkpoint", () => {
      for (const w of workers) {
        const started = [...w.stderr.matchAll(/(d2\.t-\d\.[^ ]+) started/g)].map((m) => m[1]);
        const run = started[started.length - 1];
        if (!run || w.stderr.includes(`${run} done`)) continue;
        const dir = join(artifacts, run);
        const metrics = join(dir, "metrics.jsonl");
        if (existsSync(join(dir, "checkpoint.safetensors")) && existsSync(metrics) && readFileSync(metrics, "utf8").split("\n").length > 20) {
          victim = { worker: w, run };
          return true;
        }
      }
      return false;
    });
    const { worker: killed, run: killedRun } = victim!;
    killed.proc.kill("SIGKILL");
    await killed.exited;
    const result = await sweep;
    assert.deepEqual(result.outcomes.map((o) => o.status).sort(), ["done", "done"]);
    assert.deepEqual([...rec.ends.values()], [1, 1], "each run ended once");
    const survivor = workers.find((w) => w !== killed)!;
    assert.ok(rec.logs.some((l) => l.startsWith(`sweep: ${killedRun} resumed at step`) && l.includes(`on ${survivor.name} @`)), rec.logs.join("\n"));
    const l = openLab(lab);
    for (const run of l.listRuns({ sweep: "d2" })) {
      assert.equal(run.status, "done");
      assert.deepEqual(l.metrics(run.id).map((m) => m.step), range(steps), run.id);
    }
    const k = l.getRun(killedRun)!;
    assert.ok(k.attempts >= 2, `attempts ${k.attempts}`);
    assert.match(k.machine ?? "", new RegExp(`^${survivor.name} @ `));
    l.close();
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.kill();
  }
});

test("a Redis restart mid-sweep (its data lost) is survived: runs are queued again and end once", { skip, timeout: 60_000 }, async () => {
  const data = await tinyCorpusData();
  const redis = new RedisServer(await freePort());
  await redis.start();
  const artifacts = mkdtempSync(join(tmpdir(), "sl-art-"));
  const workers = [new WorkerProc("A", redis.url, artifacts), new WorkerProc("B", redis.url, artifacts)];
  try {
    const lab = mkdtempSync(join(tmpdir(), "sl-dlab-"));
    const steps = 500;
    const opts: SweepOptions = {
      lab, sweep: "d3", plan: "curves", ladder: "tiny-test", data, tokens: [256 * steps], sizes: ["t-3", "t-4", "t-5"],
      overrides: { checkpointEvery: 10, evalEvery: 100 },
    };
    const rec = recorder();
    const sweep = runSweep(opts, new RedisExecutor({ url: redis.url, pollMs: 100, requeueAfterMs: (LOCK_SECONDS + 1) * 1000 }), rec.hooks);
    await until("training to be under way", () => {
      const l = openLab(lab);
      try {
        return l.listRuns({ sweep: "d3" }).some((r) => r.status === "running");
      } finally {
        l.close();
      }
    });
    await redis.kill();
    await sleep(1000);
    await redis.start();
    const result = await sweep;
    assert.deepEqual(result.outcomes.map((o) => o.status), ["done", "done", "done"]);
    assert.deepEqual([...rec.ends.values()], [1, 1, 1], "each run ended once");
    assert.ok(rec.logs.some((l) => /sweep: lost Redis at 127\.0\.0\.1:\d+ .*retrying with backoff/.test(l)), rec.logs.join("\n"));
    assert.ok(rec.logs.some((l) => /sweep: Redis at 127\.0\.0\.1:\d+ is back; continuing/.test(l)), rec.logs.join("\n"));
    assert.ok(rec.logs.some((l) => /is gone from Redis .*queueing it again/.test(l)), rec.logs.join("\n"));
    // (a worker still starting up when Redis went away says "cannot reach" instead)
    assert.ok(workers.some((w) => /worker [AB]: (lost|cannot reach) Redis at 127\.0\.0\.1/.test(w.stderr)), workers.map((w) => w.stderr).join("\n"));
    for (const run of result.runs) {
      assert.equal(run.status, "done");
      assert.ok(run.finalTrainLoss !== null && run.finalValLoss !== null, `${run.id} has final losses`);
      assert.deepEqual(metricSteps(lab, run.id), range(steps), run.id);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.kill();
  }
});

test("a worker refuses a job queued by another version and stops with a one-line error; the job stays queued", { skip, timeout: 30_000 }, async () => {
  const data = await tinyCorpusData();
  const redis = new RedisServer(await freePort());
  await redis.start();
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const q = new Queue<RunJob>(DEFAULT_QUEUE, { connection: conn });
  try {
    const job: RunJob = {
      runId: "other.t-1", sweep: "other", sweepKey: "0123456789abcdef", lab: "/elsewhere", events: "scaling-lab:x:events",
      config: { model: { nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 16, vocabSize: 258 }, tokens: 2560, batchTokens: 256, data },
      dataHash: dataHash(data)!, version: { package: versionStamp().package, code: "ffffffffffffffff" },
    };
    await q.add(JOB_NAME, job, { jobId: job.runId });
    const w = new WorkerProc("V", redis.url, mkdtempSync(join(tmpdir(), "sl-art-")));
    const code = await w.exited;
    assert.equal(code, 2, w.stderr);
    const refusal = w.stderr.split("\n").filter((l) => /refusing other\.t-1/.test(l));
    assert.equal(refusal.length, 1, w.stderr);
    assert.match(refusal[0], /queued by scaling-lab .*\+ffffffffffffffff but this worker runs .*install the coordinator's version/);
    const state = await q.getJobState(job.runId);
    assert.ok(state === "delayed" || state === "waiting", `job state ${state}`);
  } finally {
    await q.close();
    conn.disconnect();
    await redis.kill();
  }
});

test("a sweep of a banded ladder through a worker trains GPT-3's alternating attention (the window travels with the job)", { skip, timeout: 120_000 }, async () => {
  const data = await tinyCorpusData();
  const redis = new RedisServer(await freePort());
  await redis.start();
  const artifacts = mkdtempSync(join(tmpdir(), "sl-art-"));
  const w = new WorkerProc("L", redis.url, artifacts);
  try {
    const dir = mkdtempSync(join(tmpdir(), "sl-dlab-"));
    const ladder = writeBandedLadder(dir, 256);
    const lab = join(dir, "lab");
    const r = await runSweep({ lab, sweep: "w", plan: "curves", ladder, data, tokens: [256 * 20] }, new RedisExecutor({ url: redis.url, pollMs: 100 }));
    assert.deepEqual(r.outcomes.map((o) => o.status), ["done", "done"], w.stderr);
    const l = openLab(lab);
    const windows = l.listRuns({ sweep: "w" }).map((run) => JSON.parse(readFileSync(join(lab, run.dir, "config.json"), "utf8")).model.localWindow);
    l.close();
    assert.deepEqual(windows, [4, 2]);
  } finally {
    await w.stop();
    await redis.kill();
  }
});
