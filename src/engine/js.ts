/**
 * The portable `js` backend: every kernel of the {@link Backend} contract in plain TypeScript over Float32Arrays.
 * No compiler, no threads; accumulations run in float64 (JS numbers), and every kernel is written the textbook way
 * (GELU with Math.tanh, softmax then −log p, the obvious loops), so it is the numerical reference the other backends
 * are tested against: keep it plain, speed belongs in wasm and native. Forward and backward of each layer sit side
 * by side, as in llm.c.
 */
import { type AdamWStep, type Backend, type BackendInfo, attentionWidth } from "./backend.js";
import { composedClassifier } from "./classifier.js";
import { attentionDecodeHost } from "./decode-attention.js";
import { HostMemory } from "./host-memory.js";

const GELU_SCALE = Math.sqrt(2 / Math.PI);
const LN_EPS = 1e-5;

/** The portable TypeScript backend (buffers are Float32Array / Int32Array). */
export class JsBackend extends HostMemory implements Backend<Float32Array, Int32Array> {
  readonly name: string = "js";

  /** @inheritdoc */
  info(): BackendInfo {
    return { name: "js", threads: 1, detail: "portable TypeScript kernels" };
  }

  // ------------------------------------------------------------------ memory (alloc, view, read, ...: HostMemory)

  /** @inheritdoc */
  dispose(): void {}

  // ------------------------------------------------------------------ encoder

  /** @inheritdoc */
  encoderForward(out: Float32Array, inp: Int32Array, wte: Float32Array, wpe: Float32Array, B: number, T: number, C: number): void {
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * C;
        const ix = inp[b * T + t] * C;
        const p = t * C;
        for (let i = 0; i < C; i++) out[o + i] = wte[ix + i] + wpe[p + i];
      }
    }
  }

  /** @inheritdoc */
  encoderBackward(dwte: Float32Array, dwpe: Float32Array, dout: Float32Array, inp: Int32Array, B: number, T: number, C: number): void {
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * C;
        const ix = inp[b * T + t] * C;
        const p = t * C;
        for (let i = 0; i < C; i++) {
          dwte[ix + i] += dout[o + i];
          dwpe[p + i] += dout[o + i];
        }
      }
    }
  }

  // ------------------------------------------------------------------ layernorm

  /** @inheritdoc */
  layernormForward(
    out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array,
    weight: Float32Array, bias: Float32Array, N: number, C: number,
  ): void {
    for (let n = 0; n < N; n++) {
      const x = n * C;
      let m = 0;
      for (let i = 0; i < C; i++) m += inp[x + i];
      m /= C;
      let v = 0;
      for (let i = 0; i < C; i++) {
        const d = inp[x + i] - m;
        v += d * d;
      }
      v /= C;
      const s = 1 / Math.sqrt(v + LN_EPS);
      for (let i = 0; i < C; i++) out[x + i] = (inp[x + i] - m) * s * weight[i] + bias[i];
      mean[n] = m;
      rstd[n] = s;
    }
  }

  /** @inheritdoc */
  layernormBackward(
    dinp: Float32Array, dweight: Float32Array, dbias: Float32Array, dout: Float32Array, inp: Float32Array,
    weight: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number,
  ): void {
    for (let n = 0; n < N; n++) {
      const x = n * C;
      const m = mean[n];
      const s = rstd[n];
      // two reductions: mean of dnorm and mean of dnorm * norm
      let dnormMean = 0;
      let dnormNormMean = 0;
      for (let i = 0; i < C; i++) {
        const norm = (inp[x + i] - m) * s;
        const dnorm = weight[i] * dout[x + i];
        dnormMean += dnorm;
        dnormNormMean += dnorm * norm;
      }
      dnormMean /= C;
      dnormNormMean /= C;
      for (let i = 0; i < C; i++) {
        const norm = (inp[x + i] - m) * s;
        const dnorm = weight[i] * dout[x + i];
        dbias[i] += dout[x + i];
        dweight[i] += norm * dout[x + i];
        dinp[x + i] += (dnorm - dnormMean - norm * dnormNormMean) * s;
      }
    }
  }

  // ------------------------------------------------------------------ matmul

  /** @inheritdoc */
  matmulForward(
    out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null, N: number, C: number, OC: number,
  ): void {
    for (let n = 0; n < N; n++) {
      const x = n * C;
      const y = n * OC;
      for (let o = 0; o < OC; o++) {
        const w = o * C;
        let acc = bias ? bias[o] : 0;
        for (let i = 0; i < C; i++) acc += inp[x + i] * weight[w + i];
        out[y + o] = acc;
      }
    }
  }

  /** @inheritdoc */
  matmulBackward(
    dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null, dout: Float32Array,
    inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number,
  ): void {
    if (dinp) {
      // dinp (N,C) = dout (N,OC) @ weight (OC,C)
      const row = new Float64Array(C);
      for (let n = 0; n < N; n++) {
        row.fill(0);
        const y = n * OC;
        for (let o = 0; o < OC; o++) {
          const d = dout[y + o];
          if (d === 0) continue;
          const w = o * C;
          for (let i = 0; i < C; i++) row[i] += d * weight[w + i];
        }
        const x = n * C;
        for (let i = 0; i < C; i++) dinp[x + i] = row[i];
      }
    }
    // dweight (OC,C) += dout^T @ inp ; dbias (OC) += sum_n dout
    const acc = new Float64Array(C);
    for (let o = 0; o < OC; o++) {
      acc.fill(0);
      let db = 0;
      for (let n = 0; n < N; n++) {
        const d = dout[n * OC + o];
        db += d;
        if (d === 0) continue;
        const x = n * C;
        for (let i = 0; i < C; i++) acc[i] += d * inp[x + i];
      }
      const w = o * C;
      for (let i = 0; i < C; i++) dweight[w + i] += acc[i];
      if (dbias) dbias[o] += db;
    }
  }

  // ------------------------------------------------------------------ attention

  /** @inheritdoc */
  attentionForward(
    out: Float32Array, att: Float32Array, qkv: Float32Array, B: number, T: number, C: number, NH: number, window = 0,
  ): void {
    const hs = C / NH;
    const C3 = 3 * C;
    const scale = 1 / Math.sqrt(hs);
    const width = attentionWidth(T, window); // keys per att row: T dense, W banded
    const acc = new Float64Array(hs);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        for (let t = 0; t < T; t++) {
          const q = (b * T + t) * C3 + h * hs;
          // att row of position t: column c holds key t2 = first + c (first = 0 dense, t − W + 1 banded)
          const first = width === T ? 0 : t - width + 1;
          const a = ((b * NH + h) * T + t) * width - first; // att[a + t2] is key t2's entry
          const lo = Math.max(0, first);
          let max = -Infinity;
          for (let t2 = lo; t2 <= t; t2++) {
            const k = (b * T + t2) * C3 + C + h * hs;
            let dot = 0;
            for (let i = 0; i < hs; i++) dot += qkv[q + i] * qkv[k + i];
            dot *= scale;
            att[a + t2] = dot;
            if (dot > max) max = dot;
          }
          let sum = 0;
          for (let t2 = lo; t2 <= t; t2++) {
            const e = Math.exp(att[a + t2] - max);
            att[a + t2] = e;
            sum += e;
          }
          const inv = 1 / sum;
          acc.fill(0);
          for (let t2 = lo; t2 <= t; t2++) {
            const p = att[a + t2] * inv;
            att[a + t2] = p;
            const v = (b * T + t2) * C3 + 2 * C + h * hs;
            for (let i = 0; i < hs; i++) acc[i] += p * qkv[v + i];
          }
          for (let t2 = first; t2 < lo; t2++) att[a + t2] = 0; // banded rows near the start: keys before 0
          for (let t2 = t + 1; t2 < first + width; t2++) att[a + t2] = 0; // dense rows: above the diagonal
          const o = (b * T + t) * C + h * hs;
          for (let i = 0; i < hs; i++) out[o + i] = acc[i];
        }
      }
    }
  }

  /** @inheritdoc */
  attentionBackward(
    dqkv: Float32Array, scratch: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array,
    B: number, T: number, C: number, NH: number, window = 0,
  ): void {
    const hs = C / NH;
    const C3 = 3 * C;
    const scale = 1 / Math.sqrt(hs);
    const width = attentionWidth(T, window);
    dqkv.fill(0, 0, B * T * C3);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < NH; h++) {
        for (let t = 0; t < T; t++) {
          const first = width === T ? 0 : t - width + 1;
          const a = ((b * NH + h) * T + t) * width - first; // att[a + t2], scratch[a + t2]: key t2 (as forward)
          const lo = Math.max(0, first);
          const o = (b * T + t) * C + h * hs;
          // datt[t2] = dout · v[t2];  dv[t2] += att[t2] * dout
          let dot = 0; // sum_t2 att * datt, for the softmax backward
          for (let t2 = lo; t2 <= t; t2++) {
            const v = (b * T + t2) * C3 + 2 * C + h * hs;
            const p = att[a + t2];
            let d = 0;
            for (let i = 0; i < hs; i++) {
              d += dout[o + i] * qkv[v + i];
              dqkv[v + i] += p * dout[o + i];
            }
            scratch[a + t2] = d;
            dot += p * d;
          }
          // softmax backward: dpre[t2] = att[t2] * (datt[t2] - dot); then q/k gradients
          const q = (b * T + t) * C3 + h * hs;
          for (let t2 = lo; t2 <= t; t2++) {
            const dpre = att[a + t2] * (scratch[a + t2] - dot) * scale;
            if (dpre === 0) continue;
            const k = (b * T + t2) * C3 + C + h * hs;
            for (let i = 0; i < hs; i++) {
              dqkv[q + i] += qkv[k + i] * dpre;
              dqkv[k + i] += qkv[q + i] * dpre;
            }
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------ GELU (tanh approximation)

  /** @inheritdoc */
  geluForward(out: Float32Array, inp: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x)));
    }
  }

  /** @inheritdoc */
  geluBackward(dinp: Float32Array, inp: Float32Array, dout: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const x = inp[i];
      const u = GELU_SCALE * (x + 0.044715 * x * x * x);
      const th = Math.tanh(u);
      const sech2 = 1 - th * th;
      const grad = 0.5 * (1 + th) + 0.5 * x * sech2 * GELU_SCALE * (1 + 3 * 0.044715 * x * x);
      dinp[i] = grad * dout[i];
    }
  }

  // ------------------------------------------------------------------ residual

  /** @inheritdoc */
  residualForward(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
  }

  // ------------------------------------------------------------------ softmax + cross-entropy

  /** @inheritdoc */
  crossEntropyForward(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void {
    const p = new Float64Array(V);
    for (let n = 0; n < N; n++) {
      const r = n * V;
      // softmax, shifted by the row's max
      let max = -Infinity;
      for (let i = 0; i < V; i++) if (logits[r + i] > max) max = logits[r + i];
      let sum = 0;
      for (let i = 0; i < V; i++) {
        p[i] = Math.exp(logits[r + i] - max);
        sum += p[i];
      }
      for (let i = 0; i < V; i++) p[i] /= sum;
      // loss = −log p[target] (from the float64 probabilities, before they are stored)
      const t = targets[n];
      losses[n] = t < 0 ? 0 : -Math.log(p[t]);
      for (let i = 0; i < V; i++) probs[r + i] = p[i];
    }
  }

  /** @inheritdoc */
  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, scale: number, N: number, V: number): void {
    for (let n = 0; n < N; n++) {
      const r = n * V;
      const t = targets[n];
      if (t < 0) {
        dlogits.fill(0, r, r + V);
        continue;
      }
      for (let i = 0; i < V; i++) dlogits[r + i] = probs[r + i] * scale;
      dlogits[r + t] -= scale;
    }
  }

  /** @inheritdoc */
  attentionDecode(out: Float32Array, qkv: Float32Array, T0: number, T1: number, C: number, NH: number, window = 0): void {
    attentionDecodeHost(out, qkv, T0, T1, C, NH, window);
  }

  /** @inheritdoc */
  classifier(
    losses: Float32Array, dinp: Float32Array | null, dwte: Float32Array | null, logits: Float32Array | null,
    inp: Float32Array, wte: Float32Array, targets: Int32Array, scale: number, N: number, C: number, V: number,
  ): void {
    composedClassifier(this, losses, dinp, dwte, logits, inp, wte, targets, scale, N, C, V);
  }

  /** @inheritdoc */
  classifierScratch(): boolean {
    return true;
  }

  // ------------------------------------------------------------------ optimizer

  /** @inheritdoc */
  sumSquares(out: Float32Array, x: Float32Array, n: number): void {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    out[0] = s;
  }

  /** @inheritdoc */
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, n: number, hp: AdamWStep, normSq: Float32Array | null): void {
    const clip = clipScale(normSq ? normSq[0] : 0, hp.maxNorm);
    const { lr, beta1, beta2, eps, weightDecay, step } = hp;
    const bc1 = 1 - Math.pow(beta1, step);
    const bc2 = 1 - Math.pow(beta2, step);
    const decay = 1 - lr * weightDecay;
    for (let i = 0; i < n; i++) {
      const g = grad[i] * clip;
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      param[i] = param[i] * decay - lr * (mi / bc1) / (Math.sqrt(vi / bc2) + eps);
    }
  }
}

/**
 * The global-norm clipping factor: min(1, maxNorm / (‖g‖ + 1e-6)), as torch.nn.utils.clip_grad_norm_ applies it.
 * Returns 1 when clipping is off (maxNorm ≤ 0).
 */
export function clipScale(normSq: number, maxNorm: number): number {
  if (!(maxNorm > 0)) return 1;
  const norm = Math.sqrt(normSq);
  return Math.min(1, maxNorm / (norm + 1e-6));
}
