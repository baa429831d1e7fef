/**
 * The webgpu backend against the native one at GPT-2-small shapes (d 768, 12 heads, context 1024): one forward and
 * backward from the same seeded weights and batch on each, then the relative L2 error of the logits and of every
 * gradient. The reference tests use tiny models; this checks the tiling, the split-K and the T = 1024 attention paths
 * at full size. On lavapipe every tensor must fit its 128 MiB binding limit, so use a small vocabulary and few layers:
 *
 *   node dist/bench/webgpu-parity.js --layers 1 --vocab 30000 --batch 1     (about 30 s on lavapipe)
 *   node dist/bench/webgpu-parity.js --layers 2 --vocab 8192 --batch 2
 *
 * Prints one JSON line: losses, logitsRelL2, worstGradRelL2 and the tensor it belongs to.
 */
import { parseArgs } from "node:util";
import { createBackend } from "../src/engine/index.js";
import { GPT } from "../src/model/gpt.js";
import { Rng } from "../src/util/rng.js";

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "1" },
    vocab: { type: "string", default: "30000" },
    batch: { type: "string", default: "1" },
    ctx: { type: "string", default: "1024" },
    reference: { type: "string", default: "native" },
  },
});

/** Relative L2 error of `b` against `a`. */
function relL2(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += a[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

async function main(): Promise<void> {
  const B = Number(values.batch), T = Number(values.ctx);
  const config = { nLayer: Number(values.layers), nHead: 12, nEmbd: 768, blockSize: T, vocabSize: Number(values.vocab) };
  const rng = new Rng(1);
  const x = new Int32Array(B * T).map(() => rng.int(config.vocabSize));
  const y = new Int32Array(B * T).map(() => rng.int(config.vocabSize));
  const runs: { name: string; loss: number; logits: Float32Array; grads: Map<string, Float32Array> }[] = [];
  for (const name of [values.reference, "webgpu"]) {
    const t0 = performance.now();
    const be = await createBackend(name);
    const model = new GPT(be, config, 0);
    const f = await model.forward(x, y, B, T);
    model.backward();
    runs.push({ name, loss: f.loss ?? NaN, logits: await model.readLogits(), grads: await model.exportGrads() });
    process.stderr.write(`${name}: loss ${(f.loss ?? NaN).toFixed(6)} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    be.dispose();
  }
  const [ref, gpu] = runs;
  let worst = 0, worstName = "";
  for (const [k, g] of ref.grads) {
    const e = relL2(g, gpu.grads.get(k)!);
    if (e > worst) [worst, worstName] = [e, k];
  }
  console.log(JSON.stringify({
    config: { ...config, batch: B }, reference: ref.name, lossReference: ref.loss, lossWebgpu: gpu.loss,
    logitsRelL2: Number(relL2(ref.logits, gpu.logits).toExponential(2)), worstGradRelL2: Number(worst.toExponential(2)), worstGrad: worstName,
  }));
}

main().catch((e) => {
  console.error(`webgpu-parity: ${(e as Error).message}`);
  process.exit(1);
});
