/**
 * The js backend is the plain reference the other backends are checked against, and the checks against it can
 * fail: its GELU is 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) with Math.tanh and its cross-entropy −log softmax,
 * bit for bit (the wasm backend's faster forms are not, which shows these tests tell them apart); and the
 * per-element check of the kernel comparisons and the reference vectors catches an error in a small entry that a
 * bound relative to the tensor's largest value lets through.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { JsBackend } from "../src/engine/js.js";
import { WasmBackend } from "../src/engine/wasm.js";
import { Rng } from "../src/util/rng.js";
import { kernelChecks } from "./backend-compare.js";
import { assertClose, randInts, randn, relError, TOLERANCE, type Tolerance } from "./helpers.js";
import { checkReferenceVectors } from "./reference-vectors.js";

/** Only the bound relative to the largest value: what the comparisons checked before the per-element check. */
const LARGEST_ONLY: Tolerance = { maxRel: TOLERANCE.maxRel, atol: 1, rtol: 1 };

/** Inputs over [−10, 10] in steps of 1/1000. */
const GELU_X = new Float32Array(20_001).map((_, i) => (i - 10_000) / 1000);

test("js GELU forward and backward are the tanh formula, bit for bit; wasm's exp form is not", () => {
  const n = GELU_X.length, S = Math.sqrt(2 / Math.PI);
  const ones = new Float32Array(n).fill(1);
  const plain = (be: JsBackend) => {
    const out = new Float32Array(n), grad = new Float32Array(n);
    be.geluForward(out, GELU_X, n);
    be.geluBackward(grad, GELU_X, ones, n);
    let differ = 0;
    for (let i = 0; i < n; i++) {
      const x = GELU_X[i], th = Math.tanh(S * (x + 0.044715 * x * x * x));
      const f = Math.fround(0.5 * x * (1 + th));
      const g = Math.fround(0.5 * (1 + th) + 0.5 * x * (1 - th * th) * S * (1 + 3 * 0.044715 * x * x));
      if (out[i] !== f || grad[i] !== g) differ++;
    }
    return differ;
  };
  assert.equal(plain(new JsBackend()), 0);
  const wasm = new WasmBackend();
  assert.ok(plain(wasm) > 0, "the wasm backend's exp form rounds differently somewhere");
  wasm.dispose();
});

test("js cross-entropy is −log softmax[target], bit for bit; wasm's one-exp form is not", () => {
  const rng = new Rng(1);
  const N = 200, V = 97;
  const logits = randn(rng, N * V, 5), targets = randInts(rng, N, V);
  targets[3] = -1;
  const differ = (be: JsBackend) => {
    const losses = new Float32Array(N), probs = new Float32Array(N * V);
    be.crossEntropyForward(losses, probs, logits, targets, N, V);
    let count = 0;
    for (let n = 0; n < N; n++) {
      const row = Array.from(logits.subarray(n * V, (n + 1) * V));
      const max = Math.max(...row);
      const e = row.map((l) => Math.exp(l - max));
      const sum = e.reduce((a, b) => a + b, 0);
      const p = e.map((x) => x / sum);
      for (let i = 0; i < V; i++) if (probs[n * V + i] !== Math.fround(p[i])) count++;
      const loss = targets[n] < 0 ? 0 : Math.fround(-Math.log(p[targets[n]]));
      if (losses[n] !== loss) count++;
    }
    return count;
  };
  assert.equal(differ(new JsBackend()), 0);
  const wasm = new WasmBackend();
  assert.ok(differ(wasm) > 0, "the wasm backend's form rounds differently somewhere");
  wasm.dispose();
});

test("the per-element check fails an error in a small entry that 1e-4 of the largest value lets through", () => {
  const expected = Float32Array.from([1, -0.5, 0.001, 0.25]);
  const actual = expected.slice();
  actual[2] += 5e-5; // 5% of that entry, 5e-5 of the largest
  assert.ok(relError(actual, expected) <= TOLERANCE.maxRel);
  assertClose("largest only", actual, expected, LARGEST_ONLY);
  assert.throws(() => assertClose("t", actual, expected), /t: element 2 is 0\.00105.*expected 0\.001/);
  actual[2] = Number.NaN;
  assert.throws(() => assertClose("t", actual, expected), /relative error NaN|element 2/);
});

/** Adds 5e-5 × max|x| to the smallest nonzero entry of x (which must be under a tenth of the largest). */
function perturbSmallEntry(x: Float32Array): void {
  let max = 0, i = -1;
  for (let k = 0; k < x.length; k++) {
    max = Math.max(max, Math.abs(x[k]));
    if (x[k] !== 0 && (i < 0 || Math.abs(x[k]) < Math.abs(x[i]))) i = k;
  }
  assert.ok(i >= 0 && Math.abs(x[i]) < 0.1 * max, "a small entry to perturb");
  x[i] += 5e-5 * max;
}

test("kernel comparisons: one small GELU output off by 5e-5 of the largest fails the per-element check", async () => {
  class OffGelu extends JsBackend {
    override geluForward(out: Float32Array, inp: Float32Array, n: number): void {
      super.geluForward(out, inp, n);
      perturbSmallEntry(out.subarray(0, n));
    }
  }
  const shape = { B: 2, T: 16, C: 32, NH: 4, V: 97 };
  const gelu = (tol?: Tolerance) => kernelChecks("perturbed", shape, () => new OffGelu(), tol).find((c) => /: gelu, residual/.test(c.title))!;
  await gelu(LARGEST_ONLY).run();
  await assert.rejects(gelu().run(), /perturbed, B2 T16 C32 NH4 V97: gelu: element \d+ is/);
  for (const c of kernelChecks("js", shape, () => new JsBackend())) await c.run(); // js against itself: exact
});

test("reference vectors: one small gradient entry off by 5e-5 of the largest fails the per-element check", async () => {
  class OffBias extends JsBackend {
    override layernormBackward(...args: Parameters<JsBackend["layernormBackward"]>): void {
      super.layernormBackward(...args);
      perturbSmallEntry(args[2]); // dbias
    }
  }
  await checkReferenceVectors(new OffBias(), "tiny", LARGEST_ONLY);
  await assert.rejects(checkReferenceVectors(new OffBias(), "tiny"), /js\/tiny: grad\.h0_ln1_b: element \d+ is/);
});
