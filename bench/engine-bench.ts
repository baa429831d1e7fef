/**
 * `npm run bench` — training-step throughput of the engine on random-token batches, side by side with the PyTorch
 * peer (the reference generator's model: scripts/make-reference.py bench) when /usr/bin/python3 has torch. One JSON line per config:
 * tokens/s, model GFLOP/s, MFU against the sgemm ceiling measured in the same run, and ours/PyTorch.
 *
 * `--ladder NAME [--tokens N] [--vocab V]`: per-rung speed of a ladder as the demo trains it (bench/ladder-bench.ts).
 * `--sample [--ladder NAME] [--tokens N]`: sampling speed with and without the key/value cache (bench/sample-bench.ts).
 * Flags: --config A|B|C (default A and B; C is GPT-2 small, for GPUs), --backend native|wasm|js|auto|webgpu, --steps N,
 * --warmup N, --json (JSON lines only), --no-peer (skip PyTorch), --gc-steps N (report heap growth over N extra
 * steps; needs node --expose-gc to force GC). With --backend webgpu the peer is PyTorch eager fp32 on CUDA
 * (bench/torch_cuda_bench.py) when python3 has a CUDA torch, and the sgemm ceiling is the GPU kernel's.
 * Run it on an idle machine (check with `uptime` first): npm run -s bench -- --json
 *
 * --attention (issue 17) benchmarks GPT-3's banded attention against dense instead (bench/attention-bench.ts): one
 * layer's forward + backward at T 1024, d 256, 4 heads, W 128, and a whole step of an alternating vs a dense model,
 * as one JSON line (`denseSeconds`, `bandedSeconds`, `speedup`, `step`); backend native unless --backend is given,
 * --repeats N kernel repeats (default 9), --steps N training steps per model (default 5).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { createBackend, type AnyBackend } from "../src/engine/index.js";
import { flopsPerToken } from "../src/model/accounting.js";
import { GPT } from "../src/model/gpt.js";
import { syntheticStep } from "../src/model/synthetic-step.js";
import { attentionBench } from "./attention-bench.js";
import { sgemmCeiling } from "./ceiling.js";
import { ladderBench } from "./ladder-bench.js";
import { sampleBench } from "./sample-bench.js";
import { repoRoot } from "./paths.js";

/** A benchmark configuration (issue 2's configs A and B). */
interface BenchConfig {
  name: string;
  vocabSize: number;
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  batch: number;
}

const CONFIGS: BenchConfig[] = [
  { name: "A", nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 128, batch: 32, vocabSize: 256 },
  { name: "B", nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, batch: 8, vocabSize: 256 },
  { name: "C", nLayer: 12, nHead: 12, nEmbd: 768, blockSize: 1024, batch: 8, vocabSize: 50304 },
];
/** Configs run when --config is not given (C, GPT-2 small, only on request). */
const DEFAULT_CONFIGS = ["A", "B"];

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    backend: { type: "string" },
    steps: { type: "string" },
    attention: { type: "boolean", default: false },
    repeats: { type: "string", default: "9" },
    warmup: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
    "no-peer": { type: "boolean", default: false },
    "gc-steps": { type: "string", default: "0" },
    ladder: { type: "string" },
    tokens: { type: "string" },
    vocab: { type: "string" },
    threads: { type: "string" },
    sample: { type: "boolean", default: false },
  },
});

const log = (s: string) => {
  if (!values.json) process.stderr.write(s + "\n");
};

/** Median of an array of numbers. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function benchOurs(be: AnyBackend, c: BenchConfig, steps: number, warmup: number) {
  const model = new GPT(be, c, 0);
  const step = syntheticStep(model, c.batch, c.blockSize);
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
  }
  let heapGrowthKB: number | undefined;
  const gcSteps = Number(values["gc-steps"]);
  if (gcSteps > 0) {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < gcSteps; i++) await step();
    gc?.();
    heapGrowthKB = Math.round((process.memoryUsage().heapUsed - before) / 1024);
  }
  return { median: median(times), heapGrowthKB };
}

function peerAvailable(cuda: boolean): boolean {
  if (values["no-peer"]) return false;
  if (cuda) return spawnSync("python3", ["-c", "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"], { stdio: "ignore" }).status === 0;
  if (!existsSync("/usr/bin/python3")) return false;
  return spawnSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore" }).status === 0;
}

function benchPeer(c: BenchConfig, steps: number, warmup: number, cuda: boolean): { tokens_per_s: number; engine: string } | null {
  const script = resolve(repoRoot, cuda ? "bench/torch_cuda_bench.py" : "scripts/make-reference.py");
  if (!existsSync(script)) return null;
  const args = [script, "bench", "--vocab", `${c.vocabSize}`, "--ctx", `${c.blockSize}`, "--d", `${c.nEmbd}`,
    "--heads", `${c.nHead}`, "--layers", `${c.nLayer}`, "--batch", `${c.batch}`, "--steps", `${steps}`,
    "--warmup", `${warmup}`, ...(cuda ? ["--device", "cuda"] : ["--threads", "2"])];
  const r = spawnSync(cuda ? "python3" : "/usr/bin/python3", args, { encoding: "utf8" });
  if (r.status !== 0) {
    log(`PyTorch peer failed: ${r.stderr.split("\n").slice(-2).join(" ")}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

async function main() {
  if (values.attention) {
    const be = await createBackend(values.backend ?? "native");
    const record = await attentionBench(be, { repeats: Number(values.repeats), steps: Number(values.steps ?? "5"), log });
    console.log(JSON.stringify(record));
    be.dispose();
    return;
  }
  if (values.sample) {
    await sampleBench({ ladder: values.ladder, tokens: values.tokens ? Number(values.tokens) : undefined, backend: values.backend, json: values.json });
    return;
  }
  if (values.ladder) {
    await ladderBench({
      ladder: values.ladder, tokens: values.tokens ? Number(values.tokens) : undefined, vocab: values.vocab ? Number(values.vocab) : undefined,
      backend: values.backend, threads: values.threads ? Number(values.threads) : undefined, json: values.json,
    });
    return;
  }
  const names = values.config ? values.config.toUpperCase().split(",") : DEFAULT_CONFIGS;
  const chosen = CONFIGS.filter((c) => names.includes(c.name));
  if (chosen.length !== names.length) {
    console.error(`bench: unknown --config "${values.config}" (use A, B or C, or a list such as A,B,C)`);
    process.exit(2);
  }
  const be = await createBackend(values.backend ?? "auto");
  const info = be.info();
  const steps = Number(values.steps ?? "10"), warmup = Number(values.warmup);
  const ceiling = await sgemmCeiling(be);
  log(`backend ${info.name} (${info.threads} threads${info.blasCore ? `, OpenBLAS core ${info.blasCore}` : ""}); sgemm ceiling ${ceiling.toFixed(1)} GFLOP/s`);
  const cuda = info.name === "webgpu";
  const peer = peerAvailable(cuda);
  if (!peer) log(`PyTorch peer not available (${cuda ? "python3 with a CUDA torch" : "apt-get install -y python3-torch"}); reporting ours only`);
  for (const c of chosen) {
    const ours = await benchOurs(be, c, steps, warmup);
    const tokens = c.batch * c.blockSize;
    const tps = tokens / ours.median;
    const fpt = flopsPerToken(c, c.blockSize).training;
    const gflops = (fpt * tps) / 1e9;
    const result: Record<string, unknown> = {
      config: c.name, backend: info.name, threads: info.threads, blasCore: info.blasCore ?? null, ...(cuda ? { device: info.detail, dawnFlags: process.env.SCALING_LAB_DAWN_FLAGS ?? "" } : {}),
      nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, blockSize: c.blockSize, batch: c.batch, vocabSize: c.vocabSize,
      medianStepSec: Number(ours.median.toFixed(5)), tokensPerSec: Math.round(tps), modelGflops: Number(gflops.toFixed(2)),
      sgemmCeilingGflops: Number(ceiling.toFixed(1)), mfu: Number((gflops / ceiling).toFixed(3)),
    };
    if (ours.heapGrowthKB !== undefined) result.heapGrowthKB = ours.heapGrowthKB;
    if (peer) {
      const p = benchPeer(c, steps, warmup, cuda);
      if (p) {
        result.pytorchTokensPerSec = p.tokens_per_s;
        result.pytorchEngine = p.engine;
        result.ratioVsPytorch = Number((tps / p.tokens_per_s).toFixed(3));
      }
    }
    console.log(JSON.stringify(result));
  }
  be.dispose();
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
