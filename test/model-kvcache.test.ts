/**
 * Decoding with a key/value cache: the cached logits equal a full forward pass at every position (chunked prompt,
 * then one token at a time), greedy sampling with and without the cache agrees within blockSize, the decode
 * attention matches the training kernel (banded too), and decoding past blockSize is refused with the fix.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AnyBackend } from "../src/engine/backend.js";
import { attentionDecodeHost } from "../src/engine/decode-attention.js";
import { JsBackend } from "../src/engine/js.js";
import type { GPTConfig } from "../src/model/config.js";
import { GPT, ModelInputError } from "../src/model/gpt.js";
import { generate } from "../src/model/sample.js";
import { Rng } from "../src/util/rng.js";
import { assertClose, randInts, randn, testBackends } from "./helpers.js";

const config = { vocabSize: 53, blockSize: 24, nLayer: 2, nHead: 2, nEmbd: 16 };

/** The same backend without attentionDecode: the sampler falls back to full forward passes. */
function withoutCache(be: AnyBackend): AnyBackend {
  return new Proxy(be, { get: (t, k, r) => (k === "attentionDecode" ? undefined : Reflect.get(t, k, r)) });
}

test("decode with a cache gives the full forward pass's logits at every position, on every backend (dense and banded)", async () => {
  const rng = new Rng(3);
  const tokens = randInts(rng, 20, config.vocabSize);
  // GPT-3's alternating attention (layer 1 sees the last 3 keys) decodes with the same band as the forward pass
  const configs: GPTConfig[] = [config, { ...config, localWindow: 3 }];
  for (const [backend, cfg] of (await testBackends()).flatMap((be) => configs.map((c) => [be, c] as const))) {
    const model = new GPT(backend, cfg, 7);
    await model.forward(tokens, null, 1, tokens.length);
    const full = await model.readLogits(); // (20, V)
    const cache = model.newCache();
    const V = config.vocabSize;
    const first = await model.decode(cache, tokens.slice(0, 5));
    assertClose(`${backend.name} W ${cfg.localWindow ?? 0} prefill`, first, full.slice(4 * V, 5 * V), 1e-5);
    for (let t = 5; t < 20; t++) {
      const logits = await model.decode(cache, tokens.slice(t, t + 1));
      assertClose(`${backend.name} W ${cfg.localWindow ?? 0} position ${t}`, logits, full.slice(t * V, (t + 1) * V), 1e-5);
    }
    assert.equal(cache.length, 20);
    await assert.rejects(model.decode(cache, tokens.slice(0, 5)), (e: Error) => e instanceof ModelInputError && /start a new cache/.test(e.message));
  }
});

test("greedy sampling with the cache equals sampling without it within blockSize, and goes on past it", async () => {
  for (const backend of await testBackends()) {
    const prompt = [1, 5, 9];
    const opts = { maxTokens: config.blockSize - prompt.length, temperature: 0, topK: 0, topP: 1, seed: 1 };
    const cached = await generate(new GPT(backend, config, 2), prompt, opts);
    const plain = await generate(new GPT(withoutCache(backend), config, 2), prompt, opts);
    assert.deepEqual(cached, plain, backend.name);
    const long = await generate(new GPT(backend, config, 2), prompt, { ...opts, maxTokens: 3 * config.blockSize });
    assert.equal(long.length, 3 * config.blockSize);
  }
});

test("decode attention matches the training kernel's rows, dense and banded", () => {
  const rng = new Rng(9);
  const [T, C, NH] = [11, 12, 3];
  const qkv = randn(rng, T * 3 * C);
  const js = new JsBackend();
  const dense = new Float32Array(T * C);
  js.attentionForward(dense, new Float32Array(NH * T * T), qkv, 1, T, C, NH);
  const rows = new Float32Array(4 * C);
  attentionDecodeHost(rows, qkv, 7, T, C, NH);
  assertClose("dense rows 7…10", rows, dense.slice(7 * C), 1e-6);
  // banded: position t sees keys t − W < t2 ≤ t; check against the dense kernel on the band's slice of the sequence
  const W = 3;
  attentionDecodeHost(rows.subarray(0, C), qkv, 8, 9, C, NH, W);
  const sub = new Float32Array(W * C);
  js.attentionForward(sub, new Float32Array(NH * W * W), qkv.slice(6 * 3 * C, 9 * 3 * C), 1, W, C, NH);
  assertClose("banded row 8", rows.subarray(0, C), sub.slice(2 * C), 1e-6);
});
