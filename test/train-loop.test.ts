/**
 * The training loop on a synthetic, learnable token stream: loss falls, metrics and checkpoints are written,
 * resume is bit-exact, a truncated checkpoint is refused, NaN stops the run and keeps the last good checkpoint, and
 * a backend the loop created is disposed however the run ends.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, truncateSync, statSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CheckpointError, loadCheckpoint } from "../src/train/checkpoint.js";
import { resolveTrainConfig, TrainConfigError } from "../src/train/config.js";
import { JsBackend } from "../src/engine/index.js";
import { DivergenceError, train } from "../src/train/loop.js";
import { learningRate } from "../src/train/schedule.js";
import { TokenWindows } from "../src/train/token-data.js";
import { Rng } from "../src/util/rng.js";
import type { MetricRecord } from "../src/util/run-folder.js";
import { testBackends } from "./helpers.js";

/** A repeating pattern with noise: a model can learn it quickly. */
function synthetic(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.random() < 0.1 ? rng.int(16) : (i * 7) % 16;
  return out;
}

function config(over: Record<string, unknown> = {}) {
  return resolveTrainConfig(
    { preset: "nano", data: "(memory)", tokens: 32 * 16 * 40, batchTokens: 32 * 16, microBatch: 8, evalEvery: 10, checkpointEvery: 5, lr: 1e-2, model: { blockSize: 16 }, ...over },
    16,
  );
}

const readMetrics = (dir: string): MetricRecord[] =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));

test("the loss falls and metrics, config and checkpoint are written", async () => {
  for (const backend of await testBackends()) {
    const dir = mkdtempSync(join(tmpdir(), "sl-train-"));
    const data = new TokenWindows(synthetic(20000, 1), synthetic(3000, 2), 16, 7);
    const s = await train(config(), data, { outDir: dir, backend });
    const rows = readMetrics(dir);
    assert.equal(rows.length, 40);
    assert.equal(s.steps, 40);
    assert.ok(rows[39].trainLoss < rows[0].trainLoss - 0.5, `${backend.name}: loss fell from ${rows[0].trainLoss} to ${rows[39].trainLoss}`);
    assert.ok(rows.filter((r) => r.valLoss !== undefined).length === 4);
    for (const k of ["step", "tokens", "flops", "lr", "trainLoss", "elapsed"]) assert.ok(k in rows[5], k);
    assert.ok(existsSync(join(dir, "config.json")) && existsSync(join(dir, "checkpoint.safetensors")));
    assert.equal(loadCheckpoint(dir).state.step, 40);
  }
});

test("resume after an interruption continues bit-exactly", async () => {
  for (const backend of await testBackends()) {
    const full = mkdtempSync(join(tmpdir(), "sl-full-"));
    await train(config(), new TokenWindows(synthetic(20000, 1), synthetic(3000, 2), 16, 7), { outDir: full, backend });
    const part = mkdtempSync(join(tmpdir(), "sl-part-"));
    // stop after 13 steps: the checkpoint is at 13 (written on stop); metrics after the last checkpoint would be cut
    const s1 = await train(config(), new TokenWindows(synthetic(20000, 1), synthetic(3000, 2), 16, 7), { outDir: part, backend, maxStepsThisRun: 13 });
    assert.equal(s1.status, "stopped");
    await train(config(), new TokenWindows(synthetic(20000, 1), synthetic(3000, 2), 16, 99), { outDir: part, backend, resume: true });
    const a = readMetrics(full);
    const b = readMetrics(part);
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++) {
      assert.equal(b[i].trainLoss, a[i].trainLoss, `${backend.name}: step ${i + 1} train loss`);
      assert.equal(b[i].valLoss, a[i].valLoss, `${backend.name}: step ${i + 1} val loss`);
    }
  }
});

test("a truncated checkpoint is refused with a clear error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-trunc-"));
  const [backend] = await testBackends();
  await train(config({ tokens: 32 * 16 * 5 }), new TokenWindows(synthetic(20000, 1), synthetic(3000, 2), 16, 7), { outDir: dir, backend });
  const f = join(dir, "checkpoint.safetensors");
  truncateSync(f, Math.floor(statSync(f).size / 2));
  assert.throws(() => loadCheckpoint(dir), (e: Error) => e instanceof CheckpointError && /truncated/.test(e.message));
});

test("NaN stops the run with a clear error and keeps the last good checkpoint", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-nan-"));
  const [backend] = await testBackends();
  const data = new TokenWindows(synthetic(20000, 1), synthetic(3000, 2), 16, 7);
  const cfg = config({ lr: 1e-2 });
  await train({ ...cfg, tokens: 32 * 16 * 10 }, data, { outDir: dir, backend });
  const before = readFileSync(join(dir, "checkpoint.safetensors"));
  // an absurd learning rate blows the weights up
  await assert.rejects(
    train({ ...cfg, lr: 1e30, warmupFraction: 0, tokens: 32 * 16 * 30 }, data, { outDir: dir, backend, resume: true }),
    (e: Error) => e instanceof DivergenceError && /kept the last good checkpoint/.test(e.message),
  );
  // the blow-up comes within a step or two of the resume, before the next checkpoint (step 15) is due: the
  // checkpoint of step 10 is the last good one, and it is left byte for byte as it was
  const after = loadCheckpoint(dir);
  assert.equal(after.state.step, 10);
  assert.ok(readFileSync(join(dir, "checkpoint.safetensors")).equals(before), "the last good checkpoint was not rewritten");
  for (const [, w] of after.weights) for (const v of w) assert.ok(Number.isFinite(v));
});

test("a backend the loop created is disposed when the run diverges (and when it ends normally)", async () => {
  // a spy on the js backend's dispose: train() creates the backend from config.backend, so it must dispose it
  const original = JsBackend.prototype.dispose;
  let disposed = 0;
  JsBackend.prototype.dispose = function (this: JsBackend) {
    disposed += 1;
    original.call(this);
  };
  try {
    const data = () => new TokenWindows(synthetic(20000, 1), synthetic(3000, 2), 16, 7);
    const cfg = config({ backend: "js", tokens: 32 * 16 * 3 });
    await train(cfg, data(), { outDir: mkdtempSync(join(tmpdir(), "sl-dispose-")) });
    assert.equal(disposed, 1, "a finished run disposes its backend");
    await assert.rejects(
      train({ ...cfg, lr: 1e30, warmupFraction: 0, tokens: 32 * 16 * 30 }, data(), { outDir: mkdtempSync(join(tmpdir(), "sl-dispose-")) }),
      DivergenceError,
    );
    assert.equal(disposed, 2, "a diverged run disposes its backend too");
  } finally {
    JsBackend.prototype.dispose = original;
  }
});

test("the learning-rate schedule warms up linearly and decays by cosine to 10%", () => {
  const s = { lr: 1, warmupSteps: 10, decaySteps: 110, minLrFraction: 0.1 };
  assert.equal(learningRate(s, 0), 0.1);
  assert.equal(learningRate(s, 9), 1);
  assert.ok(Math.abs(learningRate(s, 60) - 0.55) < 1e-12);
  assert.ok(Math.abs(learningRate(s, 110) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate(s, 500) - 0.1) < 1e-12);
});

test("config errors name the fix", () => {
  assert.throws(() => resolveTrainConfig({ preset: "nope" }, 16), (e: Error) => e instanceof TrainConfigError && /known presets/.test(e.message));
  assert.throws(() => resolveTrainConfig({ preset: "nano", batchTokens: 100, microBatch: 2 }, 16), /not a multiple/);
});

test("Ctrl-C (SIGINT) during `scaling-lab train` checkpoints and stops; --resume finishes the run", async () => {
  const { spawn } = await import("node:child_process");
  const { cliPath } = await import("../src/sweep/executor.js");
  const { prepareDataset } = await import("../src/data/prepare.js");
  const { writeFileSync } = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "sl-sigint-"));
  writeFileSync(join(dir, "c.txt"), "the sea and the ship and the whale. ".repeat(3000));
  await prepareDataset({ sources: [join(dir, "c.txt")], tokenizer: "bytes", outDir: join(dir, "data"), valFraction: 0.2, docChars: 4000 });
  const out = join(dir, "run");
  const args = [cliPath(), "train", "--data", join(dir, "data"), "--preset", "nano", "--tokens", "2000000", "--batch-tokens", "256", "--micro-batch", "8", "--checkpoint-every", "1000000", "--out", out, "--json"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (existsSync(join(out, "metrics.jsonl")) && readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").length > 5) {
        clearInterval(poll);
        child.kill("SIGINT");
        resolve();
      }
    }, 20);
  });
  const code = await new Promise((r) => child.on("close", r));
  assert.equal(code, 0);
  const summary = JSON.parse(stdout.trim().split("\n").pop()!);
  assert.equal(summary.status, "stopped");
  assert.ok(summary.steps < 7813);
  assert.equal(loadCheckpoint(out).state.step, summary.steps, "checkpoint written at the stop");
});
