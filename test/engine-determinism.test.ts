/**
 * A run's numbers do not depend on how many threads trained it (native): every kernel splits its work by the shape
 * alone, so a rung trained alone on all cores, or beside another on one core, gives bit-identical results.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createBackend } from "../src/engine/index.js";
import type { NativeBackend } from "../src/engine/native.js";
import { GPT } from "../src/model/gpt.js";
import { syntheticStep } from "../src/model/synthetic-step.js";
import { Rng } from "../src/util/rng.js";
import { randInts, randn } from "./helpers.js";

const skip = process.env.SCALING_LAB_SKIP_NATIVE === "1" && "SCALING_LAB_SKIP_NATIVE=1";

test("native kernels give bit-identical outputs on 1 and 3 threads", { skip }, async () => {
  const bes = [(await createBackend("native", { threads: 1 })) as NativeBackend, (await createBackend("native", { threads: 3 })) as NativeBackend];
  try {
    const rng = new Rng(7);
    const [B, T, C, NH, OC, V] = [8, 128, 80, 5, 320, 512];
    const N = B * T;
    const inp = randn(rng, N * C), w = randn(rng, Math.max(OC, V) * C), bias = randn(rng, OC), dout = randn(rng, N * OC);
    const qkv = randn(rng, N * 3 * C), dy = randn(rng, N * C), ids = randInts(rng, N, V);
    const outs = bes.map((be) => {
      const mm = new Float32Array(N * OC);
      be.matmulForward(mm, inp, w.subarray(0, OC * C), bias, N, C, OC);
      const di = new Float32Array(N * C), dw = new Float32Array(OC * C), db = new Float32Array(OC);
      be.matmulBackward(di, dw, db, dout, inp, w.subarray(0, OC * C), N, C, OC);
      const y = new Float32Array(N * C), att = new Float32Array(B * NH * T * T), dq = new Float32Array(N * 3 * C);
      be.attentionForward(y, att, qkv, B, T, C, NH);
      be.attentionBackward(dq, new Float32Array(B * NH * T * T), dy, qkv, att, B, T, C, NH);
      // GPT-3's banded layers (W = 24): each head on one thread, whatever the thread count
      const yb = new Float32Array(N * C), attb = new Float32Array(B * NH * T * 24), dqb = new Float32Array(N * 3 * C);
      be.attentionForward(yb, attb, qkv, B, T, C, NH, 24);
      be.attentionBackward(dqb, new Float32Array(B * NH * T * 24), dy, qkv, attb, B, T, C, NH, 24);
      const m = new Float32Array(N), r = new Float32Array(N), ln = new Float32Array(N * C);
      be.layernormForward(ln, m, r, inp, bias.subarray(0, C), bias.subarray(C, 2 * C), N, C);
      const losses = new Float32Array(N), dl = new Float32Array(N * C), dwte = new Float32Array(V * C);
      be.classifier(losses, dl, dwte, null, inp, w.subarray(0, V * C), ids, 1 / N, N, C, V);
      return { mm, di, dw, db, y, dq, yb, attb, dqb, ln, losses, dl, dwte };
    });
    for (const k of Object.keys(outs[0]) as (keyof (typeof outs)[0])[]) assert.deepEqual(outs[1][k], outs[0][k], `${k} differs between 1 and 3 threads`);
  } finally {
    for (const be of bes) be.dispose();
  }
});

test("training steps on 1 and 2 threads leave bit-identical weights (native)", { skip }, async () => {
  const cfg = { nLayer: 2, nHead: 5, nEmbd: 80, vocabSize: 512, blockSize: 64 };
  const results: { norms: number[]; weights: Float32Array }[] = [];
  for (const threads of [1, 2]) {
    const be = await createBackend("native", { threads });
    try {
      const model = new GPT(be, cfg, 0);
      const step = syntheticStep(model, 16, 64);
      const norms: number[] = [];
      for (let i = 0; i < 4; i++) norms.push(await step());
      results.push({ norms, weights: await be.read(model.params) });
    } finally {
      be.dispose();
    }
  }
  assert.deepEqual(results[1].norms, results[0].norms);
  assert.deepEqual(results[1].weights, results[0].weights);
});
