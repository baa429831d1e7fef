/**
 * The portable `wasm` backend: the js backend with its matrix products — every Linear layer and the per-head
 * products of attention — on a WebAssembly SIMD kernel (src/engine/wasm-gemm.ts). Needs no compiler and no BLAS,
 * runs wherever Node.js runs, and is the fallback of `auto` when the native addon cannot load. The products
 * accumulate in float32 like a BLAS; the softmaxes, layernorms and the optimizer stay the js backend's (float64
 * accumulation), so results match the js and native backends within float32 rounding.
 */
import type { BackendInfo } from "./backend.js";
import { JsBackend } from "./js.js";
import { defaultThreads } from "../util/threads.js";
import { WasmGemm } from "./wasm-gemm.js";

/** The js backend with WebAssembly SIMD matrix products (large products split over worker threads). */
export class WasmBackend extends JsBackend {
  override readonly name: string = "wasm";
  private readonly gemm: WasmGemm;
  /** Column sums of dout for dbias (float64, grown as needed). */
  private colSums = new Float64Array(0);

  /** @param options.threads threads for large matrix products, this one included (default 1; see {@link createWasmBackend}). */
  constructor(options: { threads?: number } = {}) {
    super();
    this.gemm = new WasmGemm({ threads: options.threads ?? 1 });
  }

  /** Resolves once the worker threads can take work. */
  ready(): Promise<void> {
    return this.gemm.ready();
  }

  /** @inheritdoc */
  override info(): BackendInfo {
    const t = this.gemm.threads;
    return { name: "wasm", threads: t, detail: `WebAssembly SIMD matmul and attention products on ${t} thread${t > 1 ? "s" : ""}, TypeScript for the rest` };
  }

  /** @inheritdoc */
  override dispose(): void {
    this.gemm.dispose();
  }

  // ------------------------------------------------------------------ matmul

  /** @inheritdoc */
  override matmulForward(
    out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null, N: number, C: number, OC: number,
  ): void {
    // out (N,OC) = inp (N,C) · weight (OC,C)ᵀ
    this.gemm.multiply(N, OC, C, { data: inp, ld: C, trans: false }, { data: weight, ld: C, trans: true }, (c, ldc, n0, rows) => {
      for (let n = 0; n < rows; n++) {
        const y = (n0 + n) * OC, r = n * ldc;
        if (bias) for (let o = 0; o < OC; o++) out[y + o] = c[r + o] + bias[o];
        else out.set(c.subarray(r, r + OC), y);
      }
    });
  }

  /** @inheritdoc */
  override matmulBackward(
    dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null, dout: Float32Array,
    inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number,
  ): void {
    if (dinp) {
      // dinp (N,C) = dout (N,OC) · weight (OC,C)
      this.gemm.multiply(N, C, OC, { data: dout, ld: OC, trans: false }, { data: weight, ld: C, trans: false }, this.store(dinp, 0, C, C));
    }
    // dweight (OC,C) += doutᵀ (OC,N) · inp (N,C)
    this.gemm.multiply(OC, C, N, { data: dout, ld: OC, trans: true }, { data: inp, ld: C, trans: false }, (c, ldc, o0, rows) => {
      for (let o = 0; o < rows; o++) {
        const w = (o0 + o) * C, r = o * ldc;
        for (let i = 0; i < C; i++) dweight[w + i] += c[r + i];
      }
    });
    if (dbias) {
      if (this.colSums.length < OC) this.colSums = new Float64Array(OC);
      const sums = this.colSums;
      sums.fill(0, 0, OC);
      for (let n = 0; n < N; n++) {
        const y = n * OC;
        for (let o = 0; o < OC; o++) sums[o] += dout[y + o];
      }
      for (let o = 0; o < OC; o++) dbias[o] += sums[o];
    }
  }

  // ------------------------------------------------------------------ attention (per head: two products forward, four backward)

  /** @inheritdoc */
  override attentionForward(out: Float32Array, att: Float32Array, qkv: Float32Array, B: number, T: number, C: number, NH: number): void {
    const hs = C / NH, C3 = 3 * C;
    const scale = 1 / Math.sqrt(hs);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        const q = b * T * C3 + h * hs; // q (T,hs) rows of stride 3C; k at +C, v at +2C
        const a = (b * NH + h) * T * T; // att (T,T) of this head
        // scores (T,T) = q · kᵀ, then a causal softmax row by row into att
        this.gemm.multiply(T, T, hs, { data: qkv, ld: C3, trans: false, offset: q }, { data: qkv, ld: C3, trans: true, offset: q + C }, (s, lds, t0, rows) => {
          for (let t = t0; t < t0 + rows; t++) {
            const row = (t - t0) * lds, dst = a + t * T;
            let max = -Infinity;
            for (let t2 = 0; t2 <= t; t2++) max = Math.max(max, s[row + t2] * scale);
            let sum = 0;
            for (let t2 = 0; t2 <= t; t2++) {
              const e = Math.exp(s[row + t2] * scale - max);
              att[dst + t2] = e;
              sum += e;
            }
            const inv = 1 / sum;
            for (let t2 = 0; t2 <= t; t2++) att[dst + t2] *= inv;
            for (let t2 = t + 1; t2 < T; t2++) att[dst + t2] = 0;
          }
        });
        // out (T,hs) = att · v
        this.gemm.multiply(T, hs, T, { data: att, ld: T, trans: false, offset: a }, { data: qkv, ld: C3, trans: false, offset: q + 2 * C }, this.store(out, b * T * C + h * hs, C, hs));
      }
    }
  }

  /** @inheritdoc */
  override attentionBackward(
    dqkv: Float32Array, scratch: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array,
    B: number, T: number, C: number, NH: number,
  ): void {
    const hs = C / NH, C3 = 3 * C;
    const scale = 1 / Math.sqrt(hs);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        const q = b * T * C3 + h * hs;
        const o = b * T * C + h * hs; // dout (T,hs) rows of stride C
        const a = (b * NH + h) * T * T;
        const dO = { data: dout, ld: C, trans: false, offset: o };
        // datt (T,T) = dout · vᵀ, kept in scratch
        this.gemm.multiply(T, T, hs, dO, { data: qkv, ld: C3, trans: true, offset: q + 2 * C }, this.store(scratch, a, T, T));
        // dv (T,hs) = attᵀ · dout
        this.gemm.multiply(T, hs, T, { data: att, ld: T, trans: true, offset: a }, dO, this.store(dqkv, b * T * C3 + 2 * C + h * hs, C3, hs));
        // softmax backward into scratch: dpre = att · (datt − Σ att·datt) · scale, zero above the diagonal
        for (let t = 0; t < T; t++) {
          const r = a + t * T;
          let dot = 0;
          for (let t2 = 0; t2 <= t; t2++) dot += att[r + t2] * scratch[r + t2];
          for (let t2 = 0; t2 <= t; t2++) scratch[r + t2] = att[r + t2] * (scratch[r + t2] - dot) * scale;
          for (let t2 = t + 1; t2 < T; t2++) scratch[r + t2] = 0;
        }
        const dS = { data: scratch, ld: T, offset: a };
        // dq (T,hs) = dpre · k ;  dk (T,hs) = dpreᵀ · q
        this.gemm.multiply(T, hs, T, { ...dS, trans: false }, { data: qkv, ld: C3, trans: false, offset: q + C }, this.store(dqkv, b * T * C3 + h * hs, C3, hs));
        this.gemm.multiply(T, hs, T, { ...dS, trans: true }, { data: qkv, ld: C3, trans: false, offset: q }, this.store(dqkv, b * T * C3 + C + h * hs, C3, hs));
      }
    }
  }

  /** A consumer that copies a product's first `cols` columns into `dst` at `offset`, rows `ld` apart. */
  private store(dst: Float32Array, offset: number, ld: number, cols: number) {
    return (c: Float32Array, ldc: number, m0: number, rows: number): void => {
      if (ld === cols && ldc === cols) {
        dst.set(c.subarray(0, rows * cols), offset + m0 * ld); // contiguous on both sides: one copy
        return;
      }
      for (let r = 0; r < rows; r++) {
        const d = offset + (m0 + r) * ld, s = r * ldc;
        for (let i = 0; i < cols; i++) dst[d + i] = c[s + i];
      }
    };
  }
}

/** A wasm backend on `threads` threads (default: `SCALING_LAB_THREADS` or every core), its workers started. */
export async function createWasmBackend(threads: number = defaultThreads()): Promise<WasmBackend> {
  const be = new WasmBackend({ threads });
  await be.ready();
  return be;
}
