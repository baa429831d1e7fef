/**
 * Kernel-by-kernel comparison of a backend's matrix products and attention against the js backend (the float64
 * reference), shared by the native and wasm backend tests: random inputs, every output tensor within 1e-4
 * (max |candidate − js| / max |js|), accumulate-vs-overwrite semantics included.
 */
import { test } from "node:test";
import type { Backend } from "../src/engine/backend.js";
import { Rng } from "../src/util/rng.js";
import { assertClose, randn } from "./helpers.js";

/** A batch shape of the kernel tests. */
export interface Shape {
  B: number;
  T: number;
  C: number;
  NH: number;
  V: number;
}

/** Shapes with odd sizes, T spanning several attention row blocks, and sizes large enough to run threaded. */
export const KERNEL_SHAPES: Shape[] = [
  { B: 2, T: 5, C: 12, NH: 3, V: 7 },
  { B: 3, T: 16, C: 32, NH: 4, V: 97 },
  { B: 2, T: 70, C: 48, NH: 3, V: 256 },
  { B: 4, T: 130, C: 64, NH: 4, V: 301 },
];

type HostBackend = Backend<Float32Array, Int32Array>;

/**
 * Registers the matmul (OC = 3C, 4C and V) and attention tests of one shape: `candidate()` against `reference`.
 * `candidate` is called inside each test, so a backend that failed to load fails the tests that need it.
 */
export function compareProducts(label: string, s: Shape, candidate: () => HostBackend, reference: HostBackend, tol = 1e-4): void {
  const { B, T, C, NH, V } = s;
  const N = B * T;
  const js = reference;
  const close = (name: string, a: Float32Array, b: Float32Array) => assertClose(name, a, b, tol);
  for (const OC of [3 * C, 4 * C, V]) {
    test(`matmul forward/backward (${label}, OC ${OC})`, () => {
      const nb = candidate();
      const rng = new Rng(3 + OC);
      const inp = randn(rng, N * C), w = randn(rng, OC * C, 0.1), bias = randn(rng, OC), dout = randn(rng, N * OC);
      for (const withBias of [true, false]) {
        const o1 = randn(rng, N * OC), o2 = new Float32Array(N * OC);
        nb.matmulForward(o1, inp, w, withBias ? bias : null, N, C, OC);
        js.matmulForward(o2, inp, w, withBias ? bias : null, N, C, OC);
        close(`out (bias ${withBias})`, o1, o2);
      }
      for (const withDinp of [true, false]) {
        const dinp1 = randn(rng, N * C), dw1 = randn(rng, OC * C), db1 = randn(rng, OC);
        const dinp2 = new Float32Array(N * C), dw2 = dw1.slice(), db2 = db1.slice();
        nb.matmulBackward(withDinp ? dinp1 : null, dw1, withDinp ? db1 : null, dout, inp, w, N, C, OC);
        js.matmulBackward(withDinp ? dinp2 : null, dw2, withDinp ? db2 : null, dout, inp, w, N, C, OC);
        if (withDinp) close("dinp (overwritten)", dinp1, dinp2);
        close("dweight (accumulated)", dw1, dw2);
        close("dbias (accumulated)", db1, db2);
      }
    });
  }

  test(`attention forward/backward (${label})`, () => {
    const nb = candidate();
    const rng = new Rng(4);
    const qkv = randn(rng, N * 3 * C), dout = randn(rng, N * C);
    const out1 = randn(rng, N * C), att1 = randn(rng, B * NH * T * T);
    const out2 = new Float32Array(N * C), att2 = new Float32Array(B * NH * T * T);
    nb.attentionForward(out1, att1, qkv, B, T, C, NH);
    js.attentionForward(out2, att2, qkv, B, T, C, NH);
    close("out", out1, out2);
    close("att (zero above the diagonal)", att1, att2);
    const dqkv1 = randn(rng, N * 3 * C), scratch1 = randn(rng, B * NH * T * T);
    const dqkv2 = new Float32Array(N * 3 * C), scratch2 = new Float32Array(B * NH * T * T);
    nb.attentionBackward(dqkv1, scratch1, dout, qkv, att2, B, T, C, NH);
    js.attentionBackward(dqkv2, scratch2, dout, qkv, att2, B, T, C, NH);
    close("dqkv (overwritten)", dqkv1, dqkv2);
  });
}
