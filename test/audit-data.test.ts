/**
 * Issue 21, "Data loss" (points 1–6): each test reproduces one way the audit lost data and checks it no longer can.
 * 1 an import over a sweep run's id; 2 a prepare killed while replacing a dataset, and one over a dataset runs use;
 * 3 the final training loss after resuming a finished run; 4 metrics.jsonl deleted mid-run; 5 a 0-byte lab.sqlite
 * (refused by reads, rebuilt from the run folders); 6 two trainers on one run folder.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../src/cli/command.js";
import { prepareCommand } from "../src/cli/prepare.js";
import { runsCommand } from "../src/cli/runs.js";
import { Dataset } from "../src/data/loader.js";
import { manifestHash } from "../src/data/shards.js";
import { JsBackend } from "../src/engine/index.js";
import { runAccounting } from "../src/model/accounting.js";
import { openLab } from "../src/store/index.js";
import { readMetricLines } from "../src/sweep/executor.js";
import { resolveTrainConfig } from "../src/train/config.js";
import { lockRunFolder, RunLockedError } from "../src/train/lock.js";
import { train } from "../src/train/loop.js";
import { TokenWindows } from "../src/train/token-data.js";
import { currentProcess } from "../src/util/process.js";
import { LOCK_FILE, type MetricRecord } from "../src/util/run-folder.js";
import { planned, smallCorpusData } from "./helpers.js";

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `sl-audit-${p}-`));

/** A learnable synthetic token stream of a 16-token vocabulary. */
function stream(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x % 10 === 0 ? x % 16 : (i * 7) % 16;
  }
  return out;
}

/** A nano training config on the synthetic stream: `steps` steps of 4×16 tokens. */
function nano(steps: number, over: Record<string, unknown> = {}) {
  return resolveTrainConfig(
    { preset: "nano", data: "(memory)", tokens: 64 * steps, batchTokens: 64, microBatch: 4, evalEvery: 5, checkpointEvery: 5, lr: 1e-2, model: { blockSize: 16 }, backend: "js", ...over },
    16,
  );
}
const windows = () => new TokenWindows(stream(20000, 1), stream(3000, 2), 16, 7);
const metricLines = (dir: string): MetricRecord[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as MetricRecord);

/** A run folder written by the trainer (config.json, metrics.jsonl, summary.json, endpoints.jsonl). */
async function trainedFolder(dir: string, steps = 10): Promise<void> {
  await train(nano(steps), windows(), { outDir: dir, backend: new JsBackend() });
}

test("1: runs --import with the id of a sweep's run is refused and the run keeps its metrics; re-importing its own folder still works", async () => {
  const lab = tmp("import");
  const l = openLab(lab);
  l.ensureSweep({ name: "s" });
  const ownDir = l.runDir("s.a");
  l.close();
  await trainedFolder(ownDir, 10);
  await runsCommand.run(["--lab", lab, "--import", ownDir, "--id", "s.a", "--sweep", "s"]);
  const foreign = tmp("foreign");
  await trainedFolder(foreign, 5);
  await assert.rejects(
    runsCommand.run(["--lab", lab, "--import", foreign, "--id", "s.a"]),
    (e: unknown) => e instanceof UserError && /run "s\.a" already exists in the lab \(sweep s, done.*pass another --id/.test(e.message) && !e.message.includes("\n"),
  );
  const after = openLab(lab);
  assert.equal(after.metrics("s.a").length, 10, "the sweep run's metric rows are all there");
  assert.equal(after.getRun("s.a")!.tokensDone, 640);
  after.close();
  await runsCommand.run(["--lab", lab, "--import", ownDir, "--id", "s.a"]); // the same folder again: an update
});

test("2: a prepare that dies while replacing a dataset leaves the old dataset whole; the new one replaces it atomically", async () => {
  const out = join(tmp("prep"), "data");
  await smallCorpusData(out, 0);
  const before = manifestHash(out);
  // die in the middle of encoding the new dataset (as a SIGKILL would): the old one must still open, unchanged
  await assert.rejects(
    smallCorpusData(out, 1, (m) => {
      if (m.startsWith("encode")) throw new Error("killed");
    }),
    /killed/,
  );
  assert.equal(manifestHash(out), before);
  const ds = Dataset.open(out);
  assert.ok(ds.tokens("train", 0).length > 0, "the old shards are all readable");
  // completed, the new dataset replaces it: only its shards stay, under tokenizer.json
  const r = await smallCorpusData(out, 1);
  assert.notEqual(manifestHash(out), before);
  assert.equal(r.manifest.tokenizer.file, "tokenizer.json");
  const bins = readdirSync(out).filter((f) => f.endsWith(".bin")).sort();
  assert.deepEqual(bins, r.manifest.shards.map((s) => s.file).sort());
  assert.ok(!readdirSync(out).some((f) => f.startsWith("tokenizer.next")));
  Dataset.open(out).tokens("val", 0);
});

test("2: prepare over a dataset that runs of the lab use is refused, naming them; --force replaces it", async () => {
  const root = tmp("prepuse");
  const out = join(root, "data");
  await smallCorpusData(out, 0);
  const lab = join(root, "lab");
  const l = openLab(lab);
  l.planRun(planned({ id: "uses-it", config: { ...nano(4), data: out } }));
  l.close();
  const args = ["--source", join(root, "corpus-0.txt"), "--tokenizer", "bytes", "--out", out, "--lab", lab, "--doc-chars", "400", "--val-fraction", "0.1", "--json"];
  await assert.rejects(
    prepareCommand.run(args),
    (e: unknown) => e instanceof UserError && /holds the dataset that 1 run of the lab .* train on \(uses-it\).*--force/.test(e.message),
  );
  const write = process.stdout.write;
  process.stdout.write = () => true;
  try {
    assert.equal(await prepareCommand.run([...args, "--force"]), 0);
  } finally {
    process.stdout.write = write;
  }
});

test("3: resuming a finished run keeps its final training loss (summary and lab)", async () => {
  const dir = tmp("final");
  const first = await train(nano(10), windows(), { outDir: dir, backend: new JsBackend() });
  assert.ok(Number.isFinite(first.finalTrainLoss));
  const again = await train(nano(10), windows(), { outDir: dir, backend: new JsBackend(), resume: true });
  assert.equal(again.status, "done");
  assert.equal(again.finalTrainLoss, first.finalTrainLoss);
  const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as { finalTrainLoss: number | null };
  assert.equal(summary.finalTrainLoss, first.finalTrainLoss);
});

test("4: metrics.jsonl deleted while a run trains is rewritten whole; the executor's tail re-reads a rewritten file", async () => {
  const dir = tmp("metrics");
  const notes: string[] = [];
  await train(nano(20), windows(), {
    outDir: dir, backend: new JsBackend(), log: (l) => notes.push(l),
    onProgress: (e) => {
      if (e.step === 8) rmSync(join(dir, "metrics.jsonl"));
      if (e.step === 14) writeFileSync(join(dir, "metrics.jsonl"), ""); // truncated by someone
    },
  });
  assert.deepEqual(metricLines(dir).map((r) => r.step), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(notes.filter((n) => /was (deleted|changed) while training; rewrote it with all/.test(n)).length, 2, notes.join("\n"));
  // a tail that read 20 lines, then finds the file rewritten shorter, starts over instead of waiting for line 21
  const path = join(dir, "metrics.jsonl");
  const first = readMetricLines(path, 0);
  assert.equal(first.next, 20);
  writeFileSync(path, readFileSync(path, "utf8").split("\n").slice(0, 5).join("\n") + "\n");
  assert.deepEqual(readMetricLines(path, first.next).rows.map((r) => r.step), [1, 2, 3, 4, 5]);
});

test("5: a 0-byte lab.sqlite is reported as damaged by read commands (nothing created); runs --rebuild restores the runs from their folders", async () => {
  const lab = tmp("empty");
  const l = openLab(lab);
  l.ensureSweep({ name: "s", plan: "curves", ladder: "tiny-test", spec: { data: "d" } });
  for (const [id, steps] of [["s.a", 10], ["s.b", 6]] as const) {
    const config = nano(steps);
    l.planRun(planned({ id, sweep: "s", name: id.slice(2), config, extra: { size: id } }));
    await trainedFolder(l.runDir(id), steps);
  }
  l.close();
  truncateSync(join(lab, "lab.sqlite"), 0);
  for (const f of ["lab.sqlite-wal", "lab.sqlite-shm"]) rmSync(join(lab, f), { force: true });
  await assert.rejects(
    runsCommand.run(["--lab", lab]),
    (e: unknown) => e instanceof UserError && /lab database .*lab\.sqlite is empty \(no tables\) but runs\/ holds 2 run folders; rebuild it .*runs --rebuild --lab/.test(e.message),
  );
  assert.equal(statSync(join(lab, "lab.sqlite")).size, 0, "a read command created nothing");
  assert.throws(() => openLab(lab), /runs --rebuild/, "a write opening refuses to start the lab over too");
  const log = console.log;
  console.log = () => {};
  try {
    assert.equal(await runsCommand.run(["--lab", lab, "--rebuild"]), 0);
  } finally {
    console.log = log;
  }
  const r = openLab(lab, { create: false });
  const runs = r.listRuns({ sweep: "s" });
  assert.deepEqual(runs.map((x) => [x.id, x.status, x.name]), [["s.b", "done", "b"], ["s.a", "done", "a"]]);
  assert.deepEqual(runs.map((x) => r.metrics(x.id).length), [6, 10]);
  assert.ok(runs.every((x) => x.finalTrainLoss !== null && x.finalValLoss !== null && r.endpoints(x.id).length === 1));
  assert.equal(r.getSweep("s")!.ladder, "tiny-test");
  r.close();
  assert.ok(readdirSync(lab).some((f) => f.startsWith("lab.sqlite.damaged-")), "the old file is kept");
  await assert.rejects(runsCommand.run(["--lab", lab, "--rebuild"]), /is healthy \(2 runs\).*--force/);
});

test("6: a second trainer on a run folder is refused while the first trains; a dead trainer's lock is taken over", async () => {
  const dir = tmp("lock");
  let refused: unknown = null;
  await train(nano(12), windows(), {
    outDir: dir, backend: new JsBackend(),
    onProgress: async (e) => {
      if (e.step === 3) refused = await train(nano(12), windows(), { outDir: dir, backend: new JsBackend(), resume: true }).catch((err) => err);
    },
  });
  assert.ok(refused instanceof RunLockedError && /is being trained by pid \d+ on .*interleave its metrics/.test(refused.message), String(refused));
  assert.deepEqual(metricLines(dir).map((r) => r.step), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.ok(!existsSync(join(dir, LOCK_FILE)), "released when training ends");
  // a lock left by a process that is gone (SIGKILL) does not block the next trainer
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ ...currentProcess(), pid: Number(dead.stdout), start: "1" }));
  const release = lockRunFolder(dir);
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid, process.pid);
  release();
});
