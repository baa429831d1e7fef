/**
 * The output head as one Backend operation (`classifier`): the native fused kernel against the js composition,
 * thread-count invariance, the unfused path for large heads, and the model's fused training path (forward with
 * `gradScale`) against the plain forward-then-backward.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createBackend } from "../src/engine/index.js";
import { JsBackend } from "../src/engine/js.js";
import type { NativeBackend } from "../src/engine/native.js";
import { GPT, ModelInputError } from "../src/model/gpt.js";
import { Rng } from "../src/util/rng.js";
import { assertClose, randInts, randn, testBackends } from "./helpers.js";

const skipNative = process.env.SCALING_LAB_SKIP_NATIVE === "1" && "SCALING_LAB_SKIP_NATIVE=1";

/** Random head inputs; a few targets are -1 (ignored positions). */
function headCase(N: number, C: number, V: number, seed: number) {
  const rng = new Rng(seed);
  const inp = randn(rng, N * C);
  const wte = randn(rng, V * C, 0.5);
  const targets = randInts(rng, N, V);
  for (let i = 0; i < N; i += 7) targets[i] = -1;
  const dwte0 = randn(rng, V * C, 0.1); // dwte accumulates: start from something nonzero
  return { inp, wte, targets, dwte0 };
}

function runHead(be: JsBackend | NativeBackend, N: number, C: number, V: number, seed: number, scale: number) {
  const { inp, wte, targets, dwte0 } = headCase(N, C, V, seed);
  const losses = new Float32Array(N);
  const dinp = new Float32Array(N * C);
  const dwte = dwte0.slice();
  const logits = be.classifierScratch(N, C, V) ? new Float32Array(N * V) : null;
  be.classifier(losses, dinp, dwte, logits, inp, wte, targets, scale, N, C, V);
  const lossesOnly = new Float32Array(N);
  be.classifier(lossesOnly, null, null, logits, inp, wte, targets, scale, N, C, V);
  return { losses, dinp, dwte, lossesOnly };
}

test("native fused classifier matches the js composition (losses, dinp, accumulated dwte; ignored targets)", { skip: skipNative }, async () => {
  const js = new JsBackend();
  const nb = (await createBackend("native")) as NativeBackend;
  try {
    for (const [N, C, V] of [[5, 3, 7], [300, 32, 2048], [1000, 24, 301], [4096, 16, 64]]) {
      assert.equal(nb.classifierScratch(N, C, V), false, "small heads take the fused kernel");
      const a = runHead(nb, N, C, V, N + V, 0.37);
      const b = runHead(js, N, C, V, N + V, 0.37);
      assertClose(`losses ${N}x${C}x${V}`, a.losses, b.losses);
      assertClose(`losses only ${N}x${C}x${V}`, a.lossesOnly, b.losses);
      assertClose(`dinp ${N}x${C}x${V}`, a.dinp, b.dinp);
      assertClose(`dwte ${N}x${C}x${V}`, a.dwte, b.dwte);
      for (let i = 0; i < N; i += 7) assert.equal(a.losses[i], 0, "an ignored target has loss 0");
    }
  } finally {
    nb.dispose();
  }
});

test("native classifier: 1 and 2 threads give bit-identical results", { skip: skipNative }, async () => {
  const one = (await createBackend("native", { threads: 1 })) as NativeBackend;
  const two = (await createBackend("native", { threads: 2 })) as NativeBackend;
  try {
    const a = runHead(one, 3000, 32, 512, 5, 1 / 3000);
    const b = runHead(two, 3000, 32, 512, 5, 1 / 3000);
    assert.deepEqual(a.losses, b.losses);
    assert.deepEqual(a.dinp, b.dinp);
    assert.deepEqual(a.dwte, b.dwte);
  } finally {
    one.dispose();
    two.dispose();
  }
});

test("native classifier: a head past the fused kernel's size runs unfused and still matches js", { skip: skipNative }, async () => {
  const nb = (await createBackend("native")) as NativeBackend;
  try {
    const [N, C, V] = [6, 64, 70_000];
    assert.equal(nb.classifierScratch(N, C, V), true);
    const a = runHead(nb, N, C, V, 2, 0.5);
    const b = runHead(new JsBackend(), N, C, V, 2, 0.5);
    assertClose("losses", a.losses, b.losses);
    assertClose("dinp", a.dinp, b.dinp);
    assertClose("dwte", a.dwte, b.dwte);
  } finally {
    nb.dispose();
  }
});

test("forward with gradScale then backward equals forward then backward, on every backend", async () => {
  const config = { vocabSize: 37, blockSize: 9, nLayer: 2, nHead: 2, nEmbd: 16 };
  const B = 3, T = 9;
  const rng = new Rng(4);
  const x = randInts(rng, B * T, config.vocabSize);
  const y = randInts(rng, B * T, config.vocabSize);
  y[3] = -1;
  for (const backend of await testBackends()) {
    const fused = new GPT(backend, config, 1);
    const plain = new GPT(backend, config, 1);
    fused.zeroGrad();
    plain.zeroGrad();
    const lf = (await fused.forward(x, y, B, T, { gradScale: 0.25 })).loss!;
    fused.backward(0.25);
    const lp = (await plain.forward(x, y, B, T)).loss!;
    plain.backward(0.25);
    assert.equal(lf, lp, `${backend.name}: same loss`);
    assertClose(`${backend.name} grads`, await fused.backend.read(fused.grads), await plain.backend.read(plain.grads), 1e-6);
    await fused.forward(x, y, B, T, { gradScale: 0.5 });
    assert.throws(() => fused.backward(1), (e: unknown) => e instanceof ModelInputError && /pass the same scale/.test((e as Error).message));
    await assert.rejects(fused.forward(x, y, B, T, { gradScale: NaN }), ModelInputError);
  }
});
