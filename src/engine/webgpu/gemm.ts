/**
 * The matrix product of the webgpu backend: C = alpha·op(A)·op(B) + beta·C (+ bias), batched and optionally
 * causal, as one WGSL kernel generated per variant. Tiled and register-blocked: a 16×16 workgroup computes a
 * BM×BN tile (128×128 with 8×8 per thread, or 64×64 with 4×4), staging BK=16 slices of A and B in workgroup
 * memory as vec4 columns, with the next slice prefetched into registers while the current one is multiplied.
 * Global loads are vec4 along whichever axis is contiguous (A stored M×K or K×M, B stored N×K or K×N: every
 * transpose case the model uses), falling back to scalar loads when sizes, strides or offsets are not multiples
 * of 4. Small grids with a long K are split along K into a scratch buffer and summed by a second kernel.
 */
import type { GpuTensor, KernelDef } from "./runtime.js";

/** Depth of one K slice. */
const BK = 16;
/** Workgroups that fill a large GPU about twice (132 SMs on an H100); below this, split K. */
const TARGET_WORKGROUPS = 264;

/** One compiled form of the kernel. */
export interface GemmVariant {
  /** A stored (M, K), row stride lda (K contiguous); otherwise (K, M). */
  aKC: boolean;
  /** B stored (N, K), row stride ldb (K contiguous); otherwise (K, N). */
  bKC: boolean;
  /** vec4 global loads and stores. */
  vec4: boolean;
  /** Rows (and columns) per thread: 8 for 128×128 tiles, 4 for 64×64. */
  tile: 4 | 8;
}

/** A strided batch of products: batch index z = outer·inner + i adds o·sOuter + i·sInner to each offset. */
export interface GemmBatch {
  outer: number;
  inner: number;
  sA: [number, number];
  sB: [number, number];
  sC: [number, number];
}

/**
 * Causal structure of a (T × T)-shaped operand: 1 = output tiles entirely above the diagonal are skipped
 * (scores), 2 = K stops at the tile's last row (A is lower triangular), 3 = K starts at the tile's first row
 * (A is upper triangular, i.e. a transposed lower-triangular matrix).
 */
export type Causal = 0 | 1 | 2 | 3;

/** One product to run. Offsets are those of the tensor handles; strides in elements. */
export interface GemmCall {
  M: number;
  N: number;
  K: number;
  A: GpuTensor;
  lda: number;
  aKC: boolean;
  B: GpuTensor;
  ldb: number;
  bKC: boolean;
  C: GpuTensor;
  ldc: number;
  bias?: GpuTensor | null;
  alpha?: number;
  beta?: number;
  batch?: GemmBatch;
  causal?: Causal;
  /** Extra element offsets into A, B, C (e.g. the k part of a fused qkv row). */
  offA?: number;
  offB?: number;
  offC?: number;
}

/** Test hook: force a tile size and a K split instead of the size-based choice. */
export interface GemmPolicy {
  tile?: 4 | 8;
  splits?: number;
  /** Never use vec4 loads (exercise the scalar path). */
  scalar?: boolean;
}

/** The launch the planner chose. */
export interface GemmPlan {
  variant: GemmVariant;
  splits: number;
  kChunk: number;
  grid: [number, number, number];
}

const PARAMS: [string, "u32" | "f32"][] = [
  ["M", "u32"], ["N", "u32"], ["K", "u32"], ["lda", "u32"], ["ldb", "u32"], ["ldc", "u32"],
  ["offA", "u32"], ["offB", "u32"], ["offC", "u32"], ["offBias", "u32"], ["hasBias", "u32"],
  ["alpha", "f32"], ["beta", "f32"], ["batchInner", "u32"],
  ["sAo", "u32"], ["sAi", "u32"], ["sBo", "u32"], ["sBi", "u32"], ["sCo", "u32"], ["sCi", "u32"],
  ["splits", "u32"], ["kChunk", "u32"], ["causal", "u32"], ["sCsplit", "u32"],
];

const COMP = ["x", "y", "z", "w"];

/** WGSL loading one operand's slice into prefetch registers `${r}0..`, for operand X with tile extent BX. */
function loadCode(op: "A" | "B", kc: boolean, vec4: boolean, BX: number, buf: string): string {
  const loads = (BX * BK) / 4 / 256;
  const lim = op === "A" ? "p.M" : "p.N";
  const ld = op === "A" ? "p.lda" : "p.ldb";
  const base = op === "A" ? "aBase" : "bBase";
  const x0 = op === "A" ? "m0" : "n0";
  const reg = op === "A" ? "pa" : "pb";
  const lines: string[] = [];
  for (let r = 0; r < loads; r++) {
    lines.push(`{ let v = li + ${r * 256}u;`);
    if (kc) {
      // X stored (X, K): a thread loads 4 consecutive k of one row x
      lines.push(`  let gx = ${x0} + v % ${BX}u; let gk = kk + (v / ${BX}u) * 4u;`);
      if (vec4) {
        lines.push(`  ${reg}${r} = vec4<f32>(0.0);`);
        lines.push(`  if (gx < ${lim} && gk < kEnd) { ${reg}${r} = ${buf}[(${base} + gx * ${ld} + gk) >> 2u]; }`);
      } else {
        lines.push(`  ${reg}${r} = vec4<f32>(0.0);`);
        lines.push(`  if (gx < ${lim}) { let e = ${base} + gx * ${ld} + gk;`);
        for (let j = 0; j < 4; j++) lines.push(`    if (gk + ${j}u < kEnd) { ${reg}${r}.${COMP[j]} = ${buf}[e + ${j}u]; }`);
        lines.push(`  }`);
      }
    } else {
      // X stored (K, X): a thread loads 4 consecutive x of one k
      lines.push(`  let gx = ${x0} + (v % ${BX / 4}u) * 4u; let gk = kk + v / ${BX / 4}u;`);
      if (vec4) {
        lines.push(`  ${reg}${r} = vec4<f32>(0.0);`);
        lines.push(`  if (gk < kEnd && gx < ${lim}) { ${reg}${r} = ${buf}[(${base} + gk * ${ld} + gx) >> 2u]; }`);
      } else {
        lines.push(`  ${reg}${r} = vec4<f32>(0.0);`);
        lines.push(`  if (gk < kEnd) { let e = ${base} + gk * ${ld} + gx;`);
        for (let j = 0; j < 4; j++) lines.push(`    if (gx + ${j}u < ${lim}) { ${reg}${r}.${COMP[j]} = ${buf}[e + ${j}u]; }`);
        lines.push(`  }`);
      }
    }
    lines.push(`}`);
  }
  return lines.join("\n    ");
}

/** WGSL storing the prefetch registers into workgroup memory laid out [k][x/4] as vec4. */
function storeCode(op: "A" | "B", kc: boolean, BX: number): string {
  const loads = (BX * BK) / 4 / 256;
  const sh = op === "A" ? "As" : "Bs";
  const reg = op === "A" ? "pa" : "pb";
  const lines: string[] = [];
  for (let r = 0; r < loads; r++) {
    lines.push(`{ let v = li + ${r * 256}u;`);
    if (kc) {
      lines.push(`  let x = v % ${BX}u; let kq = (v / ${BX}u) * 4u;`);
      for (let j = 0; j < 4; j++) lines.push(`  ${sh}[(kq + ${j}u) * ${BX / 4}u + x / 4u][x % 4u] = ${reg}${r}.${COMP[j]};`);
    } else {
      lines.push(`  ${sh}[v] = ${reg}${r};`);
    }
    lines.push(`}`);
  }
  return lines.join("\n    ");
}

const kernels = new Map<string, KernelDef>();

/** The kernel definition of a variant (memoised). */
export function gemmKernel(v: GemmVariant): KernelDef {
  const name = `gemm_${v.aKC ? "a" : "at"}_${v.bKC ? "bt" : "b"}_${v.vec4 ? "v4" : "s"}_${v.tile * 16}`;
  const hit = kernels.get(name);
  if (hit) return hit;
  const type = v.vec4 ? "vec4f" : "f32";
  const def: KernelDef = {
    name,
    tensors: [
      { name: "A", type, write: false },
      { name: "B", type, write: false },
      { name: "C", type, write: true },
      { name: "bias", type, write: false },
    ],
    params: PARAMS,
    body: (t) => gemmBody(v, t),
  };
  kernels.set(name, def);
  return def;
}

function gemmBody(v: GemmVariant, t: Record<string, string>): string {
  const T = v.tile;
  const R = T / 4; // vec4 groups per thread along m and along n
  const BM = 16 * T;
  const BN = 16 * T;
  const accDecl: string[] = [];
  const fma: string[] = [];
  for (let r = 0; r < R; r++) fma.push(`let a${r} = As[k * ${BM / 4}u + ${r * 16}u + lid.y];`);
  for (let s = 0; s < R; s++) fma.push(`let b${s} = Bs[k * ${BN / 4}u + ${s * 16}u + lid.x];`);
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < 4; i++) {
      for (let s = 0; s < R; s++) {
        accDecl.push(`var c${r}${i}${s} = vec4<f32>(0.0);`);
        fma.push(`c${r}${i}${s} = c${r}${i}${s} + a${r}.${COMP[i]} * b${s};`);
      }
    }
  }
  const biasAt = (n: string) => `${t.bias}[p.offBias + ${n}]`;
  const store: string[] = [];
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < 4; i++) {
      store.push(`{ let gm = m0 + ${r * 64 + i}u + lid.y * 4u;`);
      store.push(`  if (gm < p.M) {`);
      for (let s = 0; s < R; s++) {
        const acc = `c${r}${i}${s}`;
        store.push(`    { let gn = n0 + ${s * 64}u + lid.x * 4u;`);
        if (v.vec4) {
          store.push(`      if (gn < p.N) {`);
          store.push(`        let e = (cBase + gm * p.ldc + gn) >> 2u;`);
          store.push(`        var val = p.alpha * ${acc};`);
          store.push(`        if (p.hasBias != 0u) { val = val + ${t.bias}[(p.offBias + gn) >> 2u]; }`);
          store.push(`        if (p.beta != 0.0) { val = val + p.beta * ${t.C}[e]; }`);
          store.push(`        ${t.C}[e] = val;`);
          store.push(`      }`);
        } else {
          for (let j = 0; j < 4; j++) {
            store.push(`      if (gn + ${j}u < p.N) {`);
            store.push(`        let e = cBase + gm * p.ldc + gn + ${j}u;`);
            store.push(`        var val = p.alpha * ${acc}.${COMP[j]};`);
            store.push(`        if (p.hasBias != 0u) { val = val + ${biasAt(`gn + ${j}u`)}; }`);
            store.push(`        if (p.beta != 0.0) { val = val + p.beta * ${t.C}[e]; }`);
            store.push(`        ${t.C}[e] = val;`);
            store.push(`      }`);
          }
        }
        store.push(`    }`);
      }
      store.push(`  }`);
      store.push(`}`);
    }
  }
  const la = (BM * BK) / 4 / 256;
  const lb = (BN * BK) / 4 / 256;
  const regs = [
    ...Array.from({ length: la }, (_, r) => `var pa${r} = vec4<f32>(0.0);`),
    ...Array.from({ length: lb }, (_, r) => `var pb${r} = vec4<f32>(0.0);`),
  ];
  return `var<workgroup> As: array<vec4<f32>, ${(BK * BM) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(BK * BN) / 4}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let split = wid.z % p.splits;
  let bz = wid.z / p.splits;
  let bo = bz / p.batchInner;
  let bi = bz % p.batchInner;
  let aBase = p.offA + bo * p.sAo + bi * p.sAi;
  let bBase = p.offB + bo * p.sBo + bi * p.sBi;
  let cBase = p.offC + bo * p.sCo + bi * p.sCi + split * p.sCsplit;
  let m0 = wid.y * ${BM}u;
  let n0 = wid.x * ${BN}u;
  if (p.causal == 1u && n0 > m0 + ${BM - 1}u) { return; }
  var kBegin = split * p.kChunk;
  var kEnd = min(p.K, kBegin + p.kChunk);
  if (p.causal == 2u) { kEnd = min(kEnd, m0 + ${BM}u); }
  if (p.causal == 3u) { kBegin = max(kBegin, (m0 / ${BK}u) * ${BK}u); }
  ${accDecl.join("\n  ")}
  ${regs.join("\n  ")}
  {
    let kk = kBegin;
    ${loadCode("A", v.aKC, v.vec4, BM, t.A)}
    ${loadCode("B", v.bKC, v.vec4, BN, t.B)}
  }
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${BK}u) {
    workgroupBarrier();
    ${storeCode("A", v.aKC, BM)}
    ${storeCode("B", v.bKC, BN)}
    workgroupBarrier();
    if (k0 + ${BK}u < kEnd) {
      let kk = k0 + ${BK}u;
      ${loadCode("A", v.aKC, v.vec4, BM, t.A)}
      ${loadCode("B", v.bKC, v.vec4, BN, t.B)}
    }
    for (var k = 0u; k < ${BK}u; k = k + 1u) {
      ${fma.join("\n      ")}
    }
  }
  ${store.join("\n  ")}
}`;
}

const mult4 = (...xs: number[]) => xs.every((x) => x % 4 === 0);

/** Whether every size, stride and offset allows vec4 access. */
export function vec4Ok(c: GemmCall): boolean {
  const b = c.batch;
  const oA = c.A.offset + (c.offA ?? 0);
  const oB = c.B.offset + (c.offB ?? 0);
  const oC = c.C.offset + (c.offC ?? 0);
  const aOk = mult4(c.aKC ? c.K : c.M, c.lda, oA, ...(b ? b.sA : []));
  const bOk = mult4(c.bKC ? c.K : c.N, c.ldb, oB, ...(b ? b.sB : []));
  const cOk = mult4(c.N, c.ldc, oC, ...(b ? b.sC : []));
  const biasOk = !c.bias || c.bias.offset % 4 === 0;
  return aOk && bOk && cOk && biasOk;
}

/** Chooses tile size, K split and grid for a call. */
export function planGemm(c: GemmCall, policy: GemmPolicy = {}): GemmPlan {
  const batches = c.batch ? c.batch.outer * c.batch.inner : 1;
  const tiles = (t: number) => Math.ceil(c.M / (16 * t)) * Math.ceil(c.N / (16 * t)) * batches;
  const tile: 4 | 8 = policy.tile ?? (c.M >= 128 && c.N >= 128 && (tiles(8) >= TARGET_WORKGROUPS || (batches === 1 && c.K >= 2048)) ? 8 : 4);
  let splits = 1;
  if (policy.splits !== undefined) splits = Math.max(1, Math.min(policy.splits, Math.ceil(c.K / BK)));
  else if (batches === 1 && c.K >= 2048 && tiles(tile) < TARGET_WORKGROUPS) {
    splits = Math.min(Math.ceil(TARGET_WORKGROUPS / tiles(tile)), Math.floor(c.K / 512), 32);
  }
  if (c.batch && splits > 1) splits = 1; // batched products (attention) never split
  if (splits > 1 && (c.causal ?? 0) !== 0) splits = 1;
  const kChunk = Math.ceil(c.K / splits / BK) * BK;
  splits = Math.max(1, Math.ceil(c.K / kChunk));
  const vec4 = !policy.scalar && vec4Ok(c);
  const BMN = 16 * tile;
  return {
    variant: { aKC: c.aKC, bKC: c.bKC, vec4, tile },
    splits,
    kChunk,
    grid: [Math.ceil(c.N / BMN), Math.ceil(c.M / BMN), batches * splits],
  };
}

/** Uniform parameters of a call (in {@link PARAMS} order) for a plan; split-K writes into a scratch at offset 0. */
export function gemmParams(c: GemmCall, plan: GemmPlan, split: boolean): number[] {
  const b = c.batch;
  const bias = c.bias && !split ? c.bias : null;
  return [
    c.M, c.N, c.K, c.lda, c.ldb, split ? c.N : c.ldc,
    c.A.offset + (c.offA ?? 0), c.B.offset + (c.offB ?? 0), split ? 0 : c.C.offset + (c.offC ?? 0),
    bias ? bias.offset : 0, bias ? 1 : 0,
    split ? 1 : c.alpha ?? 1, split ? 0 : c.beta ?? 0, b ? b.inner : 1,
    b ? b.sA[0] : 0, b ? b.sA[1] : 0, b ? b.sB[0] : 0, b ? b.sB[1] : 0, b && !split ? b.sC[0] : 0, b && !split ? b.sC[1] : 0,
    plan.splits, plan.kChunk, c.causal ?? 0, split ? c.M * c.N : 0,
  ];
}
