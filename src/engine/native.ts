/**
 * The `native` backend: an N-API addon in C (native/, built by node-gyp into build/Release/scaling_lab.node).
 * Every matmul is one CBLAS sgemm (OpenBLAS) with transpose flags and leading dimensions, split over the backend's
 * own thread pool; attention, layernorm, GELU, softmax + cross-entropy, AdamW and the rest are fused, threaded C
 * kernels. The addon checks every argument and throws a RangeError/TypeError (never crashes) on bad input.
 *
 * Load it with {@link loadNativeBackend}, which returns an Error instead of throwing when the addon is missing,
 * so a backend factory can fall back to the portable `wasm` backend with a one-line notice.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { AdamWStep, Backend, BackendInfo } from "./backend.js";
import { composedClassifier } from "./classifier.js";
import { HostMemory } from "./host-memory.js";
import { applyOpenBlasCoreType, type OpenBlasCoreChoice } from "./openblas-env.js";
import { defaultThreads, MAX_THREADS } from "../util/threads.js";

/** Opaque pool handle owned by the addon. */
type PoolHandle = object;

/** The functions the compiled addon exports (see native/addon.c). */
export interface NativeAddon {
  createPool(threads: number, spinUs: number): PoolHandle;
  destroyPool(pool: PoolHandle): void;
  poolThreads(pool: PoolHandle): number;
  encoderForward(p: PoolHandle, out: Float32Array, inp: Int32Array, wte: Float32Array, wpe: Float32Array, B: number, T: number, C: number): void;
  encoderBackward(p: PoolHandle, dwte: Float32Array, dwpe: Float32Array, dout: Float32Array, inp: Int32Array, B: number, T: number, C: number): void;
  layernormForward(p: PoolHandle, out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array, N: number, C: number): void;
  layernormBackward(p: PoolHandle, dinp: Float32Array, dweight: Float32Array, dbias: Float32Array, dout: Float32Array, inp: Float32Array, weight: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number): void;
  matmulForward(p: PoolHandle, out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null, N: number, C: number, OC: number): void;
  matmulBackward(p: PoolHandle, dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null, dout: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number): void;
  /** `window` 0 (or ≥ T) dense, else banded with att (B,NH,T,window) (see Backend.attentionForward). */
  attentionForward(p: PoolHandle, out: Float32Array, att: Float32Array, qkv: Float32Array, B: number, T: number, C: number, NH: number, window: number): void;
  /** Key/value-cache decoding (see Backend.attentionDecode), on the calling thread. */
  attentionDecode(p: PoolHandle, out: Float32Array, qkv: Float32Array, T0: number, T1: number, C: number, NH: number, window: number): void;
  attentionBackward(p: PoolHandle, dqkv: Float32Array, scratch: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array, B: number, T: number, C: number, NH: number, window: number): void;
  geluForward(p: PoolHandle, out: Float32Array, inp: Float32Array, n: number): void;
  geluBackward(p: PoolHandle, dinp: Float32Array, inp: Float32Array, dout: Float32Array, n: number): void;
  residualForward(p: PoolHandle, out: Float32Array, a: Float32Array, b: Float32Array, n: number): void;
  crossEntropyForward(p: PoolHandle, losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void;
  crossEntropyBackward(p: PoolHandle, dlogits: Float32Array, probs: Float32Array, targets: Int32Array, scale: number, N: number, V: number): void;
  classifier(p: PoolHandle, losses: Float32Array, dinp: Float32Array | null, dwte: Float32Array | null, inp: Float32Array, wte: Float32Array, targets: Int32Array, scale: number, N: number, C: number, V: number): void;
  sumSquares(p: PoolHandle, out: Float32Array, x: Float32Array, n: number): void;
  adamw(p: PoolHandle, param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number, maxNorm: number, normSq: Float32Array | null): void;
  /** C (M,N) = alpha op(A) op(B) + beta C, row-major, split over the pool (benchmarks and tests). */
  gemm(p: PoolHandle, transA: number, transB: number, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number): void;
  /** Seconds per call of cblas_sgemm timed in a C loop with OpenBLAS's own threading (the ceiling). */
  blasBench(transA: number, transB: number, M: number, N: number, K: number, reps: number, threads: number): Float64Array;
  info(): { blasCore: string; blasConfig: string; simd: string; attentionBlock: number };
  setAttentionBlock(rows: number): void;
}

/** Head weights (V·C) up to which the fused classifier kernel is used (see NativeBackend.classifierScratch). */
const FUSED_CLASSIFIER_MAX_WEIGHTS = 4 * 1024 * 1024;

/** Options of a {@link NativeBackend}. */
export interface NativeOptions {
  /** Threads for kernels and sgemm (caller included; at most 64). Default: `SCALING_LAB_THREADS` or all available cores. */
  threads?: number;
  /** How long idle workers spin before sleeping, in microseconds (default 1000). */
  spinUs?: number;
}

let cached: { addon: NativeAddon; core: OpenBlasCoreChoice; path: string } | Error | undefined;

/** Where the compiled addon may be, relative to this module (dist/src/engine or src/engine). */
function addonCandidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, "..", "..", "..", "build", "Release", "scaling_lab.node"), join(here, "..", "..", "build", "Release", "scaling_lab.node")];
}

/**
 * Loads the compiled addon once (setting OPENBLAS_CORETYPE first) and returns it, or the Error that prevented it.
 */
export function loadNativeAddon(): { addon: NativeAddon; core: OpenBlasCoreChoice; path: string } | Error {
  if (cached) return cached;
  const path = addonCandidates().find((p) => existsSync(p));
  if (!path) {
    cached = new Error(
      "the native addon is not built (build/Release/scaling_lab.node missing); " +
        "fix: apt-get install -y build-essential libopenblas-dev, then npm rebuild",
    );
    return cached;
  }
  const core = applyOpenBlasCoreType();
  try {
    const require = createRequire(import.meta.url);
    const addon = require(path) as NativeAddon;
    cached = { addon, core, path };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    cached = new Error(`the native addon failed to load (${msg}); fix: npm rebuild, or use --backend wasm`);
  }
  return cached;
}


/**
 * Creates a native backend, or returns the Error explaining why the addon cannot be used (not built, failed to
 * load, no threads). Never throws for a missing addon.
 */
export function loadNativeBackend(options: NativeOptions = {}): NativeBackend | Error {
  const loaded = loadNativeAddon();
  if (loaded instanceof Error) return loaded;
  try {
    return new NativeBackend(loaded.addon, options, loaded.core);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** The native backend (buffers are Float32Array / Int32Array, shared with JS without copies). */
export class NativeBackend extends HostMemory implements Backend<Float32Array, Int32Array> {
  readonly name = "native";
  /** The addon's functions (exposed for benchmarks and tests). */
  readonly addon: NativeAddon;
  private readonly pool: PoolHandle;
  private readonly threads: number;
  private readonly core: OpenBlasCoreChoice;
  private disposed = false;

  /** Prefer {@link loadNativeBackend}; this constructor throws if the pool cannot start. */
  constructor(addon: NativeAddon, options: NativeOptions = {}, core: OpenBlasCoreChoice = { coretype: undefined, source: "none" }) {
    super();
    this.addon = addon;
    this.threads = Math.min(MAX_THREADS, options.threads ?? defaultThreads()); // the addon refuses more
    this.pool = addon.createPool(this.threads, options.spinUs ?? 1000);
    this.core = core;
  }

  /** @inheritdoc */
  info(): BackendInfo {
    const i = this.addon.info();
    const coreNote = this.core.coretype ? `OPENBLAS_CORETYPE=${this.core.coretype} (${this.core.source})` : "OpenBLAS autodetect";
    return {
      name: "native",
      threads: this.threads,
      blasCore: i.blasCore,
      detail: `${i.blasConfig.trim()}; ${coreNote}; kernels ${i.simd}; sgemm split over ${this.threads} threads`,
    };
  }

  // ------------------------------------------------------------------ memory (alloc, view, read, ...: HostMemory)

  /** @inheritdoc */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.addon.destroyPool(this.pool);
  }

  // ------------------------------------------------------------------ kernels

  /** @inheritdoc */
  encoderForward(out: Float32Array, inp: Int32Array, wte: Float32Array, wpe: Float32Array, B: number, T: number, C: number): void {
    this.addon.encoderForward(this.pool, out, inp, wte, wpe, B, T, C);
  }
  /** @inheritdoc */
  encoderBackward(dwte: Float32Array, dwpe: Float32Array, dout: Float32Array, inp: Int32Array, B: number, T: number, C: number): void {
    this.addon.encoderBackward(this.pool, dwte, dwpe, dout, inp, B, T, C);
  }
  /** @inheritdoc */
  layernormForward(out: Float32Array, mean: Float32Array, rstd: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array, N: number, C: number): void {
    this.addon.layernormForward(this.pool, out, mean, rstd, inp, weight, bias, N, C);
  }
  /** @inheritdoc */
  layernormBackward(
    dinp: Float32Array, dweight: Float32Array, dbias: Float32Array, dout: Float32Array, inp: Float32Array,
    weight: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number,
  ): void {
    this.addon.layernormBackward(this.pool, dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  }
  /** @inheritdoc */
  matmulForward(out: Float32Array, inp: Float32Array, weight: Float32Array, bias: Float32Array | null, N: number, C: number, OC: number): void {
    this.addon.matmulForward(this.pool, out, inp, weight, bias, N, C, OC);
  }
  /** @inheritdoc */
  matmulBackward(
    dinp: Float32Array | null, dweight: Float32Array, dbias: Float32Array | null, dout: Float32Array,
    inp: Float32Array, weight: Float32Array, N: number, C: number, OC: number,
  ): void {
    this.addon.matmulBackward(this.pool, dinp, dweight, dbias, dout, inp, weight, N, C, OC);
  }
  /** @inheritdoc */
  attentionForward(out: Float32Array, att: Float32Array, qkv: Float32Array, B: number, T: number, C: number, NH: number, window = 0): void {
    this.addon.attentionForward(this.pool, out, att, qkv, B, T, C, NH, window);
  }
  /** @inheritdoc */
  attentionBackward(
    dqkv: Float32Array, scratch: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array,
    B: number, T: number, C: number, NH: number, window = 0,
  ): void {
    this.addon.attentionBackward(this.pool, dqkv, scratch, dout, qkv, att, B, T, C, NH, window);
  }
  /** @inheritdoc */
  geluForward(out: Float32Array, inp: Float32Array, n: number): void {
    this.addon.geluForward(this.pool, out, inp, n);
  }
  /** @inheritdoc */
  geluBackward(dinp: Float32Array, inp: Float32Array, dout: Float32Array, n: number): void {
    this.addon.geluBackward(this.pool, dinp, inp, dout, n);
  }
  /** @inheritdoc */
  residualForward(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void {
    this.addon.residualForward(this.pool, out, a, b, n);
  }
  /** @inheritdoc */
  crossEntropyForward(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void {
    this.addon.crossEntropyForward(this.pool, losses, probs, logits, targets, N, V);
  }
  /** @inheritdoc */
  crossEntropyBackward(dlogits: Float32Array, probs: Float32Array, targets: Int32Array, scale: number, N: number, V: number): void {
    this.addon.crossEntropyBackward(this.pool, dlogits, probs, targets, scale, N, V);
  }
  /** @inheritdoc */
  attentionDecode(out: Float32Array, qkv: Float32Array, T0: number, T1: number, C: number, NH: number, window = 0): void {
    this.addon.attentionDecode(this.pool, out, qkv, T0, T1, C, NH, window);
  }

  /** @inheritdoc */
  classifier(
    losses: Float32Array, dinp: Float32Array | null, dwte: Float32Array | null, logits: Float32Array | null,
    inp: Float32Array, wte: Float32Array, targets: Int32Array, scale: number, N: number, C: number, V: number,
  ): void {
    if (this.classifierScratch(N, C, V)) composedClassifier(this, losses, dinp, dwte, logits, inp, wte, targets, scale, N, C, V);
    else this.addon.classifier(this.pool, losses, dinp, dwte, inp, wte, targets, scale, N, C, V);
  }
  /**
   * @inheritdoc
   * The fused kernel keeps one (V, C) dwte partial per row chunk (up to 8); past 4M head weights (16 MB a partial,
   * e.g. GPT-2's 50,257 × 768) those would cost more memory than the logits they save, so the steps run unfused.
   */
  classifierScratch(N: number, C: number, V: number): boolean {
    return V * C > FUSED_CLASSIFIER_MAX_WEIGHTS;
  }
  /** @inheritdoc */
  sumSquares(out: Float32Array, x: Float32Array, n: number): void {
    this.addon.sumSquares(this.pool, out, x, n);
  }
  /** @inheritdoc */
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, n: number, hp: AdamWStep, normSq: Float32Array | null): void {
    this.addon.adamw(this.pool, param, grad, m, v, n, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weightDecay, hp.step, hp.maxNorm, normSq);
  }

  /** C (M,N) = alpha op(A) op(B) + beta C through the addon's split sgemm (row-major; for benchmarks and tests). */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number,
    B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): void {
    this.addon.gemm(this.pool, transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }
}
