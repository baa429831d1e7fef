/** The sgemm ceiling the benchmarks report ratios against, measured in the same run. */
import type { AnyBackend } from "../src/engine/index.js";

/**
 * The sgemm ceiling of this backend: GFLOP/s of its matmul at a large GPT shape (best of a few). Device backends
 * only record kernels, so each timing ends with a one-element read, over enough products to hide that round trip.
 */
export async function sgemmCeiling(be: AnyBackend): Promise<number> {
  const N = be.name === "webgpu" ? 4096 : 2048, C = 768, OC = 3072;
  const a = be.alloc(N * C), w = be.alloc(OC * C), out = be.alloc(N * OC);
  const host = new Float32Array(OC * C).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  be.write(w, host);
  be.write(a, host.subarray(0, N * C));
  const sync = () => be.read(be.view(out, 0, 1));
  let t0 = performance.now();
  be.matmulForward(out, a, w, null, N, C, OC); // warm-up (compiles the kernel on a GPU)
  await sync();
  const warm = (performance.now() - t0) / 1000;
  const reps = be.name === "webgpu" ? Math.max(1, Math.min(20, Math.round(0.2 / warm))) : 1;
  const trials = warm > 2 ? 1 : 5;
  let best = Infinity;
  for (let i = 0; i < trials; i++) {
    t0 = performance.now();
    for (let r = 0; r < reps; r++) be.matmulForward(out, a, w, null, N, C, OC);
    await sync();
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return (2 * N * C * OC) / (best / 1000) / 1e9;
}

