/**
 * GPT-3's alternating attention through the tools (issue 17): `train --local-window W` records the window in the
 * run's config and checkpoint and counts its FLOPs with it, a resumed sparse run continues bit-exactly from the
 * saved config, `score` runs the trained pattern (or an explicit override), presets and ladders carry the window
 * into runs and sweeps, and bad windows are one-line errors naming the fix.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { flopsPerToken } from "../src/model/accounting.js";
import { openLab } from "../src/store/index.js";
import { LocalExecutor } from "../src/sweep/executor.js";
import { loadLadder } from "../src/sweep/ladder.js";
import { makePlan } from "../src/sweep/plan.js";
import { runSweep } from "../src/sweep/sweep.js";
import { loadCheckpoint } from "../src/train/checkpoint.js";
import { modelPreset, resolveTrainConfig, type TrainConfigInput } from "../src/train/config.js";
import type { MetricRecord } from "../src/util/run-folder.js";
import { runTraining } from "../src/train/run.js";
import { assertOneLineError, runCli, testBackends, tinyCorpusData, writeBandedLadder } from "./helpers.js";

const readMetrics = (dir: string): MetricRecord[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));

/** A 2-layer model (layer 1 banded) on the tiny corpus: 24 steps of 4 × 16 tokens. */
function sparseRun(data: string, backend: string): TrainConfigInput {
  return {
    preset: "nano", data, backend, tokens: 64 * 24, batchTokens: 64, microBatch: 4, evalEvery: 8, checkpointEvery: 4,
    evalTokens: 256, lr: 3e-3, model: { nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16, localWindow: 4 },
  };
}

test("a sparse run records its window (config, checkpoint, FLOPs) and resumes bit-exactly from the saved config", async () => {
  const data = await tinyCorpusData();
  for (const backend of await testBackends()) {
    const name = backend.name;
    backend.dispose();
    const full = mkdtempSync(join(tmpdir(), "sl-sparse-full-"));
    const { config, summary } = await runTraining({ config: sparseRun(data, name), outDir: full });
    assert.equal(config.model.localWindow, 4);
    assert.equal(JSON.parse(readFileSync(join(full, "config.json"), "utf8")).model.localWindow, 4, "run config");
    assert.equal(loadCheckpoint(full).config.model.localWindow, 4, "checkpoint");
    const fpt = flopsPerToken(config.model).training;
    assert.ok(fpt < flopsPerToken({ ...config.model, localWindow: 0 }).training, "the banded layer counts fewer attention FLOPs");
    assert.equal(summary.flops, fpt * summary.tokens);

    // stopped after 9 steps, then resumed with NO model flags: the saved config (window 4) must win
    const part = mkdtempSync(join(tmpdir(), "sl-sparse-part-"));
    const s1 = await runTraining({ config: sparseRun(data, name), outDir: part, maxStepsThisRun: 9 });
    assert.equal(s1.summary.status, "stopped");
    await runTraining({ config: { data, backend: name }, outDir: part, resume: true });
    const a = readMetrics(full), b = readMetrics(part);
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++) {
      assert.equal(b[i].trainLoss, a[i].trainLoss, `${name}: step ${i + 1} train loss`);
      assert.equal(b[i].valLoss, a[i].valLoss, `${name}: step ${i + 1} val loss`);
    }
  }
});

test("train --local-window on the CLI; score runs the trained pattern unless --local-window overrides it", async () => {
  const data = await tinyCorpusData();
  const out = join(mkdtempSync(join(tmpdir(), "sl-sparse-cli-")), "run");
  const r = runCli([
    "train", "--data", data, "--out", out, "--preset", "nano", "--n-layer", "2", "--block-size", "16", "--local-window", "3",
    "--tokens", "640", "--batch-tokens", "64", "--micro-batch", "4", "--backend", "js", "--json",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).config.model.localWindow, 3);
  const text = join(out, "text.txt");
  writeFileSync(text, "the whale ship sea captain white deep harpoon crew storm. ".repeat(3));
  const score = (...extra: string[]) => {
    const s = runCli(["score", "--model", out, "--text", text, "--backend", "js", "--json", ...extra]);
    assert.equal(s.status, 0, s.stderr);
    return JSON.parse(s.stdout) as { loss: number; localWindow: number };
  };
  const trained = score();
  assert.equal(trained.localWindow, 3);
  assert.deepEqual(score("--local-window", "3"), trained);
  const dense = score("--local-window", "0");
  assert.equal(dense.localWindow, 0);
  assert.notEqual(dense.loss, trained.loss, "the dense pattern is another model");
  assertOneLineError(runCli(["score", "--model", out, "--text", text, "--local-window=-2"]), "score --local-window -2", /^scaling-lab score: .*localWindow -2 .*use 0 for dense/);
});

test("train --local-window -1 is a one-line error naming the fix", async () => {
  const data = await tinyCorpusData();
  const out = join(mkdtempSync(join(tmpdir(), "sl-sparse-bad-")), "run");
  const r = runCli(["train", "--data", data, "--out", out, "--preset", "nano", "--local-window=-1", "--tokens", "640"]);
  assertOneLineError(r, "train --local-window -1", /^scaling-lab train: .*localWindow -1 is negative \(use 0 for dense attention/);
});

test("presets and ladders carry the window into run configs and sweeps", async () => {
  assert.equal(modelPreset("cpu-6m-local").localWindow, 64);
  assert.equal(resolveTrainConfig({ preset: "cpu-6m-local" }, 300).model.localWindow, 64);
  assert.equal(resolveTrainConfig({ preset: "cpu-6m-local", model: { localWindow: 0 } }, 300).model.localWindow, 0, "a flag overrides the preset");
  assert.equal(resolveTrainConfig({ preset: "cpu-6m" }, 300).model.localWindow, 0, "dense is recorded as 0");
  const local = loadLadder("cpu-s-local");
  const plan = makePlan({ kind: "curves", sweep: "p", ladder: local, data: "/d", vocabSize: 2048, tokens: [4e6] });
  for (const r of plan) {
    assert.equal(r.config.model!.localWindow, 64);
    assert.equal(r.C, flopsPerToken(r.config.model as never, local.blockSize).training * r.D);
  }
  const dense = makePlan({ kind: "curves", sweep: "p", ladder: loadLadder("cpu-s"), data: "/d", vocabSize: 2048, tokens: [4e6] });
  assert.ok(plan[6].C < dense[6].C, "the alternating ladder plans fewer FLOPs for the same runs");

  // a ladder file: the ladder's window, overridden by one size; a local sweep trains with them
  const dir = mkdtempSync(join(tmpdir(), "sl-sparse-ladder-"));
  const file = writeBandedLadder(dir, 64);
  const lab = join(dir, "lab");
  const result = await runSweep(
    { lab, sweep: "w", plan: "curves", ladder: file, data: await tinyCorpusData(), tokens: [64 * 20], overrides: { backend: "js" } },
    new LocalExecutor({ threads: 1 }),
  );
  assert.deepEqual(result.outcomes.map((o) => o.status), ["done", "done"]);
  const l = openLab(lab);
  const windows = l.listRuns({ sweep: "w" }).map((run) => {
    assert.equal(run.status, "done");
    return loadCheckpoint(join(lab, run.dir)).config.model.localWindow;
  });
  l.close();
  assert.deepEqual(windows, [4, 2]);
  writeFileSync(file, JSON.stringify({ blockSize: 16, batchTokens: 64, localWindow: -4, sizes: [{ name: "a", nLayer: 2, nHead: 2, nEmbd: 8 }, { name: "b", nLayer: 2, nHead: 2, nEmbd: 16 }] }));
  assert.throws(() => loadLadder(file), /localWindow -4 is negative/);
});
