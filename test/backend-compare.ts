/**
 * One kernel-by-kernel comparison of any backend against the js backend (the plain float64 reference), written
 * over the {@link Backend} interface so that native, wasm and webgpu run the same checks: random inputs go in
 * through `alloc`/`view`/`write`, results come back through `await read()`, and every output tensor must match js
 * within {@link TOLERANCE} (largest error ≤ 1e-4 of the largest value, and element by element). Accumulate-versus-
 * overwrite semantics, aliasing the contract allows (in-place GELU backward, residual and cross-entropy), views at
 * an offset into a larger buffer (`pad`: 1 forces a device's scalar loads, 4 its vec4 loads), weight and bias as
 * views of one parameter buffer, ignored targets and clipping are all part of it.
 *
 * Used by test/engine-native.test.ts, test/engine-wasm.test.ts and test/engine-webgpu.test.ts.
 */
import assert from "node:assert/strict";
import { test, type TestOptions } from "node:test";
import { type AdamWStep, type AnyBackend, attentionWidth } from "../src/engine/backend.js";
import { JsBackend } from "../src/engine/js.js";
import { Rng } from "../src/util/rng.js";
import { assertClose, randInts, randn, TOLERANCE, type Tolerance } from "./helpers.js";

/** A batch shape of the kernel comparisons. */
export interface KernelShape {
  B: number;
  T: number;
  C: number;
  NH: number;
  V: number;
  /** Offset (elements) of every float tensor's view into a larger buffer; default 0. */
  pad?: number;
}

/** CPU shapes: odd sizes, T spanning several attention row blocks, sizes large enough to run threaded. */
export const KERNEL_SHAPES: KernelShape[] = [
  { B: 2, T: 5, C: 12, NH: 3, V: 7, pad: 1 },
  { B: 3, T: 16, C: 32, NH: 4, V: 97 },
  { B: 2, T: 70, C: 48, NH: 3, V: 256, pad: 3 },
  { B: 4, T: 130, C: 64, NH: 4, V: 301 },
];

/** Options of {@link compareKernels} and {@link compareOptimizer}. */
export interface CompareOptions {
  /** Passed to every registered test (e.g. `{ skip }` when the backend is missing). */
  test?: TestOptions;
  /** Defaults to {@link TOLERANCE}. */
  tol?: Tolerance;
}

/** The js reference every comparison runs against. */
const js = new JsBackend();

/** A label for test names: `B2 T5 C12 NH3 V7 pad 1`. */
export function shapeLabel(s: KernelShape): string {
  return `B${s.B} T${s.T} C${s.C} NH${s.NH} V${s.V}${s.pad ? ` pad ${s.pad}` : ""}`;
}

/** Uploads host data to a backend buffer: a view `pad` elements into a larger buffer. */
function up(be: AnyBackend, data: Float32Array, pad: number): object {
  const buf = be.alloc(data.length + 2 * pad);
  const v = be.view(buf, pad, data.length);
  be.write(v, data);
  return v;
}

/** Uploads token ids. */
function upInt(be: AnyBackend, ids: Int32Array): object {
  const t = be.allocInt(ids.length);
  be.writeInt(t, ids);
  return t;
}

/** Views of one buffer holding `parts` one after another (weight and bias, as the model keeps them). */
function upParts(be: AnyBackend, parts: Float32Array[], pad: number): object[] {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const buf = be.alloc(total + pad);
  let off = pad;
  return parts.map((p) => {
    const v = be.view(buf, off, p.length);
    be.write(v, p);
    off += p.length;
    return v;
  });
}

/** One comparison: a title for its test, and the check itself (throws an assertion error on a mismatch). */
export interface KernelCheck {
  title: string;
  run(): Promise<void>;
}

/**
 * Registers the comparison tests of one shape ({@link kernelChecks}). `candidate()` is called inside each test, so
 * a backend that failed to load fails (or, with `options.test.skip`, skips) the tests that need it.
 */
export function compareKernels(name: string, s: KernelShape, candidate: () => AnyBackend, options: CompareOptions = {}): void {
  for (const c of kernelChecks(name, s, candidate, options.tol)) test(c.title, options.test ?? {}, () => c.run());
}

/**
 * The comparisons of one shape: encoder, layernorm, matmul (OC = 3C, 4C and V), attention (dense, and GPT-3's
 * banded layers at {@link bandWindows}), GELU and residual, softmax + cross-entropy, and the output head with its
 * loss (`classifier`, fused on native).
 */
export function kernelChecks(name: string, s: KernelShape, candidate: () => AnyBackend, tol: Tolerance = TOLERANCE): KernelCheck[] {
  const { B, T, C, NH, V } = s;
  const pad = s.pad ?? 0;
  const N = B * T;
  const label = `${name}, ${shapeLabel(s)}`;
  const close = (what: string, a: Float32Array, e: Float32Array) => assertClose(`${label}: ${what}`, a, e, tol);
  const checks: KernelCheck[] = [];
  const add = (title: string, run: () => Promise<void>) => checks.push({ title, run });

  add(`${name} vs js: encoder forward/backward (${shapeLabel(s)})`, async () => {
    const be = candidate();
    const rng = new Rng(1);
    const ids = randInts(rng, N, V);
    ids[N - 1] = ids[0]; // a repeated token: two positions add into one dwte row
    const inp = upInt(be, ids);
    const wte = randn(rng, V * C), wpe = randn(rng, T * C), dout = randn(rng, N * C);
    const out = up(be, randn(rng, N * C), pad), want = new Float32Array(N * C);
    be.encoderForward(out, inp, up(be, wte, pad), up(be, wpe, pad), B, T, C);
    js.encoderForward(want, ids, wte, wpe, B, T, C);
    close("encoder out (overwritten)", await be.read(out), want);
    const dwte = randn(rng, V * C), dwpe = randn(rng, T * C);
    const [gdwte, gdwpe] = upParts(be, [dwte, dwpe], pad);
    be.encoderBackward(gdwte, gdwpe, up(be, dout, pad), inp, B, T, C);
    js.encoderBackward(dwte, dwpe, dout, ids, B, T, C);
    close("dwte (accumulated)", await be.read(gdwte), dwte);
    close("dwpe (accumulated)", await be.read(gdwpe), dwpe);
  });

  add(`${name} vs js: layernorm forward/backward (${shapeLabel(s)})`, async () => {
    const be = candidate();
    const rng = new Rng(2);
    const x = randn(rng, N * C, 3), w = randn(rng, C), b = randn(rng, C), dout = randn(rng, N * C);
    const gx = up(be, x, pad);
    const [gw, gb] = upParts(be, [w, b], pad);
    const out = up(be, randn(rng, N * C), pad), mean = up(be, randn(rng, N), pad), rstd = up(be, randn(rng, N), pad);
    be.layernormForward(out, mean, rstd, gx, gw, gb, N, C);
    const out2 = new Float32Array(N * C), mean2 = new Float32Array(N), rstd2 = new Float32Array(N);
    js.layernormForward(out2, mean2, rstd2, x, w, b, N, C);
    close("layernorm out", await be.read(out), out2);
    close("mean", await be.read(mean), mean2);
    close("rstd", await be.read(rstd), rstd2);
    const dinp = randn(rng, N * C), dw = randn(rng, C), db = randn(rng, C);
    const gdinp = up(be, dinp, pad);
    const [gdw, gdb] = upParts(be, [dw, db], pad);
    be.layernormBackward(gdinp, gdw, gdb, up(be, dout, pad), gx, gw, mean, rstd, N, C);
    js.layernormBackward(dinp, dw, db, dout, x, w, mean2, rstd2, N, C);
    close("layernorm dinp (accumulated)", await be.read(gdinp), dinp);
    close("layernorm dweight (accumulated)", await be.read(gdw), dw);
    close("layernorm dbias (accumulated)", await be.read(gdb), db);
  });

  for (const OC of [3 * C, 4 * C, V]) {
    add(`${name} vs js: matmul forward/backward (${shapeLabel(s)}, OC ${OC})`, async () => {
      const be = candidate();
      const rng = new Rng(3 + OC);
      const inp = randn(rng, N * C), w = randn(rng, OC * C, 0.1), bias = randn(rng, OC), dout = randn(rng, N * OC);
      const [gw, gbias] = upParts(be, [w, bias], pad);
      const ginp = up(be, inp, pad), gdout = up(be, dout, pad);
      for (const withBias of [true, false]) {
        const out = up(be, randn(rng, N * OC), pad), want = new Float32Array(N * OC);
        be.matmulForward(out, ginp, gw, withBias ? gbias : null, N, C, OC);
        js.matmulForward(want, inp, w, withBias ? bias : null, N, C, OC);
        close(`matmul out (overwritten, bias ${withBias})`, await be.read(out), want);
      }
      for (const withDinp of [true, false]) {
        const dw = randn(rng, OC * C), db = randn(rng, OC);
        const [gdw, gdb] = upParts(be, [dw, db], pad);
        const gdinp = up(be, randn(rng, N * C), pad), dinp = new Float32Array(N * C);
        be.matmulBackward(withDinp ? gdinp : null, gdw, withDinp ? gdb : null, gdout, ginp, gw, N, C, OC);
        js.matmulBackward(withDinp ? dinp : null, dw, withDinp ? db : null, dout, inp, w, N, C, OC);
        if (withDinp) close("matmul dinp (overwritten)", await be.read(gdinp), dinp);
        close(`matmul dweight (accumulated, dinp ${withDinp})`, await be.read(gdw), dw);
        close(`matmul dbias (${withDinp ? "accumulated" : "untouched when null"})`, await be.read(gdb), db);
      }
    });
  }

  add(`${name} vs js: attention forward/backward (${shapeLabel(s)})`, async () => {
    const be = candidate();
    const rng = new Rng(4);
    const qkv = randn(rng, N * 3 * C), dout = randn(rng, N * C);
    const gqkv = up(be, qkv, pad);
    const out = up(be, randn(rng, N * C), pad), att = up(be, randn(rng, B * NH * T * T), pad);
    be.attentionForward(out, att, gqkv, B, T, C, NH);
    const out2 = new Float32Array(N * C), att2 = new Float32Array(B * NH * T * T);
    js.attentionForward(out2, att2, qkv, B, T, C, NH);
    close("attention out", await be.read(out), out2);
    close("att (zero above the diagonal)", await be.read(att), att2);
    // the backward pass from the reference's probabilities, so it is compared on its own
    const dqkv = up(be, randn(rng, N * 3 * C), pad), scratch = up(be, randn(rng, B * NH * T * T), pad);
    be.attentionBackward(dqkv, scratch, up(be, dout, pad), gqkv, up(be, att2, pad), B, T, C, NH);
    const dqkv2 = new Float32Array(N * 3 * C), scratch2 = new Float32Array(B * NH * T * T);
    js.attentionBackward(dqkv2, scratch2, dout, qkv, att2, B, T, C, NH);
    close("dqkv (overwritten)", await be.read(dqkv), dqkv2);
  });

  checks.push(bandedAttentionCheck(name, s, candidate, tol));

  add(`${name} vs js: key/value-cache decode attention, dense and banded (${shapeLabel(s)})`, async () => {
    const be = candidate();
    if (!be.attentionDecode) {
      // only the GPU backend samples without a cache (model/gpt.ts says so); the host-memory backends must decode
      assert.equal(be.name, "webgpu", `${be.name} lost its key/value-cache decoding`);
      return;
    }
    const rng = new Rng(41);
    const qkv = randn(rng, T * 3 * C);
    // the last rows of one sequence over all its cached rows: one new row (sampling), then a few (a prompt)
    for (const [T0, W] of [[T - 1, 0], [Math.max(0, T - 3), 0], [T - 1, 2], [0, Math.max(1, T >> 1)]]) {
      const rows = T - T0;
      const out = up(be, randn(rng, rows * C), pad);
      be.attentionDecode(out, up(be, qkv, pad), T0, T, C, NH, W);
      const want = new Float32Array(rows * C);
      js.attentionDecode(want, qkv, T0, T, C, NH, W);
      close(`decode rows ${T0}…${T - 1} window ${W}`, await be.read(out), want);
    }
  });

  add(`${name} vs js: gelu, residual (${shapeLabel(s)})`, async () => {
    const be = candidate();
    const rng = new Rng(5);
    const n = N * 4 * C;
    const x = randn(rng, n, 3), d = randn(rng, n), y = randn(rng, n);
    const gx = up(be, x, pad), gd = up(be, d, pad), gy = up(be, y, pad);
    const want = new Float32Array(n);
    const out = up(be, randn(rng, n), pad);
    be.geluForward(out, gx, n);
    js.geluForward(want, x, n);
    close("gelu", await be.read(out), want);
    be.geluBackward(out, gx, gd, n);
    js.geluBackward(want, x, d, n);
    close("dgelu", await be.read(out), want);
    be.geluBackward(gd, gx, gd, n); // in place (dinp = dout), as the model calls it
    close("dgelu in place (dinp = dout)", await be.read(gd), want);
    be.residualForward(out, gx, gy, n);
    js.residualForward(want, x, y, n);
    close("residual", await be.read(out), want);
    be.residualForward(gx, gx, gy, n); // out = a, as the model accumulates the residual stream
    close("residual in place (out = a)", await be.read(gx), want);
  });

  add(`${name} vs js: softmax + cross-entropy (${shapeLabel(s)})`, async () => {
    const be = candidate();
    const rng = new Rng(6);
    const logits = randn(rng, N * V, 4);
    const ids = randInts(rng, N, V);
    ids[1] = -1; // an ignored position
    const targets = upInt(be, ids);
    const losses2 = new Float32Array(N), probs2 = new Float32Array(N * V);
    js.crossEntropyForward(losses2, probs2, logits, ids, N, V);
    const glogits = up(be, logits, pad), losses = up(be, randn(rng, N), pad), probs = up(be, randn(rng, N * V), pad);
    be.crossEntropyForward(losses, probs, glogits, targets, N, V);
    const l = await be.read(losses);
    close("losses", l, losses2);
    assert.equal(l[1], 0, "an ignored target has loss 0");
    close("probs", await be.read(probs), probs2);
    const inPlace = up(be, logits, pad), losses3 = up(be, new Float32Array(N), pad);
    be.crossEntropyForward(losses3, inPlace, inPlace, targets, N, V); // probs = logits, as the model does
    close("losses (probs = logits)", await be.read(losses3), losses2);
    close("probs in place", await be.read(inPlace), probs2);
    const dlogits2 = new Float32Array(N * V);
    js.crossEntropyBackward(dlogits2, probs2, ids, 1 / N, N, V);
    const dlogits = up(be, randn(rng, N * V), pad);
    be.crossEntropyBackward(dlogits, probs, targets, 1 / N, N, V);
    close("dlogits (overwritten; zero for the ignored row)", await be.read(dlogits), dlogits2);
    be.crossEntropyBackward(inPlace, inPlace, targets, 1 / N, N, V);
    close("dlogits in place (dlogits = probs)", await be.read(inPlace), dlogits2);
  });

  add(`${name} vs js: classifier, the output head and its loss (${shapeLabel(s)})`, async () => {
    const be = candidate();
    const rng = new Rng(8);
    const x = randn(rng, N * C), wte = randn(rng, V * C, 0.5), dwte = randn(rng, V * C, 0.1);
    const ids = randInts(rng, N, V);
    ids[0] = -1; // an ignored position
    const targets = upInt(be, ids);
    const gx = up(be, x, pad), gwte = up(be, wte, pad), gdwte = up(be, dwte, pad);
    const losses = up(be, randn(rng, N), pad), dinp = up(be, randn(rng, N * C), pad);
    const logits = be.classifierScratch(N, C, V) ? up(be, new Float32Array(N * V), pad) : null;
    const want = { losses: new Float32Array(N), dinp: new Float32Array(N * C), dwte: dwte.slice() };
    const logits2 = js.classifierScratch() ? new Float32Array(N * V) : null;
    js.classifier(want.losses, want.dinp, want.dwte, logits2, x, wte, ids, 1 / N, N, C, V);
    be.classifier(losses, dinp, gdwte, logits, gx, gwte, targets, 1 / N, N, C, V);
    close("classifier losses", await be.read(losses), want.losses);
    close("classifier dinp (overwritten)", await be.read(dinp), want.dinp);
    close("classifier dwte (accumulated)", await be.read(gdwte), want.dwte);
    const lossesOnly = up(be, randn(rng, N), pad);
    be.classifier(lossesOnly, null, null, logits, gx, gwte, targets, 1 / N, N, C, V);
    close("classifier losses, forward only", await be.read(lossesOnly), want.losses);
  });
  return checks;
}

/** Local windows the banded attention comparison covers at sequence length T: the edges (1, T, T + 3) and two bands. */
export function bandWindows(T: number): number[] {
  return [...new Set([1, Math.min(3, T), Math.max(1, Math.floor(T / 2)), T, T + 3])];
}

/** Registers the banded attention comparison of one shape alone ({@link bandedAttentionCheck}). */
export function compareBandedAttention(name: string, s: KernelShape, candidate: () => AnyBackend, options: CompareOptions = {}): void {
  const c = bandedAttentionCheck(name, s, candidate, options.tol);
  test(c.title, options.test ?? {}, () => c.run());
}

/**
 * GPT-3's locally banded attention (att (B,NH,T,W), see Backend.attentionForward) at every window of
 * {@link bandWindows}: out, the banded att and dqkv against js, and for W ≥ T bit-identical to the candidate's own
 * dense kernel (the band then covers every key).
 */
export function bandedAttentionCheck(name: string, s: KernelShape, candidate: () => AnyBackend, tol: Tolerance = TOLERANCE): KernelCheck {
  const { B, T, C, NH } = s;
  const pad = s.pad ?? 0;
  const N = B * T;
  const close = (what: string, a: Float32Array, e: Float32Array) => assertClose(`${name}, ${shapeLabel(s)}: ${what}`, a, e, tol);
  return { title: `${name} vs js: banded attention, W = ${bandWindows(T).join(", ")} (${shapeLabel(s)})`, run: async () => {
    const be = candidate();
    const rng = new Rng(9);
    const qkv = randn(rng, N * 3 * C), dout = randn(rng, N * C);
    const gqkv = up(be, qkv, pad), gdout = up(be, dout, pad);
    const run = async (W: number) => {
      const n = B * NH * T * attentionWidth(T, W);
      const noise = new Rng(10); // the same starting garbage for every window
      const out = up(be, randn(noise, N * C), pad), att = up(be, randn(noise, n), pad);
      const dqkv = up(be, randn(noise, N * 3 * C), pad), scratch = up(be, randn(noise, n), pad);
      be.attentionForward(out, att, gqkv, B, T, C, NH, W);
      be.attentionBackward(dqkv, scratch, gdout, gqkv, att, B, T, C, NH, W);
      return { out: await be.read(out), att: await be.read(att), dqkv: await be.read(dqkv) };
    };
    const dense = await run(0);
    for (const W of bandWindows(T)) {
      const got = await run(W);
      const n = B * NH * T * attentionWidth(T, W);
      const want = { out: new Float32Array(N * C), att: new Float32Array(n), dqkv: new Float32Array(N * 3 * C) };
      js.attentionForward(want.out, want.att, qkv, B, T, C, NH, W);
      js.attentionBackward(want.dqkv, new Float32Array(n), dout, qkv, want.att, B, T, C, NH, W);
      close(`W ${W}: out`, got.out, want.out);
      close(`W ${W}: att (${attentionWidth(T, W) < T ? "banded, zero before key 0" : "dense"})`, got.att, want.att);
      close(`W ${W}: dqkv (overwritten)`, got.dqkv, want.dqkv);
      if (W >= T) assert.deepEqual(got, dense, `${name}: W ${W} ≥ T is the dense kernel, bit for bit`);
    }
  } };
}

/** Registers the optimizer comparison ({@link optimizerCheck}). */
export function compareOptimizer(name: string, candidate: () => AnyBackend, options: CompareOptions = {}): void {
  const c = optimizerCheck(name, candidate, options.tol);
  test(c.title, options.test ?? {}, () => c.run());
}

/**
 * The optimizer comparison: the sum of squares, and AdamW with and without weight decay and global-norm clipping
 * (the clip factor read from the candidate's own sum of squares, as on a device), over sizes from 1 to one that
 * spans several threads or workgroups.
 */
export function optimizerCheck(name: string, candidate: () => AnyBackend, tol: Tolerance = TOLERANCE): KernelCheck {
  return { title: `${name} vs js: sum of squares, AdamW with and without clipping`, run: async () => {
    const be = candidate();
    const rng = new Rng(7);
    for (const n of [1, 37, 100_003]) {
      const g = randn(rng, n, 0.5);
      const gg = up(be, g, 1), normSq = up(be, randn(rng, 1), 1);
      be.sumSquares(normSq, gg, n);
      const normSq2 = new Float32Array(1);
      js.sumSquares(normSq2, g, n);
      assertClose(`${name}: sumSquares n=${n}`, await be.read(normSq), normSq2, tol);
      for (const [step, maxNorm, wd] of [[1, 0, 0.1], [3, 1.0, 0.1], [2, 1e6, 0]] as const) {
        const hp: AdamWStep = { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: wd, step, maxNorm };
        if (n > 1000 && maxNorm === 1) assert.ok(Math.sqrt(normSq2[0]) > maxNorm, "the test gradient is large enough to be clipped");
        const p = randn(rng, n), m = randn(rng, n, 0.01), v = new Float32Array(n).map(() => rng.random() * 1e-3);
        const gp = up(be, p, 1), gm = up(be, m, 1), gv = up(be, v, 1);
        be.adamw(gp, gg, gm, gv, n, hp, normSq);
        js.adamw(p, g, m, v, n, hp, normSq2);
        const what = `${name}: adamw n=${n} step=${step} maxNorm=${maxNorm} wd=${wd}`;
        assertClose(`${what} param`, await be.read(gp), p, tol);
        assertClose(`${what} m`, await be.read(gm), m, tol);
        assertClose(`${what} v`, await be.read(gv), v, tol);
      }
    }
  } };
}
