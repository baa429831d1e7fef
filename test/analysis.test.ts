/**
 * The sweep analysis on synthetic endpoints drawn from a known law: it recovers the law, leave-future-out uses only
 * other runs' endpoints with ≤ 1/K of the target's compute, and a bootstrap by run is wider than one by point when a
 * run's endpoints share its noise.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { analyzeEndpoints, type EndpointInput, leaveFutureOut } from "../src/analysis/index.js";
import { runFit } from "../src/fit/index.js";
import { Rng } from "../src/util/rng.js";

const LAW = { E: 1.8, A: 60, B: 900, alpha: 0.35, beta: 0.45 };
const law = (N: number, D: number) => LAW.E + LAW.A / N ** LAW.alpha + LAW.B / D ** LAW.beta;

/** A ladder of `sizes` runs, each with endpoints at D/8, D/4, D/2, D; noise per point and/or per run (log scale). */
function ladder(opts: { pointNoise?: number; runNoise?: number; seed?: number; sizes?: number } = {}): EndpointInput[] {
  const rng = new Rng(opts.seed ?? 1);
  const out: EndpointInput[] = [];
  const D = 4e6;
  for (let i = 0; i < (opts.sizes ?? 7); i++) {
    const params = 3e4 * 1.8 ** i;
    const runShift = (opts.runNoise ?? 0) * rng.normal();
    for (const f of [1 / 8, 1 / 4, 1 / 2, 1]) {
      const d = D * f;
      const loss = law(params, d) * Math.exp(runShift + (opts.pointNoise ?? 0) * rng.normal());
      out.push({ run: `r${i}`, params, nonEmbedding: params * 0.6, D: d, C: 6 * params * d, loss });
    }
  }
  return out;
}

test("the analysis recovers a known L(N, D), fits the frontier and predicts the held-out run", async () => {
  const pts = ladder({ pointNoise: 0.001 });
  const last = pts.filter((p) => p.run === "r6");
  const finalEp = last[last.length - 1];
  const target = { run: "r6", params: finalEp.params, nonEmbedding: finalEp.nonEmbedding, D: finalEp.D, C: finalEp.C, actual: finalEp.loss };
  const a = await analyzeEndpoints(pts, target, { bootstrap: 40, workers: 1, seed: 3 });
  assert.equal(a.paramCount, "total");
  const c = a.chinchilla!;
  assert.ok(Math.abs(c.alpha - LAW.alpha) < 0.05 && Math.abs(c.beta - LAW.beta) < 0.05, `α ${c.alpha}, β ${c.beta}`);
  assert.ok(Math.abs(c.E - LAW.E) < 0.1, `E ${c.E}`);
  assert.ok(c.tokensPerParamInterval[0] <= c.tokensPerParam && c.tokensPerParam <= c.tokensPerParamInterval[1]);
  assert.ok(a.frontier!.r2 > 0.99, `frontier R² ${a.frontier!.r2}`);
  assert.ok(a.frontier!.decades > 2);
  const m = a.prediction!.main!;
  assert.equal(m.K, 10);
  assert.ok(m.extrapolationFactor >= 10, `extrapolation ${m.extrapolationFactor}`);
  assert.ok(Math.abs(m.errorPct!) < 1, `error ${m.errorPct}%`);
  assert.equal(m.inInterval, true);
  assert.ok(a.prediction!.table.length >= 2, "several extrapolation distances");
  for (const row of a.prediction!.table) assert.ok(row.extrapolationFactor >= row.K);
});

test("leave-future-out uses only other runs' endpoints with C ≤ C_target / K", () => {
  const pts = ladder();
  const target = { run: "r6", C: pts.find((p) => p.run === "r6" && p.D === 4e6)!.C };
  for (const K of [2, 10, 50]) {
    const set = leaveFutureOut(pts, target, K);
    assert.ok(set.length > 0);
    for (const p of set) assert.ok(p.run !== "r6" && p.C <= target.C / K);
    const excluded = pts.filter((p) => p.run !== "r6" && p.C <= target.C / K && !set.includes(p));
    assert.equal(excluded.length, 0, "every qualifying endpoint is used");
  }
});

test("a bootstrap by run is wider than one by point when a run's endpoints share its noise", async () => {
  const pts = ladder({ runNoise: 0.01, pointNoise: 0.0005, seed: 5 }).map((p) => ({ ...p, N: p.params }));
  const width = async (byRun: boolean) => {
    const r = await runFit("chinchilla", pts, { bootstrap: 60, bootstrapByRun: byRun, level: 0.9, workers: 1, seed: 2, predict: [{ N: 3e4 * 1.8 ** 8, D: 4e6 }] });
    const iv = r.predictions![0].intervals!.loss!;
    return iv[1] - iv[0];
  };
  const byRun = await width(true);
  const byPoint = await width(false);
  assert.ok(byRun > 1.5 * byPoint, `by run ${byRun.toFixed(4)} vs by point ${byPoint.toFixed(4)}`);
});

test("too few endpoints: the parts that cannot be fitted say why, in one line each", async () => {
  const pts = ladder({ sizes: 2 });
  const a = await analyzeEndpoints(pts, null, { bootstrap: 10, workers: 1 });
  assert.equal(a.chinchilla, null);
  assert.ok(a.notes.some((n) => /needs at least 8 endpoints from 3 runs/.test(n) && /--branches/.test(n)), a.notes.join("\n"));
});

test("minTokens leaves the early endpoints out of L(N, D) and the prediction, not out of the frontier", async () => {
  const pts = ladder({ pointNoise: 0.001 });
  const early = await analyzeEndpoints(pts, null, { bootstrap: 10, workers: 1 });
  const late = await analyzeEndpoints(pts, null, { bootstrap: 10, workers: 1, minTokens: 4e6 / 4 });
  assert.equal(late.minTokens, 1e6);
  assert.deepEqual(late.frontier!.envelope, early.frontier!.envelope, "the frontier keeps every endpoint");
  assert.equal(early.chinchilla!.points, pts.length);
  assert.equal(late.chinchilla!.points, pts.filter((p) => p.D >= 1e6).length);
});
