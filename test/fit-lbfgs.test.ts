/** The L-BFGS optimiser and its strong-Wolfe line search. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { minimizeLbfgs } from "../src/fit/lbfgs.js";

test("L-BFGS minimises the Rosenbrock function from the classic start", () => {
  let calls = 0;
  const r = minimizeLbfgs(
    (x, g) => {
      calls++;
      const [a, b] = [x[0], x[1]];
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    },
    [-1.2, 1],
  );
  assert.ok(Math.abs(r.x[0] - 1) < 1e-6 && Math.abs(r.x[1] - 1) < 1e-6, `x = ${r.x}`);
  assert.ok(r.f < 1e-12);
  assert.equal(r.evaluations, calls);
  assert.ok(r.iterations < 100, `iterations ${r.iterations}`);
});

test("L-BFGS solves an ill-conditioned quadratic in few iterations", () => {
  const scales = [1, 10, 100, 1000, 1e4];
  const r = minimizeLbfgs((x, g) => {
    let f = 0;
    for (let i = 0; i < x.length; i++) {
      f += 0.5 * scales[i] * (x[i] - i) ** 2;
      g[i] = scales[i] * (x[i] - i);
    }
    return f;
  }, [5, 5, 5, 5, 5]);
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(r.x[i] - i) < 1e-6, `x[${i}] = ${r.x[i]}`);
  assert.ok(r.reason === "gradient" || r.reason === "ftol", r.reason);
});

test("L-BFGS survives a non-finite region by backtracking", () => {
  // f = x − log(x) has its minimum at x = 1 and is NaN for x < 0; a long first step overshoots into NaN.
  const r = minimizeLbfgs((x, g) => {
    g[0] = 1 - 1 / x[0];
    return x[0] - Math.log(x[0]);
  }, [0.05]);
  assert.ok(Math.abs(r.x[0] - 1) < 1e-6, `x = ${r.x[0]}`);
});

test("L-BFGS reports a non-finite start instead of throwing", () => {
  const r = minimizeLbfgs((x, g) => {
    g[0] = NaN;
    return NaN;
  }, [0]);
  assert.equal(r.reason, "non-finite");
});
