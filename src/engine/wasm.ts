/**
 * The portable `wasm` backend: the js backend with its matrix products — every Linear layer and the per-head
 * products of attention — on a WebAssembly SIMD kernel (src/engine/wasm-gemm.ts). Needs no compiler and no BLAS,
 * runs wherever Node.js runs, and is the fallback of `auto` when the native addon cannot load. The products
 * accumulate in float32 like a BLAS; the softmaxes, layernorms and the optimizer stay the js backend's (float64
 * accumulation), so results match the js and native backends within float32 rounding.
 */
import type { BackendInfo } from "./backend.js";
import { JsBackend } from "./js.js";
import { WasmGemm } from "./wasm-gemm.js";

/** The js backend with WebAssembly SIMD matrix products (single-threaded). */
export class WasmBackend extends JsBackend {
  override readonly name: string = "wasm";
  private readonly gemm = new WasmGemm();
  /** Column sums of dout for dbias (float64, grown as needed). */
  private colSums = new Float64Array(0);

  /** @inheritdoc */
  override info(): BackendInfo {
    return { name: "wasm", threads: 1, detail: "WebAssembly SIMD matmul and attention products, TypeScript for the rest" };
  }

  // ------------------------------------------------------------------ matmul

  /** @inheritdoc */
  override matmulForward(
    out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null, N: number, C: number, OC: number,
  ): void {
    // out (N,OC) = inp (N,C) · weight (OC,C)ᵀ
    const { c, ldc } = this.gemm.multiply(N, OC, C, { data: inp, ld: C, trans: false }, { data: weight, ld: C, trans: true });
    for (let n = 0; n < N; n++) {
      const y = n * OC, r = n * ldc;
      if (bias) for (let o = 0; o < OC; o++) out[y + o] = c[r + o] + bias[o];
      else for (let o = 0; o < OC; o++) out[y + o] = c[r + o];
    }
  }

  /** @inheritdoc */
  override matmulBackward(
    dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null, dout: Float32Array,
    inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number,
  ): void {
    if (dinp) {
      // dinp (N,C) = dout (N,OC) · weight (OC,C)
      const { c, ldc } = this.gemm.multiply(N, C, OC, { data: dout, ld: OC, trans: false }, { data: weight, ld: C, trans: false });
      for (let n = 0; n < N; n++) {
        const x = n * C, r = n * ldc;
        for (let i = 0; i < C; i++) dinp[x + i] = c[r + i];
      }
    }
    // dweight (OC,C) += doutᵀ (OC,N) · inp (N,C)
    const { c, ldc } = this.gemm.multiply(OC, C, N, { data: dout, ld: OC, trans: true }, { data: inp, ld: C, trans: false });
    for (let o = 0; o < OC; o++) {
      const w = o * C, r = o * ldc;
      for (let i = 0; i < C; i++) dweight[w + i] += c[r + i];
    }
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
        const s = this.gemm.multiply(T, T, hs, { data: qkv, ld: C3, trans: false, offset: q }, { data: qkv, ld: C3, trans: true, offset: q + C });
        for (let t = 0; t < T; t++) {
          const row = t * s.ldc, dst = a + t * T;
          let max = -Infinity;
          for (let t2 = 0; t2 <= t; t2++) max = Math.max(max, s.c[row + t2] * scale);
          let sum = 0;
          for (let t2 = 0; t2 <= t; t2++) {
            const e = Math.exp(s.c[row + t2] * scale - max);
            att[dst + t2] = e;
            sum += e;
          }
          const inv = 1 / sum;
          for (let t2 = 0; t2 <= t; t2++) att[dst + t2] *= inv;
          for (let t2 = t + 1; t2 < T; t2++) att[dst + t2] = 0;
        }
        // out (T,hs) = att · v
        const y = this.gemm.multiply(T, hs, T, { data: att, ld: T, trans: false, offset: a }, { data: qkv, ld: C3, trans: false, offset: q + 2 * C });
        this.scatter(out, b * T * C + h * hs, C, y, T, hs);
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
        const dp = this.gemm.multiply(T, T, hs, dO, { data: qkv, ld: C3, trans: true, offset: q + 2 * C });
        for (let t = 0; t < T; t++) {
          const row = t * dp.ldc, dst = a + t * T;
          for (let t2 = 0; t2 <= t; t2++) scratch[dst + t2] = dp.c[row + t2];
        }
        // dv (T,hs) = attᵀ · dout
        const dv = this.gemm.multiply(T, hs, T, { data: att, ld: T, trans: true, offset: a }, dO);
        this.scatter(dqkv, b * T * C3 + 2 * C + h * hs, C3, dv, T, hs);
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
        const dq = this.gemm.multiply(T, hs, T, { ...dS, trans: false }, { data: qkv, ld: C3, trans: false, offset: q + C });
        this.scatter(dqkv, b * T * C3 + h * hs, C3, dq, T, hs);
        const dk = this.gemm.multiply(T, hs, T, { ...dS, trans: true }, { data: qkv, ld: C3, trans: false, offset: q });
        this.scatter(dqkv, b * T * C3 + C + h * hs, C3, dk, T, hs);
      }
    }
  }

  /** Writes a product's (rows, cols) block into `dst` at `offset` with row stride `ld`. */
  private scatter(dst: Float32Array, offset: number, ld: number, p: { c: Float32Array; ldc: number }, rows: number, cols: number): void {
    for (let r = 0; r < rows; r++) {
      const d = offset + r * ld, s = r * p.ldc;
      for (let i = 0; i < cols; i++) dst[d + i] = p.c[s + i];
    }
  }
}
