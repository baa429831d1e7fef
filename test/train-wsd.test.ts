/**
 * Warmup-stable-decay and cooldown branches: schedule values; branches leave the main run untouched; a branch's
 * endpoint is the endpoint of the equivalent shorter run; a run killed inside a branch resumes bit-exactly; bad
 * branch budgets are refused with the fix.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { resolveTrainConfig, TrainConfigError } from "../src/train/config.js";
import { readEndpoints } from "../src/train/endpoints.js";
import { type TrainData, train } from "../src/train/loop.js";
import type { MetricRecord } from "../src/util/run-folder.js";
import { cooldownFactor, learningRate } from "../src/train/schedule.js";
import { TokenWindows } from "../src/train/token-data.js";
import { Rng } from "../src/util/rng.js";
import { testBackends } from "./helpers.js";

function synthetic(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.random() < 0.1 ? rng.int(16) : (i * 7) % 16;
  return out;
}
const windows = () => new TokenWindows(synthetic(20000, 1), synthetic(3000, 2), 16, 7);
const STEP_TOKENS = 32 * 16;

function config(over: Record<string, unknown> = {}) {
  return resolveTrainConfig(
    { preset: "nano", data: "(memory)", tokens: STEP_TOKENS * 40, batchTokens: STEP_TOKENS, microBatch: 8, evalEvery: 10, checkpointEvery: 5, lr: 1e-2, model: { blockSize: 16 }, schedule: "wsd", minLrFraction: 0, ...over },
    16,
  );
}
const readMetrics = (dir: string): MetricRecord[] => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));

test("wsd: linear warmup, the peak held, then a 1-sqrt (or linear, cosine) cooldown to the floor", () => {
  const s = { kind: "wsd" as const, lr: 1, warmupSteps: 10, decaySteps: 110, minLrFraction: 0, cooldownSteps: 20 };
  assert.equal(learningRate(s, 0), 0.1);
  assert.equal(learningRate(s, 9), 1);
  assert.equal(learningRate(s, 10), 1);
  assert.equal(learningRate(s, 89), 1, "stable until the cooldown starts");
  assert.equal(learningRate(s, 90), 1, "the cooldown's first step is at the peak");
  assert.ok(Math.abs(learningRate(s, 95) - (1 - Math.sqrt(0.25))) < 1e-12);
  assert.ok(Math.abs(learningRate(s, 109) - (1 - Math.sqrt(19 / 20))) < 1e-12);
  assert.equal(learningRate(s, 110), 0);
  assert.ok(Math.abs(learningRate({ ...s, minLrFraction: 0.1 }, 100) - (0.1 + 0.9 * (1 - Math.sqrt(0.5)))) < 1e-12);
  assert.ok(Math.abs(learningRate({ ...s, cooldownShape: "linear" }, 100) - 0.5) < 1e-12);
  assert.ok(Math.abs(learningRate({ ...s, cooldownShape: "cosine" }, 100) - 0.5) < 1e-12);
  assert.ok(Math.abs(cooldownFactor("cosine", 0.25) - 0.5 * (1 + Math.cos(Math.PI / 4))) < 1e-12);
});

test("branches: endpoints at each budget, the main run untouched, a branch equals the shorter run it stands for", async () => {
  for (const backend of await testBackends()) {
    const withBranches = mkdtempSync(join(tmpdir(), "sl-wsd-b-"));
    const s = await train(config({ branches: [0.25, 0.5] }), windows(), { outDir: withBranches, backend });
    const plain = mkdtempSync(join(tmpdir(), "sl-wsd-p-"));
    await train(config(), windows(), { outDir: plain, backend });
    assert.deepEqual(readMetrics(withBranches).map((r) => r.trainLoss), readMetrics(plain).map((r) => r.trainLoss), `${backend.name}: main run unchanged`);
    const eps = readEndpoints(withBranches);
    assert.deepEqual(eps.map((e) => [e.kind, e.step, e.tokens]), [["branch", 10, 10 * STEP_TOKENS], ["branch", 20, 20 * STEP_TOKENS], ["final", 40, 40 * STEP_TOKENS]]);
    assert.deepEqual(s.endpoints, eps);
    assert.ok(eps[0].valLoss > eps[1].valLoss && eps[1].valLoss > eps[2].valLoss, `${backend.name}: longer budgets reach lower losses`);
    // the 10-step branch is exactly a 10-step wsd run: same warmup (1 step), cooldown (2 steps) and data
    const short = mkdtempSync(join(tmpdir(), "sl-wsd-s-"));
    await train(config({ tokens: 10 * STEP_TOKENS }), windows(), { outDir: short, backend });
    assert.equal(eps[0].valLoss, readEndpoints(short)[0].valLoss, `${backend.name}: branch = shorter run`);
  }
});

/** A data source that fails (as a kill would) on its n-th training batch. */
class Crashing implements TrainData {
  private calls = 0;
  constructor(private readonly inner: TokenWindows, private readonly failAt: number) {}
  get vocabSize() { return this.inner.vocabSize; }
  nextTrain(x: Int32Array, y: Int32Array, B: number, T: number): void {
    if (++this.calls === this.failAt) throw new Error("simulated kill");
    this.inner.nextTrain(x, y, B, T);
  }
  valBatches(B: number, T: number, maxTokens: number) { return this.inner.valBatches(B, T, maxTokens); }
  getState() { return this.inner.getState(); }
  setState(s: unknown) { this.inner.setState(s); }
}

test("a run killed inside a cooldown branch resumes bit-exactly (branch and main run)", async () => {
  for (const backend of await testBackends()) {
    const full = mkdtempSync(join(tmpdir(), "sl-wsd-f-"));
    await train(config({ branches: [0.5] }), windows(), { outDir: full, backend });
    const killed = mkdtempSync(join(tmpdir(), "sl-wsd-k-"));
    // the 0.5 branch (20 steps, cooldown 4) starts after main step 16; with 4 micro-batches a step, batch 4·16+6 is
    // inside the branch
    await assert.rejects(train(config({ branches: [0.5] }), new Crashing(windows(), 4 * 16 + 6), { outDir: killed, backend }), /simulated kill/);
    assert.equal(readEndpoints(killed).length, 0, "no endpoint from the interrupted branch");
    await train(config({ branches: [0.5] }), windows(), { outDir: killed, backend, resume: true });
    assert.deepEqual(readEndpoints(killed), readEndpoints(full), `${backend.name}: same endpoints`);
    assert.deepEqual(readMetrics(killed).map((r) => r.trainLoss), readMetrics(full).map((r) => r.trainLoss));
  }
});

test("bad branch budgets are refused with the fix", () => {
  const err = (over: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => config(over), (e: Error) => e instanceof TrainConfigError && re.test(e.message), JSON.stringify(over));
  err({ branches: [1.5e6] }, /not below the run's .* tokens/);
  err({ branches: [1] }, /not below the run's/);
  err({ branches: [0.5], schedule: "cosine" }, /need the wsd schedule \(add --schedule wsd\)/);
  err({ branches: [0.02] }, /inside the .*warmup/);
  assert.deepEqual(config({ branches: [0.5, 0.25, 0.5] }).branches, [10 * STEP_TOKENS, 20 * STEP_TOKENS], "sorted, once each");
  assert.deepEqual(config({ branches: [10 * STEP_TOKENS] }).branches, [10 * STEP_TOKENS], "token counts too");
});
