/**
 * GPU-side measurements of the webgpu backend, one JSON line each (progress on stderr):
 *
 *   node dist/bench/webgpu-bench.js matmul [--m 4096 --k 768 --n 3072]
 *       GFLOP/s of the WGSL matmul in the three layouts a training step uses at M×K×N: forward
 *       out = inp·Wᵀ (M×N), dinp = dout·W (M×K), dweight += doutᵀ·inp (N×K), each the best of 5 timings of 20
 *       back-to-back products ended by one read.
 *   node dist/bench/webgpu-bench.js run-length [--config A --steps 1000]
 *       the "no host round trip" check: wall time of an uninterrupted run of N training steps against N × the
 *       median step (the ratio should be ≤ 1.1).
 */
import { parseArgs } from "node:util";
import { createBackend } from "../src/engine/index.js";
import { GPT } from "../src/model/gpt.js";
import { syntheticStep } from "../src/model/synthetic-step.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    m: { type: "string", default: "4096" },
    k: { type: "string", default: "768" },
    n: { type: "string", default: "3072" },
    config: { type: "string", default: "A" },
    steps: { type: "string", default: "1000" },
    backend: { type: "string", default: "webgpu" },
  },
});

const CONFIGS: Record<string, { vocabSize: number; blockSize: number; nLayer: number; nHead: number; nEmbd: number; batch: number }> = {
  A: { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 128, batch: 32, vocabSize: 256 },
  B: { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, batch: 8, vocabSize: 256 },
  C: { nLayer: 12, nHead: 12, nEmbd: 768, blockSize: 1024, batch: 8, vocabSize: 50304 },
};

const log = (s: string) => process.stderr.write(s + "\n");

async function matmul(): Promise<void> {
  const be = await createBackend(values.backend);
  const M = Number(values.m), K = Number(values.k), N = Number(values.n);
  const fill = (n: number) => new Float32Array(n).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const a = be.alloc(M * K), w = be.alloc(N * K), out = be.alloc(M * N), dinp = be.alloc(M * K), dw = be.alloc(N * K);
  be.write(a, fill(M * K));
  be.write(w, fill(N * K));
  be.write(out, fill(M * N));
  const cases: [string, () => void, ReturnType<typeof be.alloc>][] = [
    ["forward out = inp·Wᵀ", () => be.matmulForward(out, a, w, null, M, K, N), out],
    ["dinp = dout·W", () => be.matmulBackward(dinp, dw, null, out, a, w, M, K, N), dinp],
  ];
  const flops = 2 * M * K * N;
  const result: Record<string, unknown> = { backend: be.name, device: be.info().detail, dawnFlags: process.env.SCALING_LAB_DAWN_FLAGS ?? "", m: M, k: K, n: N };
  for (const [name, run, sink] of cases) {
    const sync = () => be.read(be.view(sink, 0, 1));
    run();
    await sync();
    let best = Infinity;
    const reps = 20;
    for (let t = 0; t < 5; t++) {
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) run();
      await sync();
      best = Math.min(best, (performance.now() - t0) / 1000 / reps);
    }
    // the backward case times dinp and dweight together: report both products' rate
    const gflops = ((name.startsWith("dinp") ? 2 : 1) * flops) / best / 1e9;
    log(`${name}: ${(best * 1000).toFixed(3)} ms, ${gflops.toFixed(0)} GFLOP/s`);
    result[name.startsWith("forward") ? "forwardGflops" : "backwardGflops"] = Math.round(gflops);
  }
  console.log(JSON.stringify(result));
  be.dispose();
}

async function runLength(): Promise<void> {
  const c = CONFIGS[values.config.toUpperCase()];
  if (!c) throw new Error(`unknown --config ${values.config} (use A, B or C)`);
  const be = await createBackend(values.backend);
  const model = new GPT(be, c, 0);
  const step = syntheticStep(model, c.batch, c.blockSize);
  for (let i = 0; i < 5; i++) await step();
  const steps = Number(values.steps);
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
  }
  const wall = (performance.now() - start) / 1000;
  const sorted = [...times].sort((p, q) => p - q);
  const median = sorted[Math.floor(sorted.length / 2)];
  const ratio = wall / (steps * median);
  log(`${steps} steps of config ${values.config}: ${wall.toFixed(2)} s wall, median step ${(median * 1000).toFixed(2)} ms, ratio ${ratio.toFixed(3)}`);
  console.log(JSON.stringify({
    backend: be.name, device: be.info().detail, config: values.config.toUpperCase(), steps, wallSec: Number(wall.toFixed(3)),
    medianStepSec: Number(median.toFixed(6)), p90StepSec: Number(sorted[Math.floor(sorted.length * 0.9)].toFixed(6)),
    ratio: Number(ratio.toFixed(3)), tokensPerSec: Math.round((c.batch * c.blockSize * steps) / wall),
  }));
  be.dispose();
}

const what = positionals[0];
const run = what === "matmul" ? matmul : what === "run-length" ? runLength : null;
if (!run) {
  console.error("usage: node dist/bench/webgpu-bench.js matmul|run-length [flags]  (see the file header)");
  process.exit(2);
}
run().catch((e) => {
  console.error(`webgpu-bench: ${(e as Error).message}`);
  process.exit(1);
});
