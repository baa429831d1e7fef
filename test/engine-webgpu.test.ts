/**
 * The webgpu backend: the PyTorch reference vectors (logits, loss, every gradient, one AdamW step) through the GPT
 * on a GPU, every kernel against the js backend (scalar and vec4 paths, views at odd offsets, in-place aliasing,
 * 128-wide tiles and split K), a training run, and the failure modes (no adapter, a buffer over the device's
 * limits, a device lost mid-run with the last checkpoint kept).
 *
 * Without a GPU these run on Mesa's lavapipe (Vulkan on the CPU; Mesa 25 from bookworm-backports, see .ci/run):
 * shapes are tiny. They are skipped only when no adapter exists AND CI is not "true", so CI really runs them.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { type AdamWStep, attentionWidth } from "../src/engine/backend.js";
import { BackendUnavailableError, createBackend } from "../src/engine/index.js";
import { JsBackend } from "../src/engine/js.js";
import { type GpuTensor, type WebGpuBackend, createWebGpuBackend } from "../src/engine/webgpu/backend.js";
import { WebGpuError } from "../src/engine/webgpu/device.js";
import { GPT } from "../src/model/gpt.js";
import { loadCheckpoint } from "../src/train/checkpoint.js";
import { resolveTrainConfig } from "../src/train/config.js";
import { train } from "../src/train/loop.js";
import { TokenWindows } from "../src/train/token-data.js";
import { Rng } from "../src/util/rng.js";
import { bandWindows } from "./banded-compare.js";
import { randInts, randn, assertClose } from "./helpers.js";
import { REFERENCE_FILES, checkReferenceVectors } from "./reference-vectors.js";

// lavapipe compiles shaders about twice as fast at 128-bit vectors; tiny test shapes do not miss the width
process.env.LP_NATIVE_VECTOR_WIDTH ??= "128";

const TOL = 1e-4;
const probe = await createWebGpuBackend().catch((e: Error) => e);
const skip =
  probe instanceof Error && process.env.CI !== "true" ? `no WebGPU adapter (${probe.message.split(";")[0]}); CI runs these` : false;

/** The one backend every test shares (compiled pipelines are reused across tests). */
function gpu(): WebGpuBackend {
  if (probe instanceof Error) throw probe;
  return probe;
}

const js = new JsBackend();
const close = (name: string, a: Float32Array, b: Float32Array, tol = TOL) => assertClose(name, a, b, tol);

/** A GPU tensor holding `data`, as a view `pad` elements into a larger buffer (pad 1 also forces scalar loads). */
function up(data: Float32Array, pad: number): GpuTensor {
  const be = gpu();
  const buf = be.alloc(data.length + 2 * pad);
  const v = be.view(buf, pad, data.length);
  be.write(v, data);
  return v;
}

const down = (t: GpuTensor) => gpu().read(t);

interface Shape {
  B: number;
  T: number;
  C: number;
  NH: number;
  V: number;
  /** View offset of every tensor: 1 exercises the scalar paths, 4 the vec4 paths. */
  pad: number;
}

const shapes: Shape[] = [
  { B: 2, T: 5, C: 12, NH: 3, V: 7, pad: 1 },
  { B: 2, T: 20, C: 32, NH: 4, V: 64, pad: 4 },
  // several 64-row attention tiles: the causal tile skipping and K ranges cross tile boundaries
  { B: 1, T: 130, C: 24, NH: 2, V: 9, pad: 1 },
  { B: 1, T: 132, C: 32, NH: 2, V: 64, pad: 4 },
];

test("webgpu: the reference vectors match PyTorch (logits, loss, all gradients, one AdamW step)", { skip: skip }, async (t) => {
  for (const file of REFERENCE_FILES) {
    const r = await checkReferenceVectors(gpu(), file);
    t.diagnostic(`webgpu/${file}: ${r.tensors} tensors, worst ${r.worstName} rel err ${r.worstError.toExponential(2)}`);
  }
});

for (const s of shapes) {
  const { B, T, C, NH, V, pad } = s;
  const N = B * T;
  const label = `B${B} T${T} C${C} NH${NH} V${V} pad ${pad}`;

  test(`webgpu kernels vs js: encoder, layernorm, gelu, residual (${label})`, { skip }, async () => {
    const be = gpu();
    const rng = new Rng(1);
    const ids = randInts(rng, N, V);
    ids[3] = ids[0]; // a repeated token: two positions add into one dwte row
    const inp = be.allocInt(N);
    be.writeInt(inp, ids);
    const wte = randn(rng, V * C), wpe = randn(rng, T * C), dout = randn(rng, N * C);
    const out = up(new Float32Array(N * C), pad);
    be.encoderForward(out, inp, up(wte, pad), up(wpe, pad), B, T, C);
    const o2 = new Float32Array(N * C);
    js.encoderForward(o2, ids, wte, wpe, B, T, C);
    close("encoder out", await down(out), o2);
    const dwte = randn(rng, V * C), dwpe = randn(rng, T * C);
    const gdwte = up(dwte, pad), gdwpe = up(dwpe, pad);
    be.encoderBackward(gdwte, gdwpe, up(dout, pad), inp, B, T, C);
    js.encoderBackward(dwte, dwpe, dout, ids, B, T, C);
    close("dwte (accumulated)", await down(gdwte), dwte);
    close("dwpe (accumulated)", await down(gdwpe), dwpe);

    const x = randn(rng, N * C, 3), w = randn(rng, C), b = randn(rng, C);
    const gx = up(x, pad), gw = up(w, pad), gb = up(b, pad);
    const lo = up(new Float32Array(N * C), pad), lm = up(new Float32Array(N), pad), lr = up(new Float32Array(N), pad);
    be.layernormForward(lo, lm, lr, gx, gw, gb, N, C);
    const lo2 = new Float32Array(N * C), lm2 = new Float32Array(N), lr2 = new Float32Array(N);
    js.layernormForward(lo2, lm2, lr2, x, w, b, N, C);
    close("layernorm out", await down(lo), lo2);
    close("mean", await down(lm), lm2);
    close("rstd", await down(lr), lr2);
    const dinp = randn(rng, N * C), dw = randn(rng, C), db = randn(rng, C);
    // dweight and dbias as views of one buffer, as the model's gradients are
    const grads = be.alloc(2 * C + pad);
    const gdw = be.view(grads, pad, C), gdb = be.view(grads, pad + C, C);
    be.write(gdw, dw);
    be.write(gdb, db);
    const gdinp = up(dinp, pad);
    be.layernormBackward(gdinp, gdw, gdb, up(dout, pad), gx, gw, lm, lr, N, C);
    js.layernormBackward(dinp, dw, db, dout, x, w, lm2, lr2, N, C);
    close("layernorm dinp (accumulated)", await down(gdinp), dinp);
    close("layernorm dweight", await down(gdw), dw);
    close("layernorm dbias", await down(gdb), db);

    const n = N * 4 * C;
    const a = randn(rng, n, 3), d = randn(rng, n), y = randn(rng, n);
    const ga = up(a, pad), go = up(new Float32Array(n), pad);
    const ref = new Float32Array(n);
    be.geluForward(go, ga, n);
    js.geluForward(ref, a, n);
    close("gelu", await down(go), ref);
    const gd = up(d, pad);
    be.geluBackward(gd, ga, gd, n); // in place, as the model calls it
    js.geluBackward(ref, a, d, n);
    close("dgelu in place", await down(gd), ref);
    const gacc = up(a, pad);
    be.residualForward(gacc, gacc, up(y, pad), n); // out aliases a
    js.residualForward(ref, a, y, n);
    close("residual in place", await down(gacc), ref);
  });

  test(`webgpu kernels vs js: matmul, attention (${label})`, { skip }, async () => {
    const be = gpu();
    const rng = new Rng(3);
    for (const OC of [3 * C, V]) {
      const inp = randn(rng, N * C), w = randn(rng, OC * C, 0.1), bias = randn(rng, OC), dout = randn(rng, N * OC);
      // weight and bias in one parameter buffer, as in the model
      const params = be.alloc(OC * C + OC + pad);
      const gw = be.view(params, pad, OC * C), gbias = be.view(params, pad + OC * C, OC);
      be.write(gw, w);
      be.write(gbias, bias);
      const ginp = up(inp, pad);
      for (const withBias of [true, false]) {
        const go = up(randn(rng, N * OC), pad), ref = new Float32Array(N * OC);
        be.matmulForward(go, ginp, gw, withBias ? gbias : null, N, C, OC);
        js.matmulForward(ref, inp, w, withBias ? bias : null, N, C, OC);
        close(`matmul out (OC ${OC}, bias ${withBias})`, await down(go), ref);
      }
      const dw = randn(rng, OC * C), db = randn(rng, OC);
      const gradBuf = be.alloc(OC * C + OC + pad);
      const gdw = be.view(gradBuf, pad, OC * C), gdb = be.view(gradBuf, pad + OC * C, OC);
      be.write(gdw, dw);
      be.write(gdb, db);
      const gdinp = up(randn(rng, N * C), pad), dinp = new Float32Array(N * C);
      be.matmulBackward(gdinp, gdw, gdb, up(dout, pad), ginp, gw, N, C, OC);
      js.matmulBackward(dinp, dw, db, dout, inp, w, N, C, OC);
      close(`matmul dinp (OC ${OC})`, await down(gdinp), dinp);
      close(`matmul dweight (accumulated, OC ${OC})`, await down(gdw), dw);
      close(`matmul dbias (accumulated, OC ${OC})`, await down(gdb), db);
    }

    const qkv = randn(rng, N * 3 * C), dout = randn(rng, N * C);
    const gqkv = up(qkv, pad);
    const gout = up(randn(rng, N * C), pad), gatt = up(randn(rng, B * NH * T * T), pad);
    be.attentionForward(gout, gatt, gqkv, B, T, C, NH);
    const out = new Float32Array(N * C), att = new Float32Array(B * NH * T * T);
    js.attentionForward(out, att, qkv, B, T, C, NH);
    close("attention out", await down(gout), out);
    close("att (zero above the diagonal)", await down(gatt), att);
    const gdqkv = up(randn(rng, N * 3 * C), pad), gscratch = up(randn(rng, B * NH * T * T), pad);
    be.attentionBackward(gdqkv, gscratch, up(dout, pad), gqkv, gatt, B, T, C, NH);
    const dqkv = new Float32Array(N * 3 * C), scratch = new Float32Array(B * NH * T * T);
    js.attentionBackward(dqkv, scratch, dout, qkv, att, B, T, C, NH);
    close("dqkv (overwritten)", await down(gdqkv), dqkv);
  });

  test(`webgpu kernels vs js: banded attention at W = ${bandWindows(T).join(", ")} (${label})`, { skip }, async () => {
    const be = gpu();
    const rng = new Rng(7);
    const qkv = randn(rng, N * 3 * C), dout = randn(rng, N * C);
    const gqkv = up(qkv, pad), gdout = up(dout, pad);
    const dense = { out: new Float32Array(0), att: new Float32Array(0), dqkv: new Float32Array(0) };
    for (const W of [0, ...bandWindows(T)]) {
      const n = B * NH * T * attentionWidth(T, W);
      const gout = up(randn(rng, N * C), pad), gatt = up(randn(rng, n), pad);
      const gdqkv = up(randn(rng, N * 3 * C), pad), gscratch = up(randn(rng, n), pad);
      be.attentionForward(gout, gatt, gqkv, B, T, C, NH, W);
      be.attentionBackward(gdqkv, gscratch, gdout, gqkv, gatt, B, T, C, NH, W);
      const got = { out: await down(gout), att: await down(gatt), dqkv: await down(gdqkv) };
      const jsAtt = new Float32Array(n), jsOut = new Float32Array(N * C), jsDqkv = new Float32Array(N * 3 * C);
      js.attentionForward(jsOut, jsAtt, qkv, B, T, C, NH, W);
      js.attentionBackward(jsDqkv, new Float32Array(n), dout, qkv, jsAtt, B, T, C, NH, W);
      close(`W ${W}: out`, got.out, jsOut);
      close(`W ${W}: att`, got.att, jsAtt);
      close(`W ${W}: dqkv (overwritten)`, got.dqkv, jsDqkv);
      if (W === 0) Object.assign(dense, got);
      else if (W >= T) assert.deepEqual(got, dense, `W ${W} ≥ T is the dense kernel`);
    }
  });

  test(`webgpu kernels vs js: cross-entropy, sum of squares, AdamW with clipping (${label})`, { skip }, async () => {
    const be = gpu();
    const rng = new Rng(6);
    const logits = randn(rng, N * V, 4);
    const ids = randInts(rng, N, V);
    ids[1] = -1; // ignored position
    const targets = be.allocInt(N);
    be.writeInt(targets, ids);
    const glog = up(logits, pad), gl = up(new Float32Array(N), pad);
    be.crossEntropyForward(gl, glog, glog, targets, N, V); // probs in place, as the model does
    const l2 = new Float32Array(N), p2 = new Float32Array(N * V);
    js.crossEntropyForward(l2, p2, logits, ids, N, V);
    const losses = await down(gl);
    close("losses", losses, l2);
    assert.equal(losses[1], 0);
    close("probs in place", await down(glog), p2);
    be.crossEntropyBackward(glog, glog, targets, 1 / N, N, V);
    const d2 = new Float32Array(N * V);
    js.crossEntropyBackward(d2, p2, ids, 1 / N, N, V);
    close("dlogits in place", await down(glog), d2);

    const n = N * C * 5 + 3;
    const g = randn(rng, n), p = randn(rng, n), m = randn(rng, n, 0.01), v = randn(rng, n, 0.01).map(Math.abs);
    const gg = up(g, pad), ns = up(new Float32Array(1), pad);
    be.sumSquares(ns, gg, n);
    const ns2 = new Float32Array(1);
    js.sumSquares(ns2, g, n);
    close("sum of squares", await down(ns), ns2);
    const hp: AdamWStep = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3, maxNorm: 1 };
    const gp = up(p, pad), gm = up(m, pad), gv = up(v, pad);
    be.adamw(gp, gg, gm, gv, n, hp, ns);
    js.adamw(p, g, m, v, n, hp, ns2);
    assert.ok(Math.sqrt(ns2[0]) > hp.maxNorm, "the test gradient is large enough to be clipped");
    close("adamw param (clipped on the device)", await down(gp), p);
    close("adamw m", await down(gm), m);
    close("adamw v", await down(gv), v);
  });
}

test("webgpu matmul and attention: 128-wide tiles, K split across workgroups, scalar fallback", { skip }, async () => {
  const be = gpu();
  const rng = new Rng(9);
  const N = 136, C = 64, OC = 132; // partial tiles at both edges
  const inp = randn(rng, N * C), w = randn(rng, OC * C, 0.1), bias = randn(rng, OC), dout = randn(rng, N * OC);
  const params = be.alloc(OC * C + OC);
  const gw = be.view(params, 0, OC * C), gbias = be.view(params, OC * C, OC);
  be.write(gw, w);
  be.write(gbias, bias);
  const ginp = up(inp, 0), gdout = up(dout, 0);
  const ref = new Float32Array(N * OC);
  js.matmulForward(ref, inp, w, bias, N, C, OC);
  const dw0 = randn(rng, OC * C);
  const dwRef = dw0.slice();
  js.matmulBackward(null, dwRef, null, dout, inp, w, N, C, OC);
  for (const policy of [{ tile: 8 as const }, { splits: 3 }, { tile: 8 as const, splits: 2 }, { scalar: true, splits: 2 }]) {
    be.setGemmPolicy(policy);
    const go = up(new Float32Array(N * OC), 0);
    be.matmulForward(go, ginp, gw, gbias, N, C, OC);
    close(`matmul out ${JSON.stringify(policy)}`, await down(go), ref);
    const gdw = up(dw0, 0);
    be.matmulBackward(null, gdw, null, gdout, ginp, gw, N, C, OC);
    close(`matmul dweight ${JSON.stringify(policy)}`, await down(gdw), dwRef);
  }
  // batched causal products with 128-row tiles: T = 260 spans three tiles
  const B = 1, T = 260, Ca = 32, NH = 2, Na = B * T;
  const qkv = randn(rng, Na * 3 * Ca), dout2 = randn(rng, Na * Ca);
  const out = new Float32Array(Na * Ca), att = new Float32Array(B * NH * T * T);
  js.attentionForward(out, att, qkv, B, T, Ca, NH);
  const dqkv = new Float32Array(Na * 3 * Ca), scratch = new Float32Array(B * NH * T * T);
  js.attentionBackward(dqkv, scratch, dout2, qkv, att, B, T, Ca, NH);
  be.setGemmPolicy({ tile: 8 });
  const gqkv = up(qkv, 0), gout = up(new Float32Array(Na * Ca), 0), gatt = up(new Float32Array(B * NH * T * T), 0);
  be.attentionForward(gout, gatt, gqkv, B, T, Ca, NH);
  close("attention out (128 tiles)", await down(gout), out);
  close("att (128 tiles)", await down(gatt), att);
  const gdqkv = up(new Float32Array(Na * 3 * Ca), 0), gscratch = up(new Float32Array(B * NH * T * T), 0);
  be.attentionBackward(gdqkv, gscratch, up(dout2, 0), gqkv, gatt, B, T, Ca, NH);
  close("dqkv (128 tiles)", await down(gdqkv), dqkv);
  be.setGemmPolicy({});
});

/** A learnable token stream (a repeating pattern with 10% noise) over 16 ids. */
function stream(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, (_, i) => (rng.random() < 0.1 ? rng.int(16) : (i * 7) % 16));
}

/** A nano GPT run of 24 steps, checkpointed every 4. */
const trainConfig = () =>
  resolveTrainConfig(
    { preset: "nano", data: "(memory)", tokens: 16 * 16 * 24, batchTokens: 16 * 16, microBatch: 16, evalEvery: 1000, checkpointEvery: 4, lr: 1e-2, model: { blockSize: 16 }, backend: "webgpu" },
    16,
  );

test("webgpu training: the loss falls, and a step makes two host reads", { skip }, async () => {
  const be = gpu();
  const config = trainConfig();
  const dir = mkdtempSync(join(tmpdir(), "sl-webgpu-train-"));
  const s = await train(config, new TokenWindows(stream(20000, 1), stream(3000, 2), 16, 7), { outDir: dir, backend: be });
  assert.equal(s.steps, 24);
  assert.ok(s.finalTrainLoss < 2.2, `loss fell to ${s.finalTrainLoss} (log 16 = 2.77)`);

  // a training step reads the loss and the gradient norm, nothing else: count submissions and reads
  const model = new GPT(be, config.model, 0);
  const x = stream(256, 3), y = stream(256, 4);
  const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxNorm: 1 };
  const step = async () => {
    model.zeroGrad();
    await model.forward(x, y, 16, 16);
    model.backward();
    return model.step(hp);
  };
  await step();
  const reads = be.readCount, submits = be.rt.submitCount;
  await step();
  assert.equal(be.readCount - reads, 2, "one read for the losses, one for the gradient norm");
  assert.ok(be.rt.submitCount - submits <= 4, `${be.rt.submitCount - submits} queue submissions in a step`);

});

test("webgpu: a tensor over the device's buffer limit is a one-line error naming the fix", { skip }, () => {
  const be = gpu();
  const limit = Math.min(be.rt.limits.maxBufferSize, be.rt.limits.maxStorageBufferBindingSize);
  assert.throws(
    () => be.alloc(Math.floor(limit / 4) + 16),
    (e: Error) => e instanceof WebGpuError && e.kind === "limits" && /--micro-batch/.test(e.message) && !e.message.includes("\n"),
  );
  // a GPT whose logits do not fit: the error comes when activations are reserved, before any work
  const model = new GPT(be, { vocabSize: 50304, blockSize: 1024, nLayer: 1, nHead: 1, nEmbd: 8 }, 0);
  const B = Math.ceil(limit / 4 / (1024 * 50304)) + 1;
  assert.throws(() => model.reserve(B, 1024), (e: Error) => e instanceof BackendUnavailableError && /storage buffer limit/.test(e.message));
});

test("webgpu: no adapter is a one-line BackendUnavailableError naming the fix", async () => {
  const saved = process.env.SCALING_LAB_DAWN_FLAGS;
  process.env.SCALING_LAB_DAWN_FLAGS = "adapter=no-such-adapter-scaling-lab";
  try {
    await assert.rejects(createBackend("webgpu"), (e: Error) => {
      assert.ok(e instanceof BackendUnavailableError, `${e.name}: ${e.message}`);
      assert.match(e.message, /no WebGPU adapter.*fix: .*mesa-vulkan-drivers.*--backend native/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.SCALING_LAB_DAWN_FLAGS;
    else process.env.SCALING_LAB_DAWN_FLAGS = saved;
  }
});

test("webgpu: a device lost mid-run is a one-line error naming --resume, and the last checkpoint is kept", { skip }, async () => {
  // runs last: it destroys the shared device
  const be = gpu();
  const dir = mkdtempSync(join(tmpdir(), "sl-webgpu-lost-"));
  await assert.rejects(
    train(trainConfig(), new TokenWindows(stream(20000, 1), stream(3000, 2), 16, 7), {
      outDir: dir, backend: be,
      onProgress: (e) => {
        if (e.step === 5) be.rt.simulateDeviceLoss();
      },
    }),
    (e: Error) => e instanceof WebGpuError && e.kind === "device-lost" && /--resume/.test(e.message) && !e.message.includes("\n"),
  );
  assert.equal(loadCheckpoint(dir).state.step, 4);
  be.dispose();
});
