/**
 * WGSL kernels of the webgpu backend other than the matrix products (gemm.ts): elementwise ops (GELU, residual,
 * fill, encoder, cross-entropy backward, AdamW with the clip factor read from a device buffer), row kernels with a
 * workgroup per row (LayerNorm, causal softmax forward/backward, softmax + cross-entropy), and two-stage
 * reductions (sum of squares, column sums for bias and LayerNorm parameter gradients). Every tensor argument comes
 * with an element offset in the uniforms (`p.o*`), because kernels bind whole buffers.
 */
import type { KernelDef } from "./runtime.js";

/** Threads per workgroup of every kernel in this file. */
export const WG = 256;
/** Columns per workgroup of the column-sum kernels (and 4 row lanes: 64 × 4 = 256 threads). */
export const COLS_PER_WG = 64;

const f = (name: string, write = false) => ({ name, type: "f32" as const, write });
const i32 = (name: string) => ({ name, type: "i32" as const, write: false });
const u = (name: string): [string, "u32"] => [name, "u32"];
const fl = (name: string): [string, "f32"] => [name, "f32"];

/** Linear workgroup index over a 2-D grid, and the element index of an elementwise kernel. */
const ELEMENTWISE_HEAD = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wid.x + wid.y * nwg.x) * ${WG}u + li;
  if (i >= p.n) { return; }`;

/** Shared-memory tree reductions for a workgroup of WG threads (called from uniform control flow). */
const REDUCE = `var<workgroup> red: array<f32, ${WG}>;
fn reduceSum(li: u32, v: f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduceMax(li: u32, v: f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

/** Row kernels: one workgroup per row over a 2-D grid; `row` is uniform across the workgroup. */
const ROW_HEAD = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }`;

/** A float below every finite float32 (a -inf that arithmetic keeps finite). */
const NEG_BIG = "-3.0e38";

/** out[i] = value. */
export const fill: KernelDef = {
  name: "fill",
  tensors: [f("out", true)],
  params: [u("n"), u("oOut"), fl("value")],
  body: (t) => `${ELEMENTWISE_HEAD}
  ${t.out}[p.oOut + i] = p.value;
}`,
};

/** GELU (tanh approximation) forward. tanh is computed from exp(-2|u|), which cannot overflow. */
export const geluForward: KernelDef = {
  name: "gelu_fwd",
  tensors: [f("out", true), f("inp")],
  params: [u("n"), u("oOut"), u("oInp")],
  body: (t) => `fn tanhSafe(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
${ELEMENTWISE_HEAD}
  let x = ${t.inp}[p.oInp + i];
  let y = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  ${t.out}[p.oOut + i] = 0.5 * x * (1.0 + tanhSafe(y));
}`,
};

/** GELU backward: dinp = GELU'(inp) * dout (dinp may alias dout). */
export const geluBackward: KernelDef = {
  name: "gelu_bwd",
  tensors: [f("dinp", true), f("inp"), f("dout")],
  params: [u("n"), u("oDinp"), u("oInp"), u("oDout")],
  body: (t) => `fn tanhSafe(x: f32) -> f32 { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }
${ELEMENTWISE_HEAD}
  let x = ${t.inp}[p.oInp + i];
  let s = 0.7978845608028654;
  let th = tanhSafe(s * (x + 0.044715 * x * x * x));
  let grad = 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * s * (1.0 + 3.0 * 0.044715 * x * x);
  ${t.dinp}[p.oDinp + i] = grad * ${t.dout}[p.oDout + i];
}`,
};

/** out = a + b (out may alias a or b). */
export const residual: KernelDef = {
  name: "residual",
  tensors: [f("out", true), f("a"), f("b")],
  params: [u("n"), u("oOut"), u("oA"), u("oB")],
  body: (t) => `${ELEMENTWISE_HEAD}
  ${t.out}[p.oOut + i] = ${t.a}[p.oA + i] + ${t.b}[p.oB + i];
}`,
};

/** out (B,T,C) = wte[inp] + wpe[t]; n = B*T*C. */
export const encoderForward: KernelDef = {
  name: "encoder_fwd",
  tensors: [f("out", true), i32("inp"), f("wte"), f("wpe")],
  params: [u("n"), u("T"), u("C"), u("oOut"), u("oInp"), u("oWte"), u("oWpe")],
  body: (t) => `${ELEMENTWISE_HEAD}
  let bt = i / p.C;
  let c = i % p.C;
  let pos = bt % p.T;
  let tok = u32(${t.inp}[p.oInp + bt]);
  ${t.out}[p.oOut + i] = ${t.wte}[p.oWte + tok * p.C + c] + ${t.wpe}[p.oWpe + pos * p.C + c];
}`,
};

/** dwpe[t] += sum over b of dout[b,t]; n = T*C. */
export const encoderBackwardWpe: KernelDef = {
  name: "encoder_bwd_wpe",
  tensors: [f("dwpe", true), f("dout")],
  params: [u("n"), u("B"), u("T"), u("C"), u("oDwpe"), u("oDout")],
  body: (t) => `${ELEMENTWISE_HEAD}
  var acc = 0.0;
  for (var b = 0u; b < p.B; b = b + 1u) { acc = acc + ${t.dout}[p.oDout + b * p.T * p.C + i]; }
  ${t.dwpe}[p.oDwpe + i] = ${t.dwpe}[p.oDwpe + i] + acc;
}`,
};

/**
 * dwte[token] += the sum of dout over the positions holding that token. One workgroup per distinct token of the
 * batch (bucketed on the host), so no two threads add into one row: deterministic, no float atomics.
 * idx layout: tokens[U], starts[U+1], positions[N].
 */
export const encoderBackwardWte: KernelDef = {
  name: "encoder_bwd_wte",
  tensors: [f("dwte", true), f("dout"), i32("idx")],
  params: [u("rows"), u("C"), u("oDwte"), u("oDout"), u("oIdx")],
  body: (t) => `${ROW_HEAD}
  let tok = u32(${t.idx}[p.oIdx + row]);
  let s0 = u32(${t.idx}[p.oIdx + p.rows + row]);
  let s1 = u32(${t.idx}[p.oIdx + p.rows + row + 1u]);
  let posBase = p.oIdx + 2u * p.rows + 1u;
  for (var c = li; c < p.C; c = c + ${WG}u) {
    var acc = 0.0;
    for (var j = s0; j < s1; j = j + 1u) {
      let pos = u32(${t.idx}[posBase + j]);
      acc = acc + ${t.dout}[p.oDout + pos * p.C + c];
    }
    let o = p.oDwte + tok * p.C + c;
    ${t.dwte}[o] = ${t.dwte}[o] + acc;
  }
}`,
};

/** LayerNorm forward, one row per workgroup: two-pass mean and biased variance, eps 1e-5. */
export const layernormForward: KernelDef = {
  name: "layernorm_fwd",
  tensors: [f("out", true), f("mean", true), f("rstd", true), f("inp"), f("w"), f("b")],
  params: [u("rows"), u("C"), u("oOut"), u("oMean"), u("oRstd"), u("oInp"), u("oW"), u("oB")],
  body: (t) => `${REDUCE}
${ROW_HEAD}
  let x = p.oInp + row * p.C;
  var s = 0.0;
  for (var c = li; c < p.C; c = c + ${WG}u) { s = s + ${t.inp}[x + c]; }
  let m = reduceSum(li, s) / f32(p.C);
  var v = 0.0;
  for (var c = li; c < p.C; c = c + ${WG}u) { let d = ${t.inp}[x + c] - m; v = v + d * d; }
  let rs = 1.0 / sqrt(reduceSum(li, v) / f32(p.C) + 1e-5);
  let o = p.oOut + row * p.C;
  for (var c = li; c < p.C; c = c + ${WG}u) {
    ${t.out}[o + c] = (${t.inp}[x + c] - m) * rs * ${t.w}[p.oW + c] + ${t.b}[p.oB + c];
  }
  if (li == 0u) {
    ${t.mean}[p.oMean + row] = m;
    ${t.rstd}[p.oRstd + row] = rs;
  }
}`,
};

/** LayerNorm backward, input gradient only: dinp += (dnorm - mean(dnorm) - norm·mean(dnorm·norm)) · rstd. */
export const layernormBackwardInput: KernelDef = {
  name: "layernorm_bwd_dinp",
  tensors: [f("dinp", true), f("dout"), f("inp"), f("w"), f("mean"), f("rstd")],
  params: [u("rows"), u("C"), u("oDinp"), u("oDout"), u("oInp"), u("oW"), u("oMean"), u("oRstd")],
  body: (t) => `${REDUCE}
${ROW_HEAD}
  let x = p.oInp + row * p.C;
  let d = p.oDout + row * p.C;
  let m = ${t.mean}[p.oMean + row];
  let rs = ${t.rstd}[p.oRstd + row];
  var a = 0.0;
  var b = 0.0;
  for (var c = li; c < p.C; c = c + ${WG}u) {
    let norm = (${t.inp}[x + c] - m) * rs;
    let dnorm = ${t.w}[p.oW + c] * ${t.dout}[d + c];
    a = a + dnorm;
    b = b + dnorm * norm;
  }
  let dm = reduceSum(li, a) / f32(p.C);
  let dnm = reduceSum(li, b) / f32(p.C);
  let o = p.oDinp + row * p.C;
  for (var c = li; c < p.C; c = c + ${WG}u) {
    let norm = (${t.inp}[x + c] - m) * rs;
    let dnorm = ${t.w}[p.oW + c] * ${t.dout}[d + c];
    ${t.dinp}[o + c] = ${t.dinp}[o + c] + (dnorm - dm - norm * dnm) * rs;
  }
}`,
};

/** Column-sum head: 64 columns × 4 row lanes per workgroup; grid (column blocks, row chunks). */
const COLUMN_HEAD = `var<workgroup> sa: array<f32, ${WG}>;
var<workgroup> sb: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let col = wid.x * ${COLS_PER_WG}u + li % ${COLS_PER_WG}u;
  let lane = li / ${COLS_PER_WG}u;
  let chunk = wid.y;
  let r0 = chunk * p.rowsPerChunk;
  let r1 = min(p.N, r0 + p.rowsPerChunk);`;

/**
 * LayerNorm parameter-gradient partials: for a chunk of rows, sum dout·norm (region 0) and dout (region 1) per
 * column into partial[region][chunk][C]; {@link reducePartials} adds the chunks into dweight and dbias.
 */
export const layernormBackwardPartials: KernelDef = {
  name: "layernorm_bwd_partials",
  tensors: [f("partial", true), f("dout"), f("inp"), f("mean"), f("rstd")],
  params: [u("N"), u("C"), u("rowsPerChunk"), u("chunks"), u("oDout"), u("oInp"), u("oMean"), u("oRstd")],
  body: (t) => `${COLUMN_HEAD}
  var dw = 0.0;
  var db = 0.0;
  if (col < p.C) {
    for (var r = r0 + lane; r < r1; r = r + 4u) {
      let d = ${t.dout}[p.oDout + r * p.C + col];
      let norm = (${t.inp}[p.oInp + r * p.C + col] - ${t.mean}[p.oMean + r]) * ${t.rstd}[p.oRstd + r];
      dw = dw + d * norm;
      db = db + d;
    }
  }
  sa[li] = dw;
  sb[li] = db;
  workgroupBarrier();
  if (lane == 0u && col < p.C) {
    ${t.partial}[chunk * p.C + col] = sa[li] + sa[li + 64u] + sa[li + 128u] + sa[li + 192u];
    ${t.partial}[(p.chunks + chunk) * p.C + col] = sb[li] + sb[li + 64u] + sb[li + 128u] + sb[li + 192u];
  }
}`,
};

/** Column sums of x (N, C) per chunk of rows into partial[chunk][C] (bias gradients). */
export const columnSumPartials: KernelDef = {
  name: "colsum_partials",
  tensors: [f("partial", true), f("x")],
  params: [u("N"), u("C"), u("rowsPerChunk"), u("oX")],
  body: (t) => `${COLUMN_HEAD}
  var s = 0.0;
  if (col < p.C) {
    for (var r = r0 + lane; r < r1; r = r + 4u) { s = s + ${t.x}[p.oX + r * p.C + col]; }
  }
  sa[li] = s;
  workgroupBarrier();
  if (lane == 0u && col < p.C) {
    ${t.partial}[chunk * p.C + col] = sa[li] + sa[li + 64u] + sa[li + 128u] + sa[li + 192u];
  }
}`,
};

/** dst[c] += sum over chunks k of partial[oPart + k*n + c]; n columns. */
export const reducePartials: KernelDef = {
  name: "reduce_partials",
  tensors: [f("dst", true), f("partial")],
  params: [u("n"), u("chunks"), u("oDst"), u("oPart")],
  body: (t) => `${ELEMENTWISE_HEAD}
  var s = 0.0;
  for (var k = 0u; k < p.chunks; k = k + 1u) { s = s + ${t.partial}[p.oPart + k * p.n + i]; }
  ${t.dst}[p.oDst + i] = ${t.dst}[p.oDst + i] + s;
}`,
};

/**
 * Split-K epilogue: C[m, n] = alpha·(sum over splits of partial[s][m][n]) (+ bias[n]) + beta·C[m, n]; n = M*N elements.
 */
export const splitKReduce: KernelDef = {
  name: "splitk_reduce",
  tensors: [f("c", true), f("partial"), f("bias")],
  params: [u("n"), u("cols"), u("splits"), u("ldc"), u("oC"), u("oBias"), u("hasBias"), fl("alpha"), fl("beta")],
  body: (t) => `${ELEMENTWISE_HEAD}
  var s = 0.0;
  for (var k = 0u; k < p.splits; k = k + 1u) { s = s + ${t.partial}[k * p.n + i]; }
  s = p.alpha * s;
  let m = i / p.cols;
  let col = i % p.cols;
  let o = p.oC + m * p.ldc + col;
  if (p.hasBias != 0u) { s = s + ${t.bias}[p.oBias + col]; }
  if (p.beta != 0.0) { s = s + p.beta * ${t.c}[o]; }
  ${t.c}[o] = s;
}`,
};

/**
 * Causal softmax in place over rows of length T (scores already scaled): row r is position t = r mod T;
 * entries t2 ≤ t become probabilities, entries above the diagonal become 0.
 */
export const causalSoftmaxForward: KernelDef = {
  name: "causal_softmax_fwd",
  tensors: [f("att", true)],
  params: [u("rows"), u("T"), u("oAtt")],
  body: (t) => `${REDUCE}
${ROW_HEAD}
  let tq = row % p.T;
  let base = p.oAtt + row * p.T;
  var mx = ${NEG_BIG};
  for (var j = li; j <= tq; j = j + ${WG}u) { mx = max(mx, ${t.att}[base + j]); }
  mx = reduceMax(li, mx);
  var s = 0.0;
  for (var j = li; j <= tq; j = j + ${WG}u) { s = s + exp(${t.att}[base + j] - mx); }
  let inv = 1.0 / reduceSum(li, s);
  for (var j = li; j < p.T; j = j + ${WG}u) {
    var v = 0.0;
    if (j <= tq) { v = exp(${t.att}[base + j] - mx) * inv; }
    ${t.att}[base + j] = v;
  }
}`,
};

/**
 * Causal softmax backward in place: d holds dL/datt on entry and dL/dscores·scale on exit,
 * d = att · (d - sum(att·d)) · scale for t2 ≤ t, 0 above the diagonal.
 */
export const causalSoftmaxBackward: KernelDef = {
  name: "causal_softmax_bwd",
  tensors: [f("d", true), f("att")],
  params: [u("rows"), u("T"), u("oD"), u("oAtt"), fl("scale")],
  body: (t) => `${REDUCE}
${ROW_HEAD}
  let tq = row % p.T;
  let bd = p.oD + row * p.T;
  let ba = p.oAtt + row * p.T;
  var s = 0.0;
  for (var j = li; j <= tq; j = j + ${WG}u) { s = s + ${t.att}[ba + j] * ${t.d}[bd + j]; }
  let dot = reduceSum(li, s);
  for (var j = li; j < p.T; j = j + ${WG}u) {
    var v = 0.0;
    if (j <= tq) { v = ${t.att}[ba + j] * (${t.d}[bd + j] - dot) * p.scale; }
    ${t.d}[bd + j] = v;
  }
}`,
};

/** Row (b, h, t) of a banded attention kernel: the head's offsets in qkv (B,T,3C) and the (B,T,C) tensors. */
const BAND_ROW = `
  let t = row % p.T;
  let bh = row / p.T;
  let b = bh / p.NH;
  let h = bh % p.NH;
  let C3 = 3u * p.C;
  let headQkv = p.oQkv + b * p.T * C3 + h * p.hs; // q of position 0; k at +C, v at +2C
  let headOut = b * p.T * p.C + h * p.hs;
  let band = row * p.W; // the row's W entries in the banded att / scratch (B,NH,T,W)
  let wlo = p.W - min(t + 1u, p.W); // first entry whose key t + 1 + w − W exists
  let key0 = t + 1u + wlo - p.W;`;

const BAND_PARAMS: [string, "u32"][] = [u("rows"), u("T"), u("C"), u("NH"), u("hs"), u("W")];

/**
 * GPT-3's locally banded attention forward, one workgroup per (b, h, t): the scores of the W keys t − W < j ≤ t,
 * their softmax into the banded att row (entry w is key t − W + 1 + w; keys before 0 get 0), then out = att · v.
 * Work grows with T·W: no key outside the band is touched.
 */
export const bandAttentionForward: KernelDef = {
  name: "band_att_fwd",
  tensors: [f("out", true), f("att", true), f("qkv")],
  params: [...BAND_PARAMS, u("oOut"), u("oAtt"), u("oQkv"), fl("scale")],
  body: (t) => `${REDUCE}
${ROW_HEAD}${BAND_ROW}
  let qrow = headQkv + t * C3;
  let ab = p.oAtt + band;
  // every loop over the band gives entry w to thread w mod ${WG}, so each thread reads back only what it wrote
  var mx = ${NEG_BIG};
  for (var w = li; w < p.W; w = w + ${WG}u) {
    if (w < wlo) { continue; }
    let krow = headQkv + (key0 + w - wlo) * C3 + p.C;
    var d = 0.0;
    for (var i = 0u; i < p.hs; i = i + 1u) { d = d + ${t.qkv}[qrow + i] * ${t.qkv}[krow + i]; }
    let s = d * p.scale;
    ${t.att}[ab + w] = s;
    mx = max(mx, s);
  }
  mx = reduceMax(li, mx);
  var sum = 0.0;
  for (var w = li; w < p.W; w = w + ${WG}u) {
    if (w >= wlo) { sum = sum + exp(${t.att}[ab + w] - mx); }
  }
  let inv = 1.0 / reduceSum(li, sum);
  for (var w = li; w < p.W; w = w + ${WG}u) {
    var v = 0.0;
    if (w >= wlo) { v = exp(${t.att}[ab + w] - mx) * inv; }
    ${t.att}[ab + w] = v;
  }
  storageBarrier();
  for (var i = li; i < p.hs; i = i + ${WG}u) {
    var acc = 0.0;
    for (var w = wlo; w < p.W; w = w + 1u) { acc = acc + ${t.att}[ab + w] * ${t.qkv}[headQkv + (key0 + w - wlo) * C3 + 2u * p.C + i]; }
    ${t.out}[p.oOut + headOut + t * p.C + i] = acc;
  }
}`,
};

/**
 * Banded attention backward over query rows, one workgroup per (b, h, t): datt = dout · v over the band, the softmax
 * backward d = att · (datt − Σ att·datt) · scale into the banded scratch row, then dq = d · k (overwritten).
 */
export const bandAttentionBackwardRows: KernelDef = {
  name: "band_att_bwd_rows",
  tensors: [f("dqkv", true), f("d", true), f("dout"), f("qkv"), f("att")],
  params: [...BAND_PARAMS, u("oDqkv"), u("oD"), u("oDout"), u("oQkv"), u("oAtt"), fl("scale")],
  body: (t) => `${REDUCE}
${ROW_HEAD}${BAND_ROW}
  let orow = p.oDout + headOut + t * p.C;
  let db = p.oD + band;
  let ab = p.oAtt + band;
  var part = 0.0;
  for (var w = li; w < p.W; w = w + ${WG}u) {
    var datt = 0.0;
    if (w >= wlo) {
      let vrow = headQkv + (key0 + w - wlo) * C3 + 2u * p.C;
      for (var i = 0u; i < p.hs; i = i + 1u) { datt = datt + ${t.dout}[orow + i] * ${t.qkv}[vrow + i]; }
      part = part + ${t.att}[ab + w] * datt;
    }
    ${t.d}[db + w] = datt;
  }
  let dot = reduceSum(li, part);
  for (var w = li; w < p.W; w = w + ${WG}u) {
    if (w >= wlo) { ${t.d}[db + w] = ${t.att}[ab + w] * (${t.d}[db + w] - dot) * p.scale; }
  }
  storageBarrier();
  let dq = p.oDqkv + headQkv - p.oQkv + t * C3;
  for (var i = li; i < p.hs; i = i + ${WG}u) {
    var acc = 0.0;
    for (var w = wlo; w < p.W; w = w + 1u) { acc = acc + ${t.d}[db + w] * ${t.qkv}[headQkv + (key0 + w - wlo) * C3 + p.C + i]; }
    ${t.dqkv}[dq + i] = acc;
  }
}`,
};

/**
 * Banded attention backward over keys, one workgroup per (b, h, j): key j is in the bands of rows j ≤ t < j + W,
 * at entry w = j − t + W − 1; dk_j = Σ d[t][w] q_t and dv_j = Σ att[t][w] dout_t (both overwritten). Runs after
 * {@link bandAttentionBackwardRows} has filled d.
 */
export const bandAttentionBackwardKeys: KernelDef = {
  name: "band_att_bwd_keys",
  tensors: [f("dqkv", true), f("d"), f("dout"), f("qkv"), f("att")],
  params: [...BAND_PARAMS, u("oDqkv"), u("oD"), u("oDout"), u("oQkv"), u("oAtt")],
  body: (t) => `${ROW_HEAD}${BAND_ROW}
  let j = t;
  let tEnd = min(p.T, j + p.W);
  let dk = p.oDqkv + headQkv - p.oQkv + j * C3 + p.C;
  for (var i = li; i < p.hs; i = i + ${WG}u) {
    var gk = 0.0;
    var gv = 0.0;
    for (var r = j; r < tEnd; r = r + 1u) {
      let e = (bh * p.T + r) * p.W + j + p.W - 1u - r;
      gk = gk + ${t.d}[p.oD + e] * ${t.qkv}[headQkv + r * C3 + i];
      gv = gv + ${t.att}[p.oAtt + e] * ${t.dout}[p.oDout + headOut + r * p.C + i];
    }
    ${t.dqkv}[dk + i] = gk;
    ${t.dqkv}[dk + p.C + i] = gv;
  }
}`,
};

/**
 * Softmax + cross-entropy forward, one row per workgroup: an online max/sum pass, then probs (which may alias the
 * logits) and the loss logsumexp - logit[target] (0 where target < 0). The target's logit is read before any write.
 */
export const crossEntropyForward: KernelDef = {
  name: "ce_fwd",
  tensors: [f("losses", true), f("probs", true), f("logits"), i32("targets")],
  params: [u("rows"), u("V"), u("oLoss"), u("oProbs"), u("oLogits"), u("oTargets")],
  body: (t) => `var<workgroup> rm: array<f32, ${WG}>;
var<workgroup> rs: array<f32, ${WG}>;
${ROW_HEAD}
  let base = p.oLogits + row * p.V;
  let tgt = ${t.targets}[p.oTargets + row];
  var tl = 0.0;
  if (tgt >= 0) { tl = ${t.logits}[base + u32(tgt)]; }
  var m = ${NEG_BIG};
  var s = 0.0;
  for (var j = li; j < p.V; j = j + ${WG}u) {
    let x = ${t.logits}[base + j];
    if (x > m) { s = s * exp(m - x) + 1.0; m = x; } else { s = s + exp(x - m); }
  }
  rm[li] = m;
  rs[li] = s;
  workgroupBarrier();
  for (var st = ${WG / 2}u; st > 0u; st = st >> 1u) {
    if (li < st) {
      let m1 = rm[li];
      let m2 = rm[li + st];
      let mm = max(m1, m2);
      rs[li] = rs[li] * exp(m1 - mm) + rs[li + st] * exp(m2 - mm);
      rm[li] = mm;
    }
    workgroupBarrier();
  }
  let mx = rm[0];
  let sum = rs[0];
  if (li == 0u) {
    var loss = 0.0;
    if (tgt >= 0) { loss = mx + log(sum) - tl; }
    ${t.losses}[p.oLoss + row] = loss;
  }
  let inv = 1.0 / sum;
  let po = p.oProbs + row * p.V;
  for (var j = li; j < p.V; j = j + ${WG}u) {
    ${t.probs}[po + j] = exp(${t.logits}[base + j] - mx) * inv;
  }
}`,
};

/** dlogits = (probs - onehot(target)) · scale, zero rows where target < 0 (dlogits may alias probs); n = N*V. */
export const crossEntropyBackward: KernelDef = {
  name: "ce_bwd",
  tensors: [f("dlogits", true), f("probs"), i32("targets")],
  params: [u("n"), u("V"), u("oD"), u("oProbs"), u("oTargets"), fl("scale")],
  body: (t) => `${ELEMENTWISE_HEAD}
  let row = i / p.V;
  let col = i % p.V;
  let tgt = ${t.targets}[p.oTargets + row];
  var v = 0.0;
  if (tgt >= 0) {
    v = ${t.probs}[p.oProbs + i] * p.scale;
    if (col == u32(tgt)) { v = v - p.scale; }
  }
  ${t.dlogits}[p.oD + i] = v;
}`,
};

/** Sum of squares, stage 1: workgroup w of G sums x² over a grid-stride range into partial[w]. */
export const sumSquaresPartials: KernelDef = {
  name: "sumsq_partials",
  tensors: [f("partial", true), f("x")],
  params: [u("n"), u("oX")],
  body: (t) => `${REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let stride = nwg.x * ${WG}u;
  var s = 0.0;
  for (var i = wid.x * ${WG}u + li; i < p.n; i = i + stride) {
    let v = ${t.x}[p.oX + i];
    s = s + v * v;
  }
  let total = reduceSum(li, s);
  if (li == 0u) { ${t.partial}[wid.x] = total; }
}`,
};

/** Sum of squares, stage 2: one workgroup adds the G partials into out[0] (overwritten). */
export const sumSquaresFinal: KernelDef = {
  name: "sumsq_final",
  tensors: [f("out", true), f("partial")],
  params: [u("groups"), u("oOut")],
  body: (t) => `${REDUCE}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) li: u32) {
  var s = 0.0;
  for (var i = li; i < p.groups; i = i + ${WG}u) { s = s + ${t.partial}[i]; }
  let total = reduceSum(li, s);
  if (li == 0u) { ${t.out}[p.oOut] = total; }
}`,
};

/**
 * AdamW (PyTorch semantics) with the global-norm clip factor computed in-kernel from normSq[0], so clipping needs
 * no host round trip: g = grad·clip; m, v updated; p = p·(1 - lr·wd) - lr·(m/bc1)/(sqrt(v/bc2) + eps).
 */
export const adamw: KernelDef = {
  name: "adamw",
  tensors: [f("param", true), f("grad"), f("m", true), f("v", true), f("normSq")],
  params: [
    u("n"), u("oP"), u("oG"), u("oM"), u("oV"), u("oNs"), u("useClip"),
    fl("lr"), fl("beta1"), fl("beta2"), fl("eps"), fl("decay"), fl("bc1"), fl("bc2"), fl("maxNorm"),
  ],
  body: (t) => `${ELEMENTWISE_HEAD}
  var clip = 1.0;
  if (p.useClip != 0u) { clip = min(1.0, p.maxNorm / (sqrt(${t.normSq}[p.oNs]) + 1e-6)); }
  let g = ${t.grad}[p.oG + i] * clip;
  let mi = p.beta1 * ${t.m}[p.oM + i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * ${t.v}[p.oV + i] + (1.0 - p.beta2) * g * g;
  ${t.m}[p.oM + i] = mi;
  ${t.v}[p.oV + i] = vi;
  let w = ${t.param}[p.oP + i];
  ${t.param}[p.oP + i] = w * p.decay - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
}`,
};
