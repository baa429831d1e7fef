/** The lr plan and LR*(N): per-size optimum from a parabola in log lr, the power law over sizes, bad grids refused. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadLadder } from "../src/sweep/ladder.js";
import { bestLearningRate, fitLrLaw, LrSweepError } from "../src/sweep/lr.js";
import { makePlan, PlanError } from "../src/sweep/plan.js";

test("the best learning rate: the vertex of a parabola in log lr, or the grid's edge", () => {
  const bowl = (lr: number, best: number) => 3 + 0.2 * Math.log(lr / best) ** 2;
  const grid = [1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2];
  const r = bestLearningRate(grid.map((lr) => ({ lr, loss: bowl(lr, 5e-3) })));
  assert.ok(Math.abs(r.lrStar / 5e-3 - 1) < 1e-9, `lr* ${r.lrStar}`);
  assert.ok(Math.abs(r.lossStar - 3) < 1e-9);
  assert.equal(r.atEdge, null);
  const edge = bestLearningRate(grid.map((lr) => ({ lr, loss: bowl(lr, 0.1) })));
  assert.deepEqual([edge.lrStar, edge.atEdge], [1.6e-2, "high"]);
  const diverged = bestLearningRate(grid.map((lr) => ({ lr, loss: lr > 5e-3 ? Infinity : bowl(lr, 2e-3) })));
  assert.ok(Math.abs(diverged.lrStar / 2e-3 - 1) < 1e-9, "diverged runs count as the worst");
  assert.throws(() => bestLearningRate([{ lr: 1e-3, loss: 3 }, { lr: 2e-3, loss: 2.9 }]), LrSweepError);
});

test("LR*(N) = coef·N^exponent recovered from sizes whose optima follow it", () => {
  const law = (N: number) => 0.5 * N ** -0.4;
  const pts = [1e4, 4e4, 1.6e5, 6.4e5].flatMap((N, i) =>
    [0.25, 0.5, 1, 2, 4].map((f) => ({ size: `s${i}`, params: N, nonEmbedding: N / 2, lr: law(N) * f, loss: 3 + 0.1 * Math.log(f) ** 2 })),
  );
  const r = fitLrLaw(pts);
  assert.ok(Math.abs(r.law.exponent + 0.4) < 1e-6 && Math.abs(r.law.coef / 0.5 - 1) < 1e-5, JSON.stringify(r.law));
  assert.equal(r.law.params, "total");
  assert.ok(r.r2 > 0.999999);
  assert.throws(() => fitLrLaw(pts.filter((p) => p.size === "s0")), /at least 2 sizes/);
});

test("plan lr: sizes × learning rates; a grid with fewer than 3 values is refused with the fix", () => {
  const ladder = loadLadder("tiny-test");
  const base = { kind: "lr" as const, sweep: "l", ladder, data: "/d", vocabSize: 64, tokens: [256 * 40], sizes: ["t-1", "t-3"] };
  const runs = makePlan({ ...base, lrs: [4e-3, 1e-3, 2e-3] });
  assert.deepEqual(runs.map((r) => [r.size, r.lr, r.config.lr]), [["t-1", 1e-3, 1e-3], ["t-1", 2e-3, 2e-3], ["t-1", 4e-3, 4e-3], ["t-3", 1e-3, 1e-3], ["t-3", 2e-3, 2e-3], ["t-3", 4e-3, 4e-3]]);
  assert.equal(new Set(runs.map((r) => r.id)).size, 6);
  assert.throws(() => makePlan({ ...base, lrs: [1e-3] }), (e: Error) => e instanceof PlanError && /at least 3 distinct .*--lrs 1e-3,2e-3/.test(e.message));
  assert.throws(() => makePlan({ ...base, lrs: [1e-3, 1e-3, 2e-3] }), PlanError);
});
