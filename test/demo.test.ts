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
import { cliPath } from "../src/sweep/executor.js";

test("scaling-lab demo --json on a tiny ladder: contract, files, and a re-run that reuses everything", () => {
  const lab = mkdtempSync(join(tmpdir(), "sl-demo-"));
  const args = [cliPath(), "demo", "--lab", lab, "--ladder", "tiny-test", "--tokens", "12800", "--vocab", "300", "--json"];
  const out = execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const last = JSON.parse(out.trim().split("\n").pop()!);
  assert.equal(last.runs, 5);
  for (const k of ["wallSeconds", "frontierR2", "predictionErrorPct", "extrapolationFactor", "tokensPerParam"]) assert.equal(typeof last[k], "number", k);
  assert.ok(last.frontierR2 > 0 && last.frontierR2 <= 1);
  assert.ok(Math.abs(last.predictionErrorPct) < 50);
  assert.ok(last.extrapolationFactor >= 4, "the tiny ladder predicts from endpoints with ≤ 1/4 of the target's compute");
  const [lo, hi] = last.tokensPerParamInterval;
  assert.ok(lo <= last.tokensPerParam && last.tokensPerParam <= hi);
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
