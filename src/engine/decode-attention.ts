/**
 * Causal attention of a few new positions over a sequence's cached keys and values, for incremental decoding with a
 * key/value cache (model/kv-cache.ts): the work is (new rows) × (cached rows) × C, not T² × C. One implementation for
 * the backends whose buffers are host memory (js, wasm, native); tiny next to the matrix products of a decoding
 * step, so it needs no kernel of its own.
 */

/**
 * out (T1 − T0, C) = causal attention of rows T0 … T1−1 of one sequence's qkv (T1, 3C) over rows 0 … t of the same
 * buffer (rows are [q | k | v], heads split the C columns in order). `window` W > 0 limits row t to keys t2 with
 * t − W < t2 ≤ t (GPT-3's banded layers).
 */
export function attentionDecodeHost(
  out: Float32Array, qkv: Float32Array, T0: number, T1: number, C: number, NH: number, window = 0,
): void {
  const hs = C / NH;
  const C3 = 3 * C;
  const scale = 1 / Math.sqrt(hs);
  const scores = new Float64Array(T1);
  const acc = new Float64Array(hs);
  for (let t = T0; t < T1; t++) {
    const first = window > 0 ? Math.max(0, t - window + 1) : 0;
    for (let h = 0; h < NH; h++) {
      const q = t * C3 + h * hs;
      let max = -Infinity;
      for (let t2 = first; t2 <= t; t2++) {
        const k = t2 * C3 + C + h * hs;
        let dot = 0;
        for (let i = 0; i < hs; i++) dot += qkv[q + i] * qkv[k + i];
        scores[t2] = dot * scale;
        if (scores[t2] > max) max = scores[t2];
      }
      let sum = 0;
      for (let t2 = first; t2 <= t; t2++) {
        scores[t2] = Math.exp(scores[t2] - max);
        sum += scores[t2];
      }
      acc.fill(0);
      for (let t2 = first; t2 <= t; t2++) {
        const p = scores[t2] / sum;
        const v = t2 * C3 + 2 * C + h * hs;
        for (let i = 0; i < hs; i++) acc[i] += p * qkv[v + i];
      }
      const o = (t - T0) * C + h * hs;
      for (let i = 0; i < hs; i++) out[o + i] = acc[i];
    }
  }
}
