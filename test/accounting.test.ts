/**
 * FLOP and parameter accounting: GPT-3 Table D.1 reproduced from the Table 2.1 shapes, Kaplan's formulas,
 * and the `scaling-lab flops` contract.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { assertOneLineError, cliPath, runCli } from "./helpers.js";
import {
  attentionFlopsPerToken,
  bandedKeysPerToken,
  findPreset,
  flopsPerToken,
  gpt3Presets,
  paramCounts,
  reportedParams,
  trainingFlops,
} from "../src/model/accounting.js";
import { PF_DAY } from "../src/util/units.js";


/** Brown et al. (2020) Table D.1: total train compute (PF-days, FLOPs) and params (M), 300B tokens. */
const TABLE_D1: Record<string, { pfDays: number; flops: number; paramsM: number }> = {
  "gpt3-small": { pfDays: 2.6, flops: 2.25e20, paramsM: 125 },
  "gpt3-medium": { pfDays: 7.42, flops: 6.41e20, paramsM: 356 },
  "gpt3-large": { pfDays: 15.8, flops: 1.37e21, paramsM: 760 },
  "gpt3-xl": { pfDays: 27.5, flops: 2.38e21, paramsM: 1320 },
  "gpt3-2.7b": { pfDays: 55.2, flops: 4.77e21, paramsM: 2650 },
  "gpt3-6.7b": { pfDays: 139, flops: 1.2e22, paramsM: 6660 },
  "gpt3-13b": { pfDays: 268, flops: 2.31e22, paramsM: 12850 },
  "gpt3-175b": { pfDays: 3640, flops: 3.14e23, paramsM: 174600 },
};

function sig3(x: number): number {
  return Number(x.toPrecision(3));
}

test("GPT-3 Table D.1 reproduced from Table 2.1 shapes (3 significant figures, gpt3 convention)", () => {
  const presets = gpt3Presets();
  assert.equal(presets.length, 8);
  for (const p of presets) {
    const ref = TABLE_D1[p.name];
    assert.ok(ref, `no Table D.1 row for ${p.name}`);
    const t = trainingFlops(p.shape, p.tokens, { params: "reported" });
    assert.equal(p.tokens, 300e9);
    assert.equal(t.params, ref.paramsM * 1e6, `${p.name} params`);
    assert.equal(sig3(t.flops), ref.flops, `${p.name} FLOPs ${t.flops}`);
    assert.equal(sig3(t.pfDays), ref.pfDays, `${p.name} PF-days ${t.pfDays}`);
  }
});

test("exact total parameter counts are within 0.4% of Table D.1 and give 3.14e23 / ≈3,640 PF-days for 175B", () => {
  for (const p of gpt3Presets()) {
    const total = paramCounts(p.shape).total;
    const ref = TABLE_D1[p.name].paramsM * 1e6;
    assert.ok(Math.abs(total - ref) / ref < 0.004, `${p.name}: ${total} vs ${ref}`);
  }
  const big = findPreset("GPT3-175B")!;
  const t = trainingFlops(big.shape, big.tokens);
  assert.equal(sig3(t.flops), 3.14e23);
  assert.ok(Math.abs(t.pfDays - 3640) < 5, `pfDays ${t.pfDays}`);
  const small = findPreset("gpt3-small")!;
  assert.equal(sig3(trainingFlops(small.shape, small.tokens).flops), 2.25e20);
});

test("paramCounts matches a hand count of every tensor", () => {
  const s = { vocabSize: 7, blockSize: 5, nLayer: 2, nHead: 2, nEmbd: 4 };
  const d = 4;
  const perLayer = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (4 * d * d + 4 * d) + (4 * d * d + d);
  const c = paramCounts(s);
  assert.equal(c.embedding, 7 * 4 + 5 * 4);
  assert.equal(c.nonEmbedding, 2 * perLayer + 2 * d);
  assert.equal(c.total, c.embedding + c.nonEmbedding);
  assert.throws(() => paramCounts({ ...s, nLayer: 0 }), /nLayer must be a positive integer/);
});

test("per-token model FLOPs: forward 2N + 2·V·d (the head) + 2·nLayer·nCtx·d, training 3× forward", () => {
  const s = findPreset("gpt3-small")!.shape;
  const n = paramCounts(s).nonEmbedding;
  const f = flopsPerToken(s);
  assert.equal(f.attention, 2 * 12 * 2048 * 768);
  assert.equal(f.head, 2 * s.vocabSize * 768);
  assert.equal(f.forward, 2 * n + f.head + f.attention);
  assert.equal(f.training, 3 * f.forward);
  assert.equal(flopsPerToken(s, 1024).attention, f.attention / 2);
  // hand count for a tiny shape: V 512, T 128, d 32, 1 layer: N = 12·32² + 13·32 + 2·32 = 12,768
  const tiny = flopsPerToken({ vocabSize: 512, blockSize: 128, nLayer: 1, nHead: 2, nEmbd: 32 });
  assert.equal(tiny.forward, 2 * 12_768 + 2 * 512 * 32 + 2 * 128 * 32);
  const k = trainingFlops(s, 1e9, { params: "nonEmbedding", attention: true });
  assert.equal(k.flops, 3 * (f.forward - f.head) * 1e9, "Kaplan's convention leaves the head out");
  assert.equal(k.pfDays, k.flops / PF_DAY);
  assert.equal(PF_DAY, 1e15 * 86400);
});

test("GPT-3's alternating attention, counted by hand: banded layers over min(t + 1, W) keys, dense layers over nCtx", () => {
  // 4 layers, d 128, nCtx 16, W 4: layers 0 and 2 dense (16 keys a token), layers 1 and 3 banded:
  // positions 0..3 see 1, 2, 3, 4 keys, positions 4..15 see 4 → (1 + 2 + 3 + 4 + 12·4) / 16 = 58/16 keys a token
  const s = { vocabSize: 50, blockSize: 16, nLayer: 4, nHead: 2, nEmbd: 128 };
  assert.equal(bandedKeysPerToken(16, 4), 58 / 16);
  const dense = flopsPerToken(s), alt = flopsPerToken({ ...s, localWindow: 4 });
  assert.equal(dense.attention, 2 * 128 * (4 * 16)); // 16384
  assert.equal(alt.attention, 2 * 128 * (2 * 16 + 2 * (58 / 16))); // 10048
  assert.equal(alt.attention, 10048);
  const n = paramCounts(s).nonEmbedding;
  assert.equal(alt.forward, 2 * n + 2 * 50 * 128 + 10048, "the window changes no parameter (2N + head + attention)");
  assert.equal(alt.training, 3 * alt.forward);
  // the band never reaches past the context: W ≥ nCtx is the dense model; one layer has no odd (banded) layer
  assert.deepEqual(flopsPerToken({ ...s, localWindow: 16 }), dense);
  assert.deepEqual(flopsPerToken({ ...s, localWindow: 0 }), dense);
  assert.equal(attentionFlopsPerToken({ ...s, nLayer: 1, localWindow: 4 }), attentionFlopsPerToken({ ...s, nLayer: 1 }));
  // 5 layers: 2 banded (1, 3), 3 dense; a shorter context (nCtx 8) recounts both kinds
  assert.equal(attentionFlopsPerToken({ ...s, nLayer: 5, localWindow: 4 }), 2 * 128 * (3 * 16 + 2 * (58 / 16)));
  assert.equal(attentionFlopsPerToken({ ...s, localWindow: 4 }, 8), 2 * 128 * (2 * 8 + 2 * ((1 + 2 + 3 + 4 + 4 * 4) / 8)));
  const k = trainingFlops({ ...s, localWindow: 4 }, 1e6, { params: "nonEmbedding", attention: true });
  assert.equal(k.flops, (6 * n + 3 * 10048) * 1e6, "Kaplan's convention: 6N + 3 × the alternating attention, no head");
  assert.throws(() => flopsPerToken({ ...s, localWindow: -1 }), /localWindow must be a non-negative integer/);
});

test("flops --local-window shows the dense and the alternating counts of a shape", () => {
  const args = ["flops", "--n-layer", "4", "--n-embd", "128", "--block-size", "16", "--vocab-size", "50", "--tokens", "1e6", "--local-window", "4"];
  const j = JSON.parse(execFileSync(process.execPath, [cliPath, ...args, "--json"], { encoding: "utf8" })) as {
    shape: { localWindow: number };
    attentionPatterns: { localWindow: number; dense: { attention: number; training: number }; alternating: { attention: number; training: number } };
  };
  assert.equal(j.shape.localWindow, 4);
  assert.equal(j.attentionPatterns.localWindow, 4);
  assert.equal(j.attentionPatterns.dense.attention, 16384);
  assert.equal(j.attentionPatterns.alternating.attention, 10048);
  const text = execFileSync(process.execPath, [cliPath, ...args], { encoding: "utf8" });
  assert.match(text, /dense .* alternating dense\/banded W=4 /);
  assertOneLineError(runCli([...args.slice(0, -2), "--local-window=-3"]), "flops --local-window=-3", /^scaling-lab flops: --local-window must be an integer ≥ 0/);
});

test("reportedParams rounds like the paper's Params column", () => {
  assert.equal(reportedParams(125_226_240), 125e6);
  assert.equal(reportedParams(1_315_723_264), 1.32e9);
  assert.equal(reportedParams(12_853_386_240), 12.85e9);
  assert.equal(reportedParams(1234), 1230);
});

test("CLI contract: flops --preset gpt3-175b --json prints flops and pfDays", () => {
  const out = execFileSync(process.execPath, [cliPath, "flops", "--preset", "gpt3-175b", "--json"], { encoding: "utf8" });
  const lines = out.trim().split("\n");
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]) as { flops: number; pfDays: number };
  assert.equal(sig3(j.flops), 3.14e23);
  assert.ok(Math.abs(j.pfDays - 3640) < 5);
});

test("CLI: bad input gives one clear line and exit status 2", () => {
  for (const args of [
    ["flops", "--preset", "gpt3-huge"],
    ["flops", "--n-layer", "4"],
    ["flops", "--preset", "gpt3-xl", "--tokens=-5"],
    ["flops", "--preset", "gpt3-xl", "--convention", "chinchilla"],
  ]) {
    assertOneLineError(runCli(args), args.join(" "), /^scaling-lab flops: /);
  }
});
