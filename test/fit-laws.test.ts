/** Power laws, the compute frontier and IsoFLOP profiles on synthetic data with known answers. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type ScalingPoint,
  bootstrap,
  chinchillaLoss,
  fitFrontier,
  fitIsoflop,
  fitPower,
  groupByBudget,
  lowerEnvelope,
  powerInverse,
  powerLoss,
  predict,
  runFit,
} from "../src/fit/index.js";
import { Rng } from "../src/util/rng.js";

test("pure power law L = k·C^−α is recovered from noisy points", () => {
  const rng = new Rng(1);
  const points: ScalingPoint[] = [];
  for (let i = 0; i < 40; i++) {
    const C = 10 ** (-6 + (10 * i) / 39);
    points.push({ C, loss: 2.57 * C ** -0.048 * Math.exp(0.005 * rng.normal()) });
  }
  const fit = fitPower(points);
  assert.ok(Math.abs(fit.alpha - 0.048) < 0.002, `alpha ${fit.alpha}`);
  assert.ok(Math.abs(fit.k - 2.57) / 2.57 < 0.02, `k ${fit.k}`);
  assert.equal(fit.E, 0);
  assert.ok(fit.r2 > 0.99);
  assert.ok(Math.abs(fit.x0 ** fit.alpha - fit.k) / fit.k < 1e-9, "x0 = k^(1/α)");
});

test("power law with an irreducible term recovers E, k and α", () => {
  const points: ScalingPoint[] = [];
  const rng = new Rng(2);
  for (let i = 0; i < 30; i++) {
    const N = 10 ** (5 + (5 * i) / 29);
    points.push({ N, loss: (1.5 + 30 * N ** -0.3) * Math.exp(0.002 * rng.normal()) });
  }
  const fit = fitPower(points, { variable: "N", irreducible: true });
  assert.ok(Math.abs(fit.E - 1.5) < 0.05, `E ${fit.E}`);
  assert.ok(Math.abs(fit.alpha - 0.3) < 0.02, `alpha ${fit.alpha}`);
  assert.equal(fit.variable, "N");
  const L = powerLoss(fit, 1e8);
  assert.ok(Math.abs(powerInverse(fit, L) / 1e8 - 1) < 1e-9);
  assert.ok(Number.isNaN(powerInverse(fit, fit.E * 0.9)));
});

test("lowerEnvelope keeps exactly the points no cheaper point beats", () => {
  const pts = [
    { C: 1, loss: 5 },
    { C: 2, loss: 4 },
    { C: 2, loss: 4.5 },
    { C: 3, loss: 4.2 },
    { C: 4, loss: 3 },
    { C: 5, loss: 3 },
  ];
  assert.deepEqual(
    lowerEnvelope(pts).map((p) => [p.C, p.loss]),
    [
      [1, 5],
      [2, 4],
      [4, 3],
    ],
  );
});

test("frontier of synthetic learning curves recovers the envelope law", () => {
  // Curves from several runs (the first has only its final point); each run's final point lies on
  // L = 3·C^−0.05 and its earlier points are at least 30% above the law, so off the envelope.
  const points: ScalingPoint[] = [];
  for (let r = 0; r < 6; r++) {
    for (let s = r === 0 ? 20 : 1; s <= 20; s++) {
      const C = 10 ** (r + s / 20);
      const onFrontier = s === 20;
      points.push({ run: `run${r}`, C, loss: 3 * C ** -0.05 * (onFrontier ? 1 : 1.3 + 0.02 * (20 - s)) });
    }
  }
  const fit = fitFrontier(points);
  assert.equal(fit.kind, "frontier");
  assert.ok(Math.abs(fit.alpha - 0.05) < 1e-9, `alpha ${fit.alpha}`);
  assert.ok(Math.abs(fit.k - 3) < 1e-9, `k ${fit.k}`);
  assert.equal(fit.nRuns, 6);
  assert.ok(fit.frontier.length >= 6);
});

/** Runs from a Chinchilla law along IsoFLOP budgets: 9 sizes spanning ±1 decade around the optimum. */
function isoflopRuns(budgets: number[], noise = 0, seed = 1): ScalingPoint[] {
  const p = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 };
  const G = ((p.alpha * p.A) / (p.beta * p.B)) ** (1 / (p.alpha + p.beta));
  const a = p.beta / (p.alpha + p.beta);
  const rng = new Rng(seed);
  const out: ScalingPoint[] = [];
  for (const C of budgets) {
    const centre = G * (C / 6) ** a;
    for (let j = -4; j <= 4; j++) {
      const N = centre * 10 ** (j / 4);
      const D = C / (6 * N);
      out.push({ N, D, C, loss: chinchillaLoss(p, N, D) * Math.exp(noise * rng.normal()) });
    }
  }
  return out;
}

test("IsoFLOP recovers the Chinchilla exponent a = β/(α+β) from synthetic runs", () => {
  const fit = fitIsoflop(isoflopRuns([1e18, 1e19, 1e20, 1e21, 1e22]));
  const truth = 0.28 / 0.62;
  assert.equal(fit.groups.length, 5);
  assert.ok(Math.abs(fit.a - truth) < 0.01, `a ${fit.a} vs ${truth}`);
  assert.ok(Math.abs(fit.a + fit.b - 1) < 1e-9, "D_opt = C/(6 N_opt) ⇒ a + b = 1");
  assert.ok(fit.groups.every((g) => g.inRange));
});

test("IsoFLOP recovers an exactly known exponent when profiles are exact parabolas", () => {
  const points: ScalingPoint[] = [];
  for (const C of [1e17, 1e18, 1e19, 1e20]) {
    const lnOpt = Math.log(0.1 * C ** 0.5);
    for (let j = -3; j <= 3; j++) {
      const lnN = lnOpt + 0.5 * j;
      points.push({ N: Math.exp(lnN), C, loss: 2 + 0.05 * (lnN - lnOpt) ** 2 });
    }
  }
  const fit = fitIsoflop(points);
  assert.ok(Math.abs(fit.a - 0.5) < 1e-9, `a ${fit.a}`);
  assert.ok(Math.abs(fit.kN - 0.1) < 1e-9, `kN ${fit.kN}`);
  const [pred] = predict(fit, [{ C: 1e24 }]);
  assert.ok(Math.abs(pred.N! / (0.1 * 1e12) - 1) < 1e-9);
});

test("IsoFLOP groups budgets by tolerance and skips budgets without a minimum", () => {
  const groups = groupByBudget([{ C: 100, loss: 1 }, { C: 105, loss: 1 }, { C: 200, loss: 1 }], 0.1);
  assert.deepEqual(groups.map((g) => g.length), [2, 1]);
  const pts = isoflopRuns([1e18, 1e19]);
  // A third budget whose loss falls monotonically in N: concave-free, no minimum inside → skipped.
  for (let j = 0; j < 4; j++) pts.push({ N: 1e8 * 10 ** j, C: 1e21, loss: 3 - 0.1 * j - 0.05 * j * j });
  const fit = fitIsoflop(pts);
  assert.equal(fit.groups.length, 2);
  assert.equal(fit.skipped.length, 1);
  assert.throws(() => fitIsoflop(isoflopRuns([1e18])), /at least 2 compute budgets/);
});

test("IsoFLOP and power bootstraps give intervals that cover the truth", async () => {
  const runs = isoflopRuns([1e18, 1e19, 1e20, 1e21], 0.002, 4);
  const bs = await bootstrap("isoflop", runs, {}, { replicates: 40, seed: 2, workers: 0 });
  const truth = 0.28 / 0.62;
  assert.ok(bs.intervals.a[0] < truth && truth < bs.intervals.a[1], `a ${bs.intervals.a}`);
  const report = await runFit("power", runs, { variable: "N", bootstrap: 20, workers: 0, predict: [{ N: 1e9 }] });
  assert.ok(report.predictions![0].intervals!.loss![0] <= report.predictions![0].loss!);
  assert.ok(report.predictions![0].loss! <= report.predictions![0].intervals!.loss![1]);
});
