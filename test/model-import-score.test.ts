/**
 * Hugging Face GPT-2 import and scoring. The HF fixture is written from the PyTorch reference weights with GPT-2's
 * own conventions spelled out here (Conv1D weights stored (in, out), keys `transformer.h.{l}...`), so the import
 * must undo them exactly to reproduce PyTorch's loss.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { JsBackend } from "../src/engine/js.js";
import { GPT } from "../src/model/gpt.js";
import { HfImportError, loadHfGpt2 } from "../src/model/hf-gpt2.js";
import { generate } from "../src/model/sample.js";
import { readSafetensors, type StWriteTensor, writeSafetensors } from "../src/model/safetensors.js";
import { scoreTokens } from "../src/model/score.js";
import { loadModel } from "../src/train/load-model.js";
import { assertOneLineError, referenceDir, runCli } from "./helpers.js";

/** Writes the tiny PyTorch reference model as a Hugging Face GPT-2 folder; returns it with the reference tensors. */
function writeHfFixture(prefix: string) {
  const ref = readSafetensors(join(referenceDir, "gpt-tiny/tiny.safetensors"));
  const md = ref.metadata;
  const C = Number(md.d_model);
  const L = Number(md.layers);
  const p = (n: string) => ref.tensors.get("param." + n)!;
  const tensors = new Map<string, StWriteTensor>();
  const put = (key: string, name: string) => tensors.set(prefix + key, { shape: p(name).shape, data: p(name).data as Float32Array });
  // Linear (out, in) → Conv1D (in, out): w_hf[i][o] = w_torch[o][i]
  const conv = (key: string, name: string) => {
    const [out, inp] = p(name).shape;
    const src = p(name).data as Float32Array;
    const dst = new Float32Array(src.length);
    for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) dst[i * out + o] = src[o * inp + i];
    tensors.set(prefix + key, { shape: [inp, out], data: dst });
  };
  put("wte.weight", "wte");
  put("wpe.weight", "wpe");
  for (let l = 0; l < L; l++) {
    put(`h.${l}.ln_1.weight`, `h${l}_ln1_w`);
    put(`h.${l}.ln_1.bias`, `h${l}_ln1_b`);
    conv(`h.${l}.attn.c_attn.weight`, `h${l}_qkv_w`);
    put(`h.${l}.attn.c_attn.bias`, `h${l}_qkv_b`);
    conv(`h.${l}.attn.c_proj.weight`, `h${l}_attnproj_w`);
    put(`h.${l}.attn.c_proj.bias`, `h${l}_attnproj_b`);
    put(`h.${l}.ln_2.weight`, `h${l}_ln2_w`);
    put(`h.${l}.ln_2.bias`, `h${l}_ln2_b`);
    conv(`h.${l}.mlp.c_fc.weight`, `h${l}_fc_w`);
    put(`h.${l}.mlp.c_fc.bias`, `h${l}_fc_b`);
    conv(`h.${l}.mlp.c_proj.weight`, `h${l}_fcproj_w`);
    put(`h.${l}.mlp.c_proj.bias`, `h${l}_fcproj_b`);
  }
  put("ln_f.weight", "lnf_w");
  put("ln_f.bias", "lnf_b");
  const dir = mkdtempSync(join(tmpdir(), "sl-hf-"));
  writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    model_type: "gpt2", activation_function: "gelu_new", vocab_size: Number(md.vocab), n_positions: Number(md.ctx),
    n_embd: C, n_layer: L, n_head: Number(md.heads), layer_norm_epsilon: 1e-5,
  }));
  return { dir, ref, C };
}

for (const prefix of ["", "transformer."]) {
  test(`an HF GPT-2 folder (keys "${prefix}h.0...") imports and reproduces PyTorch's loss`, async () => {
    const { dir, ref } = writeHfFixture(prefix);
    const { config, weights } = loadHfGpt2(dir);
    const model = new GPT(new JsBackend(), config);
    model.loadWeights(weights);
    const B = Number(ref.metadata.batch);
    const r = await model.forward(ref.tensors.get("inputs")!.data as Int32Array, ref.tensors.get("targets")!.data as Int32Array, B, config.blockSize);
    const expected = (ref.tensors.get("loss")!.data as Float32Array)[0];
    assert.ok(Math.abs(r.loss! - expected) / expected < 1e-5, `loss ${r.loss} vs PyTorch ${expected}`);
  });
}

test("HF import errors name the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-hf-bad-"));
  assert.throws(() => loadHfGpt2(dir), (e: Error) => e instanceof HfImportError && /config.json and model.safetensors/.test(e.message));
});

test("an HF GPT-2 model is dense only: asking for a local window is a one-line error naming the fix", () => {
  const { dir } = writeHfFixture("");
  assert.equal(loadModel(dir, new JsBackend(), { localWindow: 0 }).model.config.localWindow, undefined, "window 0 is dense: accepted");
  assert.throws(() => loadModel(dir, new JsBackend(), { localWindow: 8 }), (e: Error) => e instanceof HfImportError && /dense attention only; drop --local-window 8/.test(e.message));
  for (const cmd of ["score", "sample"]) {
    const args = [cmd, "--model", dir, ...(cmd === "score" ? ["--tokens", "1,2,3"] : []), "--local-window", "8", "--backend", "js"];
    assertOneLineError(runCli(args), args.join(" "), new RegExp(`^scaling-lab ${cmd}: .*Hugging Face GPT-2 model, which has dense attention only; drop --local-window 8`));
  }
});

test("scoreTokens predicts each token once; short sequences equal a direct forward", async () => {
  const config = { vocabSize: 13, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };
  const model = new GPT(new JsBackend(), config, 2);
  const toks = [1, 5, 2, 7, 3, 3, 9];
  const s = await scoreTokens(model, toks);
  const direct = await model.forward(Int32Array.from(toks.slice(0, -1)), Int32Array.from(toks.slice(1)), 1, 6);
  assert.equal(s.predictions, 6);
  assert.ok(Math.abs(s.loss - direct.loss!) < 1e-6);
  const long = Array.from({ length: 45 }, (_, i) => (i * 5) % 13);
  const sl = await scoreTokens(model, long, 3);
  assert.equal(sl.predictions, 44);
  assert.ok(Number.isFinite(sl.loss) && sl.loss > 0);
  await assert.rejects(scoreTokens(model, [3]), /at least 2 tokens/);
});

test("sampling is seeded, respects top-k 1 (= greedy) and stops at maxTokens", async () => {
  const config = { vocabSize: 13, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 };
  const model = new GPT(new JsBackend(), config, 4);
  const opts = { maxTokens: 12, temperature: 1, topK: 0, topP: 1, seed: 5 };
  const a = await generate(model, [1], opts);
  const b = await generate(model, [1], opts);
  assert.deepEqual(a, b);
  assert.equal(a.length, 12);
  const greedy = await generate(model, [1], { ...opts, temperature: 0 });
  const top1 = await generate(model, [1], { ...opts, topK: 1, seed: 99 });
  assert.deepEqual(top1, greedy);
  const streamed: number[] = [];
  await generate(model, [1, 2], { ...opts, maxTokens: 3 }, (id) => streamed.push(id));
  assert.equal(streamed.length, 3);
});
