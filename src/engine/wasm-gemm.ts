/**
 * A single-threaded WebAssembly SIMD matrix product for the portable `wasm` backend: C (M,N) = A (M,K) · B (K,N),
 * with A and B given in any of the layouts the model uses (row-major or transposed storage, any leading dimension).
 *
 * The module is assembled here, byte by byte, from a few dozen instructions (no toolchain, nothing to download):
 * operands are packed into its linear memory as panels — A as 4-row panels [i/4][k][i%4], B as 8-column panels
 * [j/8][k][j%8], zero-padded — so the micro-kernel streams both contiguously and keeps a 4×8 block of C in eight
 * f32x4 registers: per k, two vector loads of B, four broadcast loads of A, eight multiply-adds. Packing costs
 * O(MK + KN) against the product's O(MKN), and removes every edge case from the kernel.
 */

// ---------------------------------------------------------------------------------------------------------------
// A minimal WebAssembly encoder (just what the kernel needs)

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A section: id, byte size, contents. */
function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** A vector: count, then the items. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A name as a WebAssembly string. */
function name(s: string): number[] {
  const bytes = [...Buffer.from(s, "utf8")];
  return [...uleb(bytes.length), ...bytes];
}

const I32 = 0x7f;
const V128 = 0x7b;

/** Instruction helpers: each returns its bytes. */
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (c: number) => [0x41, ...sleb(c)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  shl: [0x74],
  shrU: [0x76],
  eqz: [0x45],
  geU: [0x4f],
  /** block / loop with no result type. */
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  /** v128.load, align 2^4, byte offset. */
  vload: (offset: number) => [0xfd, ...uleb(0x00), 4, ...uleb(offset)],
  /** v128.store, align 2^4, byte offset. */
  vstore: (offset: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)],
  /** v128.load32_splat, align 2^2, byte offset. */
  vsplat: (offset: number) => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  vzero: [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  fadd: [0xfd, ...uleb(0xe4)],
  fmul: [0xfd, ...uleb(0xe6)],
};

/**
 * The module: exports memory "mem" and `gemm(Ap, Bp, C, Mp, Np, K)` (byte addresses; Mp a multiple of 4, Np of 8)
 * writing C (Mp, Np) row-major from the packed panels.
 */
function gemmModule(): Uint8Array<ArrayBuffer> {
  // locals: params 0..5, then i32 6..14, then v128 15..25
  const [Ap, Bp, Cp, Mp, Np, K] = [0, 1, 2, 3, 4, 5];
  const [i0, j0, k, pa, pb, pc, ldcB, aPanelB, bPanelB] = [6, 7, 8, 9, 10, 11, 12, 13, 14];
  const [a, b0, b1] = [15, 16, 17];
  const acc = (r: number, s: number) => 18 + 2 * r + s;
  const c: number[][] = [];
  const emit = (...parts: number[][]) => c.push(...parts);

  emit(op.get(Np), op.i32(2), op.shl, op.set(ldcB));
  emit(op.get(K), op.i32(4), op.shl, op.set(aPanelB));
  emit(op.get(K), op.i32(5), op.shl, op.set(bPanelB));
  emit(op.i32(0), op.set(j0));
  emit(op.block, op.loop); // over 8-column panels of B
  emit(op.get(j0), op.get(Np), op.geU, op.brIf(1));
  emit(op.i32(0), op.set(i0));
  emit(op.block, op.loop); // over 4-row panels of A
  emit(op.get(i0), op.get(Mp), op.geU, op.brIf(1));
  for (let r = 0; r < 4; r++) for (let s = 0; s < 2; s++) emit(op.vzero, op.set(acc(r, s)));
  emit(op.get(Ap), op.get(i0), op.i32(2), op.shrU, op.get(aPanelB), op.mul, op.add, op.set(pa));
  emit(op.get(Bp), op.get(j0), op.i32(3), op.shrU, op.get(bPanelB), op.mul, op.add, op.set(pb));
  emit(op.get(K), op.set(k));
  emit(op.block, op.loop); // over k
  emit(op.get(k), op.eqz, op.brIf(1));
  emit(op.get(pb), op.vload(0), op.set(b0));
  emit(op.get(pb), op.vload(16), op.set(b1));
  for (let r = 0; r < 4; r++) {
    emit(op.get(pa), op.vsplat(4 * r), op.set(a));
    for (let s = 0; s < 2; s++) emit(op.get(acc(r, s)), op.get(a), op.get(s === 0 ? b0 : b1), op.fmul, op.fadd, op.set(acc(r, s)));
  }
  emit(op.get(pa), op.i32(16), op.add, op.set(pa));
  emit(op.get(pb), op.i32(32), op.add, op.set(pb));
  emit(op.get(k), op.i32(1), op.sub, op.set(k));
  emit(op.br(0), op.end, op.end);
  // store the 4×8 block at C + i0·ldc + j0
  emit(op.get(Cp), op.get(i0), op.get(ldcB), op.mul, op.add, op.get(j0), op.i32(2), op.shl, op.add, op.set(pc));
  for (let r = 0; r < 4; r++) {
    emit(op.get(pc), op.get(acc(r, 0)), op.vstore(0));
    emit(op.get(pc), op.get(acc(r, 1)), op.vstore(16));
    emit(op.get(pc), op.get(ldcB), op.add, op.set(pc));
  }
  emit(op.get(i0), op.i32(4), op.add, op.set(i0));
  emit(op.br(0), op.end, op.end);
  emit(op.get(j0), op.i32(8), op.add, op.set(j0));
  emit(op.br(0), op.end, op.end);

  const body = [...vec([[...uleb(9), I32], [...uleb(11), V128]]), ...c.flat(), ...op.end];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(new Array(6).fill([I32])), ...vec([])]])), // type 0: (i32 ×6) → ()
    ...section(3, vec([uleb(0)])), // function 0 has type 0
    ...section(5, vec([[0x00, ...uleb(1)]])), // one memory, 1 page to start
    ...section(7, vec([[...name("gemm"), 0x00, ...uleb(0)], [...name("mem"), 0x02, ...uleb(0)]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ];
  return new Uint8Array(bytes);
}

// ---------------------------------------------------------------------------------------------------------------
// The product

/** One operand: `data[offset + row·ld + col]` for row-major storage, `data[offset + col·ld + row]` when `trans`. */
export interface GemmOperand {
  data: Float32Array;
  /** Leading dimension (elements between consecutive stored rows). */
  ld: number;
  /** Stored transposed: the logical (r, c) element is at c·ld + r. */
  trans: boolean;
  offset?: number;
}

interface GemmExports {
  gemm(Ap: number, Bp: number, C: number, Mp: number, Np: number, K: number): void;
  mem: WebAssembly.Memory;
}

/** Floats of module memory a product may use (1 GiB); larger products are computed in blocks of rows. */
export const MAX_FLOATS = 1 << 28;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where this runtime has no WebAssembly SIMD. */
function module(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  const bytes = gemmModule();
  compiled = typeof WebAssembly === "object" && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  return compiled;
}

/** Whether this runtime can run the WebAssembly SIMD kernel. */
export function wasmSimdAvailable(): boolean {
  return module() !== null;
}

/** A WebAssembly SIMD matrix multiplier with its own growable memory (one instance per backend). */
export class WasmGemm {
  private readonly ex: GemmExports;
  private f32: Float32Array;

  /** @param maxFloats module memory a product may use before it is split into row blocks (tests lower it). */
  constructor(private readonly maxFloats = MAX_FLOATS) {
    const m = module();
    if (!m) throw new Error("this JavaScript runtime has no WebAssembly SIMD (use --backend js)");
    this.ex = new WebAssembly.Instance(m, {}).exports as unknown as GemmExports;
    this.f32 = new Float32Array(this.ex.mem.buffer);
  }

  /** Ensures the memory holds `floats` elements. */
  private reserve(floats: number): Float32Array {
    const need = floats * 4;
    const have = this.ex.mem.buffer.byteLength;
    if (need > have) {
      try {
        this.ex.mem.grow(Math.ceil((need - have) / 65536));
      } catch (e) {
        throw new RangeError(
          `the wasm backend cannot grow its WebAssembly memory to ${Math.ceil(need / 2 ** 20)} MiB for one matrix product (${(e as Error).message}); ` +
            "fix: a smaller model or micro-batch (--micro-batch), or --backend native",
        );
      }
    }
    if (this.f32.buffer !== this.ex.mem.buffer) this.f32 = new Float32Array(this.ex.mem.buffer);
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
    const fit = Math.floor((this.maxFloats - K * Np) / (K + Np) / 4) * 4;
    const block = Math.max(4, Math.min(Math.ceil(M / 4) * 4, fit));
    const bAt = 0;
    const aAt = bAt + K * Np;
    packB(this.reserve(aAt), bAt, B, N, Np, K);
    for (let m0 = 0; m0 < M; m0 += block) {
      const rows = Math.min(block, M - m0);
      const Mp = Math.ceil(rows / 4) * 4;
      const cAt = aAt + Mp * K;
      const mem = this.reserve(cAt + Mp * Np);
      packA(mem, aAt, A, m0, rows, Mp, K);
      this.ex.gemm(aAt * 4, bAt * 4, cAt * 4, Mp, Np, K);
      consume(this.f32.subarray(cAt, cAt + rows * Np), Np, m0, rows);
    }
  }
}

/** Rows m0 … m0+M−1 of A (·,K) into 4-row panels [i/4][k][i%4] at `at`, rows M..Mp zero. */
function packA(mem: Float32Array, at: number, A: GemmOperand, m0: number, M: number, Mp: number, K: number): void {
  const { data, ld, trans } = A;
  const off = (A.offset ?? 0) + (trans ? m0 : m0 * ld);
  for (let p = 0; p < Mp; p += 4) {
    const base = at + p * K;
    const rows = Math.min(4, M - p);
    for (let r = 0; r < 4; r++) {
      let dst = base + r;
      if (r >= rows) {
        for (let k = 0; k < K; k++, dst += 4) mem[dst] = 0;
      } else if (trans) {
        let src = off + p + r;
        for (let k = 0; k < K; k++, dst += 4, src += ld) mem[dst] = data[src];
      } else {
        let src = off + (p + r) * ld;
        for (let k = 0; k < K; k++, dst += 4) mem[dst] = data[src + k];
      }
    }
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
