/**
 * The WebAssembly module of the wasm backend's matrix product, assembled byte by byte from a few dozen
 * instructions (no toolchain, nothing to download). The micro-kernel keeps a 4×8 block of C in eight f32x4
 * registers: per k, two vector loads of B, four broadcast loads of A, eight multiply-adds (src/engine/wasm-gemm.ts
 * packs the operands into the panels it streams).
 */

/** Pages (64 KiB) the memory may grow to: 4 GiB, all a wasm32 address reaches. */
export const MAX_PAGES = 65536;

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
  const bytes = [...new TextEncoder().encode(s)];
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
 * One kernel: C (Mp, Nc) = A · B from the 8-column panels of B at byte address Bp (Nc columns, a multiple of 8)
 * and A at Ap, either as 4-row panels (`rowsA` false) or as plain rows `lda` floats apart (`rowsA` true: A copied
 * as it is, no packing), Mp rows (a multiple of 4); the rows of C at C, `ldc` floats apart. Parameters
 * (Ap, Bp, C, Mp, Nc, K, ldc, lda). Threads run it on disjoint column ranges.
 */
function gemmBody(rowsA: boolean): number[] {
  // locals: params 0..7, then i32 8..19, then v128 20..30
  const [Ap, Bp, Cp, Mp, Np, K, ldc, lda] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [i0, j0, k, pb, pc, ldcB, aStepB, bPanelB] = [8, 9, 10, 11, 12, 13, 14, 15];
  const paR = [16, 17, 18, 19]; // rowsA: one pointer per row; panels: paR[0] only
  const [a, b0, b1] = [20, 21, 22];
  const acc = (r: number, s: number) => 23 + 2 * r + s;
  const c: number[][] = [];
  const emit = (...parts: number[][]) => c.push(...parts);

  emit(op.get(ldc), op.i32(2), op.shl, op.set(ldcB));
  // rowsA: bytes between rows of A; panels: bytes of one 4-row panel
  if (rowsA) emit(op.get(lda), op.i32(2), op.shl, op.set(aStepB));
  else emit(op.get(K), op.i32(4), op.shl, op.set(aStepB));
  emit(op.get(K), op.i32(5), op.shl, op.set(bPanelB));
  emit(op.i32(0), op.set(j0));
  emit(op.block, op.loop); // over 8-column panels of B
  emit(op.get(j0), op.get(Np), op.geU, op.brIf(1));
  emit(op.i32(0), op.set(i0));
  emit(op.block, op.loop); // over blocks of 4 rows of A
  emit(op.get(i0), op.get(Mp), op.geU, op.brIf(1));
  for (let r = 0; r < 4; r++) for (let s = 0; s < 2; s++) emit(op.vzero, op.set(acc(r, s)));
  if (rowsA) {
    emit(op.get(Ap), op.get(i0), op.get(aStepB), op.mul, op.add, op.set(paR[0]));
    for (let r = 1; r < 4; r++) emit(op.get(paR[r - 1]), op.get(aStepB), op.add, op.set(paR[r]));
  } else {
    emit(op.get(Ap), op.get(i0), op.i32(2), op.shrU, op.get(aStepB), op.mul, op.add, op.set(paR[0]));
  }
  emit(op.get(Bp), op.get(j0), op.i32(3), op.shrU, op.get(bPanelB), op.mul, op.add, op.set(pb));
  emit(op.get(K), op.set(k));
  emit(op.block, op.loop); // over k
  emit(op.get(k), op.eqz, op.brIf(1));
  emit(op.get(pb), op.vload(0), op.set(b0));
  emit(op.get(pb), op.vload(16), op.set(b1));
  for (let r = 0; r < 4; r++) {
    emit(rowsA ? [...op.get(paR[r]), ...op.vsplat(0)] : [...op.get(paR[0]), ...op.vsplat(4 * r)], op.set(a));
    for (let s = 0; s < 2; s++) emit(op.get(acc(r, s)), op.get(a), op.get(s === 0 ? b0 : b1), op.fmul, op.fadd, op.set(acc(r, s)));
  }
  if (rowsA) for (let r = 0; r < 4; r++) emit(op.get(paR[r]), op.i32(4), op.add, op.set(paR[r]));
  else emit(op.get(paR[0]), op.i32(16), op.add, op.set(paR[0]));
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
  const body = [...vec([[...uleb(12), I32], [...uleb(11), V128]]), ...c.flat(), ...op.end];
  return [...uleb(body.length), ...body];
}

/**
 * The module: imports a memory `env.mem` (up to 4 GiB; shared unless `shared` is false — a browser page that is
 * not cross-origin isolated has no shared memory) and exports `gemm` (A as 4-row panels) and `gemmRows` (A as plain
 * rows), both (Ap, Bp, C, Mp, Nc, K, ldc, lda) in byte addresses and floats (see gemmBody).
 */
export function gemmModule(shared = true): Uint8Array<ArrayBuffer> {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(new Array(8).fill([I32])), ...vec([])]])), // type 0: (i32 ×8) → ()
    // import env.mem: a memory (limits flag 3: shared, with a maximum; 1: unshared, with a maximum) of 1 … MAX_PAGES pages
    ...section(2, vec([[...name("env"), ...name("mem"), 0x02, shared ? 0x03 : 0x01, ...uleb(1), ...uleb(MAX_PAGES)]])),
    ...section(3, vec([uleb(0), uleb(0)])), // functions 0 and 1 have type 0
    ...section(7, vec([[...name("gemm"), 0x00, ...uleb(0)], [...name("gemmRows"), 0x00, ...uleb(1)]])),
    ...section(10, vec([gemmBody(false), gemmBody(true)])),
  ];
  return new Uint8Array(bytes);
}
