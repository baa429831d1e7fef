/**
 * Ladders, plan arithmetic and sweeps on tiny models: finished runs are skipped on a re-run, a run killed with
 * SIGKILL resumes from its checkpoint and ends with the same loss curve as an uninterrupted run.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { flopsPerToken } from "../src/model/accounting.js";
import { openLab } from "../src/store/index.js";
import { LocalExecutor, cliPath, sideBySide } from "../src/sweep/executor.js";
import { LadderError, loadLadder, sizeParams } from "../src/sweep/ladder.js";
import { makePlan, PlanError } from "../src/sweep/plan.js";
import { runSweep, type SweepOptions } from "../src/sweep/sweep.js";
import { kaplanLearningRate } from "../src/train/config.js";
import { tinyCorpusData } from "./helpers.js";

test("built-in ladders are valid and grow in total parameters rung by rung, over ≥ 100× in non-embedding N", () => {
  for (const name of ["cpu-xs", "cpu-xs-v1", "cpu-s"]) {
    const l = loadLadder(name);
    assert.ok(l.sizes.length >= 6 && l.sizes.length <= 8, `${name} has ${l.sizes.length} sizes`);
    const vocab = l.vocab ?? 2048;
    const Ns = l.sizes.map((s) => sizeParams(s, l.blockSize).nonEmbedding);
    assert.ok(Ns[Ns.length - 1] / Ns[0] >= 100, `${name} spans ${Ns[Ns.length - 1] / Ns[0]}×`);
    const totals = l.sizes.map((s) => sizeParams(s, l.blockSize, vocab).total);
    // the landed ladder (cpu-xs-v1, kept for comparison) is the one whose embedding made capacity grow too slowly
    if (name === "cpu-xs") for (let i = 1; i < totals.length; i++) assert.ok(totals[i] >= 1.5 * totals[i - 1], `${name}/${l.sizes[i].name}: total parameters grow ≥ 1.5× a rung`);
    for (const s of l.sizes) {
      // GPT-3's shapes at small scale: d ≈ 24–100 × nLayer, heads of 16 (1-layer rungs below d = 32 excepted)
      if (s.nLayer >= 2) {
        const ratio = s.nEmbd / s.nLayer;
        assert.ok(ratio >= 24 && ratio <= 100, `${name}/${s.name} aspect ratio ${ratio}`);
      }
      if (s.nEmbd >= 16) assert.equal(s.nEmbd / s.nHead, 16, "fixed head size");
    }
  }
  assert.ok(kaplanLearningRate(1e4) > kaplanLearningRate(1e6), "learning rate falls with size");
});

test("ladder errors name the fix", () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-ladder-"));
  assert.throws(() => loadLadder("nope"), (e: Error) => e instanceof LadderError && /built-in ladders/.test(e.message));
  const bad = join(dir, "bad.json");
  writeFileSync(bad, JSON.stringify({ blockSize: 16, batchTokens: 64, sizes: [{ name: "a", nLayer: 1, nHead: 3, nEmbd: 8 }, { name: "b", nLayer: 2, nHead: 2, nEmbd: 8 }] }));
  assert.throws(() => loadLadder(bad), /not divisible by nHead 3/);
  writeFileSync(bad, JSON.stringify({ blockSize: 16, batchTokens: 64, sizes: [{ name: "a", nLayer: 2, nHead: 2, nEmbd: 8 }, { name: "b", nLayer: 1, nHead: 2, nEmbd: 8 }] }));
  assert.throws(() => loadLadder(bad), /not larger/);
});

test("plan arithmetic: curves, isoflop (D = C/6N) and grid", () => {
  const ladder = loadLadder("cpu-xs");
  const base = { sweep: "p", ladder, data: "/d", vocabSize: 512 };
  const curves = makePlan({ ...base, kind: "curves", tokens: [4e6] });
  assert.equal(curves.length, 8);
  for (const r of curves) {
    assert.equal(r.D % ladder.batchTokens, 0);
    assert.ok(Math.abs(r.D - 4e6) <= ladder.batchTokens / 2);
    assert.equal(r.C, flopsPerToken(r.config.model as never, ladder.blockSize).training * r.D);
  }
  assert.equal(curves[0].id, "p.xs-0.d4m.s1337");
  assert.equal(curves[0].config.schedule, "wsd", "the ladder's recipe reaches every run");
  assert.deepEqual(curves[0].config.branches, [0.25, 0.5]);
  assert.ok((curves[0].config.lr as number) > (curves[7].config.lr as number), "the learning rate falls with size");
  const iso = makePlan({ ...base, kind: "isoflop", budgets: [1e13, 1e14] });
  for (const r of iso) {
    const ideal = r.budget! / (6 * r.N);
    assert.ok(Math.abs(r.D - ideal) <= ladder.batchTokens / 2 + 1, `${r.id}: D ${r.D} vs C/6N ${ideal}`);
    assert.ok(r.D / ladder.batchTokens >= 20);
  }
  assert.ok(iso.filter((r) => r.budget === 1e14).length > iso.filter((r) => r.budget === 1e13).length - 3);
  const grid = makePlan({ ...base, kind: "grid", tokens: [1e6, 2e6], seeds: [1, 2], sizes: ["xs-1", "xs-2"] });
  assert.equal(grid.length, 8);
  assert.equal(new Set(grid.map((r) => r.id)).size, 8);
  assert.throws(() => makePlan({ ...base, kind: "isoflop", budgets: [1e6] }), (e: Error) => e instanceof PlanError && /too small for any size/.test(e.message));
  assert.throws(() => makePlan({ ...base, kind: "nope" as never, tokens: [1] }), /unknown plan/);
  assert.throws(() => makePlan({ ...base, kind: "curves", tokens: [8192] }), /raise --tokens/);
});


test("a sweep trains every run once, and a re-run skips finished runs", async () => {
  const data = await tinyCorpusData();
  const lab = mkdtempSync(join(tmpdir(), "sl-lab-"));
  const opts: SweepOptions = { lab, sweep: "s1", plan: "curves", ladder: "tiny-test", data, tokens: [256 * 24] };
  const r1 = await runSweep(opts, new LocalExecutor({ threads: 2, pollMs: 100 }));
  assert.deepEqual(r1.outcomes.map((o) => o.status), ["done", "done", "done", "done", "done"]);
  const r2 = await runSweep(opts, new LocalExecutor({ threads: 2 }));
  assert.deepEqual(r2.outcomes.map((o) => o.status), ["skipped", "skipped", "skipped", "skipped", "skipped"]);
  const l = openLab(lab);
  for (const run of l.listRuns({ sweep: "s1" })) {
    assert.equal(run.status, "done");
    assert.equal(l.metrics(run.id).length, 24);
    assert.ok(run.finalValLoss !== null && run.finalValLoss > 0);
  }
  l.close();
});

test("a wsd sweep with cooldown branches records each run's endpoints in the store once", async () => {
  const data = await tinyCorpusData();
  const lab = mkdtempSync(join(tmpdir(), "sl-lab-ep-"));
  const opts: SweepOptions = {
    lab, sweep: "e", plan: "curves", ladder: "tiny-test", data, tokens: [256 * 24], sizes: ["t-1", "t-2"],
    overrides: { schedule: "wsd", branches: [0.5], minLrFraction: 0 },
  };
  await runSweep(opts, new LocalExecutor({ threads: 2 }));
  await runSweep(opts, new LocalExecutor({ threads: 2 }));
  const l = openLab(lab);
  const pts = l.endpointPoints("e");
  assert.deepEqual(pts.map((p) => p.D), [256 * 12, 256 * 24, 256 * 12, 256 * 24]);
  for (const p of pts) assert.ok(p.loss > 0 && p.params! > p.N && p.C > 0);
  const run = l.listRuns({ sweep: "e" })[0];
  assert.equal(pts.find((p) => p.run === run.id && p.D === 256 * 24)!.loss, run.finalValLoss, "the final endpoint is the run's final val loss");
  l.close();
});

test("runs trained side by side on one thread each end with the same losses as runs trained alone on two", async () => {
  const data = await tinyCorpusData();
  const curves = async (concurrency: number) => {
    const lab = mkdtempSync(join(tmpdir(), `sl-lab-c${concurrency}-`));
    await runSweep({ lab, sweep: "c", plan: "curves", ladder: "tiny-test", data, tokens: [256 * 20], sizes: ["t-2", "t-3"], overrides: { backend: process.env.SCALING_LAB_SKIP_NATIVE === "1" ? "wasm" : "native" } },
      new LocalExecutor({ threads: 2, concurrency }));
    const l = openLab(lab);
    const out = l.listRuns({ sweep: "c" }).map((r) => l.metrics(r.id).map((m) => m.trainLoss));
    l.close();
    return out;
  };
  assert.deepEqual(await curves(2), await curves(1));
});

test("the executor trains small runs side by side when one thread each out-trains all threads on one", () => {
  assert.equal(sideBySide(1.0, 0.6, 2), true, "2 × 0.9 / 1.0 > 1 / 0.6");
  assert.equal(sideBySide(1.0, 0.5, 2), false, "perfect scaling: one run on both cores");
  assert.equal(sideBySide(1.0, 0.25, 4), false, "4 cores at perfect scaling");
  assert.equal(sideBySide(1.0, 0.4, 4), true, "4 cores scaling 2.5×");
});

test("the local executor splits SCALING_LAB_THREADS between its runs when --threads is not given", async () => {
  const data = await tinyCorpusData();
  const lab = mkdtempSync(join(tmpdir(), "sl-lab-"));
  const opts: SweepOptions = { lab, sweep: "env", plan: "curves", ladder: "tiny-test", data, tokens: [256 * 20], sizes: ["t-1"] };
  const before = process.env.SCALING_LAB_THREADS;
  process.env.SCALING_LAB_THREADS = "3";
  try {
    const r = await runSweep(opts, new LocalExecutor({ pollMs: 100 }));
    assert.deepEqual(r.outcomes.map((o) => o.status), ["done"]);
    const cfg = JSON.parse(readFileSync(join(lab, "runs", r.runs[0].id, "sweep-config.json"), "utf8")) as { threads: number };
    assert.equal(cfg.threads, 3, "the run's config carries SCALING_LAB_THREADS, not the core count");
  } finally {
    if (before === undefined) delete process.env.SCALING_LAB_THREADS;
    else process.env.SCALING_LAB_THREADS = before;
  }
});

test("a run killed with SIGKILL resumes from its checkpoint with an identical loss curve", async () => {
  const data = await tinyCorpusData();
  const steps = 60;
  const base = { plan: "curves" as const, ladder: "tiny-test", data, tokens: [256 * steps], sizes: ["t-3"] };
  // reference: uninterrupted
  const labA = mkdtempSync(join(tmpdir(), "sl-labA-"));
  await runSweep({ ...base, lab: labA, sweep: "k", overrides: { checkpointEvery: 5 } }, new LocalExecutor({ threads: 2 }));
  // interrupted: start the same run as a child, SIGKILL it after its first checkpoint, then re-run the sweep
  const labB = mkdtempSync(join(tmpdir(), "sl-labB-"));
  const { recordPlan, planSweep } = await import("../src/sweep/sweep.js");
  const optsB = { ...base, lab: labB, sweep: "k", overrides: { checkpointEvery: 5 } };
  const lb = openLab(labB);
  const [run] = recordPlan(lb, optsB, planSweep(optsB).runs);
  const dir = lb.runDir(run.id);
  lb.close();
  const cfg = join(dir, "cfg.json");
  writeFileSync(cfg, JSON.stringify({ ...run.config, threads: 2 }));
  const child = spawn(process.execPath, [cliPath(), "train", "--config", cfg, "--out", dir], { stdio: "ignore" });
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      const m = join(dir, "metrics.jsonl");
      if (existsSync(join(dir, "checkpoint.safetensors")) && existsSync(m) && readFileSync(m, "utf8").split("\n").length > 12) {
        clearInterval(poll);
        child.kill("SIGKILL");
        resolve();
      }
    }, 20);
  });
  await new Promise((r) => child.on("close", r));
  const resumed = await runSweep(optsB, new LocalExecutor({ threads: 2 }));
  assert.equal(resumed.outcomes[0].status, "done");
  const a = openLab(labA);
  const b = openLab(labB);
  const ma = a.metrics(a.listRuns({ sweep: "k" })[0].id);
  const mb = b.metrics(b.listRuns({ sweep: "k" })[0].id);
  assert.equal(mb.length, steps);
  assert.deepEqual(mb.map((r) => r.trainLoss), ma.map((r) => r.trainLoss));
  assert.ok(b.listRuns({ sweep: "k" })[0].attempts >= 1);
  a.close();
  b.close();
});
