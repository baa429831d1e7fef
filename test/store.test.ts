/**
 * The run store: round trips of sweeps, runs, metrics and evals; idempotent planRun; metric upserts; claims;
 * fit points; import of a real run folder from the training loop (done, stopped, killed); migration of an older
 * lab; refusal of a newer one; the one-line "locked" error when another connection holds the write lock.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { flopsPerToken, paramCounts, runAccounting } from "../src/model/accounting.js";
import {
  LabError,
  type MetricRecord,
  MIGRATIONS,
  SCHEMA_VERSION,
  openLab,
  parseMetricsJsonl,
} from "../src/store/index.js";
import { migrate } from "../src/store/schema.js";
import { openDatabase } from "../src/store/sqlite.js";
import { resolveTrainConfig, type TrainConfig } from "../src/train/config.js";
import { type TrainSummary, train } from "../src/train/loop.js";
import { TokenWindows } from "../src/train/token-data.js";
import { createBackend } from "../src/engine/index.js";
import { planned } from "./helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "sl-store-"));

function config(over: Partial<TrainConfig> = {}): TrainConfig {
  return resolveTrainConfig({ preset: "nano", data: "(memory)", tokens: 32 * 8 * 10, batchTokens: 32 * 8, microBatch: 8, evalEvery: 3, ...over }, 16);
}

function row(step: number, over: Partial<MetricRecord> = {}): MetricRecord {
  return { step, tokens: step * 256, flops: step * 1e6, lr: 1e-3, trainLoss: 5 - step * 0.1, gradNorm: 1, elapsed: step * 0.01, tokensPerSec: 1000, ...over };
}

const isLabError = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof LabError && e.code === code && re.test(e.message) && !e.message.includes("\n");

test("openLab creates DIR/lab.sqlite and DIR/runs in WAL mode at the current schema version", () => {
  const dir = join(tmp(), "lab");
  const lab = openLab(dir);
  try {
    assert.equal(lab.schemaVersion(), SCHEMA_VERSION);
    assert.equal(lab.file, join(dir, "lab.sqlite"));
    assert.equal(lab.runDir("abc"), join(dir, "runs", "abc"));
  } finally {
    lab.close();
  }
  const db = openDatabase(join(dir, "lab.sqlite"));
  assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
  db.close();
  assert.throws(() => openLab(join(dir, "nope"), { create: false }), isLabError("not-found", /no lab at .*nope.*--lab/));
});

test("sweeps and runs round-trip; planRun is idempotent by id and records shape, N, D, C from the config and its accounting", () => {
  const lab = openLab(tmp());
  try {
    const s = lab.ensureSweep({ name: "curves-1", plan: "curves", ladder: "cpu-xs", spec: { tokens: 2560 } });
    assert.deepEqual(lab.ensureSweep({ name: "curves-1", plan: "other" }), s, "an existing sweep is returned unchanged");
    assert.deepEqual(s.spec, { tokens: 2560 });
    const cfg = config();
    const run = lab.planRun(planned({ id: "nano-s1", sweep: "curves-1", config: cfg, extra: { budget: 1 } }));
    const counts = paramCounts(cfg.model);
    assert.equal(run.status, "planned");
    assert.equal(run.N, counts.nonEmbedding);
    assert.equal(run.params, counts.total);
    assert.equal(run.D, 2560);
    assert.equal(run.C, flopsPerToken(cfg.model).training * 2560);
    assert.deepEqual([run.nLayer, run.nHead, run.nEmbd, run.blockSize, run.vocabSize], [1, 2, 16, 32, 16]);
    assert.equal(run.seed, cfg.seed);
    assert.equal(run.dir, "runs/nano-s1");
    assert.deepEqual(run.config, JSON.parse(JSON.stringify(cfg)));
    assert.deepEqual(run.extra, { budget: 1 });

    lab.markRunning("nano-s1", { backend: "js", machine: "test" });
    const again = lab.planRun(planned({ id: "nano-s1", sweep: "curves-1", config: config({ tokens: 999 * 256 }) }));
    assert.equal(again.status, "running", "planRun returns the existing run unchanged");
    assert.equal(again.D, 2560);
    assert.equal(lab.listRuns().length, 1);

    lab.planRun(planned({ id: "solo", config: config({ model: { ...cfg.model, nEmbd: 32 } }) }));
    assert.deepEqual(lab.listRuns({ sweep: "curves-1" }).map((r) => r.id), ["nano-s1"]);
    assert.deepEqual(lab.listRuns({ status: "planned" }).map((r) => r.id), ["solo"]);
    assert.deepEqual(lab.listRuns({ status: ["planned", "running"] }).map((r) => r.id).sort(), ["nano-s1", "solo"]);
    assert.equal(lab.getRun("solo")!.sweep, null);
    assert.equal(lab.getRun("missing"), undefined);

    assert.throws(() => lab.planRun(planned({ id: "x", sweep: "nope", config: cfg })), isLabError("unknown-sweep", /no sweep "nope".*known: curves-1/));
    assert.throws(() => lab.planRun(planned({ id: "../evil", config: cfg })), isLabError("invalid", /invalid run id/));
    assert.throws(() => lab.planRun({ id: "bad-shape", config: { ...cfg, model: { ...cfg.model, nLayer: 0 } }, accounting: runAccounting(cfg.model) }), isLabError("invalid", /nLayer/));
    assert.throws(
      () => lab.planRun({ id: "no-counts", config: cfg, accounting: { params: 0, N: 1, flopsPerToken: Number.NaN } }),
      isLabError("invalid", /accounting needs positive params, N and flopsPerToken/),
    );
    assert.throws(() => lab.markRunning("missing", { backend: "js" }), isLabError("unknown-run", /no run "missing"/));
    assert.throws(() => lab.listRuns({ status: "weird" as never }), isLabError("invalid", /unknown run status "weird"/));
  } finally {
    lab.close();
  }
});

test("appendMetrics upserts by (run, step), tracks progress, and truncateMetrics cuts after a step", () => {
  const lab = openLab(tmp());
  try {
    lab.planRun(planned({ id: "r", config: config() }));
    assert.equal(lab.appendMetrics("r", [row(1), row(2), row(3, { valLoss: 4.5 })]), 3);
    // a resumed run re-logs steps 3 and 4: step 3 is replaced, not duplicated
    lab.appendMetrics("r", [row(3, { trainLoss: 4.4, valLoss: 4.2 }), row(4)]);
    const m = lab.metrics("r");
    assert.deepEqual(m.map((x) => x.step), [1, 2, 3, 4]);
    assert.equal(m[2].trainLoss, 4.4);
    assert.equal(m[2].valLoss, 4.2);
    assert.equal("valLoss" in m[0], false, "no valLoss where validation did not run");
    assert.deepEqual(m[3], row(4));
    let r = lab.getRun("r")!;
    assert.equal(r.tokensDone, 4 * 256);
    assert.equal(r.flopsDone, 4e6);
    assert.equal(r.bestValLoss, 4.2);
    assert.ok(r.heartbeat !== null);
    // non-finite values are stored as missing
    lab.appendMetrics("r", [row(5, { valLoss: NaN, gradNorm: Infinity })]);
    assert.equal("valLoss" in lab.metrics("r")[4], false);
    assert.equal(lab.truncateMetrics("r", 2), 3);
    r = lab.getRun("r")!;
    assert.equal(r.tokensDone, 512);
    assert.equal(r.bestValLoss, null);
    assert.throws(() => lab.appendMetrics("r", [row(1.5)]), isLabError("invalid", /step 1.5/));
    assert.throws(() => lab.appendMetrics("ghost", [row(1)]), isLabError("unknown-run", /ghost/));
    assert.equal(lab.metrics("r").length, 2, "a rejected batch writes nothing");
  } finally {
    lab.close();
  }
});

test("finishRun, failRun and claimRun record the lifecycle", () => {
  const lab = openLab(tmp());
  try {
    lab.planRun(planned({ id: "a", config: config() }));
    lab.planRun(planned({ id: "b", config: config() }));
    const claimed = lab.claimRun("a", { backend: "js", machine: "m1" });
    assert.equal(claimed?.status, "running");
    assert.equal(claimed?.attempts, 1);
    assert.equal(lab.claimRun("a", { backend: "js", machine: "m2" }), null, "a running run cannot be claimed twice");
    assert.equal(lab.claimRun("a", { backend: "js" }, { staleAfterSec: 3600 }), null, "a fresh heartbeat is not stale");
    const stale = lab.claimRun("a", { backend: "native", machine: "m3" }, { staleAfterSec: 0 });
    assert.equal(stale?.machine, "m3");
    assert.equal(stale?.attempts, 2);
    const summary: TrainSummary = {
      status: "done", steps: 10, tokens: 2560, flops: 1.5e8, finalTrainLoss: 2.5, finalValLoss: 2.6, bestValLoss: 2.55,
      elapsed: 12.5, params: 1, nonEmbeddingParams: 1, backend: "native", endpoints: [],
    };
    const done = lab.finishRun("a", summary);
    assert.equal(done.status, "done");
    assert.deepEqual(
      [done.tokensDone, done.flopsDone, done.finalTrainLoss, done.finalValLoss, done.bestValLoss, done.wallSeconds, done.backend],
      [2560, 1.5e8, 2.5, 2.6, 2.55, 12.5, "native"],
    );
    assert.ok(done.ended !== null && done.started !== null && done.started <= done.ended);
    assert.equal(lab.claimRun("a", { backend: "js" }), null, "a done run is not claimed");

    lab.markRunning("b", { backend: "js" });
    const failed = lab.failRun("b", new Error("training loss became NaN at step 3"));
    assert.equal(failed.status, "failed");
    assert.equal(failed.error, "training loss became NaN at step 3");
    assert.equal(lab.claimRun("b", { backend: "js" }), null);
    assert.equal(lab.claimRun("b", { backend: "js" }, { from: ["failed"] })?.error, null, "a retried run clears its error");
    assert.throws(() => lab.finishRun("b", { ...summary, status: "failed" as never }), isLabError("invalid", /use failRun/));
  } finally {
    lab.close();
  }
});

test("frontierPoints and runPoints give fit points (val or train loss) per step and per finished run", () => {
  const lab = openLab(tmp());
  try {
    lab.ensureSweep({ name: "s" });
    const small = config();
    const big = config({ model: { ...small.model, nEmbd: 32 } });
    lab.planRun(planned({ id: "small", sweep: "s", config: small }));
    lab.planRun(planned({ id: "big", sweep: "s", config: big }));
    lab.planRun(planned({ id: "broken", sweep: "s", config: big }));
    lab.appendMetrics("small", [row(1), row(2, { valLoss: 4 }), row(3), row(4, { valLoss: 3.5 })]);
    lab.appendMetrics("big", [row(1), row(2, { valLoss: 3.8 })]);
    lab.appendMetrics("broken", [row(1, { valLoss: 9 })]);
    lab.failRun("broken", "diverged");
    const pts = lab.frontierPoints("s");
    assert.deepEqual(pts, [
      { run: "small", N: paramCounts(small.model).nonEmbedding, D: 512, C: 2e6, loss: 4, step: 2 },
      { run: "small", N: paramCounts(small.model).nonEmbedding, D: 1024, C: 4e6, loss: 3.5, step: 4 },
      { run: "big", N: paramCounts(big.model).nonEmbedding, D: 512, C: 2e6, loss: 3.8, step: 2 },
    ]);
    assert.equal(lab.frontierPoints("s", { loss: "train" }).length, 6);
    assert.equal(lab.frontierPoints("s", { statuses: ["failed"] }).length, 1);
    assert.deepEqual(lab.runPoints("s"), [], "no run is done yet");
    lab.finishRun("small", { tokens: 1024, flops: 4e6, finalTrainLoss: 4.6, finalValLoss: 3.5, bestValLoss: 3.5, elapsed: 1 });
    assert.deepEqual(lab.runPoints("s"), [{ run: "small", N: paramCounts(small.model).nonEmbedding, D: 1024, C: 4e6, loss: 3.5 }]);
    assert.equal(lab.runPoints("s", { loss: "train" })[0].loss, 4.6);
    assert.throws(() => lab.frontierPoints("nope"), isLabError("unknown-sweep", /no sweep "nope".*known: s/));
  } finally {
    lab.close();
  }
});

test("evals upsert per (model, task, shots, n) and filter by model, task and sweep", () => {
  const lab = openLab(tmp());
  try {
    lab.ensureSweep({ name: "s" });
    lab.planRun(planned({ id: "r1", sweep: "s", config: config() }));
    lab.recordEval({ model: "r1", task: "copy", shots: 0, n: 100, accuracy: 0.2, meanLogLik: -3 });
    const e = lab.recordEval({ model: "r1", task: "copy", shots: 0, n: 100, accuracy: 0.25, meanLogLik: -2.9, extra: { seed: 1 } });
    assert.equal(e.accuracy, 0.25);
    assert.deepEqual(e.extra, { seed: 1 });
    lab.recordEval({ model: "r1", task: "copy", shots: 3, n: 100, accuracy: 0.5 });
    lab.recordEval({ model: "/models/gpt2", task: "copy", shots: 0, n: 100, accuracy: 0.9, meanLogLik: null });
    assert.equal(lab.listEvals().length, 3);
    assert.deepEqual(lab.listEvals({ sweep: "s" }).map((x) => x.shots), [0, 3]);
    assert.equal(lab.listEvals({ model: "/models/gpt2" })[0].meanLogLik, null);
    assert.equal(lab.listEvals({ task: "other" }).length, 0);
    assert.throws(() => lab.recordEval({ model: "r1", task: "t", shots: -1, n: 1 }), isLabError("invalid", /shots/));
  } finally {
    lab.close();
  }
});

test("importRunFolder stores a real training run: done, stopped, and killed (summary older than the metrics)", async () => {
  const backend = await createBackend("js");
  const stream = (n: number, seed: number) => Int32Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 16));
  const data = () => new TokenWindows(stream(8000, 1), stream(2000, 2), 16, 7);
  const root = tmp();
  const lab = openLab(join(root, "lab"));
  try {
    const cfg = config();
    // done: the loop's own types go straight into the store
    const out = join(root, "done");
    const summary: TrainSummary = await train(cfg, data(), { outDir: out, backend });
    const loopRows: MetricRecord[] = parseMetricsJsonl(readFileSync(join(out, "metrics.jsonl"), "utf8"));
    lab.ensureSweep({ name: "imp" });
    const run = lab.importRunFolder("done-run", out, { sweep: "imp", accounting: runAccounting });
    assert.equal(run.status, "done");
    assert.equal(run.sweep, "imp");
    assert.equal(run.tokensDone, summary.tokens);
    assert.equal(run.finalValLoss, summary.finalValLoss);
    assert.equal(run.bestValLoss, summary.bestValLoss);
    assert.equal(run.wallSeconds, summary.elapsed);
    assert.equal(run.backend, "js");
    assert.equal(run.D, summary.tokens, "planned D is what the loop trains");
    assert.equal(run.C, summary.flops, "planned C uses the loop's FLOP accounting");
    assert.deepEqual(lab.metrics("done-run"), loopRows);
    assert.equal(run.dir, join(root, "done"), "a folder outside the lab is recorded by absolute path");

    // stopped early: summary.json says so
    const inLab = lab.runDir("stopped-run");
    const s2 = await train(cfg, data(), { outDir: inLab, backend, maxStepsThisRun: 4 });
    assert.equal(s2.status, "stopped");
    const stopped = lab.importRunFolder("stopped-run", inLab, { accounting: runAccounting });
    assert.equal(stopped.status, "stopped");
    assert.equal(stopped.tokensDone, 4 * cfg.batchTokens);
    assert.equal(stopped.dir, "runs/stopped-run");

    // killed after a resume wrote more metrics: the old summary is stale, the metrics are the truth
    writeFileSync(join(inLab, "metrics.jsonl"), readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").slice(0, 7).join("\n") + "\n{\"step\": 8, \"tok");
    const killed = lab.importRunFolder("stopped-run", inLab, { accounting: runAccounting });
    assert.equal(killed.status, "stopped");
    assert.equal(lab.metrics("stopped-run").length, 7, "the half-written line is skipped");
    assert.equal(killed.tokensDone, 7 * cfg.batchTokens);
    // no summary and nothing logged: still planned
    rmSync(join(inLab, "summary.json"));
    writeFileSync(join(inLab, "metrics.jsonl"), "");
    assert.equal(lab.importRunFolder("stopped-run", inLab, { accounting: runAccounting }).status, "stopped", "an existing run keeps its last state");
    assert.equal(lab.metrics("stopped-run").length, 0);
    const fresh = lab.importRunFolder("fresh", inLab, { accounting: runAccounting });
    assert.equal(fresh.status, "planned");
    assert.throws(() => lab.importRunFolder("x", join(root, "nothing"), { accounting: runAccounting }), isLabError("invalid", /no config.json in/));
  } finally {
    lab.close();
    backend.dispose();
  }
});

test("an older lab is migrated and keeps its data; a newer one is refused with one line naming the upgrade", () => {
  const dir = tmp();
  const file = join(dir, "lab.sqlite");
  const db = openDatabase(file);
  migrate(db, file, 1); // a lab written by schema version 1
  db.prepare("INSERT INTO sweeps (name, created) VALUES ('old', '2020-01-01T00:00:00Z')").run();
  db.close();
  const lab = openLab(dir);
  try {
    assert.equal(lab.schemaVersion(), MIGRATIONS[MIGRATIONS.length - 1].version);
    assert.equal(lab.getSweep("old")?.created, "2020-01-01T00:00:00Z");
    lab.planRun(planned({ id: "r", sweep: "old", config: config() }));
    assert.equal(lab.getRun("r")?.attempts, 0);
    lab.recordEval({ model: "r", task: "t", shots: 0, n: 1, accuracy: 1 });
  } finally {
    lab.close();
  }
  const raw = openDatabase(file);
  raw.prepare("UPDATE meta SET value = ? WHERE key = 'schemaVersion'").run(String(SCHEMA_VERSION + 1));
  raw.close();
  const before = readFileSync(file);
  assert.throws(() => openLab(dir), isLabError("newer-version", /written by a newer scaling-lab.*upgrade scaling-lab/));
  assert.throws(() => openLab(dir, { readonly: true }), isLabError("newer-version", /upgrade scaling-lab/));
  assert.deepEqual(readFileSync(file), before, "a refused lab is not modified");

  const notLab = tmp();
  writeFileSync(join(notLab, "lab.sqlite"), "hello, this is not a database at all........................................................");
  assert.throws(() => openLab(notLab), isLabError("not-a-lab", /not a SQLite database/));
});

test("a database locked by another connection gives a one-line 'locked' error and loses nothing", () => {
  const dir = tmp();
  const lab = openLab(dir, { busyTimeoutMs: 150 });
  try {
    lab.planRun(planned({ id: "kept", config: config() }));
    const other = openDatabase(join(dir, "lab.sqlite"));
    other.exec("BEGIN EXCLUSIVE");
    other.prepare("UPDATE runs SET name = 'other' WHERE id = 'kept'").run();
    assert.throws(() => lab.planRun(planned({ id: "blocked", config: config() })), isLabError("locked", /locked by another process.*wait/));
    assert.throws(() => lab.appendMetrics("kept", [row(1)]), isLabError("locked", /locked/));
    assert.equal(lab.getRun("kept")?.name, "kept", "readers still see the last committed state (WAL)");
    other.exec("COMMIT");
    other.close();
    lab.planRun(planned({ id: "blocked", config: config() }));
    lab.appendMetrics("kept", [row(1)]);
    assert.deepEqual(lab.listRuns().map((r) => [r.id, r.name]).sort(), [["blocked", "blocked"], ["kept", "other"]]);
    assert.equal(lab.metrics("kept").length, 1);
  } finally {
    lab.close();
  }
});

test("a read-only lab reads but refuses writes", () => {
  const dir = tmp();
  openLab(dir).close();
  const ro = openLab(dir, { readonly: true });
  try {
    assert.deepEqual(ro.listRuns(), []);
    assert.throws(() => ro.ensureSweep({ name: "s" }), isLabError("invalid", /read-only/));
  } finally {
    ro.close();
  }
});
