/**
 * The portable `wasm` backend: the js backend with its matrix products — every Linear layer and the per-head
 * products of attention — on a WebAssembly SIMD kernel (src/engine/wasm-gemm.ts), and faster TypeScript forms of
 * GELU (one Math.exp instead of Math.tanh) and of the softmax + cross-entropy (one exp per logit, the loss as
 * logsumexp − logit). Needs no compiler and no BLAS, runs wherever Node.js runs, and is the fallback of `auto` when
 * the native addon cannot load. The products accumulate in float32 like a BLAS; the layernorms, the optimizer and
 * the sums here accumulate in float64 as in the js backend (the plain reference, which these kernels are tested
 * against), so results match the js and native backends within float32 rounding.
 */
import { type BackendInfo, attentionWidth } from "./backend.js";
import { JsBackend } from "./js.js";
import { defaultThreads } from "../util/threads.js";
import { WasmGemm } from "./wasm-gemm.js";

const GELU_SCALE = Math.sqrt(2 / Math.PI);

/**
 * The js backend with WebAssembly SIMD matrix products (large products split over worker threads) and faster forms
 * of GELU and cross-entropy.
 */
export class WasmBackend extends JsBackend {
  override readonly name: string = "wasm";
  private readonly gemm: WasmGemm;
  /** Column sums of dout for dbias (float64, grown as needed). */
  private colSums = new Float64Array(0);
  /** Two (rows, keys) tiles of the banded attention (grown as needed). */
  private bandTiles = [new Float32Array(0), new Float32Array(0)];

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
  override attentionForward(
    out: Float32Array, att: Float32Array, qkv: Float32Array, B: number, T: number, C: number, NH: number, window = 0,
  ): void {
    if (attentionWidth(T, window) < T) {
      this.bandedForward(out, att, qkv, B, T, C, NH, window);
      return;
    }
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
    B: number, T: number, C: number, NH: number, window = 0,
  ): void {
    if (attentionWidth(T, window) < T) {
      this.bandedBackward(dqkv, dout, qkv, att, B, T, C, NH, window);
      return;
    }
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

  // ------------------------------------------------------------------ banded attention (GPT-3's local layers)
  //
  // att is (B,NH,T,W), row t holding keys t−W+1 … t (see Backend.attentionForward). A block of RB rows
  // [r0, r1) touches the keys [k0, r1), k0 = max(0, r0 − W + 1): its products with those keys are one (rows, keys)
  // tile, so a row costs W + RB − 1 key products instead of up to T, and nothing is T×T.

  /** Rows per banded tile: the tile's extra keys per row are RB − 1, and small products run slower. */
  private bandRows(W: number): number {
    return Math.min(64, Math.max(16, W));
  }

  /** The scratch tile `i`, at least n floats. */
  private bandTile(i: number, n: number): Float32Array {
    if (this.bandTiles[i].length < n) this.bandTiles[i] = new Float32Array(n);
    return this.bandTiles[i];
  }

  private bandedForward(out: Float32Array, att: Float32Array, qkv: Float32Array, B: number, T: number, C: number, NH: number, W: number): void {
    const hs = C / NH, C3 = 3 * C, RB = this.bandRows(W);
    const scale = 1 / Math.sqrt(hs);
    const P = this.bandTile(0, RB * (RB + W - 1)); // (rows, keys) probabilities, zero off the band
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        const q = b * T * C3 + h * hs; // q (T,hs) rows of stride 3C; k at +C, v at +2C
        const a = (b * NH + h) * T * W; // banded att (T,W) of this head
        for (let r0 = 0; r0 < T; r0 += RB) {
          const r1 = Math.min(T, r0 + RB), k0 = Math.max(0, r0 - W + 1), K = r1 - k0;
          // scores (rows, K) = q[r0:r1] · k[k0:r1]ᵀ, then a softmax over each row's band into att and the tile
          this.gemm.multiply(r1 - r0, K, hs, { data: qkv, ld: C3, trans: false, offset: q + r0 * C3 }, { data: qkv, ld: C3, trans: true, offset: q + C + k0 * C3 }, (s, lds, m0, rows) => {
            for (let i = m0; i < m0 + rows; i++) {
              const t = r0 + i, lo = Math.max(0, t - W + 1), src = (i - m0) * lds - k0, tile = i * K - k0;
              let max = -Infinity;
              for (let j = lo; j <= t; j++) max = Math.max(max, s[src + j] * scale);
              let sum = 0;
              for (let j = lo; j <= t; j++) {
                const e = Math.exp(s[src + j] * scale - max);
                P[tile + j] = e;
                sum += e;
              }
              const inv = 1 / sum, dst = a + t * W - (t - W + 1); // att[dst + j] is key j's entry
              for (let j = k0; j < lo; j++) P[tile + j] = 0;
              for (let j = t + 1; j < r1; j++) P[tile + j] = 0;
              for (let j = t - W + 1; j < lo; j++) att[dst + j] = 0;
              for (let j = lo; j <= t; j++) att[dst + j] = P[tile + j] *= inv;
            }
          });
          // out[r0:r1] = P · v[k0:r1]
          this.gemm.multiply(r1 - r0, hs, K, { data: P, ld: K, trans: false }, { data: qkv, ld: C3, trans: false, offset: q + 2 * C + k0 * C3 }, this.store(out, b * T * C + h * hs + r0 * C, C, hs));
        }
      }
    }
  }

  private bandedBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array, B: number, T: number, C: number, NH: number, W: number): void {
    const hs = C / NH, C3 = 3 * C, RB = this.bandRows(W);
    const scale = 1 / Math.sqrt(hs);
    const P = this.bandTile(0, RB * (RB + W - 1)), D = this.bandTile(1, RB * (RB + W - 1));
    dqkv.fill(0, 0, B * T * C3); // dk and dv accumulate over the row blocks
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        const q = b * T * C3 + h * hs;
        const o = b * T * C + h * hs; // dout (T,hs) rows of stride C
        const a = (b * NH + h) * T * W;
        for (let r0 = 0; r0 < T; r0 += RB) {
          const r1 = Math.min(T, r0 + RB), k0 = Math.max(0, r0 - W + 1), K = r1 - k0, n = r1 - r0;
          const dO = { data: dout, ld: C, trans: false, offset: o + r0 * C };
          // datt (rows, K) = dout[r0:r1] · v[k0:r1]ᵀ; softmax backward on each band: dpre = P (datt − Σ P·datt) scale
          this.gemm.multiply(n, K, hs, dO, { data: qkv, ld: C3, trans: true, offset: q + 2 * C + k0 * C3 }, (s, lds, m0, rows) => {
            for (let i = m0; i < m0 + rows; i++) {
              const t = r0 + i, lo = Math.max(0, t - W + 1), src = (i - m0) * lds - k0, tile = i * K - k0;
              const pa = a + t * W - (t - W + 1); // att[pa + j] is key j's probability
              let dot = 0;
              for (let j = lo; j <= t; j++) dot += att[pa + j] * s[src + j];
              for (let j = k0; j < r1; j++) {
                const inBand = j >= lo && j <= t;
                P[tile + j] = inBand ? att[pa + j] : 0;
                D[tile + j] = inBand ? att[pa + j] * (s[src + j] - dot) * scale : 0;
              }
            }
          });
          const tile = (data: Float32Array, trans: boolean) => ({ data, ld: K, trans });
          // dq[r0:r1] = dpre · k[k0:r1];  dk[k0:r1] += dpreᵀ · q[r0:r1];  dv[k0:r1] += Pᵀ · dout[r0:r1]
          this.gemm.multiply(n, hs, K, tile(D, false), { data: qkv, ld: C3, trans: false, offset: q + C + k0 * C3 }, this.store(dqkv, q + r0 * C3, C3, hs));
          this.gemm.multiply(K, hs, n, tile(D, true), { data: qkv, ld: C3, trans: false, offset: q + r0 * C3 }, this.accumulate(dqkv, q + C + k0 * C3, C3, hs));
          this.gemm.multiply(K, hs, n, tile(P, true), dO, this.accumulate(dqkv, q + 2 * C + k0 * C3, C3, hs));
        }
      }
    }
  }

  /** A consumer that adds a product's first `cols` columns into `dst` at `offset`, rows `ld` apart. */
  private accumulate(dst: Float32Array, offset: number, ld: number, cols: number) {
    return (c: Float32Array, ldc: number, m0: number, rows: number): void => {
      for (let r = 0; r < rows; r++) {
        const d = offset + (m0 + r) * ld, s = r * ldc;
        for (let i = 0; i < cols; i++) dst[d + i] += c[s + i];
      }
    };
  }

  // ------------------------------------------------------------------ GELU (tanh approximation, exp form)

  // With u = √(2/π)(x + 0.044715x³) and s = 1/(e^{2u} + 1): 1 + tanh u = 2(1 − s) and 1 − tanh²u = 4s(1 − s).
  // One Math.exp is ~1.4× faster than Math.tanh in V8 and gives the same float32 results; e^{2u} = ∞ gives s = 0.

  /** @inheritdoc */
  override geluForward(out: Float32Array, inp: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      const s = 1 / (Math.exp(2 * GELU_SCALE * (x + 0.044715 * x * x * x)) + 1);
      out[i] = x * (1 - s); // 0.5·x·(1 + tanh u)
    }
  }

  /** @inheritdoc */
  override geluBackward(dinp: Float32Array, inp: Float32Array, dout: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      const s = 1 / (Math.exp(2 * GELU_SCALE * (x + 0.044715 * x * x * x)) + 1);
      // 0.5(1 + tanh u) + 0.5·x·(1 − tanh²u)·du/dx
      const grad = (1 - s) * (1 + 2 * x * s * GELU_SCALE * (1 + 3 * 0.044715 * x * x));
      dinp[i] = grad * dout[i];
    }
  }

  // ------------------------------------------------------------------ softmax + cross-entropy, one exp per logit

  /** @inheritdoc */
  override crossEntropyForward(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void {
    for (let n = 0; n < N; n++) {
      const r = n * V;
      let max = -Infinity;
      for (let i = 0; i < V; i++) if (logits[r + i] > max) max = logits[r + i];
      const t = targets[n];
      const target = t < 0 ? 0 : logits[r + t]; // read before probs may overwrite logits
      // one exp per entry, kept in probs (which may be logits itself), then normalised
      let sum = 0;
      for (let i = 0; i < V; i++) {
        const e = Math.exp(logits[r + i] - max);
        probs[r + i] = e;
        sum += e;
      }
      losses[n] = t < 0 ? 0 : max + Math.log(sum) - target; // logsumexp − logit[target]
      const inv = 1 / sum;
      for (let i = 0; i < V; i++) probs[r + i] *= inv;
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
