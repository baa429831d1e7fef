/**
 * The demo end to end on a tiny ladder through the CLI: the --json contract (last line holds runs, wallSeconds,
 * frontierR2, predictionErrorPct, extrapolationFactor, tokensPerParam and its interval), the summary files, and a
 * re-run that reuses the finished runs.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openLab } from "../src/store/index.js";
import { cliPath } from "../src/sweep/executor.js";

test("scaling-lab demo --json on a tiny ladder: contract, files, and a re-run that reuses everything", () => {
  const lab = mkdtempSync(join(tmpdir(), "sl-demo-"));
  const args = [cliPath(), "demo", "--lab", lab, "--ladder", "tiny-test", "--tokens", "12800", "--vocab", "300", "--json"];
  const out = execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const last = JSON.parse(out.trim().split("\n").pop()!);
  assert.equal(last.runs, 5);
  for (const k of ["wallSeconds", "frontierR2", "predictionErrorPct", "extrapolationFactor", "tokensPerParam"]) assert.equal(typeof last[k], "number", k);
  assert.ok(last.frontierR2 > 0.9 && last.frontierR2 <= 1, `frontier R² ${last.frontierR2}`);
  assert.ok(last.extrapolationFactor >= 2, "the tiny ladder predicts from endpoints with ≤ 1/2 of the target's compute");
  const [lo, hi] = last.tokensPerParamInterval;
  assert.ok(lo <= last.tokensPerParam && last.tokensPerParam <= hi);
  // The prediction: L(N, D) fitted to the smaller runs' endpoints, evaluated at the largest run's (N, D), against that
  // run's final validation loss as the lab stored it; within 5% and closer than "no gain over the next smaller size".
  const p = last.prediction;
  assert.ok(p.fitPoints >= 8, `fit on ${p.fitPoints} endpoints`);
  const store = openLab(lab);
  const runs = store.listRuns({ sweep: "demo" }).sort((a, b) => a.N - b.N);
  store.close();
  assert.equal(runs.length, 5);
  const [largest, nextSmaller] = [runs[4], runs[3]];
  assert.equal(p.run, largest.id);
  assert.equal(p.actual, largest.finalValLoss);
  assert.equal(last.predictionErrorPct, p.errorPct);
  assert.ok(Math.abs(p.errorPct - (100 * (p.predicted - p.actual)) / p.actual) < 1e-9, "errorPct = 100 (predicted − actual) / actual");
  assert.ok(p.interval[0] <= p.predicted && p.predicted <= p.interval[1]);
  assert.equal(p.inInterval, p.interval[0] <= p.actual && p.actual <= p.interval[1]);
  assert.ok(Math.abs(p.errorPct) < 5, `prediction error ${p.errorPct}%`);
  assert.ok(Math.abs(p.predicted - p.actual) < Math.abs(nextSmaller.finalValLoss! - p.actual),
    `the law (${p.predicted}) beats the next smaller run's loss (${nextSmaller.finalValLoss}) as a guess of ${p.actual}`);
  assert.ok(existsSync(join(lab, "report", "demo.json")) && existsSync(join(lab, "report", "demo.txt")));
  const again = execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const second = JSON.parse(again.trim().split("\n").pop()!);
  assert.equal(second.trainSeconds, 0, "no run was trained again");
  assert.ok(Math.abs(second.reusedSeconds - last.trainSeconds) < 1e-6, "the earlier training is reported as reused");
  assert.equal(second.prediction.actual, last.prediction.actual);
});

test("a demo whose runs fail stops with one line naming the run and the fix, not a stack trace", () => {
  const lab = mkdtempSync(join(tmpdir(), "sl-demo-fail-"));
  const args = [cliPath(), "demo", "--lab", lab, "--ladder", "tiny-test", "--tokens", "12800", "--vocab", "300", "--backend", "bogus"];
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  assert.equal(r.status, 2);
  const last = r.stderr.trim().split("\n").pop()!;
  assert.match(last, /^scaling-lab demo: run demo\.t-1\.\S+ failed \(.*unknown backend "bogus".*\); see .* re-run the demo/);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
});
