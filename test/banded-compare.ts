/**
 * GPT-3's locally banded attention, kernel by kernel, on a host backend against the js backend (the float64
 * reference, itself checked against a naive masked attention in attention-band.test.ts): the band at its edges
 * (W = 1: each position sees itself only; W ≥ T: exactly the dense kernel, att (T,T)), a band narrower than one
 * row block, and one crossing several. Shared by the native and wasm backend tests.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Backend, attentionWidth } from "../src/engine/backend.js";
import { Rng } from "../src/util/rng.js";
import { assertClose, randn } from "./helpers.js";
import type { Shape } from "./kernel-compare.js";

type HostBackend = Backend<Float32Array, Int32Array>;

/** Windows a banded test covers for a sequence length T: the edges (1, T, T + 3) and two bands in between. */
export function bandWindows(T: number): number[] {
  return [...new Set([1, Math.min(3, T), Math.max(1, Math.floor(T / 2)), T, T + 3])];
}

/** One backend's banded forward and backward on fixed inputs (att and scratch start as noise). */
export function runBanded(be: HostBackend, s: Shape, W: number, seed = 11) {
  const { B, T, C, NH } = s;
  const rng = new Rng(seed);
  const qkv = randn(rng, B * T * 3 * C), dout = randn(rng, B * T * C);
  const n = B * NH * T * attentionWidth(T, W);
  const out = randn(rng, B * T * C), att = randn(rng, n), dqkv = randn(rng, B * T * 3 * C), scratch = randn(rng, n);
  be.attentionForward(out, att, qkv, B, T, C, NH, W);
  be.attentionBackward(dqkv, scratch, dout, qkv, att, B, T, C, NH, W);
  return { out, att, dqkv };
}

/**
 * Registers the banded attention test of one shape: every window of {@link bandWindows} on `candidate()` within
 * `tol` of `reference`, and W ≥ T bit-identical to the candidate's own dense kernel.
 */
export function compareBandedAttention(label: string, s: Shape, candidate: () => HostBackend, reference: HostBackend, tol = 1e-4): void {
  test(`banded attention forward/backward, W = ${bandWindows(s.T).join(", ")} (${label})`, () => {
    const be = candidate();
    const dense = runBanded(be, s, 0);
    for (const W of bandWindows(s.T)) {
      const got = runBanded(be, s, W), want = runBanded(reference, s, W);
      assertClose(`W ${W}: out`, got.out, want.out, tol);
      assertClose(`W ${W}: att (${attentionWidth(s.T, W) < s.T ? "banded, zero before key 0" : "dense"})`, got.att, want.att, tol);
      assertClose(`W ${W}: dqkv (overwritten)`, got.dqkv, want.dqkv, tol);
      if (W >= s.T) {
        assert.deepEqual(got.out, dense.out, `W ${W} ≥ T: out is the dense kernel's`);
        assert.deepEqual(got.att, dense.att, `W ${W} ≥ T: att is the dense kernel's`);
        assert.deepEqual(got.dqkv, dense.dqkv, `W ${W} ≥ T: dqkv is the dense kernel's`);
      }
    }
  });
}
