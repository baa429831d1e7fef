/**
 * `npm run bench -- --sample [--ladder cpu-xs] [--tokens 256]`: sampling speed on a ladder's largest shape, with the
 * key/value cache and without it (every token recomputing the context), in the same run. One JSON line.
 */
import type { AnyBackend } from "../src/engine/backend.js";
import { createBackend } from "../src/engine/index.js";
import { GPT } from "../src/model/gpt.js";
import { generate } from "../src/model/sample.js";
import { loadLadder } from "../src/sweep/ladder.js";

/** Times `generate` of `tokens` new tokens with and without the cache; prints one JSON line. */
export async function sampleBench(o: { ladder?: string; tokens?: number; backend?: string; json?: boolean }): Promise<void> {
  const ladder = loadLadder(o.ladder ?? "cpu-xs");
  const size = ladder.sizes[ladder.sizes.length - 1];
  const config = { vocabSize: ladder.vocab ?? 2048, blockSize: ladder.blockSize, nLayer: size.nLayer, nHead: size.nHead, nEmbd: size.nEmbd };
  const be = await createBackend(o.backend ?? "auto");
  const n = o.tokens ?? 256;
  const opts = { maxTokens: n, temperature: 1, topK: 0, topP: 1, seed: 1 };
  const time = async (backend: AnyBackend) => {
    const model = new GPT(backend, config, 0);
    await generate(model, [0], opts); // warm-up: the same generation once, so both paths are timed with their code compiled
    const t0 = performance.now();
    const out = await generate(model, [0], opts);
    return out.length / ((performance.now() - t0) / 1000);
  };
  try {
    const cached = await time(be);
    const plain = await time(new Proxy(be, { get: (t, k, r) => (k === "attentionDecode" ? undefined : Reflect.get(t, k, r)) }));
    const row = { bench: "sample", ladder: ladder.name, rung: size.name, backend: be.name, newTokens: n, cachedTokensPerSec: Math.round(cached), uncachedTokensPerSec: Math.round(plain), speedup: Number((cached / plain).toFixed(2)) };
    console.log(o.json ? JSON.stringify(row) : `sampling ${n} tokens from ${ladder.name}/${size.name} on ${be.name}: ${row.cachedTokensPerSec} tok/s with the key/value cache, ${row.uncachedTokensPerSec} without (${row.speedup}×)`);
  } finally {
    be.dispose();
  }
}
