/**
 * The `Backend` interface: every hot kernel of a GPT training step, behind one contract.
 *
 * Implementations:
 * - `js`     — plain TypeScript, float64 accumulation: the numerical reference (src/engine/js.ts).
 * - `wasm`   — the js backend with WebAssembly SIMD matrix products and faster GELU and cross-entropy, no compiler
 *   needed (src/engine/wasm.ts).
 * - `native` — an N-API addon in C: CBLAS sgemm for matmuls, threaded fused kernels (src/engine/native.ts).
 * - `webgpu` — a device backend (src/engine/webgpu/): buffers are opaque handles (`F`, `I`), the model never
 *   touches their contents directly, and the only host reads are `read()` (async).
 *
 * Conventions (llm.c style):
 * - All float tensors are flat, row-major. Shapes are written as (B, T, C) in the doc comments.
 * - `N` is the number of rows (B*T), `C` channels, `OC` output channels, `V` vocab, `NH` heads.
 * - Parameter gradients (`dweight`, `dbias`, `dwte`, `dwpe`) are ACCUMULATED (+=); the trainer zeroes them
 *   once per optimizer step, so gradient accumulation over micro-batches is free.
 * - Activation gradients are OVERWRITTEN, except `layernormBackward`'s `dinp`, which ACCUMULATES into the
 *   residual stream's gradient (the residual add passes its gradient through unchanged).
 * - Kernels may assume their output does not alias an input unless the doc says aliasing is allowed.
 *
 * @typeParam F - handle of a float32 buffer (a `Float32Array` on CPU backends).
 * @typeParam I - handle of an int32 buffer (token ids; an `Int32Array` on CPU backends).
 */
export interface Backend<F extends object = Float32Array, I extends object = Int32Array> {
  /** Short name: "native", "wasm", "js", "webgpu". */
  readonly name: string;

  /** Human-readable facts for logs and benchmark output (BLAS core, threads, device). */
  info(): BackendInfo;

  // ---------------------------------------------------------------- memory

  /** A new zero-filled float buffer of `n` elements. */
  alloc(n: number): F;
  /** A new zero-filled int32 buffer of `n` elements. */
  allocInt(n: number): I;
  /** A window of `length` elements starting at `offset` sharing `buf`'s storage. */
  view(buf: F, offset: number, length: number): F;
  /** Copies host data into `dst` starting at element `offset` (default 0). */
  write(dst: F, src: Float32Array, offset?: number): void;
  /** Copies host token ids into `dst` (from element 0). */
  writeInt(dst: I, src: Int32Array): void;
  /** Reads a buffer back to the host. CPU backends resolve at once; device backends wait for the queue. */
  read(src: F): Promise<Float32Array>;
  /** Sets every element of `buf` to zero. */
  zero(buf: F): void;
  /** Releases the backend's resources (threads, device). The backend is unusable afterwards. */
  dispose(): void;

  // ---------------------------------------------------------------- kernels, forward and backward side by side

  /** out (B,T,C) = wte[inp[b,t]] + wpe[t]. */
  encoderForward(out: F, inp: I, wte: F, wpe: F, B: number, T: number, C: number): void;
  /** dwte[inp[b,t]] += dout[b,t]; dwpe[t] += dout[b,t]. */
  encoderBackward(dwte: F, dwpe: F, dout: F, inp: I, B: number, T: number, C: number): void;

  /**
   * LayerNorm over the last axis, eps 1e-5, biased variance. out (N,C); saves mean (N) and rstd (N).
   */
  layernormForward(out: F, mean: F, rstd: F, inp: F, weight: F, bias: F, N: number, C: number): void;
  /** dinp (N,C) += ...; dweight (C) += ...; dbias (C) += ... (all accumulate). */
  layernormBackward(
    dinp: F, dweight: F, dbias: F, dout: F, inp: F, weight: F, mean: F, rstd: F, N: number, C: number,
  ): void;

  /** out (N,OC) = inp (N,C) @ weight(OC,C)^T + bias (OC) — PyTorch `Linear` layout. `bias` may be null. */
  matmulForward(out: F, inp: F, weight: F, bias: F | null, N: number, C: number, OC: number): void;
  /**
   * dinp (N,C) = dout @ weight (overwritten; skipped when `dinp` is null);
   * dweight (OC,C) += dout^T @ inp; dbias (OC) += column sums of dout (skipped when null).
   */
  matmulBackward(
    dinp: F | null, dweight: F, dbias: F | null, dout: F, inp: F, weight: F, N: number, C: number, OC: number,
  ): void;

  /**
   * Causal multi-head self-attention from a fused qkv (B,T,3C) whose rows are [q | k | v], each split into NH
   * heads of C/NH columns in order. Writes out (B,T,C) and saves the softmax probabilities in `att`.
   *
   * `window` W selects the pattern (GPT-3's alternating layers, Brown et al. 2020 §2.1):
   * - W = 0, or W ≥ T: dense causal attention; att is (B,NH,T,T), entry [t][t2] the probability of key t2
   *   (entries above the diagonal are zero).
   * - 0 < W < T: locally banded causal attention, position t attends to keys t2 with t − W < t2 ≤ t; att is
   *   BANDED, (B,NH,T,W): entry [t][w] is the probability of key t2 = t − W + 1 + w (zero where t2 < 0). Work and
   *   memory grow with T·W: keys outside the band are never computed. {@link attentionWidth} gives the row length.
   */
  attentionForward(out: F, att: F, qkv: F, B: number, T: number, C: number, NH: number, window?: number): void;
  /**
   * dqkv (B,T,3C) overwritten. `att` is the forward's, with the same `window`; `scratch` is working memory of
   * att's shape ((B,NH,T,T) dense, (B,NH,T,W) banded).
   */
  attentionBackward(
    dqkv: F, scratch: F, dout: F, qkv: F, att: F, B: number, T: number, C: number, NH: number, window?: number,
  ): void;

  /**
   * Incremental decoding (optional; backends without it decode by full forward passes): out (T1−T0, C) = causal
   * attention of rows T0 … T1−1 of ONE sequence's qkv (T1, 3C) over its rows 0 … t; `window` > 0 bands it as in
   * attentionForward. Nothing is saved for a backward pass.
   */
  attentionDecode?(out: F, qkv: F, T0: number, T1: number, C: number, NH: number, window?: number): void;

  /** out = GELU(inp), tanh approximation, over n elements. */
  geluForward(out: F, inp: F, n: number): void;
  /** dinp = GELU'(inp) * dout (overwritten; `dinp` MAY alias `dout`). */
  geluBackward(dinp: F, inp: F, dout: F, n: number): void;

  /** out = a + b over n elements (out may alias a or b). */
  residualForward(out: F, a: F, b: F, n: number): void;

  /**
   * Softmax + cross-entropy, fused. probs (N,V) = softmax(logits) — `probs` MAY alias `logits` (in place).
   * losses (N) = -log probs[target]. A target < 0 is ignored: loss 0.
   */
  crossEntropyForward(losses: F, probs: F, logits: F, targets: I, N: number, V: number): void;
  /**
   * dlogits (N,V) = (probs - onehot(target)) * scale; rows with target < 0 get zero.
   * `dlogits` MAY alias `probs` (in place).
   */
  crossEntropyBackward(dlogits: F, probs: F, targets: I, scale: number, N: number, V: number): void;

  /**
   * The output head and its loss in one operation: logits = inp (N,C) @ wte (V,C)^T; losses (N) = −log softmax(logits)
   * at the target (a target < 0: loss 0). With `dinp` and `dwte` given (both or neither), also the head's backward
   * for the loss sum(losses)·scale: dinp (N,C) overwritten, dwte (V,C) ACCUMULATED. `logits` is (N,V) scratch,
   * required only where {@link classifierScratch} says so (pass null otherwise). Implementations may fuse the steps
   * (native keeps a block of rows in the cache); the result is the matmul → softmax → cross-entropy → backward chain.
   */
  classifier(
    losses: F, dinp: F | null, dwte: F | null, logits: F | null, inp: F, wte: F, targets: I, scale: number,
    N: number, C: number, V: number,
  ): void;
  /** Whether {@link classifier} needs an (N,V) logits scratch buffer for this shape. */
  classifierScratch(N: number, C: number, V: number): boolean;

  /** out[0] = sum of squares of x (n elements) — overwritten. Used for global-norm gradient clipping. */
  sumSquares(out: F, x: F, n: number): void;

  /**
   * One AdamW step over n elements (PyTorch semantics): with g = grad * clipScale,
   * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²; p -= lr * wd * p; p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps).
   * clipScale = min(1, maxNorm / (sqrt(normSq[0]) + 1e-6)) when `normSq` is given and maxNorm > 0, else 1;
   * computing it from a buffer keeps clipping on the device.
   */
  adamw(param: F, grad: F, m: F, v: F, n: number, hp: AdamWStep, normSq: F | null): void;
}

/** Hyper-parameters of one AdamW update; `step` counts from 1 (bias correction). */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
  /** Global-norm clip threshold; 0 disables clipping. */
  maxNorm: number;
}

/** Facts a backend reports about itself. */
export interface BackendInfo {
  name: string;
  /** Threads used by the fused kernels (and by BLAS on the native backend). */
  threads: number;
  /** BLAS kernel core in use (OpenBLAS `openblas_get_corename`), when a BLAS is used. */
  blasCore?: string;
  /** Anything else worth printing (device name, BLAS config). */
  detail?: string;
}

/**
 * Length of one row of the saved attention probabilities for a sequence length T and a local window W: W for a
 * banded layer (0 < W < T), else T (dense; W = 0 means dense and W ≥ T covers every key anyway).
 */
export function attentionWidth(T: number, window = 0): number {
  return window > 0 && window < T ? window : T;
}

/** Any backend, whatever its handle types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyBackend = Backend<any, any>;
