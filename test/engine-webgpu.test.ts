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
import { compareKernels, compareOptimizer, type KernelShape } from "./backend-compare.js";
import { assertClose, randn } from "./helpers.js";
import { REFERENCE_FILES, checkReferenceVectors } from "./reference-vectors.js";

// lavapipe compiles shaders about twice as fast at 128-bit vectors; tiny test shapes do not miss the width
process.env.LP_NATIVE_VECTOR_WIDTH ??= "128";

const probe = await createWebGpuBackend().catch((e: Error) => e);
const skip =
  probe instanceof Error && process.env.CI !== "true" ? `no WebGPU adapter (${probe.message.split(";")[0]}); CI runs these` : false;

/** The one backend every test shares (compiled pipelines are reused across tests). */
function gpu(): WebGpuBackend {
  if (probe instanceof Error) throw probe;
  return probe;
}

const js = new JsBackend();
const close = (name: string, a: Float32Array, b: Float32Array) => assertClose(name, a, b);

/** A GPU tensor holding `data`, as a view `pad` elements into a larger buffer (pad 1 also forces scalar loads). */
function up(data: Float32Array, pad: number): GpuTensor {
  const be = gpu();
  const buf = be.alloc(data.length + 2 * pad);
  const v = be.view(buf, pad, data.length);
  be.write(v, data);
  return v;
}

const down = (t: GpuTensor) => gpu().read(t);

/** Tiny shapes (lavapipe compiles and runs slowly); pad 1 exercises the scalar paths, 4 the vec4 paths. */
const shapes: KernelShape[] = [
  { B: 2, T: 5, C: 12, NH: 3, V: 7, pad: 1 },
  { B: 2, T: 20, C: 32, NH: 4, V: 64, pad: 4 },
  // several 64-row attention tiles: the causal tile skipping and K ranges cross tile boundaries
  { B: 1, T: 130, C: 24, NH: 2, V: 9, pad: 1 },
  { B: 1, T: 132, C: 32, NH: 2, V: 64, pad: 4 },
];

test("webgpu: the reference vectors match PyTorch (logits, loss, all gradients, one AdamW step)", { skip: skip }, async (t) => {
  for (const file of REFERENCE_FILES) {
    const r = await checkReferenceVectors(gpu(), file);
    t.diagnostic(`webgpu/${file}: ${r.tensors} tensors, worst ${r.worstName} rel err ${r.worstError.toExponential(2)}, worst element at ${r.worstElementRatio.toFixed(3)} of its bound`);
  }
});

// every kernel against js (test/backend-compare.ts), through handles: written up, computed, read back
for (const s of shapes) compareKernels("webgpu", s, gpu, { test: { skip } });
compareOptimizer("webgpu", gpu, { test: { skip } });

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
