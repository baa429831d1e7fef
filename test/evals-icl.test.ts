/**
 * In-context learning curves (evals/icl.ts, studies/in-context.ts) and the sampled pass rate (evals/metrics.ts) on
 * REAL tiny models trained here for a few seconds:
 * - a model trained on documents that repeat a random 5-token pattern (later tokens are predictable from earlier
 *   ones in the same context) must get a clearly negative in-context learning score; the same model trained on
 *   independent uniform tokens (nothing to learn from the context) a score near 0;
 * - averaged over positions, the per-position losses equal the mean loss of the same windows;
 * - a sweep's curves are stored once in the lab and read back (not recomputed) the second time;
 * - PassUntil-style sampling agrees with the exact expectation, and with exact match where both resolve.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Dataset, prepareDataset } from "../src/data/index.js";
import { type AnyBackend, createBackend } from "../src/engine/index.js";
import { iclBands, iclScore, positionLosses } from "../src/evals/icl.js";
import { passUntil, taskMetrics, wilsonInterval } from "../src/evals/metrics.js";
import { scoreExamples } from "../src/evals/harness.js";
import { GPT } from "../src/model/gpt.js";
import { runAccounting } from "../src/model/accounting.js";
import { ICL_TASK, openLab } from "../src/store/index.js";
import { ICL_OVERLAP, inContextCurves } from "../src/studies/in-context.js";
import { resolveTrainConfig } from "../src/train/config.js";
import { DatasetData } from "../src/train/dataset-data.js";
import { loadModel } from "../src/train/load-model.js";
import { train } from "../src/train/loop.js";
import { TokenWindows } from "../src/train/token-data.js";
import { Rng } from "../src/util/rng.js";
import { cliPath } from "../src/sweep/executor.js";

const V = 16; // token ids 0..14 are symbols, 15 separates documents
const P = 5; // pattern period
const T = 32;
let work = "";
let backend: AnyBackend;
let periodic: GPT<object, object>;
let iid: GPT<object, object>;
let periodicVal: Int32Array;

/** Documents of a random P-token pattern repeated `repeats` times, each followed by the separator. */
function periodicStream(docs: number, repeats: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const out: number[] = [];
  for (let d = 0; d < docs; d++) {
    const pattern = Array.from({ length: P }, () => rng.int(V - 1));
    for (let r = 0; r < repeats; r++) out.push(...pattern);
    out.push(V - 1);
  }
  return Int32Array.from(out);
}

function iidStream(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(V - 1));
}

async function trainTiny(trainTokens: Int32Array, valTokens: Int32Array, dir: string, steps: number, nLayer: number): Promise<GPT<object, object>> {
  const config = resolveTrainConfig(
    {
      data: "(memory)", model: { nLayer, nHead: 2, nEmbd: 32, blockSize: T, vocabSize: V }, tokens: 16 * T * steps, batchTokens: 16 * T,
      microBatch: 16, lr: 1e-2, weightDecay: 0, minLrFraction: 0.5, evalEvery: steps, evalTokens: 512, checkpointEvery: steps, seed: 5, backend: "auto",
    },
    V,
  );
  await train(config, new TokenWindows(trainTokens, valTokens, V, 3), { outDir: dir, backend });
  const { loadCheckpoint } = await import("../src/train/checkpoint.js");
  const ck = loadCheckpoint(dir);
  const model = new GPT(backend, ck.config.model);
  model.loadWeights(ck.weights);
  return model;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), "sl-icl-"));
  backend = await createBackend("auto", { quiet: true });
  periodicVal = periodicStream(60, 12, 2);
  periodic = await trainTiny(periodicStream(2000, 12, 1), periodicVal, join(work, "periodic"), 800, 2);
  iid = await trainTiny(iidStream(120000, 1), iidStream(4000, 2), join(work, "iid"), 250, 1);
});

after(() => {
  backend?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("per-position losses averaged over positions equal the mean loss of the same windows", async () => {
  const curve = await positionLosses(periodic, [periodicVal], { maxTokens: 40 * T });
  assert.equal(curve.T, T);
  assert.equal(curve.losses.length, T);
  assert.equal(curve.windows, 40);
  assert.equal(curve.tokens, 40 * T);
  const mean = curve.losses.reduce((a, b) => a + b, 0) / T;
  assert.ok(Math.abs(mean - curve.meanLoss) < 1e-9);
  // the same windows scored in one batch through the model's own mean loss
  const all = Math.floor((periodicVal.length - 1) / T);
  const x = new Int32Array(40 * T);
  const y = new Int32Array(40 * T);
  for (let k = 0; k < 40; k++) {
    const start = Math.floor((k * all) / 40) * T;
    for (let t = 0; t < T; t++) {
      x[k * T + t] = periodicVal[start + t];
      y[k * T + t] = periodicVal[start + t + 1];
    }
  }
  const r = await periodic.forward(x, y, 40, T);
  assert.ok(Math.abs(r.loss! - curve.meanLoss) < 1e-4, `${r.loss} vs ${curve.meanLoss}`);
});

test("the in-context learning score is clearly negative on a context-predictable stream and near 0 without one", async () => {
  const bands = iclBands(T);
  assert.deepEqual(bands, { early: [2, 2], late: [13, 20] });
  assert.deepEqual(iclBands(128), { early: [6, 8], late: [52, 80] }, "the documented bands at T = 128");
  const p = await positionLosses(periodic, [periodicVal]);
  const s = iclScore(p.losses);
  // with 2 tokens of context the next token of a new pattern is a guess (≈ ln 15 = 2.7 nats); after one period it is a copy
  assert.ok(s.early > 1.5, `early loss ${s.early}`);
  assert.ok(s.score < -1, `periodic score ${s.score}`);
  const q = await positionLosses(iid, [iidStream(8000, 9)]);
  const c = iclScore(q.losses);
  assert.ok(Math.abs(c.score) < 0.1, `iid score ${c.score}`);
  assert.ok(Math.abs(c.late - Math.log(V - 1)) < 0.15, `iid loss ${c.late} ≈ ln 15`);
});

test("overlapping windows put each token at many context lengths: a flatter curve without a context effect, the same mean identity", async () => {
  const stream = iidStream(4000, 2);
  const plain = await positionLosses(iid, [stream]);
  const dense = await positionLosses(iid, [stream], { stride: T / 8, maxTokens: 8 * 4000 });
  assert.equal(dense.windows, Math.floor((stream.length - T - 1) / (T / 8)) + 1);
  assert.ok(Math.abs(dense.losses.reduce((a, b) => a + b, 0) / T - dense.meanLoss) < 1e-9);
  // an iid stream has no context effect: what varies along the curve is which tokens sat at each position
  const spread = (xs: number[]) => Math.max(...xs.slice(2)) - Math.min(...xs.slice(2));
  assert.ok(spread(dense.losses) < spread(plain.losses) / 1.5, `spread ${spread(dense.losses)} vs ${spread(plain.losses)}`);
  await assert.rejects(positionLosses(iid, [stream], { stride: 0 }), /window stride must be a positive integer/);
});

test("a sweep's in-context curves are stored once in the lab and read back", async () => {
  const corpus = join(work, "corpus");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(corpus);
  const rng = new Rng(4);
  const words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"];
  for (let f = 0; f < 6; f++) {
    writeFileSync(join(corpus, `doc${f}.txt`), Array.from({ length: 900 }, () => words[rng.int(words.length)]).join(" "));
  }
  const data = join(work, "data");
  await prepareDataset({ sources: [corpus], tokenizer: "bytes", outDir: data, valFraction: 0.3, docChars: 1000 });
  const ds = Dataset.open(data);
  const lab = openLab(join(work, "lab"));
  try {
    lab.ensureSweep({ name: "s", plan: "curves" });
    for (const [id, nEmbd] of [["s.a", 16], ["s.b", 32]] as const) {
      const dir = join(work, id);
      const config = resolveTrainConfig(
        { data, model: { nLayer: 1, nHead: 2, nEmbd, blockSize: 32 }, tokens: 8 * 32 * 20, batchTokens: 8 * 32, microBatch: 8, lr: 3e-3, evalEvery: 20, evalTokens: 256, checkpointEvery: 20, seed: 1, backend: "auto" },
        ds.tokenizer.vocabSize,
      );
      await train(config, new DatasetData(ds, 1), { outDir: dir, backend });
      lab.importRunFolder(id, dir, { sweep: "s", accounting: runAccounting });
    }
    const first = await inContextCurves(lab, "s", { backend });
    assert.deepEqual(first.map((e) => e.run), ["s.a", "s.b"], "smallest first");
    assert.ok(first.every((e) => e.computed && e.losses.length === 32 && Number.isFinite(e.score)));
    const second = await inContextCurves(lab, "s", { backend });
    assert.ok(second.every((e) => !e.computed), "read back, not recomputed");
    assert.deepEqual(second.map((e) => e.score), first.map((e) => e.score));
    const rows = lab.listEvals({ sweep: "s", task: ICL_TASK });
    assert.equal(rows.length, 2, "one stored curve per run");
    assert.equal(rows[0].accuracy, null);
    // the stored curve is the one a fresh evaluation gives
    const { model } = loadModel(join(work, "s.b"), backend);
    const again = await positionLosses(model, [ds.tokens("val", 0)], { stride: 32 / ICL_OVERLAP, maxTokens: 65536 * ICL_OVERLAP });
    assert.ok(Math.abs(again.meanLoss - first[1].meanLoss) < 1e-9);
    assert.deepEqual(again.losses, first[1].losses);
  } finally {
    lab.close();
  }
  // the CLI reads the stored curves: one JSON line with iclScore smallest first; bad input is one line
  const cli = (args: string[]) => spawnSync(process.execPath, [cliPath(), "eval", ...args], { encoding: "utf8" });
  const r = cli(["--icl", "--sweep", "s", "--lab", join(work, "lab"), "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.equal(out.iclScore.length, 2);
  assert.ok(out.runs.every((x: { computed: boolean }) => !x.computed));
  for (const [args, pattern] of [
    [["--icl", "--task", "arithmetic-2da", "--sweep", "s", "--lab", join(work, "lab")], /drop --task/],
    [["--icl", "--lab", join(work, "lab")], /takes one of --sweep NAME --lab DIR .* or --model RUN_DIR/],
    [["--icl", "--sweep", "nope", "--lab", join(work, "lab")], /no sweep "nope" .* known sweeps: s/],
  ] as const) {
    const bad = cli([...args]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr.trim(), pattern);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
  }
});

test("sampled pass rates: agree with the exact expectation, and with exact match where both resolve", async () => {
  // resolving a rate far below 1/n: 400 items whose answers have probability 2e-4 .. 4e-4
  const lps = Array.from({ length: 400 }, (_, i) => [Math.log(0.02), Math.log(0.01 + (i % 3) * 0.005), Math.log(1)]);
  const r = passUntil(lps, { seed: 3 });
  assert.ok(r.resolved && r.passes >= 50);
  const want = lps.reduce((a, l) => a + Math.exp(l[0] + l[1] + l[2]), 0) / lps.length;
  assert.ok(Math.abs(r.expected - want) < 1e-12 && Math.abs(want - 3e-4) < 1e-5);
  assert.ok(r.interval[0] < r.expected && r.expected < r.interval[1], `${r.rate} [${r.interval}] vs ${r.expected}`);
  assert.ok(1 / 400 > 5 * r.rate, "below exact match's resolution of 1/n");
  // where exact match resolves: the periodic model copies the next 3 tokens of a pattern it has seen five times
  const rng = new Rng(11);
  const examples = Array.from({ length: 300 }, () => {
    const pattern = Array.from({ length: P }, () => rng.int(V - 1));
    const tokens = [V - 1, ...pattern, ...pattern, ...pattern, ...pattern, ...pattern, ...pattern.slice(0, 3)];
    return { tokens, completionStart: 1 + 5 * P, shotsUsed: 0 };
  });
  const m = taskMetrics("copy", 0, await scoreExamples(periodic, examples), 0, 0);
  assert.ok(m.exactMatch > 0.9, `exact match ${m.exactMatch}`);
  assert.ok(m.sampled.resolved);
  // temperature-1 samples miss where greedy decoding does not when the model spreads some probability: they agree
  // to within what this small model leaves on other tokens (≈ 2% per token here)
  assert.ok(Math.abs(m.sampled.rate - m.exactMatch) < 0.1, `sampled ${m.sampled.rate} vs exact match ${m.exactMatch}`);
  assert.ok(Math.abs(m.sampled.rate - m.sampled.expected) < 0.03);
  assert.ok(m.digitAccuracy >= m.exactMatch);
  assert.ok(m.exactInterval[0] <= m.exactMatch && m.exactMatch <= m.exactInterval[1]);
});

test("Wilson intervals", () => {
  const [lo0, hi0] = wilsonInterval(0, 1000);
  assert.equal(lo0, 0);
  assert.ok(Math.abs(hi0 - 0.003827) < 1e-5, `${hi0}`);
  const [lo, hi] = wilsonInterval(500, 1000);
  assert.ok(Math.abs(lo - 0.46907) < 1e-4 && Math.abs(hi - 0.53093) < 1e-4, `${lo} ${hi}`);
});
