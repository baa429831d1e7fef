/**
 * Per-kernel profile of one training step at a given shape: wraps a CPU backend so every kernel call is timed.
 * Usage: node dist/bench/step-profile.js --layers 1 --heads 2 --embd 32 --vocab 2048 --ctx 128 --batch 64 [--backend native] [--steps 20]
 */
import { parseArgs } from "node:util";
import { createBackend, type AnyBackend } from "../src/engine/index.js";
import { flopsPerToken } from "../src/model/accounting.js";
import { GPT } from "../src/model/gpt.js";
import { syntheticStep } from "../src/model/synthetic-step.js";

const { values: v } = parseArgs({
  options: {
    layers: { type: "string", default: "1" }, heads: { type: "string", default: "2" }, embd: { type: "string", default: "32" },
    vocab: { type: "string", default: "2048" }, ctx: { type: "string", default: "128" }, batch: { type: "string", default: "64" },
    backend: { type: "string", default: "native" }, steps: { type: "string", default: "20" }, threads: { type: "string" },
  },
});
const cfg = { nLayer: +v.layers!, nHead: +v.heads!, nEmbd: +v.embd!, vocabSize: +v.vocab!, blockSize: +v.ctx! };
const B = +v.batch!;
const T = cfg.blockSize;
const backend = await createBackend(v.backend as "native", { threads: v.threads ? +v.threads : undefined });
const times = new Map<string, { t: number; n: number }>();
const wrapped = new Proxy(backend, {
  get(target, prop, recv) {
    const val = Reflect.get(target, prop, recv);
    if (typeof val !== "function" || prop === "read" || prop === "alloc" || prop === "view" || prop === "allocInt") return typeof val === "function" ? val.bind(target) : val;
    return (...args: unknown[]) => {
      const t0 = performance.now();
      const r = val.apply(target, args);
      const dt = performance.now() - t0;
      let key = String(prop);
      if (key.startsWith("matmul")) key += ` ${args[key === "matmulForward" ? 5 : 7]}x${args[key === "matmulForward" ? 6 : 8]}`;
      const e = times.get(key) ?? { t: 0, n: 0 };
      e.t += dt; e.n += 1; times.set(key, e);
      return r;
    };
  },
}) as AnyBackend;
const model = new GPT(wrapped, cfg, 0);
const step = syntheticStep(model, B, T);
for (let i = 0; i < 3; i++) await step();
times.clear();
const steps = +v.steps!;
const t0 = performance.now();
for (let i = 0; i < steps; i++) await step();
const wall = (performance.now() - t0) / 1000;
const fpt = flopsPerToken(cfg, T).training;
const tokPerSec = (B * T * steps) / wall;
console.log(`${JSON.stringify(cfg)} B=${B} backend=${backend.info().name} threads=${backend.info().threads}`);
console.log(`step ${(wall / steps * 1000).toFixed(1)} ms, ${Math.round(tokPerSec)} tok/s, ${(fpt * tokPerSec / 1e9).toFixed(1)} GFLOP/s (flops/token ${fpt})`);
let sum = 0;
for (const [, e] of times) sum += e.t;
const rows = [...times].sort((a, b) => b[1].t - a[1].t);
for (const [k, e] of rows) console.log(`  ${k.padEnd(28)} ${(e.t / steps).toFixed(2).padStart(8)} ms/step ${((100 * e.t) / (wall * 1000)).toFixed(1).padStart(5)}%  (${e.n / steps} calls)`);
console.log(`  ${"(outside kernels)".padEnd(28)} ${((wall * 1000 - sum) / steps).toFixed(2).padStart(8)} ms/step`);
backend.dispose();
