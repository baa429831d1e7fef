/**
 * Predict before train on synthetic sweeps written straight into a lab: final losses drawn from a known law
 * L(N) = E + (N0/N)^α with noise; the held-out largest run is predicted within 1% and inside its interval, before
 * it has trained (no actual yet) and after; 1-layer runs are left out when enough deeper runs remain.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openLab } from "../src/store/index.js";
import { PredictError, predictHeldOut } from "../src/sweep/predict.js";
import { Rng } from "../src/util/rng.js";
import { planned } from "./helpers.js";

const law = (N: number) => 1.7 + (2e4 / N) ** 0.3;

function syntheticLab(shapes: [number, number][], opts: { trainLargest: boolean; oneLayerBias?: number }) {
  const dir = mkdtempSync(join(tmpdir(), "sl-predict-"));
  const lab = openLab(dir);
  lab.ensureSweep({ name: "syn", plan: "curves", ladder: "synthetic" });
  const rng = new Rng(3);
  shapes.forEach(([nLayer, nEmbd], i) => {
    const config = { model: { vocabSize: 256, blockSize: 64, nLayer, nHead: nEmbd / 16, nEmbd }, tokens: 4096 * 100, batchTokens: 4096, seed: 1 };
    const run = lab.planRun(planned({ id: `syn.r${i}`, sweep: "syn", config }));
    if (i === shapes.length - 1 && !opts.trainLargest) return;
    const loss = law(run.N) * (1 + 0.002 * rng.normal()) + (nLayer === 1 ? (opts.oneLayerBias ?? 0) : 0);
    lab.markRunning(run.id, { backend: "js" });
    lab.appendMetrics(run.id, [{ step: 100, tokens: run.D, flops: run.C, lr: 1e-3, trainLoss: loss, valLoss: loss, gradNorm: 1, elapsed: 1, tokensPerSec: 1 }]);
    lab.finishRun(run.id, { tokens: run.D, flops: run.C, finalTrainLoss: loss, finalValLoss: loss, bestValLoss: loss, elapsed: 1 });
  });
  return lab;
}

const shapes: [number, number][] = [[1, 32], [1, 64], [2, 64], [2, 96], [3, 128], [3, 160], [4, 192], [4, 256]];

test("the largest run of a synthetic sweep is predicted within 1%, before and after it trains", async () => {
  const before = syntheticLab(shapes, { trainLargest: false });
  const p0 = (await predictHeldOut(before, "syn", { bootstrap: 100, workers: 1 })).predictions[0];
  assert.equal(p0.run, "syn.r7");
  assert.equal(p0.actual, null);
  const truth = law(p0.N);
  assert.ok(Math.abs(p0.predicted - truth) / truth < 0.01, `predicted ${p0.predicted} vs law ${truth}`);
  assert.ok(p0.interval && p0.interval[0] <= p0.predicted && p0.predicted <= p0.interval[1]);
  before.close();
  const after = syntheticLab(shapes, { trainLargest: true });
  const p1 = (await predictHeldOut(after, "syn", { bootstrap: 100, workers: 1 })).predictions[0];
  assert.ok(p1.actual !== null && Math.abs(p1.errorPct!) < 1, `error ${p1.errorPct}%`);
  after.close();
});

test("1-layer runs are left out of the fit when enough deeper runs remain (minLayers 1 keeps them)", async () => {
  const lab = syntheticLab(shapes, { trainLargest: true, oneLayerBias: 0.3 });
  const r = await predictHeldOut(lab, "syn", { bootstrap: 0 });
  assert.equal(r.excluded, 2);
  assert.equal(r.fitPoints, 5);
  assert.ok(Math.abs(r.predictions[0].errorPct!) < 1);
  const all = await predictHeldOut(lab, "syn", { bootstrap: 0, minLayers: 1 });
  assert.equal(all.fitPoints, 7);
  assert.ok(Math.abs(all.predictions[0].errorPct!) > Math.abs(r.predictions[0].errorPct!), "the biased 1-layer runs hurt the prediction");
  lab.close();
});

test("too few finished runs is a clear error", async () => {
  const lab = syntheticLab(shapes.slice(0, 4), { trainLargest: false });
  await assert.rejects(predictHeldOut(lab, "syn"), (e: Error) => e instanceof PredictError && /needs at least 4/.test(e.message));
  lab.close();
});
