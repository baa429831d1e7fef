/**
 * sgemm through the native addon vs OpenBLAS's own speed, at the matmul shapes of a GPT training step
 * (issue 2's configs A and B; forward x·Wᵀ, backward dout·W and doutᵀ·x).
 *
 * - `addon`: one JS call per product through the backend (N-API argument checks, the pool split, single-threaded
 *   OpenBLAS in each part) — what the model pays per matmul; `matmulForward` adds the bias the model uses.
 * - `openblas`: cblas_sgemm timed in a C loop inside the addon with OpenBLAS's own threading, same thread count.
 * Each shape is measured in several interleaved rounds (addon, then openblas, then a pause that lets OpenBLAS's
 * own workers go back to sleep); the best time of each is kept, since load from other processes only slows a
 * call down. Reports GFLOP/s of each and their ratio (target: addon ≥ 90% of openblas).
 *
 * Usage: node dist/bench/sgemm-bench.js [--config A|B] [--threads N] [--reps N] [--json]
 * On a shared machine, run it while `uptime` shows the cores idle (the best of several rounds is kept anyway).
 */
import { parseArgs } from "node:util";

import { loadNativeBackend } from "../src/engine/native.js";

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    threads: { type: "string" },
    reps: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
  },
});

interface Shape {
  config: string;
  op: string;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  /** Measure the model's matmulForward (with bias) instead of a bare gemm. */
  linear?: { N: number; C: number; OC: number };
}

/** The products of one training step of a config: per linear layer, forward and both backward products. */
function shapesOf(config: string, BT: number, C: number, V: number): Shape[] {
  const out: Shape[] = [];
  const layers: [string, number, number][] = [["qkv", C, 3 * C], ["attnproj", C, C], ["fc", C, 4 * C], ["fcproj", 4 * C, C], ["head", C, V]];
  for (const [name, inC, OC] of layers) {
    out.push({ config, op: `${name} fwd x·Wᵀ (NT)`, transA: false, transB: true, M: BT, N: OC, K: inC, linear: name === "head" ? undefined : { N: BT, C: inC, OC } });
    out.push({ config, op: `${name} dinp dout·W (NN)`, transA: false, transB: false, M: BT, N: inC, K: OC });
    out.push({ config, op: `${name} dW doutᵀ·x (TN)`, transA: true, transB: false, M: OC, N: inC, K: BT });
  }
  return out;
}

const configs = [
  { name: "A", BT: 32 * 128, C: 128, V: 256 },
  { name: "B", BT: 8 * 256, C: 384, V: 256 },
].filter((c) => values.config === undefined || c.name === values.config);
if (configs.length === 0) {
  process.stderr.write(`sgemm-bench: unknown --config ${values.config}; use A or B\n`);
  process.exit(2);
}

const threads = values.threads === undefined ? undefined : Number(values.threads);
const reps = Number(values.reps);
const rounds = Number(values.rounds);
const be = loadNativeBackend({ threads });
if (be instanceof Error) {
  process.stderr.write(`sgemm-bench: ${be.message}\n`);
  process.exit(1);
}
const info = be.info();
const T = info.threads;

/** Blocks the thread for `ms` milliseconds (lets OpenBLAS's own workers go back to sleep between measurements). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (((i + seed) * 2654435761) % 1000) / 1000 - 0.5;
  return a;
}

/** Seconds per call of `fn`, one entry per call, over `reps` calls after 2 warm-up calls. */
function timeCalls(fn: () => void): number[] {
  for (let i = 0; i < 2; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return times;
}

// Let the CPU reach its working clock before the first measurement.
{
  const a = fill(1024 * 1024, 0), b = fill(1024 * 1024, 1), c = new Float32Array(1024 * 1024);
  const end = Date.now() + 500;
  while (Date.now() < end) be.gemm(false, false, 1024, 1024, 1024, 1, a, 1024, b, 1024, 0, c, 1024);
}

if (!values.json) {
  process.stderr.write(`sgemm-bench: ${info.blasCore} core, ${T} threads; ${info.detail}\n`);
  process.stderr.write(`${"config".padEnd(7)}${"product".padEnd(26)}${"M×N×K".padEnd(18)}${"addon".padStart(8)}${"linear".padStart(8)}${"openblas".padStart(10)}${"ratio".padStart(8)}\n`);
}

let flopsTotal = 0, addonTotal = 0, blasTotal = 0, worst = Infinity;
for (const c of configs) {
  for (const s of shapesOf(c.name, c.BT, c.C, c.V)) {
    const { M, N, K, transA, transB } = s;
    const A = fill(M * K, 1), B = fill(K * N, 2), Cm = new Float32Array(M * N);
    const lda = transA ? M : K, ldb = transB ? K : N;
    const flops = 2 * M * N * K;
    const addonTimes: number[] = [], linearTimes: number[] = [], blasTimes: number[] = [];
    for (let r = 0; r < rounds; r++) {
      addonTimes.push(...timeCalls(() => be.gemm(transA, transB, M, N, K, 1, A, lda, B, ldb, 0, Cm, N)));
      if (s.linear) {
        const { N: rows, C: inC, OC } = s.linear;
        const bias = fill(OC, 3);
        linearTimes.push(...timeCalls(() => be.matmulForward(Cm, A, B, bias, rows, inC, OC)));
      }
      blasTimes.push(...Array.from(be.addon.blasBench(transA ? 1 : 0, transB ? 1 : 0, M, N, K, reps, T)));
      sleep(250);
    }
    const tAddon = Math.min(...addonTimes), tBlas = Math.min(...blasTimes);
    const tLinear = linearTimes.length ? Math.min(...linearTimes) : undefined;
    const gAddon = flops / tAddon / 1e9, gBlas = flops / tBlas / 1e9;
    const ratio = gAddon / gBlas;
    flopsTotal += flops;
    addonTotal += tAddon;
    blasTotal += tBlas;
    worst = Math.min(worst, ratio);
    const row = {
      config: c.name, op: s.op, M, N, K, addonGflops: +gAddon.toFixed(1),
      linearGflops: tLinear === undefined ? undefined : +(flops / tLinear / 1e9).toFixed(1),
      openblasGflops: +gBlas.toFixed(1), ratio: +ratio.toFixed(3),
    };
    if (values.json) console.log(JSON.stringify(row));
    else {
      process.stderr.write(
        `${c.name.padEnd(7)}${s.op.padEnd(26)}${`${M}×${N}×${K}`.padEnd(18)}${gAddon.toFixed(1).padStart(8)}` +
          `${(row.linearGflops?.toFixed(1) ?? "").padStart(8)}${gBlas.toFixed(1).padStart(10)}${(ratio * 100).toFixed(1).padStart(7)}%\n`,
      );
    }
  }
}
const summary = {
  summary: true, blasCore: info.blasCore, threads: T,
  addonGflops: +(flopsTotal / addonTotal / 1e9).toFixed(1), openblasGflops: +(flopsTotal / blasTotal / 1e9).toFixed(1),
  ratio: +(blasTotal / addonTotal).toFixed(3), worstRatio: +worst.toFixed(3),
};
console.log(JSON.stringify(summary));
be.dispose();
