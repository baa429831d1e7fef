/** The forecast calculator: the essay's numbers by default, laws from fit files, Monte-Carlo, bad input. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { assertOneLineError, runCli } from "./helpers.js";
import { FitError } from "../src/fit/index.js";
import { chinchillaComputeLaw, gpt3FrontierLaw, lawFromFitJson, powerComputeLaw, runForecast } from "../src/forecast/index.js";
import { PF_DAY } from "../src/util/units.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "scaling-lab-forecast-"));

test("defaults reproduce the essay: ≈2.2 million × compute, ≈$10 trillion, within $1B by ≈2038", () => {
  const r = runForecast({ samples: 0 });
  assert.ok(Math.abs(r.computeMultiple / 2.2e6 - 1) < 0.02, `multiple ${r.computeMultiple}`);
  assert.ok(Math.abs(r.costUSD / 1e13 - 1) < 0.05, `cost ${r.costUSD}`);
  assert.equal(Math.round(r.yearWithinBudget), 2038);
  assert.ok(Math.abs(r.referenceLoss - 1.73) < 0.005, `reference loss ${r.referenceLoss}`);
  // Every output follows from the stated formulas.
  assert.ok(Math.abs(r.costUSD - r.computeMultiple * 4.6e6) < 1);
  assert.ok(Math.abs(r.yearWithinBudget - (2020.4 + (16 / 12) * Math.log2(r.costUSD / 1e9))) < 1e-9);
  assert.ok(Math.abs(r.targetComputePfDays / 3640 - r.computeMultiple) < 1e-6 * r.computeMultiple);
  assert.ok(Math.abs(6 * r.data.params * r.data.tokens - r.targetComputeFlops) / r.targetComputeFlops < 1e-12);
  assert.equal(r.data.tokensPerParam, 20);
  assert.ok(Math.abs(r.data.epochsAtBudgetYear - r.data.tokens / r.data.stockAtBudgetYear) < 1e-12);
  for (const k of ["law", "referencePfDays", "referenceCostUSD", "target", "budgetUSD", "halvingMonths", "dataStockTokens", "dataDoublingYears"]) {
    assert.ok(r.assumptions[k]?.source, `assumption ${k} is printed with a source`);
  }
});

test("halving the loss exactly on L ∝ C^−0.048 needs 2^(1/0.048) × the compute", () => {
  const r = runForecast({ targetFraction: 0.5, samples: 0 });
  assert.ok(Math.abs(r.computeMultiple / 2 ** (1 / 0.048) - 1) < 1e-9, `${r.computeMultiple}`);
  const cheaper = runForecast({ targetFraction: 0.5, halvingMonths: 8, samples: 0 });
  assert.ok(cheaper.yearWithinBudget < r.yearWithinBudget);
  const rich = runForecast({ budgetUSD: 1e15, samples: 0 });
  assert.equal(rich.yearsToBudget, 0, "already within budget");
});

test("laws invert: computeFor(lossAt(C)) = C", () => {
  const laws = [
    gpt3FrontierLaw(),
    powerComputeLaw(30, 0.1, 1.5, "flop"),
    chinchillaComputeLaw({ E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 }),
  ];
  for (const law of laws) {
    for (const C of [1e20, 1e24, 1e28]) {
      assert.ok(Math.abs(law.computeFor(law.lossAt(C)) / C - 1) < 1e-9, `${law.description} at ${C}`);
    }
    assert.ok(Number.isNaN(law.computeFor(law.floor)), "the floor is never reached");
  }
  assert.ok(Math.abs(gpt3FrontierLaw().lossAt(3640 * PF_DAY) - 2.57 * 3640 ** -0.048) < 1e-12);
});

const chinchillaFitJson = {
  kind: "chinchilla",
  E: 1.8172,
  A: 477.84,
  B: 2143.86,
  alpha: 0.3473,
  beta: 0.3672,
  bootstrap: {
    samples: [
      [1.8, 400, 2000, 0.34, 0.36],
      [1.83, 550, 2300, 0.355, 0.372],
      [1.79, 300, 1500, 0.32, 0.34],
      [1.85, 700, 5000, 0.37, 0.41],
    ],
  },
};

test("a Chinchilla fit file gives compute-optimal data needs and bootstrap spread", () => {
  const { law, samples } = lawFromFitJson(chinchillaFitJson);
  assert.equal(samples.length, 4);
  const r = runForecast({ law, lawSamples: samples, targetLoss: 1.9, samples: 400, seed: 3 });
  assert.equal(r.data.method, "chinchilla-optimal");
  assert.ok(Math.abs(law.lossAt(r.targetComputeFlops) - 1.9) < 1e-9);
  const u = r.uncertainty!;
  assert.ok(u.computeMultiple.lo < u.computeMultiple.hi, "law samples make the multiple uncertain");
  assert.ok(u.yearWithinBudget.lo <= u.yearWithinBudget.median && u.yearWithinBudget.median <= u.yearWithinBudget.hi);
  // Default target with a custom law: half the reference loss — below E = 1.82, so unreachable.
  assert.throws(() => runForecast({ law, samples: 0 }), (e: unknown) => e instanceof FitError && /never reaches loss/.test(e.message));
  assert.throws(() => lawFromFitJson({ kind: "isoflop", a: 0.5 }), /no loss law in compute/);
  assert.throws(() => lawFromFitJson({ kind: "power", variable: "N", E: 0, k: 1, alpha: 0.1 }), /needs a law in compute/);
});

test("CLI contract: forecast --json prints computeMultiple, costUSD and yearWithinBudget", () => {
  const r = runCli(["forecast", "--json", "--samples", "200"]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]);
  assert.ok(Math.abs(j.computeMultiple / 2.2e6 - 1) < 0.02);
  assert.ok(Math.abs(j.costUSD / 1e13 - 1) < 0.05);
  assert.equal(Math.round(j.yearWithinBudget), 2038);
  assert.equal(j.uncertainty.samples, 200);
  const file = path.join(tmp, "law.json");
  writeFileSync(file, JSON.stringify(chinchillaFitJson));
  const f = runCli(["forecast", "--fit", file, "--target-loss", "1.95", "--samples", "100", "--json"]);
  assert.equal(f.status, 0, f.stderr);
  assert.equal(JSON.parse(f.stdout).data.method, "chinchilla-optimal");
});

test("forecast: every bad input gives one clear line and exit status 2", () => {
  const law = path.join(tmp, "law2.json");
  writeFileSync(law, JSON.stringify(chinchillaFitJson));
  const iso = path.join(tmp, "iso.json");
  writeFileSync(iso, JSON.stringify({ kind: "isoflop", a: 0.5, b: 0.5 }));
  const cases: [string[], RegExp][] = [
    [["forecast", "--fit", law], /never reaches loss .* floor is 1\.817/],
    [["forecast", "--target-loss", "5"], /target loss 5 is not below the reference loss 1\.734/],
    [["forecast", "--law-e", "1", "--target-loss", "0.9"], /never reaches loss 0\.9/],
    [["forecast", "--budget=-1"], /--budget must be a positive number/],
    [["forecast", "--halving-months-range", "24,12"], /--halving-months-range must be LO,HI/],
    [["forecast", "--fit", path.join(tmp, "none.json")], /cannot read --fit .*ENOENT/],
    [["forecast", "--fit", iso], /no loss law in compute/],
    [["forecast", "--fit", law, "--law-k", "3"], /either --fit FILE or --law-\* flags/],
    [["forecast", "--target-fraction", "1.5"], /--target-fraction must be below 1/],
    [["forecast", "--interval", "2"], /--interval must be between 0 and 1/],
  ];
  for (const [args, re] of cases) {
    assertOneLineError(runCli(args), args.join(" "), re);
  }
});
