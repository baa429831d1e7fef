/**
 * Predict before train on a synthetic sweep written straight into a lab: cooled-down endpoints drawn from a known
 * L(N, D) with noise. analyzeSweep predicts the largest run before it has trained and, once it has, gives the same
 * prediction scored within 1% and inside its interval; the analysis is stored and read back as stored. The
 * `scaling-lab predict` contract: --json (one line, the stored analysis's numbers), the table, one-line errors
 * (K so large that no endpoint qualifies, an unknown target, a flag that is gone) that store nothing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { analyzeSweep, storedAnalysis } from "../src/analysis/index.js";
import { type Lab, openLab } from "../src/store/index.js";
import { Rng } from "../src/util/rng.js";
import { assertOneLineError, planned, runCli } from "./helpers.js";

const LAW = { E: 1.8, A: 60, B: 900, alpha: 0.35, beta: 0.45 };
const law = (N: number, D: number) => LAW.E + LAW.A / N ** LAW.alpha + LAW.B / D ** LAW.beta;
const SHAPES: [number, number][] = [[1, 16], [1, 32], [2, 32], [2, 48], [2, 64], [3, 96], [4, 128], [4, 192], [6, 256]];
const D = 4096 * 200;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A curves sweep "syn" of the first `sizes` shapes: every run's endpoints at D/8, D/4, D/2, D from the law; the largest
 * trained or not.
 */
function syntheticLab(opts: { trainLargest: boolean; sizes?: number }): { dir: string; lab: Lab } {
  const shapes = SHAPES.slice(0, opts.sizes ?? SHAPES.length);
  const dir = mkdtempSync(join(tmpdir(), "sl-predict-"));
  dirs.push(dir);
  const lab = openLab(dir);
  lab.ensureSweep({ name: "syn", plan: "curves", ladder: "synthetic", spec: { tokens: [D] } });
  const rng = new Rng(3);
  shapes.forEach(([nLayer, nEmbd], i) => {
    const config = { model: { vocabSize: 256, blockSize: 64, nLayer, nHead: nEmbd / 16, nEmbd }, tokens: D, batchTokens: 4096, seed: 1 };
    const run = lab.planRun(planned({ id: `syn.r${i}`, sweep: "syn", config }));
    if (i === shapes.length - 1 && !opts.trainLargest) return;
    const ends = [8, 4, 2, 1].map((div) => {
      const loss = law(run.params, D / div) * (1 + 0.002 * rng.normal());
      return { kind: div === 1 ? ("final" as const) : ("branch" as const), step: 200 / div, tokens: D / div, flops: run.C / div, valLoss: loss, trainLoss: loss };
    });
    const final = ends[3].valLoss;
    lab.markRunning(run.id, { backend: "js" });
    lab.appendMetrics(run.id, [{ step: 200, tokens: D, flops: run.C, lr: 1e-3, trainLoss: final, valLoss: final, gradNorm: 1, elapsed: 1, tokensPerSec: 1 }]);
    lab.finishRun(run.id, { tokens: D, flops: run.C, finalTrainLoss: final, finalValLoss: final, bestValLoss: final, elapsed: 1 });
    lab.recordEndpoints(run.id, ends);
  });
  return { dir, lab };
}

test("the largest run is predicted before it trains, and scored within 1% after, from endpoints with ≤ 1/10 of its compute", async () => {
  // the headline distance only: each distance is one more fit from the full grid of starts
  const opts = { version: "test", bootstrap: 60, workers: 1, seed: 1, distances: [10] };
  const before = syntheticLab({ trainLargest: false });
  const a0 = await analyzeSweep(before.lab, "syn", opts);
  const p0 = a0.prediction!;
  assert.equal(p0.run, "syn.r8");
  assert.equal(p0.main!.K, 10);
  assert.equal(p0.main!.actual, null);
  assert.ok(p0.main!.extrapolationFactor >= 10, `extrapolation ${p0.main!.extrapolationFactor}`);
  const truth = law(p0.N, p0.D);
  assert.ok(Math.abs(p0.main!.predicted - truth) / truth < 0.01, `predicted ${p0.main!.predicted} vs law ${truth}`);
  assert.deepEqual(storedAnalysis(before.lab, "syn"), JSON.parse(JSON.stringify(a0)), "stored as returned");
  before.lab.close();

  const trained = syntheticLab({ trainLargest: true });
  const a1 = await analyzeSweep(trained.lab, "syn", opts);
  const m = a1.prediction!.main!;
  assert.equal(m.predicted, p0.main!.predicted, "the target's own endpoints never enter its prediction");
  assert.ok(m.actual !== null && Math.abs(m.errorPct!) < 1, `error ${m.errorPct}%`);
  assert.equal(m.inInterval, true);
  assert.ok(m.constants && Math.abs(m.constants.alpha - LAW.alpha) < 0.1, `the fit's constants are kept: ${JSON.stringify(m.constants)}`);
  trained.lab.close();
});

test("scaling-lab predict: --json contract, the analysis stored, the table in text", () => {
  // five sizes: fewer distances to fit (K = 2, 4, 10), a fast test
  const { dir, lab } = syntheticLab({ trainLargest: true, sizes: 5 });
  lab.close();
  const r = runCli(["predict", "--sweep", "syn", "--lab", dir, "--k", "4", "--bootstrap", "20", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, "one JSON line");
  const j = JSON.parse(lines[0]);
  assert.equal(j.sweep, "syn");
  assert.equal(j.target, "syn.r4");
  assert.equal(j.K, 4);
  assert.equal(j.stored, true);
  assert.equal(j.paramCount, "total");
  for (const k of ["predicted", "interval", "actual", "errorPct", "inInterval", "extrapolationFactor", "fitPoints", "fitRuns"]) assert.ok(k in j.prediction, k);
  assert.ok(Math.abs(j.prediction.errorPct) < 2, `error ${j.prediction.errorPct}%`);
  assert.ok(j.table.some((row: { K: number }) => row.K === 4) && j.table.length >= 2);
  assert.ok(j.chinchilla.tokensPerParamInterval[0] <= j.chinchilla.tokensPerParam);
  const reread = openLab(dir, { readonly: true });
  try {
    const stored = storedAnalysis(reread, "syn")!;
    assert.deepEqual(stored.prediction!.main, j.prediction, "what predict printed is what it stored");
  } finally {
    reread.close();
  }
  const text = runCli(["predict", "--sweep", "syn", "--lab", dir, "--bootstrap", "20", "--params", "non-embedding"]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /syn\.r4 .*predicted \d\.\d{4} \[\d\.\d{4}, \d\.\d{4}\] \(90%\) from \d+ endpoints of \d+ runs with ≤ 1\/10 of its compute/);
  assert.match(text.stdout, /error by extrapolation distance:\n\s+K\s+extrap\./);
  assert.match(text.stdout, /N = non-embedding parameters/);
});

test("scaling-lab predict: bad input is one line naming the fix, and the stored analysis is kept", () => {
  const { dir, lab } = syntheticLab({ trainLargest: true, sizes: 5 });
  lab.saveAnalysis("syn", "earlier", { marker: 1 });
  lab.close();
  assertOneLineError(
    runCli(["predict", "--sweep", "syn", "--lab", dir, "--k", "100000", "--bootstrap", "10"]), "K too large",
    /^scaling-lab predict: no prediction at K = 100000: .*needs at least 8 endpoints.*lower --k \(this sweep allows K ≤ \d+\)$/,
  );
  assertOneLineError(runCli(["predict", "--sweep", "syn", "--lab", dir, "--target", "nope"]), "target", /no run "nope" in sweep syn/);
  assertOneLineError(runCli(["predict", "--sweep", "zz", "--lab", dir]), "sweep", /no sweep "zz" .*known: syn/);
  assertOneLineError(runCli(["predict", "--sweep", "syn", "--lab", dir, "--law", "params"]), "law", /--law params is gone: .*drop --law/);
  assertOneLineError(runCli(["predict", "--sweep", "syn", "--lab", dir, "--bootstrap", "0"]), "bootstrap", /--bootstrap must be an integer ≥ 1/);
  assertOneLineError(runCli(["predict", "--sweep", "syn", "--lab", dir, "--k", "0.5"]), "k", /--k must be at least 1/);
  const reread = openLab(dir, { readonly: true });
  try {
    assert.deepEqual(reread.getAnalysis("syn")!.result, { marker: 1 }, "a failed predict stores nothing");
  } finally {
    reread.close();
  }
  const help = runCli(["predict", "--help"]);
  assert.match(help.stdout, /Example:\n  scaling-lab predict --sweep demo --lab lab/);
});
