/**
 * The wasm backend: its WebAssembly SIMD matrix product against a float64 product in every operand layout (ragged
 * sizes, offsets, leading dimensions wider than the matrix, memory growth), then every kernel against the js
 * backend (test/backend-compare.ts), and its exp form of GELU against the tanh formula. The whole model on wasm is
 * covered by the reference-vector, gradient-check and training-loop tests, which run on every CPU backend
 * (test/helpers.ts testBackends).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { BackendUnavailableError, createBackend } from "../src/engine/index.js";
import { WasmBackend } from "../src/engine/wasm.js";
import { type GemmOperand, WasmGemm, wasmSimdAvailable } from "../src/engine/wasm-gemm.js";
import { Rng } from "../src/util/rng.js";
import { randn } from "./helpers.js";
import { compareKernels, compareOptimizer, KERNEL_SHAPES } from "./backend-compare.js";

/** Element (r, c) of an operand. */
function at(x: GemmOperand, r: number, c: number): number {
  const off = x.offset ?? 0;
  return x.trans ? x.data[off + c * x.ld + r] : x.data[off + r * x.ld + c];
}

/** A random operand of logical shape (rows, cols), stored as asked, with `pad` extra columns and a leading offset. */
function operand(rng: Rng, rows: number, cols: number, trans: boolean, pad: number, offset: number): GemmOperand {
  const ld = (trans ? rows : cols) + pad;
  const stored = trans ? cols : rows;
  return { data: randn(rng, offset + stored * ld), ld, trans, offset };
}

/** C = A·B through the kernel, gathered from its row blocks (checking that they cover every row once, in order). */
function product(gemm: WasmGemm, M: number, N: number, K: number, A: GemmOperand, B: GemmOperand): { c: Float32Array; blocks: number } {
  const c = new Float32Array(M * N);
  let next = 0, blocks = 0;
  gemm.multiply(M, N, K, A, B, (block, ldc, m0, rows) => {
    assert.equal(m0, next, "row blocks in order, without gaps");
    assert.ok(ldc >= N && ldc % 8 === 0, `ldc ${ldc}`);
    for (let r = 0; r < rows; r++) for (let j = 0; j < N; j++) c[(m0 + r) * N + j] = block[r * ldc + j];
    next += rows;
    blocks++;
  });
  assert.equal(next, M, "every row of C delivered");
  return { c, blocks };
}

/** Max |C − A·B| (float64 reference) relative to max(1, max |A·B|). */
function productError(c: Float32Array, M: number, N: number, K: number, A: GemmOperand, B: GemmOperand): number {
  let maxErr = 0, maxRef = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let ref = 0;
      for (let k = 0; k < K; k++) ref += at(A, i, k) * at(B, k, j);
      maxErr = Math.max(maxErr, Math.abs(c[i * N + j] - ref));
      maxRef = Math.max(maxRef, Math.abs(ref));
    }
  }
  return maxErr / Math.max(1, maxRef);
}

test("wasm: this Node.js has WebAssembly SIMD", () => {
  assert.equal(wasmSimdAvailable(), true);
  assert.equal(new WasmBackend().info().name, "wasm");
});

test("wasm gemm: C = A·B in every layout, ragged sizes, offsets and padded leading dimensions", () => {
  const gemm = new WasmGemm();
  const rng = new Rng(11);
  const sizes: [number, number, number][] = [[1, 1, 1], [3, 5, 2], [4, 8, 16], [7, 9, 13], [33, 70, 41], [64, 17, 128], [130, 96, 5]];
  for (const [M, N, K] of sizes) {
    for (const aT of [false, true]) {
      for (const bT of [false, true]) {
        const A = operand(rng, M, K, aT, M % 3, 5);
        const B = operand(rng, K, N, bT, N % 2, 3);
        const err = productError(product(gemm, M, N, K, A, B).c, M, N, K, A, B);
        assert.ok(err <= 1e-5, `M${M} N${N} K${K} aT ${aT} bT ${bT}: relative error ${err}`);
      }
    }
  }
});

test("wasm gemm: memory grows for a large product and stays correct for small ones after it", () => {
  const gemm = new WasmGemm();
  const rng = new Rng(12);
  for (const [M, N, K] of [[3, 5, 7], [700, 600, 300], [2, 9, 4]]) { // the middle one needs several memory pages
    const A = operand(rng, M, K, false, 0, 0), B = operand(rng, K, N, false, 0, 0);
    const { c, blocks } = product(gemm, M, N, K, A, B);
    assert.equal(blocks, 1);
    assert.ok(productError(c, M, N, K, A, B) <= 1e-5, `M${M} N${N} K${K}`);
  }
});

test("wasm gemm: a product larger than the memory cap comes in row blocks, in every layout", () => {
  const rng = new Rng(13);
  const [M, N, K] = [203, 37, 29];
  const gemm = new WasmGemm({ maxFloats: 4000 }); // room for the packed B and ~40 rows of A and C at a time
  for (const aT of [false, true]) {
    const A = operand(rng, M, K, aT, 1, 2), B = operand(rng, K, N, !aT, 0, 1);
    const { c, blocks } = product(gemm, M, N, K, A, B);
    assert.ok(blocks >= 4, `${blocks} blocks`);
    assert.ok(productError(c, M, N, K, A, B) <= 1e-5, `aT ${aT}`);
  }
});

test("auto without the native addon falls back to wasm with one line on stderr", () => {
  // the engine folder (and util/, all it imports) alone, away from build/Release: the addon is "not built" there
  const dir = mkdtempSync(join(tmpdir(), "engine-"));
  for (const folder of ["engine", "util"]) {
    cpSync(fileURLToPath(new URL(`../src/${folder}`, import.meta.url)), join(dir, "a", "b", folder), { recursive: true });
  }
  const index = join(dir, "a", "b", "engine", "index.js");
  const script = `const { createBackend } = await import(${JSON.stringify(index)}); const be = await createBackend("auto"); console.log(be.name);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "wasm");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /native backend unavailable \(the native addon is not built.*npm rebuild\); using the portable wasm backend/);
});

test("wasm: createBackend('wasm') and bad backends", async () => {
  const be = await createBackend("wasm");
  assert.equal(be.name, "wasm");
  await assert.rejects(createBackend("wasm2"), (e: Error) => e instanceof BackendUnavailableError && /use one of: auto, native, wasm, js, webgpu/.test(e.message));
});

describe("wasm backend vs js backend", () => {
  const wasm = new WasmBackend();
  for (const s of KERNEL_SHAPES) compareKernels("wasm", s, () => wasm);
  compareOptimizer("wasm", () => wasm);
});

test("gelu (wasm): the exp form equals 0.5·x·(1 + tanh u) and its derivative, with no NaN at large |x|", () => {
  const n = 4001;
  const x = new Float32Array(n).map((_, i) => (i - 2000) / 100);
  x[0] = -1e4;
  x[n - 1] = 1e4;
  const ones = new Float32Array(n).fill(1), out = new Float32Array(n), grad = new Float32Array(n);
  const wasm = new WasmBackend();
  wasm.geluForward(out, x, n);
  wasm.geluBackward(grad, x, ones, n);
  const S = Math.sqrt(2 / Math.PI);
  for (let i = 0; i < n; i++) {
    const v = x[i], th = Math.tanh(S * (v + 0.044715 * v * v * v));
    const f = 0.5 * v * (1 + th), g = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * S * (1 + 3 * 0.044715 * v * v);
    assert.ok(Math.abs(out[i] - f) <= 1e-6 * Math.max(1, Math.abs(f)), `gelu(${v}) = ${out[i]}, want ${f}`);
    assert.ok(Math.abs(grad[i] - g) <= 1e-6 * Math.max(1, Math.abs(g)), `gelu'(${v}) = ${grad[i]}, want ${g}`);
  }
});

test("wasm gemm: memory beyond WebAssembly's 4 GiB is a one-line BackendUnavailableError naming the fix (the CLI prints it as one line)", () => {
  const gemm = new WasmGemm() as unknown as { reserve(floats: number): Float32Array };
  assert.throws(() => gemm.reserve(2 ** 31), (e: Error) => e instanceof BackendUnavailableError && /cannot grow its WebAssembly memory to 8192 MiB.*fix: a smaller model or micro-batch/.test(e.message) && !e.message.includes("\n"));
});

test("wasm gemm on worker threads: bit-identical to one thread in every layout; after dispose it runs on one", async () => {
  const rng = new Rng(14);
  const one = new WasmGemm({ threads: 1 });
  const three = new WasmGemm({ threads: 3 });
  await three.ready();
  assert.equal(three.threads, 3);
  for (const [M, N, K] of [[300, 1001, 77], [129, 260, 300]]) { // above the split threshold, ragged panel counts
    for (const aT of [false, true]) {
      for (const bT of [false, true]) {
        const A = operand(rng, M, K, aT, 1, 3), B = operand(rng, K, N, bT, 2, 1);
        const a = product(one, M, N, K, A, B).c, b = product(three, M, N, K, A, B).c;
        assert.ok(a.every((x, i) => x === b[i]), `M${M} N${N} K${K} aT ${aT} bT ${bT}: threaded result differs`);
      }
    }
  }
  three.dispose();
  assert.equal(three.threads, 1);
  const A = operand(rng, 300, 77, false, 0, 0), B = operand(rng, 77, 1001, false, 0, 0);
  assert.ok(productError(product(three, 300, 1001, 77, A, B).c, 300, 1001, 77, A, B) <= 1e-5);
});

test("wasm backend: --threads reaches the backend; SCALING_LAB_THREADS is the default", async () => {
  const be = await createBackend("wasm", { threads: 2 });
  assert.equal(be.info().threads, 2);
  be.dispose();
  assert.equal(be.info().threads, 1);
  const index = fileURLToPath(new URL("../src/engine/index.js", import.meta.url));
  const script = `const { createBackend } = await import(${JSON.stringify(index)}); console.log((await createBackend("wasm")).info().threads);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, SCALING_LAB_THREADS: "3" } });
  assert.equal(r.stdout.trim(), "3", r.stderr);
});
