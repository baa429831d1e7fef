/**
 * Issue 21, "Silent wrong results and stuck runs" (points 7–12): each test reproduces one case the audit found and
 * checks that it is now resumed, refused or flagged with one line. 7 runs orphaned by a dead sweep, and children
 * outliving it; 8 a run resumed on re-prepared data; 9 which config a resume uses (and "lower --lr, then --resume");
 * 10 a sweep re-run with other data or ladder, a foreign run imported into it; 11 non-physical fits, a forecast's
 * years; 12 the dashboard over a lab deleted or truncated under it.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../src/cli/command.js";
import { fitCommand } from "../src/cli/fit.js";
import { forecastCommand } from "../src/cli/forecast.js";
import { runsCommand } from "../src/cli/runs.js";
import { runFit } from "../src/fit/index.js";
import { LabWatcher } from "../src/server/index.js";
import { openLab, type RunConfig } from "../src/store/index.js";
import { LocalExecutor } from "../src/sweep/executor.js";
import { importMismatch, planSweep, recordPlan, runSweep, SweepMismatchError, type SweepOptions } from "../src/sweep/sweep.js";
import { TrainConfigError } from "../src/train/config.js";
import { runTraining } from "../src/train/run.js";
import { type ProcessIdentity, processAlive } from "../src/util/process.js";
import type { MetricRecord } from "../src/util/run-folder.js";
import { planned, repoRoot, smallCorpusData, tinyCorpusData } from "./helpers.js";

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `sl-audit-${p}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The identity of a process that has exited. */
function deadProcess(): ProcessIdentity {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return { host: hostname(), pid: Number(r.stdout), start: "1" };
}

/** `train` flags as a config: nano on 16-token context, js backend, `steps` steps. */
const trainInput = (data: string, steps: number, over: Record<string, unknown> = {}) => ({
  preset: "nano", data, tokens: 64 * steps, batchTokens: 64, microBatch: 4, evalEvery: 4, checkpointEvery: 2, lr: 1e-2,
  model: { blockSize: 16 }, backend: "js", ...over,
});
const rows = (dir: string): MetricRecord[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as MetricRecord);

test("7: a run left 'running' by a dead sweep process is claimed again at once; a live owner's is not", () => {
  const lab = openLab(tmp("claim"));
  const config = trainInput("d", 4, { model: { vocabSize: 16, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 } }) as unknown as RunConfig;
  lab.planRun(planned({ id: "r", config }));
  lab.markRunning("r", { backend: "js", owner: deadProcess() });
  assert.equal(lab.getRun("r")!.status, "running");
  const claimed = lab.claimRun("r", { backend: "js" }, { from: ["planned", "stopped"], staleAfterSec: 900 });
  assert.ok(claimed, "the dead owner's run is claimed without waiting 15 minutes");
  assert.equal(claimed.owner?.pid, process.pid);
  assert.equal(lab.claimRun("r", { backend: "js" }, { staleAfterSec: 900 }), null, "a live owner keeps its run");
  lab.close();
});

test("7: a sweep re-run resumes a run whose sweep process died, instead of reporting it done", async () => {
  const data = await tinyCorpusData();
  const lab = tmp("orphan");
  const opts: SweepOptions = { lab, sweep: "o", plan: "curves", ladder: "tiny-test", data, tokens: [256 * 20], sizes: ["t-1"] };
  const l = openLab(lab);
  const [run] = recordPlan(l, opts, planSweep(opts).runs);
  l.markRunning(run.id, { backend: "js", owner: deadProcess() }); // as a SIGKILLed sweep leaves it
  l.close();
  const r = await runSweep(opts, new LocalExecutor({ threads: 1, backend: "js" }));
  assert.deepEqual(r.outcomes.map((o) => o.status), ["done"]);
  assert.equal(r.runs[0].status, "done");
});

test("7: a child started with exitWithParent dies with its parent (SIGKILL of a sweep)", async () => {
  const processJs = join(repoRoot, "dist/src/util/process.js");
  const childCode = `import(${JSON.stringify(processJs)}).then((m) => { m.exitWithParent(Number(process.env.P), 100); setInterval(() => {}, 1000); });`;
  const parentCode = `const { spawn } = require("node:child_process");
    const c = spawn(process.execPath, ["-e", ${JSON.stringify(childCode)}], { stdio: "ignore", env: { ...process.env, P: String(process.pid) } });
    process.stdout.write(String(c.pid) + "\\n"); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ["-e", parentCode], { stdio: ["ignore", "pipe", "inherit"] });
  const childPid = await new Promise<number>((res) => parent.stdout!.once("data", (d) => res(Number(String(d).trim()))));
  const child: ProcessIdentity = { host: hostname(), pid: childPid, start: null };
  await sleep(300);
  assert.equal(processAlive(child), true);
  parent.kill("SIGKILL");
  const t0 = Date.now();
  while (processAlive(child) && Date.now() - t0 < 10_000) await sleep(50);
  assert.equal(processAlive(child), false, "the child outlived its parent");
});

test("8: a run does not resume on data prepared again differently; 9: the checkpoint's config wins, --lr may change", async () => {
  const root = tmp("resume");
  const data = join(root, "data");
  await smallCorpusData(data, 0);
  const out = join(root, "run");
  const stopped = await runTraining({ config: trainInput(data, 12), outDir: out, maxStepsThisRun: 4 });
  assert.equal(stopped.summary.status, "stopped");

  // 9: config.json is the run's record: an edit of a field the checkpoint fixes is refused, naming it
  const recordPath = join(out, "config.json");
  const record = JSON.parse(readFileSync(recordPath, "utf8")) as Record<string, unknown>;
  writeFileSync(recordPath, JSON.stringify({ ...record, weightDecay: 5 }));
  await assert.rejects(runTraining({ config: {}, outDir: out, resume: true }), (e: unknown) =>
    e instanceof TrainConfigError && /cannot change weightDecay on --resume \(0\.1 in the checkpoint, 5 edited in .*config\.json\).*only lr, threads/.test(e.message));
  writeFileSync(recordPath, "{ not json");
  await assert.rejects(runTraining({ config: {}, outDir: out, resume: true }), /config\.json is not valid JSON .*delete .*and --resume again/);
  rmSync(recordPath); // missing: the checkpoint has it
  // flags that would change the run are refused too
  await assert.rejects(runTraining({ config: { tokens: 64 * 99 }, outDir: out, resume: true }), /cannot change tokens on --resume/);

  // "lower --lr, then --resume" works: the rest of the run uses the lower peak
  const reference = join(root, "reference");
  await runTraining({ config: trainInput(data, 12), outDir: reference });
  const resumed = await runTraining({ config: { lr: 5e-3 }, outDir: out, resume: true, maxStepsThisRun: 4 });
  assert.equal(resumed.config.lr, 5e-3);
  assert.equal((JSON.parse(readFileSync(recordPath, "utf8")) as { lr: number }).lr, 5e-3);
  const ref = rows(reference);
  for (const r of rows(out).filter((x) => x.step > 4)) assert.ok(Math.abs(r.lr / ref[r.step - 1].lr - 0.5) < 1e-9, `step ${r.step}: lr ${r.lr}`);

  // 8: the data was prepared again with another split: the run refuses to go on with it
  await smallCorpusData(data, 1);
  await assert.rejects(runTraining({ config: {}, outDir: out, resume: true }), (e: unknown) =>
    e instanceof TrainConfigError && /the data at .* is not the data .*run started on \(manifest [0-9a-f]{16} ≠ [0-9a-f]{16}: prepared again since\?\)/.test(e.message));
});

test("10: a sweep re-run with another ladder or other data is refused; so is a foreign run imported into it", async () => {
  const data = await tinyCorpusData();
  const root = tmp("mismatch");
  const lab = openLab(join(root, "lab"));
  const opts: SweepOptions = { lab: join(root, "lab"), sweep: "m", plan: "curves", ladder: "tiny-test", data, tokens: [256 * 20], sizes: ["t-1", "t-2"] };
  recordPlan(lab, opts, planSweep(opts).runs);
  recordPlan(lab, opts, planSweep(opts).runs); // the same again: fine
  const ladders = JSON.parse(readFileSync(join(repoRoot, "presets/ladders.json"), "utf8")) as { ladders: Record<string, { sizes: { nEmbd: number }[] }> };
  const other = ladders.ladders["tiny-test"];
  other.sizes[0].nEmbd = 12;
  const otherPath = join(root, "other.json");
  writeFileSync(otherPath, JSON.stringify(other));
  const withOther = { ...opts, ladder: otherPath };
  assert.throws(() => recordPlan(lab, withOther, planSweep(withOther).runs), (e: unknown) =>
    e instanceof SweepMismatchError && /sweep "m" was planned over ladder tiny-test, not .*other\.json; use another --sweep name/.test(e.message));
  const otherData = join(root, "data2");
  await smallCorpusData(otherData, 3);
  const withData = { ...opts, data: otherData };
  assert.throws(() => recordPlan(lab, withData, planSweep(withData).runs), /sweep "m" was trained on other data .*manifest [0-9a-f]{16}\) than --data/);
  // a foreign run (another context length) imported into the sweep
  const foreign = join(root, "foreign");
  await runTraining({ config: trainInput(otherData, 2, { model: { blockSize: 32 }, batchTokens: 128, tokens: 256 }), outDir: foreign });
  const sweep = lab.getSweep("m")!;
  assert.match(importMismatch(sweep, lab.listRuns({ sweep: "m" }), JSON.parse(readFileSync(join(foreign, "config.json"), "utf8")))!, /other data|blockSize/);
  lab.close();
  await assert.rejects(runsCommand.run(["--lab", join(root, "lab"), "--import", foreign, "--sweep", "m"]), (e: unknown) =>
    e instanceof UserError && /cannot import .* into sweep m: it was trained on other data/.test(e.message));
});

test("11: a law whose loss rises with scale is flagged in one line; forecast years are bounded", async () => {
  const rising = [1e5, 3e5, 1e6, 3e6, 1e7].map((N, i) => ({ N, D: 1e8, C: 6 * N * 1e8, loss: 3 + 0.1 * i, run: `r${i}` }));
  const power = await runFit("power", rising, { variable: "N", workers: 0 });
  assert.ok(power.fit.alpha < 0);
  assert.equal(power.warnings.length, 1);
  assert.match(power.warnings[0], /^non-physical fit: alpha = -[\d.]+ ≤ 0, the loss does not fall as N grows, so its predictions are meaningless; check the points/);
  // Chinchilla on losses that rise with N: no "compute-optimal" answer without a warning
  const grid = [1e5, 3e5, 1e6, 3e6].flatMap((N, i) => [1e7, 1e8, 1e9].map((D, j) => ({ N, D, C: 6 * N * D, loss: 3 + 0.05 * Math.log(N) - 0.02 * Math.log(D) + 0.001 * ((i + j) % 3), run: `r${i}.${j}` })));
  const chinchilla = await runFit("chinchilla", grid, { workers: 0 });
  assert.ok(chinchilla.fit.alpha <= 0);
  assert.match(chinchilla.warnings.join("\n"), /alpha = -[\d.]+ ≤ 0, the loss does not fall as N grows, so the compute-optimal N and D are meaningless/);
  // IsoFLOP whose loss-optimal size shrinks as compute grows
  const iso = [1e15, 1e16, 1e17].flatMap((C) => [1e5, 3e5, 1e6, 3e6, 1e7].map((N) => ({ N, C, D: C / (6 * N), loss: 3 + 0.3 * (Math.log(N) - Math.log(2e21 / C)) ** 2, run: `${C}.${N}` })));
  assert.match((await runFit("isoflop", iso, { workers: 0 })).warnings.join(""), /N_opt ∝ C\^-1 .*both should grow with compute/);
  // the fit command prints it next to the law, and puts it in its JSON
  const csv = join(tmp("fitcsv"), "rising.csv");
  writeFileSync(csv, "N,loss\n" + rising.map((p) => `${p.N},${p.loss}`).join("\n") + "\n");
  const printed: string[] = [];
  const log = console.log;
  const write = process.stdout.write;
  console.log = (...a: unknown[]) => void printed.push(a.join(" "));
  process.stdout.write = ((chunk: string) => printed.push(String(chunk)) > 0) as typeof process.stdout.write;
  try {
    await fitCommand.run(["power", "--csv", csv, "--x", "N"]);
    await fitCommand.run(["power", "--csv", csv, "--x", "N", "--json"]);
  } finally {
    console.log = log;
    process.stdout.write = write;
  }
  assert.ok(printed.some((l) => /^ {2}warning: non-physical fit: alpha = -/.test(l)), printed.join("\n"));
  assert.match((JSON.parse(printed.at(-1)!) as { warnings: string[] }).warnings[0], /non-physical fit/);
  const falling = rising.map((p, i) => ({ ...p, loss: 4 - 0.2 * i }));
  assert.deepEqual((await runFit("power", falling, { variable: "N", workers: 0 })).warnings, []);
  // forecast: a year of 1e20 is a typo, not an input
  await assert.rejects(forecastCommand.run(["--reference-year", "1e20", "--samples", "0"]), (e: unknown) =>
    e instanceof UserError && /--reference-year must be a year from 1900 to 2200, got 1/.test(e.message));
  await assert.rejects(forecastCommand.run(["--data-stock-year=-5", "--samples", "0"]), /--data-stock-year must be a year/);
});

test("12: the dashboard stops serving a lab deleted, replaced or truncated under it", () => {
  const dir = tmp("watch");
  const lab = openLab(dir);
  const config = trainInput("d", 4, { model: { vocabSize: 16, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 } }) as unknown as RunConfig;
  lab.planRun(planned({ id: "r1", config }));
  lab.close();
  const watcher = new LabWatcher(dir);
  assert.deepEqual(watcher.snapshot().runs.map((r) => r.id), ["r1"]);
  const saved = join(tmp("saved"), "lab.sqlite");
  copyFileSync(join(dir, "lab.sqlite"), saved);
  for (const f of ["lab.sqlite", "lab.sqlite-wal", "lab.sqlite-shm"]) rmSync(join(dir, f), { force: true });
  const gone = watcher.snapshot();
  assert.equal(gone.exists, false);
  assert.deepEqual(gone.runs, []);
  assert.equal(watcher.metrics("r1"), null);
  // another lab put in its place is read as it is
  const fresh = openLab(dir);
  fresh.planRun(planned({ id: "r2", config }));
  fresh.close();
  assert.deepEqual(watcher.snapshot().runs.map((r) => r.id), ["r2"]);
  // truncated to nothing: damaged, with the way to rebuild it
  truncateSync(join(dir, "lab.sqlite"), 0);
  const broken = watcher.snapshot();
  assert.deepEqual(broken.runs, []);
  assert.match(broken.error ?? "", /is empty .*runs --rebuild --lab/);
  watcher.close();
});
