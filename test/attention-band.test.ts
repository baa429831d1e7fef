/**
 * GPT-3's alternating dense / locally banded attention (issue 17) on the js backend, the reference the other
 * backends are compared with (banded-compare.ts, engine-webgpu.test.ts): the kernel against a naive float64
 * attention that masks a full T×T score matrix, the band at its edges (W = 1, W ≥ T), the model's layer pattern
 * (odd layers banded), its activation memory (T·W per banded layer, not T²) and bad windows.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { attentionWidth } from "../src/engine/backend.js";
import { JsBackend } from "../src/engine/js.js";
import { ConfigError, layerWindow, validateConfig } from "../src/model/config.js";
import { GPT } from "../src/model/gpt.js";
import { Rng } from "../src/util/rng.js";
import { assertClose, randInts, randn } from "./helpers.js";

const js = new JsBackend();

/**
 * Causal attention with an optional band in float64, the textbook way: full (T,T) scores, −∞ outside
 * t − W < t2 ≤ t, softmax, weighted values; backward through the same full matrices. Returns att as (B,NH,T,T).
 */
function naiveAttention(qkv: Float32Array, dout: Float32Array, B: number, T: number, C: number, NH: number, W: number) {
  const hs = C / NH, C3 = 3 * C, scale = 1 / Math.sqrt(hs);
  const visible = (t: number, t2: number) => t2 <= t && (W <= 0 || t2 > t - W);
  const out = new Float64Array(B * T * C), att = new Float64Array(B * NH * T * T), dqkv = new Float64Array(B * T * C3);
  const x = (b: number, t: number, part: number, h: number, i: number) => qkv[(b * T + t) * C3 + part * C + h * hs + i];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const P = (t: number, t2: number) => ((b * NH + h) * T + t) * T + t2;
      for (let t = 0; t < T; t++) {
        const s = new Float64Array(T).fill(-Infinity);
        for (let t2 = 0; t2 < T; t2++) {
          if (!visible(t, t2)) continue;
          let d = 0;
          for (let i = 0; i < hs; i++) d += x(b, t, 0, h, i) * x(b, t2, 1, h, i);
          s[t2] = d * scale;
        }
        const max = Math.max(...s);
        let sum = 0;
        for (let t2 = 0; t2 < T; t2++) sum += Math.exp(s[t2] - max);
        for (let t2 = 0; t2 < T; t2++) att[P(t, t2)] = Math.exp(s[t2] - max) / sum;
        for (let i = 0; i < hs; i++) {
          let o = 0;
          for (let t2 = 0; t2 < T; t2++) o += att[P(t, t2)] * x(b, t2, 2, h, i);
          out[(b * T + t) * C + h * hs + i] = o;
        }
      }
      // backward: datt = dout vᵀ; dscores = att (datt − Σ att datt); dq = dscores k · scale, dk = dscoresᵀ q · scale
      for (let t = 0; t < T; t++) {
        const go = (i: number) => dout[(b * T + t) * C + h * hs + i];
        const datt = new Float64Array(T);
        let dot = 0;
        for (let t2 = 0; t2 < T; t2++) {
          for (let i = 0; i < hs; i++) datt[t2] += go(i) * x(b, t2, 2, h, i);
          dot += att[P(t, t2)] * datt[t2];
        }
        for (let t2 = 0; t2 < T; t2++) {
          const p = att[P(t, t2)], ds = p * (datt[t2] - dot) * scale;
          for (let i = 0; i < hs; i++) {
            dqkv[(b * T + t2) * C3 + 2 * C + h * hs + i] += p * go(i);
            dqkv[(b * T + t) * C3 + h * hs + i] += ds * x(b, t2, 1, h, i);
            dqkv[(b * T + t2) * C3 + C + h * hs + i] += ds * x(b, t, 0, h, i);
          }
        }
      }
    }
  }
  return { out, att, dqkv };
}

/** The js kernel's banded att (B,NH,T,W) spread back onto (B,NH,T,T). */
function unband(att: Float32Array, B: number, NH: number, T: number, W: number): Float64Array {
  const width = attentionWidth(T, W);
  const full = new Float64Array(B * NH * T * T);
  for (let r = 0; r < B * NH * T; r++) {
    const t = r % T, first = width === T ? 0 : t - width + 1;
    for (let c = 0; c < width; c++) {
      const t2 = first + c;
      if (t2 >= 0) full[r * T + t2] = att[r * width + c];
      else assert.equal(att[r * width + c], 0, `att entry of key ${t2} < 0 is zero`);
    }
  }
  return full;
}

function jsAttention(qkv: Float32Array, dout: Float32Array, B: number, T: number, C: number, NH: number, W: number) {
  const n = B * NH * T * attentionWidth(T, W);
  const rng = new Rng(5);
  const out = randn(rng, B * T * C), att = randn(rng, n), dqkv = randn(rng, B * T * 3 * C), scratch = randn(rng, n);
  js.attentionForward(out, att, qkv, B, T, C, NH, W);
  js.attentionBackward(dqkv, scratch, dout, qkv, att, B, T, C, NH, W);
  return { out, att, dqkv };
}

test("js banded attention equals a naive masked float64 attention (forward, att, backward) for every window", () => {
  const B = 2, T = 11, C = 12, NH = 3;
  const rng = new Rng(1);
  const qkv = randn(rng, B * T * 3 * C), dout = randn(rng, B * T * C);
  for (const W of [1, 2, 4, 10, 11, 30]) {
    const got = jsAttention(qkv, dout, B, T, C, NH, W), want = naiveAttention(qkv, dout, B, T, C, NH, W);
    assert.equal(got.att.length, B * NH * T * Math.min(W, T), `att holds T·min(W, T) entries a head`);
    assertClose(`W ${W}: out`, got.out, Float32Array.from(want.out), 1e-6);
    assertClose(`W ${W}: att`, Float32Array.from(unband(got.att, B, NH, T, W)), Float32Array.from(want.att), 1e-6);
    assertClose(`W ${W}: dqkv`, got.dqkv, Float32Array.from(want.dqkv), 1e-5); // datt is kept in float32 scratch
  }
});

test("the band at its edges: W = 1 sees only itself (out = v, dq = dk ≈ 0, dv = dout); W ≥ T is the dense kernel", () => {
  const B = 1, T = 7, C = 8, NH = 2, C3 = 3 * C;
  const rng = new Rng(2);
  const qkv = randn(rng, B * T * C3), dout = randn(rng, B * T * C);
  const one = jsAttention(qkv, dout, B, T, C, NH, 1);
  assert.ok(one.att.every((p) => p === 1), "a one-key softmax is 1");
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) {
      assert.equal(one.out[t * C + c], qkv[t * C3 + 2 * C + c], "out = v");
      // a one-key softmax has no gradient (up to the float32 rounding of datt)
      assert.ok(Math.abs(one.dqkv[t * C3 + c]) < 1e-6, "dq = 0");
      assert.ok(Math.abs(one.dqkv[t * C3 + C + c]) < 1e-6, "dk = 0");
      assert.equal(one.dqkv[t * C3 + 2 * C + c], dout[t * C + c], "dv = dout");
    }
  }
  const dense = jsAttention(qkv, dout, B, T, C, NH, 0);
  for (const W of [T, T + 1, 1000]) assert.deepEqual(jsAttention(qkv, dout, B, T, C, NH, W), dense, `W ${W} ≥ T is dense`);
});

test("the model bands odd layers only; localWindow ≥ blockSize is the dense model bit for bit", async () => {
  assert.deepEqual([0, 1, 2, 3, 4].map((l) => layerWindow({ localWindow: 8 }, l)), [0, 8, 0, 8, 0]);
  assert.deepEqual([0, 1, 2].map((l) => layerWindow({}, l)), [0, 0, 0]);
  const shape = { vocabSize: 13, blockSize: 9, nLayer: 3, nHead: 2, nEmbd: 8 };
  const B = 2, T = 9;
  const rng = new Rng(3);
  const x = randInts(rng, B * T, shape.vocabSize), y = randInts(rng, B * T, shape.vocabSize);
  const run = async (localWindow?: number) => {
    const model = new GPT(js, { ...shape, ...(localWindow !== undefined ? { localWindow } : {}) }, 4);
    model.zeroGrad();
    const { loss } = await model.forward(x, y, B, T);
    model.backward();
    return { loss, grads: await model.exportGrads() };
  };
  const dense = await run();
  assert.deepEqual(await run(0), dense);
  assert.deepEqual(await run(T), dense);
  assert.deepEqual(await run(100), dense);
  const banded = await run(2);
  assert.notEqual(banded.loss, dense.loss, "a band of 2 keys changes layer 1");
  // layer 0 is dense in both, but its gradients flow back through the banded layer 1: they differ too
  assert.notDeepEqual(banded.grads.get("h1_qkv_w"), dense.grads.get("h1_qkv_w"));
  // a one-layer model has no odd layer: any window is dense
  const one = { ...shape, nLayer: 1 };
  const m1 = new GPT(js, one, 4), m2 = new GPT(js, { ...one, localWindow: 1 }, 4);
  await m1.forward(x, null, B, T);
  await m2.forward(x, null, B, T);
  assert.deepEqual(await m2.readLogits(), await m1.readLogits());
});

test("a banded layer's saved attention is T·W a head, not T²", () => {
  class Counting extends JsBackend {
    floats = 0;
    override alloc(n: number): Float32Array {
      this.floats += n;
      return super.alloc(n);
    }
  }
  const shape = { vocabSize: 16, blockSize: 64, nLayer: 4, nHead: 2, nEmbd: 8 };
  const B = 3, T = 64, W = 8;
  const floats = (localWindow: number) => {
    const be = new Counting();
    new GPT(be, { ...shape, localWindow }, 0).reserve(B, T);
    return be.floats;
  };
  // layers 1 and 3 keep (B,NH,T,W) instead of (B,NH,T,T)
  assert.equal(floats(0) - floats(W), 2 * B * shape.nHead * T * (T - W));
});

test("a negative localWindow is a one-line ConfigError naming the fix", () => {
  const shape = { vocabSize: 16, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 8 };
  assert.throws(() => validateConfig({ ...shape, localWindow: -1 }), (e: Error) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message.split("\n").length, 1);
    assert.match(e.message, /localWindow -1 .*use 0 for dense attention/);
    return true;
  });
  assert.throws(() => validateConfig({ ...shape, localWindow: 2.5 }), ConfigError);
  assert.equal(validateConfig({ ...shape, localWindow: 0 }).localWindow, 0);
  assert.equal(validateConfig({ ...shape, localWindow: 1000 }).localWindow, 1000, "W ≥ T is valid (dense)");
});
