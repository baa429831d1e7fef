/**
 * The native backend against the portable js backend, kernel by kernel, on random inputs at several shapes
 * (test/backend-compare.ts: odd sizes, T spanning several attention row blocks, sizes large enough to run
 * threaded; every output within 1e-4 of the largest value and element by element), its sgemm split over threads,
 * its thread pool, and bad input, which must throw a JS Error, never crash the process.
 *
 * A missing addon fails these tests, unless SCALING_LAB_SKIP_NATIVE=1 says the build was skipped on purpose.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { loadNativeBackend, NativeBackend } from "../src/engine/native.js";
import { applyOpenBlasCoreType, openBlasCoreForCpuinfo } from "../src/engine/openblas-env.js";
import { Rng } from "../src/util/rng.js";
import { compareBandedAttention, compareKernels, compareOptimizer, KERNEL_SHAPES } from "./backend-compare.js";
import { assertClose, randn } from "./helpers.js";

const skipNative = process.env.SCALING_LAB_SKIP_NATIVE === "1";
const loaded = loadNativeBackend({ threads: 2 });
const skip = loaded instanceof Error && skipNative ? `native addon not available (${loaded.message}); SCALING_LAB_SKIP_NATIVE=1` : false;

function nativeBackend(): NativeBackend {
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

describe("native backend vs js backend", { skip }, () => {
  for (const s of KERNEL_SHAPES) compareKernels("native", s, nativeBackend);
  // a band too wide for the backward's cache-resident ring of dS rows (W = 300): dS goes through the caller's scratch
  compareBandedAttention("native", { B: 1, T: 600, C: 16, NH: 2, V: 1 }, nativeBackend);
  compareOptimizer("native", nativeBackend);
});

/** Reference row-major C = alpha op(A) op(B) + beta C in float64. */
function refGemm(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number): Float32Array {
  const out = C.slice();
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      out[i * ldc + j] = alpha * s + beta * C[i * ldc + j];
    }
  }
  return out;
}

describe("native sgemm split over threads", { skip }, () => {
  test("every transpose combination, both split directions, 1 to 3 threads", () => {
    const rng = new Rng(8);
    const backends = [1, 3].map((threads) => loadNativeBackend({ threads }));
    try {
      for (const nb of [nativeBackend(), ...backends]) {
        if (nb instanceof Error) throw nb;
        for (const [M, N, K] of [[150, 37, 29], [33, 170, 41]]) {
          for (const ta of [false, true]) {
            for (const tb of [false, true]) {
              const lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
              const A = randn(rng, (ta ? K : M) * lda), Bm = randn(rng, (tb ? N : K) * ldb), C = randn(rng, M * ldc);
              const want = refGemm(ta, tb, M, N, K, 0.5, A, lda, Bm, ldb, 0.75, C, ldc);
              nb.gemm(ta, tb, M, N, K, 0.5, A, lda, Bm, ldb, 0.75, C, ldc);
              assertClose(`gemm ${ta ? "T" : "N"}${tb ? "T" : "N"} ${M}x${N}x${K} threads ${nb.info().threads}`, C, want);
            }
          }
        }
      }
    } finally {
      for (const b of backends) if (!(b instanceof Error)) b.dispose();
    }
  });
});

describe("native thread pool", { skip }, () => {
  // The fused kernels' reductions are chunked by shape, not by thread, so they are bit-identical for any thread
  // count; sgemm itself is not (OpenBLAS's edge kernels depend on where the split falls), hence only dbias here.
  test("kernel reductions give identical bits with 1, 2 and 3 threads", () => {
    const rng = new Rng(9);
    const N = 700, C = 96, n = 300_001;
    const inp = randn(rng, N * C), w = randn(rng, C), b = randn(rng, C), dout = randn(rng, N * C), g = randn(rng, n);
    const wm = randn(rng, C * C);
    const results: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const nb = loadNativeBackend({ threads });
      if (nb instanceof Error) throw nb;
      try {
        const out = new Float32Array(N * C), mean = new Float32Array(N), rstd = new Float32Array(N);
        nb.layernormForward(out, mean, rstd, inp, w, b, N, C);
        const dinp = new Float32Array(N * C), dw = new Float32Array(C), db = new Float32Array(C), ss = new Float32Array(1);
        nb.layernormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C);
        nb.sumSquares(ss, g, n);
        const dwm = new Float32Array(C * C), dbm = new Float32Array(C);
        nb.matmulBackward(null, dwm, dbm, dout, inp, wm, N, C, C);
        results.push([out, dinp, dw, db, ss, dbm]);
      } finally {
        nb.dispose();
      }
    }
    for (let k = 1; k < results.length; k++) {
      results[k].forEach((arr, i) => assert.deepEqual(arr, results[0][i], `output ${i} differs between 1 and ${k + 1} threads`));
    }
  });

  test("pools start and stop cleanly, also right after creation", () => {
    const x = new Float32Array(200_000).fill(1), out = new Float32Array(1);
    for (let i = 0; i < 40; i++) {
      const nb = loadNativeBackend({ threads: 2 + (i % 3) });
      if (nb instanceof Error) throw nb;
      if (i % 2 === 0) {
        nb.sumSquares(out, x, x.length);
        assert.equal(out[0], 200_000);
      }
      nb.dispose();
    }
  });
});

describe("native backend rejects bad input with an Error", { skip }, () => {
  test("wrong buffer lengths, types and shapes", () => {
    const nb = nativeBackend();
    const f = (n: number) => new Float32Array(n);
    assert.throws(() => nb.matmulForward(f(10), f(12), f(12), null, 4, 3, 4), /out has 10 elements, needs at least 16/);
    assert.throws(() => nb.matmulForward(f(16), f(12), f(11), null, 4, 3, 4), /weight has 11 elements/);
    assert.throws(() => nb.matmulForward(f(16), f(12), f(12), f(3), 4, 3, 4), /bias has 3 elements/);
    assert.throws(() => nb.matmulBackward(null, f(12), null, f(15), f(12), f(12), 4, 3, 4), /dout has 15 elements/);
    assert.throws(() => nb.layernormForward(f(12), f(4), f(3), f(12), f(3), f(3), 4, 3), /rstd has 3 elements/);
    assert.throws(() => nb.attentionForward(f(24), f(32), f(72), 1, 4, 6, 4), /not divisible by NH/);
    assert.throws(() => nb.attentionBackward(f(72), f(31), f(24), f(72), f(32), 1, 4, 6, 2), /scratch has 31 elements/);
    // banded: att is (B,NH,T,W); a window must be a non-negative integer
    assert.throws(() => nb.attentionForward(f(24), f(15), f(72), 1, 4, 6, 2, 2), /att has 15 elements, needs at least 16/);
    assert.throws(() => nb.attentionBackward(f(72), f(16), f(24), f(72), f(15), 1, 4, 6, 2, 2), /att has 15 elements, needs at least 16/);
    assert.throws(() => nb.attentionForward(f(24), f(32), f(72), 1, 4, 6, 2, -1), /window = -1 must be an integer/);
    assert.throws(() => nb.geluForward(f(5), f(4), 5), /inp has 4 elements/);
    assert.throws(() => nb.sumSquares(f(0), f(4), 4), /out has 0 elements/);
    assert.throws(() => nb.adamw(f(4), f(4), f(4), f(3), 4, { lr: 1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, step: 1, maxNorm: 0 }, null), /v has 3 elements/);
    assert.throws(() => nb.adamw(f(4), f(4), f(4), f(4), 4, { lr: 1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, step: 0, maxNorm: 0 }, null), /step = 0/);
    assert.throws(() => nb.geluForward(f(4), new Float64Array(4) as unknown as Float32Array, 4), TypeError);
    assert.throws(() => nb.geluForward(f(4), f(4), 2.5), /non-negative integer/);
    assert.throws(() => nb.matmulForward(f(16), f(12), f(12), null, -4, 3, 4), /N = -4 must be an integer/);
    assert.throws(() => nb.matmulForward(f(16), f(12), f(12), null, 4, 3, Number.NaN), RangeError);
    assert.throws(() => nb.residualForward(f(4), f(4), f(4), 1e30), /non-negative integer/);
  });

  test("token ids outside the vocabulary", () => {
    const nb = nativeBackend();
    const V = 5, C = 4, B = 1, T = 3;
    const wte = new Float32Array(V * C), wpe = new Float32Array(T * C), out = new Float32Array(B * T * C);
    assert.throws(() => nb.encoderForward(out, Int32Array.from([0, 5, 1]), wte, wpe, B, T, C), /token id 5 at position 1 is outside the vocabulary \[0, 5\)/);
    assert.throws(() => nb.encoderForward(out, Int32Array.from([0, -1, 1]), wte, wpe, B, T, C), /token id -1/);
    assert.throws(() => nb.encoderBackward(wte, wpe, out, Int32Array.from([0, 1, 9]), B, T, C), /token id 9/);
    assert.throws(() => nb.encoderForward(out, new Int32Array(2), wte, wpe, B, T, C), /inp has 2 elements/);
    const logits = new Float32Array(3 * V);
    assert.throws(() => nb.crossEntropyForward(new Float32Array(3), logits, logits, Int32Array.from([0, 7, 1]), 3, V), /target 7 at position 1/);
    assert.throws(() => nb.crossEntropyBackward(logits, logits, Int32Array.from([0, 1, 5]), 1, 3, V), /target 5/);
  });

  test("a disposed backend refuses work", () => {
    const b = loadNativeBackend({ threads: 2 });
    if (b instanceof Error) throw b;
    b.dispose();
    b.dispose(); // idempotent
    assert.throws(() => b.geluForward(new Float32Array(4), new Float32Array(4), 4), /disposed/);
  });

  test("info names the BLAS core and thread count", () => {
    const info = nativeBackend().info();
    assert.equal(info.name, "native");
    assert.equal(info.threads, 2);
    assert.ok(info.blasCore && info.blasCore.length > 0, "blasCore is reported");
    assert.match(info.detail ?? "", /OpenBLAS/);
  });
});

describe("OPENBLAS_CORETYPE choice", () => {
  const cpu = (flags: string) => `processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 ${flags}\n`;
  test("AVX-512 with bf16 → Cooperlake, AVX-512 → SkylakeX, AVX2 → Haswell, else none", () => {
    assert.equal(openBlasCoreForCpuinfo(cpu("avx2 avx512f avx512_bf16 fma")), "Cooperlake");
    assert.equal(openBlasCoreForCpuinfo(cpu("avx2 avx512f fma")), "SkylakeX");
    assert.equal(openBlasCoreForCpuinfo(cpu("avx2 fma")), "Haswell");
    assert.equal(openBlasCoreForCpuinfo(cpu("sse4_2")), undefined);
    assert.equal(openBlasCoreForCpuinfo("no flags here"), undefined);
  });
  test("a user's setting wins; unreadable cpuinfo sets nothing", () => {
    const env: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: "Zen" };
    assert.deepEqual(applyOpenBlasCoreType(env, () => cpu("avx512f")), { coretype: "Zen", source: "user" });
    const env2: NodeJS.ProcessEnv = {};
    assert.deepEqual(applyOpenBlasCoreType(env2, () => cpu("avx2 avx512f")), { coretype: "SkylakeX", source: "cpuinfo" });
    assert.equal(env2.OPENBLAS_CORETYPE, "SkylakeX");
    const env3: NodeJS.ProcessEnv = {};
    assert.deepEqual(applyOpenBlasCoreType(env3, () => { throw new Error("no /proc"); }), { coretype: undefined, source: "none" });
    assert.equal(env3.OPENBLAS_CORETYPE, undefined);
  });
});

test("a missing addon is a failure unless SCALING_LAB_SKIP_NATIVE=1", { skip: skipNative ? "SCALING_LAB_SKIP_NATIVE=1" : false }, () => {
  assert.ok(!(loaded instanceof Error), `native addon did not load: ${loaded instanceof Error ? loaded.message : ""}`);
});
