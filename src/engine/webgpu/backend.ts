/**
 * The `webgpu` backend: the {@link Backend} contract on a GPU through WebGPU (Dawn in Node, Vulkan underneath;
 * the same WGSL runs in browsers). Parameters, gradients, AdamW moments and activations live in GPU buffers;
 * handles are (buffer, offset, length) windows, and kernels take element offsets as uniforms, so the model's flat
 * parameter layout needs no alignment. Kernel calls only record dispatches; `read()` submits and waits. Per
 * training step the batch goes up and the loss and gradient norm come down: the model's two reads.
 *
 * Attention is three dispatches each way (batched products with causal tile skipping around a fused causal
 * softmax; GPT-3's banded layers are one fused row kernel forward and two backward, over the W keys of each band),
 * matmuls are the tiled kernel of gemm.ts, and reductions (bias and LayerNorm parameter gradients, the gradient
 * norm) are two-stage and deterministic: no float atomics anywhere.
 */
import { type AdamWStep, type Backend, type BackendInfo, attentionWidth } from "../backend.js";
import { composedClassifier } from "../classifier.js";
import { openDevice } from "./device.js";
import { type GemmCall, type GemmPolicy, gemmKernel, gemmParams, planGemm } from "./gemm.js";
import * as K from "./kernels.js";
import { type GpuIntTensor, type GpuTensor, type KernelDef, Runtime, grid2d } from "./runtime.js";

export type { GpuIntTensor, GpuTensor } from "./runtime.js";

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuOptions {
  /** Test hook: force the matmul tile size / K split / scalar loads. */
  gemm?: GemmPolicy;
}

/** Opens the default GPU and returns a backend on it (throws a one-line `WebGpuError` without an adapter). */
export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  return new WebGpuBackend(new Runtime(await openDevice()), opts);
}

/** Rows per chunk of the column-sum kernels: enough chunks to fill the GPU, enough rows to amortise a chunk. */
function rowsPerChunk(N: number): number {
  return Math.max(32, Math.ceil(N / 64));
}

/** The WebGPU implementation of {@link Backend}. */
export class WebGpuBackend implements Backend<GpuTensor, GpuIntTensor> {
  readonly name = "webgpu";
  /** The runtime (device, recorder); exposed for benchmarks and tests. */
  readonly rt: Runtime;
  private policy: GemmPolicy;
  /** Host reads so far (a training step makes two: the losses and the gradient norm). */
  readCount = 0;
  private readonly scratch = new Map<string, GpuTensor>();
  private readonly dummy: GpuTensor;
  private counts = new Int32Array(0);
  private tokenIndex: { inp: GpuIntTensor; version: number; N: number; idx: GpuIntTensor; unique: number } | null = null;

  constructor(rt: Runtime, opts: WebGpuOptions = {}) {
    this.rt = rt;
    this.policy = opts.gemm ?? {};
    this.dummy = { store: rt.createStore(4, "placeholder"), offset: 0, length: 4 };
  }

  /** @inheritdoc */
  info(): BackendInfo {
    return { name: "webgpu", threads: 1, detail: `WebGPU (Dawn) on ${this.rt.description}` };
  }

  // ------------------------------------------------------------------ memory

  /** @inheritdoc */
  alloc(n: number): GpuTensor {
    return { store: this.rt.createStore(n), offset: 0, length: n };
  }

  /** @inheritdoc */
  allocInt(n: number): GpuIntTensor {
    return { store: this.rt.createStore(n, "token buffer"), offset: 0, length: n, host: new Int32Array(n), version: 0 };
  }

  /** @inheritdoc */
  view(buf: GpuTensor, offset: number, length: number): GpuTensor {
    if (offset < 0 || length < 0 || offset + length > buf.length) {
      throw new RangeError(`view [${offset}, ${offset + length}) is outside a buffer of ${buf.length} elements`);
    }
    return { store: buf.store, offset: buf.offset + offset, length };
  }

  /** @inheritdoc */
  write(dst: GpuTensor, src: Float32Array, offset = 0): void {
    this.rt.write(dst, src, offset);
  }

  /** @inheritdoc */
  writeInt(dst: GpuIntTensor, src: Int32Array): void {
    if (src.length > dst.length) throw new RangeError(`writeInt of ${src.length} ids into a buffer of ${dst.length}`);
    dst.host.set(src);
    dst.version++;
    this.rt.write(dst, src);
  }

  /** @inheritdoc */
  read(src: GpuTensor): Promise<Float32Array> {
    this.readCount++;
    return this.rt.read(src);
  }

  /** @inheritdoc */
  zero(buf: GpuTensor): void {
    this.elementwise(K.fill, [buf], buf.length, [buf.offset, 0]);
  }

  /** Test hook: force the matmul tile size, K split or scalar loads ({} restores the size-based choice). */
  setGemmPolicy(policy: GemmPolicy): void {
    this.policy = policy;
  }

  /** Waits for all submitted GPU work (benchmarks time with it). */
  finish(): Promise<void> {
    return this.rt.finish();
  }

  /** @inheritdoc */
  dispose(): void {
    this.rt.dispose();
  }

  // ------------------------------------------------------------------ helpers

  /** A scratch tensor of at least n elements, kept and grown per purpose. */
  private scratchTensor(kind: string, n: number): GpuTensor {
    const have = this.scratch.get(kind);
    if (have && have.length >= n) return have;
    const t = { store: this.rt.createStore(Math.max(n, (have?.length ?? 0) * 2), `${kind} scratch buffer`), offset: 0, length: n };
    this.scratch.set(kind, t);
    return t;
  }

  /** An elementwise dispatch over n elements; params after `n`. */
  private elementwise(def: KernelDef, tensors: GpuTensor[], n: number, rest: number[]): void {
    if (n === 0) return;
    const [gx, gy] = grid2d(Math.ceil(n / K.WG), this.rt.limits.maxComputeWorkgroupsPerDimension);
    this.rt.dispatch(def, tensors, [n, ...rest], gx, gy);
  }

  /** A row dispatch (one workgroup per row); params after `rows`. */
  private rows(def: KernelDef, tensors: GpuTensor[], rows: number, rest: number[]): void {
    if (rows === 0) return;
    const [gx, gy] = grid2d(rows, this.rt.limits.maxComputeWorkgroupsPerDimension);
    this.rt.dispatch(def, tensors, [rows, ...rest], gx, gy);
  }

  /** Runs one planned matrix product (with the split-K epilogue when the plan splits K). */
  private gemm(c: GemmCall): void {
    if (c.M === 0 || c.N === 0) return;
    const plan = planGemm(c, this.policy);
    const def = gemmKernel(plan.variant);
    const bias = c.bias ?? this.dummy;
    if (plan.splits === 1) {
      this.rt.dispatch(def, [c.A, c.B, c.C, bias], gemmParams(c, plan, false), ...plan.grid);
      return;
    }
    const part = this.scratchTensor("splitk", plan.splits * c.M * c.N);
    this.rt.dispatch(def, [c.A, c.B, part, bias], gemmParams(c, plan, true), ...plan.grid);
    const n = c.M * c.N;
    this.elementwise(K.splitKReduce, [c.C, part, bias], n, [
      c.N, plan.splits, c.ldc, c.C.offset + (c.offC ?? 0), c.bias ? c.bias.offset : 0, c.bias ? 1 : 0, c.alpha ?? 1, c.beta ?? 0,
    ]);
  }

  /** dst (C) += column sums of x (N, C), two-stage. */
  private columnSums(dst: GpuTensor, x: GpuTensor, N: number, C: number): void {
    const rpc = rowsPerChunk(N);
    const chunks = Math.ceil(N / rpc);
    const part = this.scratchTensor("columns", chunks * C);
    this.rt.dispatch(K.columnSumPartials, [part, x], [N, C, rpc, x.offset], Math.ceil(C / K.COLS_PER_WG), chunks);
    this.elementwise(K.reducePartials, [dst, part], C, [chunks, dst.offset, 0]);
  }

  // ------------------------------------------------------------------ encoder

  /** @inheritdoc */
  encoderForward(out: GpuTensor, inp: GpuIntTensor, wte: GpuTensor, wpe: GpuTensor, B: number, T: number, C: number): void {
    this.elementwise(K.encoderForward, [out, inp, wte, wpe], B * T * C, [T, C, out.offset, inp.offset, wte.offset, wpe.offset]);
  }

  /** @inheritdoc */
  encoderBackward(dwte: GpuTensor, dwpe: GpuTensor, dout: GpuTensor, inp: GpuIntTensor, B: number, T: number, C: number): void {
    this.elementwise(K.encoderBackwardWpe, [dwpe, dout], T * C, [B, T, C, dwpe.offset, dout.offset]);
    const { idx, unique } = this.bucketTokens(inp, B * T);
    this.rows(K.encoderBackwardWte, [dwte, dout, idx], unique, [C, dwte.offset, dout.offset, 0]);
  }

  /**
   * Groups the batch's positions by token id on the host (the ids were written from the host, so this costs no
   * readback) and uploads [tokens, starts, positions] for the deterministic dwte kernel.
   */
  private bucketTokens(inp: GpuIntTensor, N: number): { idx: GpuIntTensor; unique: number } {
    const cached = this.tokenIndex;
    if (cached && cached.inp === inp && cached.version === inp.version && cached.N === N) return cached;
    const ids = inp.host.subarray(0, N);
    // counting sort by token id (stable, O(N + vocabulary))
    let maxId = 0;
    for (let i = 0; i < N; i++) if (ids[i] > maxId) maxId = ids[i];
    if (this.counts.length < maxId + 2) this.counts = new Int32Array(maxId + 2);
    const counts = this.counts;
    counts.fill(0, 0, maxId + 2);
    for (let i = 0; i < N; i++) counts[ids[i] + 1]++;
    let unique = 0;
    for (let id = 0; id <= maxId; id++) if (counts[id + 1] > 0) unique++;
    const data = new Int32Array(2 * unique + 1 + N);
    let u = 0;
    for (let id = 0, start = 0; id <= maxId; id++) {
      const c = counts[id + 1];
      counts[id + 1] = start; // becomes the next free slot of this id
      if (c > 0) {
        data[u] = id;
        data[unique + u] = start;
        u++;
      }
      start += c;
    }
    data[2 * unique] = N;
    const positions = 2 * unique + 1;
    for (let i = 0; i < N; i++) data[positions + counts[ids[i] + 1]++] = i;
    let idx = cached?.idx;
    if (!idx || idx.length < data.length) idx = this.allocInt(Math.max(data.length, 2 * (idx?.length ?? 0)));
    this.rt.write(idx, data);
    this.tokenIndex = { inp, version: inp.version, N, idx, unique };
    return this.tokenIndex;
  }

  // ------------------------------------------------------------------ layernorm

  /** @inheritdoc */
  layernormForward(out: GpuTensor, mean: GpuTensor, rstd: GpuTensor, inp: GpuTensor, weight: GpuTensor, bias: GpuTensor, N: number, C: number): void {
    this.rows(K.layernormForward, [out, mean, rstd, inp, weight, bias], N, [
      C, out.offset, mean.offset, rstd.offset, inp.offset, weight.offset, bias.offset,
    ]);
  }

  /** @inheritdoc */
  layernormBackward(
    dinp: GpuTensor, dweight: GpuTensor, dbias: GpuTensor, dout: GpuTensor, inp: GpuTensor, weight: GpuTensor,
    mean: GpuTensor, rstd: GpuTensor, N: number, C: number,
  ): void {
    this.rows(K.layernormBackwardInput, [dinp, dout, inp, weight, mean, rstd], N, [
      C, dinp.offset, dout.offset, inp.offset, weight.offset, mean.offset, rstd.offset,
    ]);
    const rpc = rowsPerChunk(N);
    const chunks = Math.ceil(N / rpc);
    const part = this.scratchTensor("columns", 2 * chunks * C);
    this.rt.dispatch(K.layernormBackwardPartials, [part, dout, inp, mean, rstd], [N, C, rpc, chunks, dout.offset, inp.offset, mean.offset, rstd.offset], Math.ceil(C / K.COLS_PER_WG), chunks);
    this.elementwise(K.reducePartials, [dweight, part], C, [chunks, dweight.offset, 0]);
    this.elementwise(K.reducePartials, [dbias, part], C, [chunks, dbias.offset, chunks * C]);
  }

  // ------------------------------------------------------------------ matmul

  /** @inheritdoc */
  matmulForward(out: GpuTensor, inp: GpuTensor, weight: GpuTensor, bias: GpuTensor | null, N: number, C: number, OC: number): void {
    this.gemm({ M: N, N: OC, K: C, A: inp, lda: C, aKC: true, B: weight, ldb: C, bKC: true, C: out, ldc: OC, bias, beta: 0 });
  }

  /** @inheritdoc */
  matmulBackward(
    dinp: GpuTensor | null, dweight: GpuTensor, dbias: GpuTensor | null, dout: GpuTensor, inp: GpuTensor, weight: GpuTensor,
    N: number, C: number, OC: number,
  ): void {
    // dinp (N,C) = dout (N,OC) @ weight (OC,C)
    if (dinp) this.gemm({ M: N, N: C, K: OC, A: dout, lda: OC, aKC: true, B: weight, ldb: C, bKC: false, C: dinp, ldc: C, beta: 0 });
    // dweight (OC,C) += dout^T @ inp
    this.gemm({ M: OC, N: C, K: N, A: dout, lda: OC, aKC: false, B: inp, ldb: C, bKC: false, C: dweight, ldc: C, beta: 1 });
    if (dbias) this.columnSums(dbias, dout, N, OC);
  }

  // ------------------------------------------------------------------ attention

  /** @inheritdoc */
  attentionForward(out: GpuTensor, att: GpuTensor, qkv: GpuTensor, B: number, T: number, C: number, NH: number, window = 0): void {
    const hs = C / NH;
    if (attentionWidth(T, window) < T) {
      this.rows(K.bandAttentionForward, [out, att, qkv], B * NH * T, [T, C, NH, hs, window, out.offset, att.offset, qkv.offset, 1 / Math.sqrt(hs)]);
      return;
    }
    const C3 = 3 * C;
    const TT = T * T;
    // scores (B,NH,T,T) = q k^T / sqrt(hs); tiles above the diagonal skipped
    this.gemm({
      M: T, N: T, K: hs, A: qkv, lda: C3, aKC: true, B: qkv, offB: C, ldb: C3, bKC: true, C: att, ldc: T,
      alpha: 1 / Math.sqrt(hs), beta: 0, causal: 1,
      batch: { outer: B, inner: NH, sA: [T * C3, hs], sB: [T * C3, hs], sC: [NH * TT, TT] },
    });
    this.rows(K.causalSoftmaxForward, [att], B * NH * T, [T, att.offset]);
    // out (B,T,NH·hs) = att @ v; K stops at each tile's diagonal
    this.gemm({
      M: T, N: hs, K: T, A: att, lda: T, aKC: true, B: qkv, offB: 2 * C, ldb: C3, bKC: false, C: out, ldc: C,
      beta: 0, causal: 2,
      batch: { outer: B, inner: NH, sA: [NH * TT, TT], sB: [T * C3, hs], sC: [T * C, hs] },
    });
  }

  /** @inheritdoc */
  attentionBackward(
    dqkv: GpuTensor, scratch: GpuTensor, dout: GpuTensor, qkv: GpuTensor, att: GpuTensor, B: number, T: number, C: number, NH: number,
    window = 0,
  ): void {
    const hs = C / NH;
    if (attentionWidth(T, window) < T) {
      const shape = [T, C, NH, hs, window, dqkv.offset, scratch.offset, dout.offset, qkv.offset, att.offset];
      this.rows(K.bandAttentionBackwardRows, [dqkv, scratch, dout, qkv, att], B * NH * T, [...shape, 1 / Math.sqrt(hs)]);
      this.rows(K.bandAttentionBackwardKeys, [dqkv, scratch, dout, qkv, att], B * NH * T, shape);
      return;
    }
    const C3 = 3 * C;
    const TT = T * T;
    const headOut = { outer: B, inner: NH, sA: [NH * TT, TT] as [number, number], sB: [T * C3, hs] as [number, number], sC: [T * C3, hs] as [number, number] };
    // datt = dout @ v^T  (into scratch; tiles above the diagonal skipped)
    this.gemm({
      M: T, N: T, K: hs, A: dout, lda: C, aKC: true, B: qkv, offB: 2 * C, ldb: C3, bKC: true, C: scratch, ldc: T,
      beta: 0, causal: 1,
      batch: { outer: B, inner: NH, sA: [T * C, hs], sB: [T * C3, hs], sC: [NH * TT, TT] },
    });
    // dv = att^T @ dout
    this.gemm({
      M: T, N: hs, K: T, A: att, lda: T, aKC: false, B: dout, ldb: C, bKC: false, C: dqkv, offC: 2 * C, ldc: C3,
      beta: 0, causal: 3,
      batch: { outer: B, inner: NH, sA: [NH * TT, TT], sB: [T * C, hs], sC: [T * C3, hs] },
    });
    // softmax backward in place: scratch = att ⊙ (datt - rowsum(att ⊙ datt)) / sqrt(hs)
    this.rows(K.causalSoftmaxBackward, [scratch, att], B * NH * T, [T, scratch.offset, att.offset, 1 / Math.sqrt(hs)]);
    // dq = dpre @ k
    this.gemm({
      M: T, N: hs, K: T, A: scratch, lda: T, aKC: true, B: qkv, offB: C, ldb: C3, bKC: false, C: dqkv, ldc: C3,
      beta: 0, causal: 2, batch: headOut,
    });
    // dk = dpre^T @ q
    this.gemm({
      M: T, N: hs, K: T, A: scratch, lda: T, aKC: false, B: qkv, ldb: C3, bKC: false, C: dqkv, offC: C, ldc: C3,
      beta: 0, causal: 3, batch: headOut,
    });
  }

  // ------------------------------------------------------------------ elementwise

  /** @inheritdoc */
  geluForward(out: GpuTensor, inp: GpuTensor, n: number): void {
    this.elementwise(K.geluForward, [out, inp], n, [out.offset, inp.offset]);
  }

  /** @inheritdoc */
  geluBackward(dinp: GpuTensor, inp: GpuTensor, dout: GpuTensor, n: number): void {
    this.elementwise(K.geluBackward, [dinp, inp, dout], n, [dinp.offset, inp.offset, dout.offset]);
  }

  /** @inheritdoc */
  residualForward(out: GpuTensor, a: GpuTensor, b: GpuTensor, n: number): void {
    this.elementwise(K.residual, [out, a, b], n, [out.offset, a.offset, b.offset]);
  }

  // ------------------------------------------------------------------ softmax + cross-entropy

  /** @inheritdoc */
  crossEntropyForward(losses: GpuTensor, probs: GpuTensor, logits: GpuTensor, targets: GpuIntTensor, N: number, V: number): void {
    this.rows(K.crossEntropyForward, [losses, probs, logits, targets], N, [V, losses.offset, probs.offset, logits.offset, targets.offset]);
  }

  /** @inheritdoc */
  crossEntropyBackward(dlogits: GpuTensor, probs: GpuTensor, targets: GpuIntTensor, scale: number, N: number, V: number): void {
    this.elementwise(K.crossEntropyBackward, [dlogits, probs, targets], N * V, [V, dlogits.offset, probs.offset, targets.offset, scale]);
  }

  /** @inheritdoc */
  classifier(
    losses: GpuTensor, dinp: GpuTensor | null, dwte: GpuTensor | null, logits: GpuTensor | null, inp: GpuTensor,
    wte: GpuTensor, targets: GpuIntTensor, scale: number, N: number, C: number, V: number,
  ): void {
    composedClassifier(this, losses, dinp, dwte, logits, inp, wte, targets, scale, N, C, V);
  }

  /** @inheritdoc */
  classifierScratch(): boolean {
    return true;
  }

  // ------------------------------------------------------------------ optimizer

  /** @inheritdoc */
  sumSquares(out: GpuTensor, x: GpuTensor, n: number): void {
    const groups = Math.max(1, Math.min(1024, Math.ceil(n / (K.WG * 8))));
    const part = this.scratchTensor("sumsq", 1024);
    this.rt.dispatch(K.sumSquaresPartials, [part, x], [n, x.offset], groups);
    this.rt.dispatch(K.sumSquaresFinal, [out, part], [groups, out.offset], 1);
  }

  /** @inheritdoc */
  adamw(param: GpuTensor, grad: GpuTensor, m: GpuTensor, v: GpuTensor, n: number, hp: AdamWStep, normSq: GpuTensor | null): void {
    const useClip = normSq !== null && hp.maxNorm > 0;
    const ns = normSq ?? this.dummy;
    this.elementwise(K.adamw, [param, grad, m, v, ns], n, [
      param.offset, grad.offset, m.offset, v.offset, ns.offset, useClip ? 1 : 0,
      hp.lr, hp.beta1, hp.beta2, hp.eps, 1 - hp.lr * hp.weightDecay,
      1 - Math.pow(hp.beta1, hp.step), 1 - Math.pow(hp.beta2, hp.step), hp.maxNorm,
    ]);
  }
}
