/**
 * The matrix product of the portable `wasm` backend: C (M,N) = A (M,K) · B (K,N), with A and B given in any of the
 * layouts the model uses (row-major or transposed storage, any leading dimension, an element offset).
 *
 * Operands go into a shared WebAssembly memory: B packed as 8-column panels [j/8][k][j%8], zero-padded; A copied
 * as it is when row-major (one memcpy per block of rows), else packed as 4-row panels [i/4][k][i%4] — so the SIMD
 * kernels (src/engine/wasm-asm.ts) stream both contiguously and have no edge cases. Packing costs O(MK + KN)
 * against the product's O(MKN). Large products are split by columns of C
 * over worker threads that share the memory: each C element is computed by one thread in the same order, so
 * results are bit-identical for any thread count. Threads are Node worker threads, or Web Workers in a browser
 * (src/engine/threads.ts); a browser page that is not cross-origin isolated has no shared memory, and then the
 * module gets an unshared memory and the product runs on the calling thread alone.
 */
import { BackendUnavailableError } from "./errors.js";
import { type ThreadHandle, sharedMemoryAvailable, startThread } from "./threads.js";
import { gemmModule, MAX_PAGES } from "./wasm-asm.js";

/** One operand: `data[offset + row·ld + col]` for row-major storage, `data[offset + col·ld + row]` when `trans`. */
export interface GemmOperand {
  data: Float32Array;
  /** Leading dimension (elements between consecutive stored rows). */
  ld: number;
  /** Stored transposed: the logical (r, c) element is at c·ld + r. */
  trans: boolean;
  offset?: number;
}

/** Floats of module memory a product may use (1 GiB); larger products are computed in blocks of rows. */
export const MAX_FLOATS = 1 << 28;
/** Products below this many multiply-adds stay on the calling thread (a worker's wake-up costs ~10-50 µs). */
const MIN_SPLIT_MACS = 1 << 21;

/** A kernel of src/engine/wasm-asm.ts: (Ap, Bp, C, Mp, Nc, K, ldc, lda). */
type GemmFn = (Ap: number, Bp: number, C: number, Mp: number, Nc: number, K: number, ldc: number, lda: number) => void;
/** Ints of the control array per worker: the 8 kernel arguments, the kernel (0 panels, 1 rows), the ready flag. */
const SLOT = 10;
const ARGS_NC = 4, KERNEL = 8, READY = 9;

/** The compiled modules: [unshared memory, shared memory]. */
const compiled: (WebAssembly.Module | null | undefined)[] = [undefined, undefined];

/** The compiled module (over a shared memory or not), or null where this runtime has no WebAssembly SIMD or threads. */
function module(shared: boolean): WebAssembly.Module | null {
  const i = shared ? 1 : 0;
  if (compiled[i] !== undefined) return compiled[i];
  const bytes = gemmModule(shared);
  compiled[i] = typeof WebAssembly === "object" && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  return compiled[i];
}

/** Whether this runtime can run the WebAssembly SIMD kernel. */
export function wasmSimdAvailable(): boolean {
  return module(sharedMemoryAvailable()) !== null;
}

/** Options of a {@link WasmGemm}. */
export interface WasmGemmOptions {
  /** Threads for large products, the caller's included (default 1). */
  threads?: number;
  /** Module memory a product may use before it is split into row blocks (tests lower it). */
  maxFloats?: number;
  /** Whether the memory is shared with worker threads (default: where the runtime allows it; false means one thread). */
  shared?: boolean;
}

/** A WebAssembly SIMD matrix multiplier with its own growable shared memory and worker threads (one per backend). */
export class WasmGemm {
  private readonly memory: WebAssembly.Memory;
  /** The kernels: [0] A as 4-row panels, [1] A as plain rows. */
  private readonly kernels: [GemmFn, GemmFn];
  private pool: GemmPool | null;
  private readonly maxFloats: number;
  private f32: Float32Array;

  constructor(options: WasmGemmOptions = {}) {
    const shared = options.shared ?? sharedMemoryAvailable();
    const m = module(shared);
    if (!m) throw new BackendUnavailableError("this JavaScript runtime has no WebAssembly SIMD (fix: Node.js 16.4 or newer, or use --backend js)");
    this.maxFloats = options.maxFloats ?? MAX_FLOATS;
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared });
    const ex = new WebAssembly.Instance(m, { env: { mem: this.memory } }).exports;
    this.kernels = [ex.gemm as GemmFn, ex.gemmRows as GemmFn];
    this.f32 = new Float32Array(this.memory.buffer);
    const threads = shared ? (options.threads ?? 1) : 1;
    this.pool = threads > 1 ? new GemmPool(m, this.memory, threads - 1) : null;
  }

  /** Resolves once every worker thread can take work (before that, the calling thread does their share). */
  ready(): Promise<void> {
    return this.pool ? this.pool.ready : Promise.resolve();
  }

  /** Threads a large product is split over (the caller's included) — those started so far. */
  get threads(): number {
    return 1 + (this.pool?.readyCount() ?? 0);
  }

  /** Stops the worker threads. The multiplier still works afterwards, on the calling thread. */
  dispose(): void {
    this.pool?.stop();
    this.pool = null;
  }

  /** Ensures the memory holds `floats` elements. */
  private reserve(floats: number): Float32Array {
    const need = floats * 4;
    const have = this.memory.buffer.byteLength;
    if (need > have) {
      try {
        this.memory.grow(Math.ceil((need - have) / 65536));
      } catch (e) {
        throw new BackendUnavailableError(
          `the wasm backend cannot grow its WebAssembly memory to ${Math.ceil(need / 2 ** 20)} MiB for one matrix product (${(e as Error).message}); ` +
            "fix: a smaller model or micro-batch (--micro-batch), or --backend native",
        );
      }
    }
    if (this.f32.byteLength !== this.memory.buffer.byteLength) this.f32 = new Float32Array(this.memory.buffer);
    return this.f32;
  }

  /**
   * Computes C = A·B for logical A (M,K) and B (K,N), handing the product to `consume` in blocks of whole rows:
   * rows m0 … m0+rows−1 of C as a row-major view with leading dimension `ldc` (≥ N, a multiple of 8). A view lives in
   * the module's memory and is overwritten by the next block, so `consume` must copy what it keeps. Blocks keep the
   * module's memory under about `maxFloats` floats whatever the product's size.
   */
  multiply(
    M: number, N: number, K: number, A: GemmOperand, B: GemmOperand,
    consume: (c: Float32Array, ldc: number, m0: number, rows: number) => void,
  ): void {
    const Np = Math.max(8, Math.ceil(N / 8) * 8);
    // row-major A is copied as it is (whole rows, `ld` apart) and read by the rows kernel; transposed A is packed
    const lda = A.trans ? K : A.ld;
    const fit = Math.floor((this.maxFloats - K * Np) / (lda + Np) / 4) * 4; // rows per block: A and C rows in the cap
    const block = Math.max(4, Math.min(Math.ceil(M / 4) * 4, fit));
    const bAt = 0;
    const aAt = bAt + K * Np;
    packB(this.reserve(aAt), bAt, B, N, Np, K);
    for (let m0 = 0; m0 < M; m0 += block) {
      const rows = Math.min(block, M - m0);
      const Mp = Math.ceil(rows / 4) * 4;
      const cAt = aAt + Mp * lda; // the rows kernel also reads the padding rows rows…Mp−1: garbage into unused C rows
      const mem = this.reserve(cAt + Mp * Np);
      if (A.trans) {
        packA(mem, aAt, A, m0, rows, Mp, K);
      } else {
        const first = (A.offset ?? 0) + m0 * lda;
        mem.set(A.data.subarray(first, first + (rows - 1) * lda + K), aAt);
      }
      this.run(A.trans ? 0 : 1, aAt * 4, bAt * 4, cAt * 4, Mp, Np, K, lda);
      consume(this.f32.subarray(cAt, cAt + rows * Np), Np, m0, rows);
    }
  }

  /** A kernel over all Np columns, split by 8-column panels over the ready threads when the product is large. */
  private run(kernel: 0 | 1, Ap: number, Bp: number, Cp: number, Mp: number, Np: number, K: number, lda: number): void {
    const gemm = this.kernels[kernel];
    const panels = Np / 8;
    const threads = Math.min(this.threads, panels);
    if (!this.pool || threads < 2 || Mp * Np * K < MIN_SPLIT_MACS) {
      gemm(Ap, Bp, Cp, Mp, Np, K, Np, lda);
      return;
    }
    // thread t takes panels [t·panels/threads, (t+1)·panels/threads); the caller takes the first range
    const range = (t: number): [number, number] => [Math.floor((t * panels) / threads), Math.floor(((t + 1) * panels) / threads)];
    const jobs: number[][] = [];
    for (let t = 1; t < threads; t++) {
      const [p0, p1] = range(t);
      jobs.push([Ap, Bp + p0 * K * 32, Cp + p0 * 32, Mp, (p1 - p0) * 8, K, Np, lda, kernel]);
    }
    const [, own] = range(0);
    this.pool.run(jobs, () => gemm(Ap, Bp, Cp, Mp, own * 8, K, Np, lda), (j) => this.kernels[j[8]](j[0], j[1], j[2], j[3], j[4], j[5], j[6], j[7]));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Worker threads

/**
 * The worker's program: instantiate the kernel over the shared memory, say it is ready, then wait for generations
 * of work on the control array — [0] generation (−1: stop), [1] jobs done, [2] jobs failed, then per worker SLOT
 * ints: the kernel's 8 arguments (Nc = 0: no work this time), which kernel, and its ready flag.
 */
const WORKER_SOURCE = `
const { module, memory, control, id } = workerData;
const ex = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
const kernels = [ex.gemm, ex.gemmRows];
const ctl = new Int32Array(control);
const p = 3 + ${SLOT} * id;
Atomics.store(ctl, p + ${READY}, 1);
let seen = Atomics.load(ctl, 0);
for (;;) {
  Atomics.wait(ctl, 0, seen);
  const g = Atomics.load(ctl, 0);
  if (g < 0) break;
  if (g === seen) continue;
  seen = g;
  const nc = Atomics.load(ctl, p + ${ARGS_NC}); // written last by the caller: the other arguments are in place
  if (nc > 0) {
    try { kernels[ctl[p + ${KERNEL}]](ctl[p], ctl[p + 1], ctl[p + 2], ctl[p + 3], nc, ctl[p + 5], ctl[p + 6], ctl[p + 7]); }
    catch (e) { Atomics.add(ctl, 2, 1); }
    Atomics.store(ctl, p + ${ARGS_NC}, 0);
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
}
`;

/** Worker threads that run the kernel on column ranges, driven through a shared control array. */
class GemmPool {
  private readonly ctl: Int32Array;
  private readonly workers: ThreadHandle[] = [];
  /** Resolves when every worker has started (or failed to). */
  readonly ready: Promise<void>;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, count: number) {
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (3 + SLOT * count)));
    const started: Promise<void>[] = [];
    for (let id = 0; id < count; id++) {
      let done = () => {};
      // a worker that fails never turns ready and is never given work
      const w = startThread(WORKER_SOURCE, { module, memory, control: this.ctl.buffer, id }, () => done());
      started.push(new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (Atomics.load(this.ctl, 3 + SLOT * id + READY) === 1) done();
        }, 2); // keeps the event loop alive until the worker is up (the worker itself is unref'd)
        done = () => {
          clearInterval(poll);
          resolve();
        };
      }));
      this.workers.push(w);
    }
    this.ready = Promise.all(started).then(() => undefined);
  }

  /** Workers that have started (only these get work). */
  readyCount(): number {
    let n = 0;
    for (let id = 0; id < this.workers.length; id++) if (Atomics.load(this.ctl, 3 + SLOT * id + READY) === 1) n++;
    return n;
  }

  /**
   * Gives `jobs[i]` (kernel arguments) to the i-th ready worker, runs `own` meanwhile (and `fallback` for any job no
   * worker was ready for), and waits for all.
   */
  run(jobs: number[][], own: () => void, fallback: (job: number[]) => void): void {
    const ctl = this.ctl;
    // counters first: a worker may pick its job up as soon as its column count is stored, before the new generation
    Atomics.store(ctl, 1, 0);
    Atomics.store(ctl, 2, 0);
    let given = 0;
    for (let id = 0; id < this.workers.length && given < jobs.length; id++) {
      const p = 3 + SLOT * id;
      if (Atomics.load(ctl, p + READY) !== 1) continue;
      const job = jobs[given];
      for (let i = 0; i <= KERNEL; i++) if (i !== ARGS_NC) ctl[p + i] = job[i];
      Atomics.store(ctl, p + ARGS_NC, job[ARGS_NC]);
      given++;
    }
    Atomics.store(ctl, 0, (Atomics.load(ctl, 0) + 1) & 0x3fffffff);
    Atomics.notify(ctl, 0);
    own();
    for (let j = given; j < jobs.length; j++) fallback(jobs[j]);
    for (let done = Atomics.load(ctl, 1); done < given; done = Atomics.load(ctl, 1)) Atomics.wait(ctl, 1, done);
    if (Atomics.load(ctl, 2) > 0) throw new BackendUnavailableError("a wasm worker thread failed inside the matrix kernel; fix: --threads 1, or --backend js");
  }

  /** Asks the workers to exit. */
  stop(): void {
    Atomics.store(this.ctl, 0, -1);
    Atomics.notify(this.ctl, 0);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Packing

/**
 * Rows m0 … m0+M−1 of a transposed-stored A (A(i, k) at k·ld + i) into 4-row panels [i/4][k][i%4] at `at`, rows
 * M..Mp zero. Each stored row k is read once, left to right (a column walk would miss the cache on every read).
 */
function packA(mem: Float32Array, at: number, A: GemmOperand, m0: number, M: number, Mp: number, K: number): void {
  const { data, ld } = A;
  const off = (A.offset ?? 0) + m0;
  const full = M - (M % 4);
  const step = 4 * K;
  for (let k = 0; k < K; k++) {
    const src = off + k * ld;
    let dst = at + 4 * k;
    for (let p = 0; p < full; p += 4, dst += step) {
      mem[dst] = data[src + p];
      mem[dst + 1] = data[src + p + 1];
      mem[dst + 2] = data[src + p + 2];
      mem[dst + 3] = data[src + p + 3];
    }
    if (full < Mp) for (let r = 0; r < 4; r++) mem[dst + r] = full + r < M ? data[src + full + r] : 0;
  }
}

/** B (K,N) into 8-column panels [j/8][k][j%8] at `at`, columns N..Np zero. */
function packB(mem: Float32Array, at: number, B: GemmOperand, N: number, Np: number, K: number): void {
  const { data, ld, trans } = B;
  const off = B.offset ?? 0;
  for (let p = 0; p < Np; p += 8) {
    const base = at + p * K;
    const cols = Math.min(8, N - p);
    if (!trans && cols === 8) {
      for (let k = 0; k < K; k++) {
        const src = off + k * ld + p;
        const dst = base + k * 8;
        for (let s = 0; s < 8; s++) mem[dst + s] = data[src + s];
      }
      continue;
    }
    for (let s = 0; s < 8; s++) {
      let dst = base + s;
      if (s >= cols) {
        for (let k = 0; k < K; k++, dst += 8) mem[dst] = 0;
      } else if (trans) {
        let src = off + (p + s) * ld;
        for (let k = 0; k < K; k++, dst += 8) mem[dst] = data[src + k];
      } else {
        let src = off + p + s;
        for (let k = 0; k < K; k++, dst += 8, src += ld) mem[dst] = data[src];
      }
    }
  }
}
