/**
 * Bring your own runs (src/ingest/, `scaling-lab import`): every format's parser on fixtures in the writers' own
 * layouts (test/fixtures/ingest/, README there), the TFRecord checksums, malformed files (truncated records, corrupt
 * bytes, missing fields, NaN losses, unknown formats) as one-line errors that leave the lab as it was, idempotent
 * and updating re-imports, and fit / predict running unchanged on imported runs.
 *
 * The TensorBoard reader was also checked by hand against event files PyTorch's SummaryWriter wrote (the test data
 * of janosh/tensorboard-reducer, tests/runs/strict/run_1: 101 records, 100 scalars at steps 0–495, every CRC valid);
 * those files are not copied here.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import {
  IngestError, crc32c, importSources, maskedCrc32c, parseSource, readRecords, readScalars,
} from "../src/ingest/index.js";
import { parseCsv } from "../src/fit/index.js";
import { paramCounts, runAccounting } from "../src/model/accounting.js";
import { PF_DAY } from "../src/util/units.js";
import { datasetPoints, findLaw, lawLoss } from "../src/published/index.js";
import { openLab } from "../src/store/index.js";
import { assertOneLineError, repoRoot, runCli } from "./helpers.js";

const FIX = join(repoRoot, "test/fixtures/ingest");
const HF = join(FIX, "hf/gpt2-tiny/trainer_state.json");
const TB = join(FIX, "tensorboard/events.out.tfevents.1717000000.host.4242.0");
const TB2 = join(FIX, "tensorboard-tf2/events.out.tfevents.1717000500.host.77.v2");
const WANDB = join(FIX, "wandb/history.csv");
const CHART = join(FIX, "wandb/chart-export.csv");
const NANO = join(FIX, "text/nanogpt-shakespeare-char.log");
const LLMC = join(FIX, "text/llmc-gpt2-124M.txt");
const LLMC_LOG = join(FIX, "text/main.log");

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "sl-ingest-"));
}

/** The curve make-tfevents.mjs writes. */
const tbLoss = (step: number) => 2.2 + 4.0 * (step * 8192) ** -0.15;

test("CRC-32C matches the standard check value and TFRecord framing is verified", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  const buf = readFileSync(TB);
  const records = readRecords(buf);
  assert.equal(records.length, 1 + 20 + 4); // file_version, 20 training steps, 4 evaluations
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  assert.equal(dv.getUint32(8, true), maskedCrc32c(buf.subarray(0, 8)));
});

test("TensorBoard: simple_value scalars (PyTorch/HF style) and scalar tensors (TF2 style)", () => {
  const [run] = parseSource(TB);
  assert.equal(run.format, "tensorboard");
  assert.deepEqual(run.steps.map((s) => s.step), Array.from({ length: 20 }, (_, i) => 10 * (i + 1)));
  for (const s of run.steps) assert.ok(Math.abs(s.trainLoss! - tbLoss(s.step)) < 1e-6, `step ${s.step}`);
  assert.deepEqual(run.steps.filter((s) => s.valLoss !== undefined).map((s) => s.step), [50, 100, 150, 200]);
  assert.ok(Math.abs(run.steps.at(-1)!.valLoss! - (tbLoss(200) + 0.05)) < 1e-6);
  assert.ok(Math.abs(run.steps[0].lr! - 6e-4) < 1e-9);
  assert.equal(run.steps.at(-1)!.elapsed!.toFixed(1), "95.1");

  const [tf2] = parseSource(TB2);
  assert.deepEqual(tf2.steps.map((s) => s.step), [25, 50, 75, 100]);
  for (const s of tf2.steps) {
    assert.ok(Math.abs(s.trainLoss! - tbLoss(s.step)) < 1e-6); // float32 tensor_content
    assert.ok(Math.abs(s.valLoss! - (tbLoss(s.step) + 0.04)) < 1e-12); // float64 tensor_content
  }
  // a tag named by flag
  const [byFlag] = parseSource(TB, { columns: { loss: "train/learning_rate" } });
  assert.ok(Math.abs(byFlag.steps[0].trainLoss! - 6e-4) < 1e-9);
});

test("TensorBoard: a truncated or corrupted event file is an error naming the file and the record", () => {
  const dir = tmp();
  const buf = readFileSync(TB);
  const cut = join(dir, "events.out.tfevents.cut");
  writeFileSync(cut, buf.subarray(0, buf.length - 5));
  assert.throws(() => parseSource(cut), (e: unknown) => e instanceof IngestError && /events\.out\.tfevents\.cut: record 24 is truncated/.test(e.message) && !e.message.includes("\n"));
  const bad = Buffer.from(buf);
  bad[300] ^= 0x10;
  const corrupt = join(dir, "events.out.tfevents.bad");
  writeFileSync(corrupt, bad);
  assert.throws(() => parseSource(corrupt), (e: unknown) => e instanceof IngestError && /events\.out\.tfevents\.bad: record \d+: the (data|length)'s CRC does not match/.test(e.message));
  assert.throws(() => readScalars(bad), /CRC/);
  // the last 4 bytes (the data's CRC) gone: still caught
  writeFileSync(cut, buf.subarray(0, buf.length - 1));
  assert.throws(() => parseSource(cut), /truncated/);
});

test("Hugging Face trainer_state.json: log_history losses, evals, shape from config.json, tokens from total_flos", () => {
  const [run] = parseSource(HF);
  assert.equal(run.format, "hf-trainer");
  assert.deepEqual(run.steps.map((s) => s.step), [25, 50, 75, 100, 125, 150, 175, 200, 225, 250, 275, 300]);
  assert.deepEqual(run.steps.filter((s) => s.valLoss !== undefined).map((s) => s.step), [100, 200, 300]);
  assert.deepEqual(run.shape, { nLayer: 2, nHead: 4, nEmbd: 64, blockSize: 128, vocabSize: 512 });
  assert.equal(run.lastStep, 300);
  const dir = tmp();
  const lab = openLab(dir);
  try {
    const r = importSources(lab, [HF], { sweep: "hf" });
    const N = paramCounts(run.shape!).nonEmbedding;
    assert.equal(r.runs[0].N, N);
    assert.equal(r.runs[0].D, 300 * 1024); // total_flos / (6 N global_step) = 8 × 128 tokens per step
    assert.equal(r.runs[0].C, run.totalFlops); // the Trainer's own count: 6·N·D
    const stored = lab.getRun(r.runs[0].id)!;
    assert.equal(stored.status, "done");
    assert.equal(stored.nLayer, 2);
    assert.equal(stored.finalValLoss, 2.4995 + 0.031);
    assert.equal(lab.metrics(stored.id).length, 12);
  } finally {
    lab.close();
  }
});

test("W&B exports: run history (train/global_step wins over _step) and a chart export with one run per column group", () => {
  const [h] = parseSource(WANDB);
  assert.equal(h.format, "csv");
  assert.deepEqual(h.steps.map((s) => s.step), [50, 100, 150, 200, 250, 300, 350, 400]);
  assert.deepEqual(h.steps.filter((s) => s.valLoss !== undefined).map((s) => s.step), [200, 400]);
  const chart = parseSource(CHART);
  assert.deepEqual(chart.map((r) => r.runName), ["gpt-small", "gpt-medium", "gpt-large"]);
  assert.deepEqual(chart.map((r) => r.steps.length), [10, 10, 8]);
  assert.equal(chart[1].steps[0].trainLoss, 2.29398);
  // a JSONL log with custom column names, named by flags
  const dir = tmp();
  const f = join(dir, "log.jsonl");
  writeFileSync(f, [1, 2, 3].map((i) => JSON.stringify({ it: i * 10, objective: 3 - i / 10, seen: i * 5000 })).join("\n") + "\n");
  assert.throws(() => parseSource(f), /no step column .*--step-col/);
  const [j] = parseSource(f, { columns: { step: "it", loss: "objective", tokens: "seen" } });
  assert.deepEqual(j.steps.map((s) => [s.step, s.trainLoss, s.tokens]), [[10, 2.9, 5000], [20, 2.8, 10000], [30, 2.7, 15000]]);
});

test("nanoGPT and llm.c logs: steps, losses, tokens per step and the shape they print", () => {
  const [nano] = parseSource(NANO);
  assert.equal(nano.format, "text-log");
  assert.equal(nano.tokensPerStep, 16384);
  assert.deepEqual(nano.shape, { nLayer: 6, nHead: 6, nEmbd: 384, blockSize: 256, vocabSize: 65 });
  const at = (s: number) => nano.steps.find((x) => x.step === s)!;
  assert.equal(at(11).trainLoss, 3.2457); // "iter 10" is the 11th update
  assert.equal(at(250).valLoss, 2.0589);
  assert.equal(at(500).valLoss, 1.6639);
  assert.equal(at(501).trainLoss, 1.5298);

  const [out] = parseSource(LLMC);
  const [log] = parseSource(LLMC_LOG);
  assert.deepEqual(out.shape, { nLayer: 12, nHead: 12, nEmbd: 768, blockSize: 1024, vocabSize: 50257 });
  assert.equal(out.tokensPerStep, 4096);
  // stdout ("step N/M | loss", "val loss") and main.log ("s:N trl", "s:N tel") give the same run
  const train = (r: typeof out) => r.steps.filter((s) => s.trainLoss !== undefined).map((s) => [s.step, Number(s.trainLoss!.toFixed(4))]);
  assert.deepEqual(train(out), train(log));
  assert.deepEqual(out.steps.filter((s) => s.valLoss !== undefined).map((s) => s.step), [0, 20, 40]);
  assert.deepEqual(log.steps.filter((s) => s.valLoss !== undefined).map((s) => s.step), [0, 20, 40]);
  assert.equal(out.steps.find((s) => s.step === 1)!.gradNorm, 3);
});

test("import: idempotent re-import, a changed source updates its runs, no duplicate metrics", () => {
  const dir = tmp();
  const src = join(dir, "src");
  mkdirSync(join(src, "run-a"), { recursive: true });
  copyFileSync(HF, join(src, "run-a/trainer_state.json"));
  copyFileSync(join(FIX, "hf/gpt2-tiny/config.json"), join(src, "run-a/config.json"));
  const files = [join(src, "run-a/trainer_state.json"), TB, NANO, CHART];
  const args = ["import", ...files, "--sweep", "mix", "--lab", join(dir, "lab"), "--params", "1e5,2e5,,3e5", "--json"];
  const bad = runCli(args);
  assertOneLineError(bad, "bad list", /--params must be a positive number or a comma list/);
  args[args.indexOf("1e5,2e5,,3e5")] = "1e5";
  const ok = runCli([...args, "--tokens-per-step", "2048"]);
  assert.equal(ok.status, 0, ok.stderr);
  const first = JSON.parse(ok.stdout);
  assert.equal(first.runs, 6); // 3 files of one run + a chart export of 3
  assert.equal(first.imported.length, 6);
  assert.equal(first.created, 6);
  assert.equal(first.points, 12 + 20 + 17 + 28);
  const again = JSON.parse(runCli([...args, "--tokens-per-step", "2048"]).stdout);
  assert.deepEqual(again.imported.map((r: { id: string }) => r.id), first.imported.map((r: { id: string }) => r.id));
  assert.equal(again.unchanged, 6);
  // change one loss of the HF run: that run is updated, in place
  const state = join(src, "run-a/trainer_state.json");
  writeFileSync(state, readFileSync(state, "utf8").replace('"loss": 2.4995', '"loss": 2.4444'));
  const changed = JSON.parse(runCli([...args, "--tokens-per-step", "2048"]).stdout);
  assert.equal(changed.updated, 1);
  assert.equal(changed.unchanged, 5);
  const lab = openLab(join(dir, "lab"), { readonly: true });
  try {
    const runs = lab.listRuns({ sweep: "mix" });
    assert.equal(runs.length, 6);
    const hf = runs.find((r) => r.id === first.imported[0].id)!;
    assert.equal(hf.finalTrainLoss, 2.4444);
    assert.equal(lab.metrics(hf.id).length, 12);
    assert.equal(runs.reduce((a, r) => a + lab.metrics(r.id).length, 0), first.points);
  } finally {
    lab.close();
  }
});

test("import: malformed files give one line naming the file and the fix, and nothing in the lab is lost", () => {
  const dir = tmp();
  const labDir = join(dir, "lab");
  const good = runCli(["import", HF, "--sweep", "good", "--lab", labDir, "--json"]);
  assert.equal(good.status, 0, good.stderr);
  const goodRun = JSON.parse(good.stdout).imported[0];
  const snapshot = () => {
    const lab = openLab(labDir, { readonly: true });
    try {
      return JSON.stringify({ runs: lab.listRuns(), metrics: lab.listRuns().map((r) => lab.metrics(r.id)), sweeps: lab.listSweeps().map((s) => s.name) });
    } finally {
      lab.close();
    }
  };
  const before = snapshot();

  const buf = readFileSync(TB);
  const truncated = join(dir, "events.out.tfevents.trunc");
  writeFileSync(truncated, buf.subarray(0, 700));
  const state = readFileSync(HF, "utf8");
  const nan = join(dir, "nan/trainer_state.json");
  mkdirSync(join(dir, "nan"));
  writeFileSync(nan, state.replace('"loss": 2.6271', '"loss": NaN'));
  const noHistory = join(dir, "nohist/trainer_state.json");
  mkdirSync(join(dir, "nohist"));
  writeFileSync(noHistory, JSON.stringify({ global_step: 10, max_steps: 10 }, null, 2));
  const noStep = join(dir, "nostep/trainer_state.json");
  mkdirSync(join(dir, "nostep"));
  writeFileSync(noStep, state.replace('"loss": 2.6271,\n      "step": 75', '"loss": 2.6271'));
  const nanCsv = join(dir, "nan.csv");
  writeFileSync(nanCsv, "step,loss\n10,3.1\n20,nan\n");
  const noLoss = join(dir, "noloss.csv");
  writeFileSync(noLoss, "step,accuracy\n10,0.5\n");
  const binary = join(dir, "weights.bin");
  writeFileSync(binary, Buffer.from([1, 2, 0, 3, 255, 0, 7, 9, 9, 9, 9, 9, 9, 9]));
  const trunc = join(dir, "trunc/trainer_state.json");
  mkdirSync(join(dir, "trunc"));
  writeFileSync(trunc, state.slice(0, 400));
  const cases: [string[], RegExp][] = [
    [[truncated], /events\.out\.tfevents\.trunc: record \d+ is truncated .*damaged/],
    [[nan], /nan\/trainer_state\.json: "loss" is NaN\/Infinity at step 75/],
    [[noHistory], /nohist\/trainer_state\.json: no "log_history" list/],
    [[noStep], /nostep\/trainer_state\.json: log_history\[\d+\] has no integer "step"/],
    [[nanCsv], /nan\.csv:3: loss "nan" .* at step 20 is not a finite number/],
    [[noLoss], /noloss\.csv: no loss column .*--loss-col/],
    [[binary], /weights\.bin: format not recognised; pass --format/],
    [[trunc], /trunc\/trainer_state\.json: not valid JSON .*truncated/],
    [[join(dir, "missing.json")], /cannot read .*missing\.json: ENOENT/],
    [[TB], /events\.out\.tfevents\.1717000000\.host\.4242\.0: the log does not record the model's size; pass --params N/],
  ];
  for (const [files, re] of cases) {
    // a good file first, into the good sweep: the bad one stops the whole import before anything is written
    const r = runCli(["import", HF, ...files, "--sweep", "good", "--lab", labDir]);
    assertOneLineError(r, files.join(" "), /^scaling-lab import: /, re);
    assert.equal(snapshot(), before, `the lab changed after ${files.join(" ")}`);
  }
  // refusals: a sweep planned by scaling-lab, an unknown dataset, no sweep
  const lab = openLab(labDir);
  lab.ensureSweep({ name: "trained", plan: "curves" });
  lab.close();
  assertOneLineError(runCli(["import", HF, "--sweep", "trained", "--lab", labDir]), "plan sweep", /sweep "trained" .* holds runs of a curves plan; import into a sweep of its own/);
  assertOneLineError(runCli(["import", "--dataset", "nope", "--sweep", "x", "--lab", labDir]), "dataset", /unknown --dataset "nope"; known: epoch-chinchilla/);
  assertOneLineError(runCli(["import", "--dataset", "gpt3", "--sweep", "x", "--lab", labDir]), "gpt3", /no per-model losses/);
  assertOneLineError(runCli(["import", HF, "--lab", labDir]), "no sweep", /--sweep NAME is required/);
  assertOneLineError(runCli(["import", HF, "--sweep", "x", "--format", "xml", "--lab", labDir]), "format", /--format must be one of hf-trainer/);
  const after = openLab(labDir, { readonly: true });
  try {
    assert.equal(after.getRun(goodRun.id)!.finalValLoss, goodRun.finalValLoss);
    assert.equal(after.listRuns({ sweep: "good" }).length, 1);
  } finally {
    after.close();
  }
});

/** Writes a trainer_state.json (the Trainer's layout: sorted keys, indent 2) and config.json for one GPT-2 size. */
function writeHfRun(dir: string, nLayer: number, nEmbd: number): void {
  mkdirSync(dir, { recursive: true });
  const N = paramCounts({ nLayer, nEmbd, nHead: 4, blockSize: 256, vocabSize: 1024 }).nonEmbedding;
  const tokensPerStep = 16 * 256;
  const law = (D: number) => 1.9 + 60 * N ** -0.3 + 40 * D ** -0.25;
  const log: Record<string, number>[] = [];
  for (let step = 100; step <= 1000; step += 100) {
    const L = law(step * tokensPerStep);
    log.push({ epoch: step / 1000, grad_norm: 1, learning_rate: 3e-4, loss: Number((L - 0.01).toFixed(4)), step });
    log.push({ epoch: step / 1000, eval_loss: Number(L.toFixed(5)), eval_runtime: 1.5, eval_samples_per_second: 100, eval_steps_per_second: 10, step });
  }
  const sorted = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  const state = sorted({
    best_metric: null, best_model_checkpoint: null, epoch: 1.0, eval_steps: 100, global_step: 1000, is_hyper_param_search: false,
    is_local_process_zero: true, is_world_process_zero: true, log_history: log.map(sorted), logging_steps: 100, max_steps: 1000,
    num_input_tokens_seen: 0, num_train_epochs: 1, save_steps: 500, total_flos: 6 * N * tokensPerStep * 1000, train_batch_size: 16,
    trial_name: null, trial_params: null,
  });
  writeFileSync(join(dir, "trainer_state.json"), JSON.stringify(state, null, 2) + "\n");
  writeFileSync(join(dir, "config.json"), JSON.stringify(sorted({ model_type: "gpt2", n_embd: nEmbd, n_head: 4, n_layer: nLayer, n_positions: 256, vocab_size: 1024 }), null, 2) + "\n");
}

test("fit frontier, fit chinchilla and predict run unchanged on imported runs", () => {
  const dir = tmp();
  const labDir = join(dir, "lab");
  const sizes: [number, number][] = [[2, 32], [2, 64], [3, 96], [4, 128], [4, 192], [6, 256]];
  const files = sizes.map(([l, d]) => {
    writeHfRun(join(dir, `gpt2-${l}x${d}`), l, d);
    return join(dir, `gpt2-${l}x${d}`, "trainer_state.json");
  });
  const imp = runCli(["import", ...files, "--sweep", "hf", "--lab", labDir, "--json"]);
  assert.equal(imp.status, 0, imp.stderr);
  assert.equal(JSON.parse(imp.stdout).points, 60);
  const lab = openLab(labDir, { readonly: true });
  try {
    // each imported run ends in a "final" endpoint, the input of the sweep's analysis (src/analysis/)
    const ends = lab.endpointPoints("hf");
    assert.equal(ends.length, 6);
    assert.ok(ends.every((e) => e.D === 1000 * 16 * 256 && e.loss > 1.9 && e.params! >= e.N), JSON.stringify(ends[0]));
  } finally {
    lab.close();
  }
  const fit = runCli(["fit", "frontier", "--sweep", "hf", "--lab", labDir, "--json"]);
  assert.equal(fit.status, 0, fit.stderr);
  const f = JSON.parse(fit.stdout);
  assert.equal(f.kind, "frontier");
  assert.ok(f.alpha > 0 && f.r2 > 0.9, fit.stdout);
  const pred = runCli(["predict", "--sweep", "hf", "--lab", labDir, "--bootstrap", "20", "--json"]);
  assert.equal(pred.status, 0, pred.stderr);
  const p = JSON.parse(pred.stdout);
  assert.equal(p.fitRuns.length, 5);
  assert.ok(Math.abs(p.predictions[0].errorPct) < 5, pred.stdout);
  // the published Chinchilla points, built in: Epoch's replication (E 1.8172, alpha 0.3478, beta 0.3658)
  const chin = runCli(["fit", "chinchilla", "--dataset", "epoch-chinchilla", "--drop-highest", "5", "--json"]);
  assert.equal(chin.status, 0, chin.stderr);
  const c = JSON.parse(chin.stdout);
  assert.equal(c.nPoints, 240);
  assert.ok(Math.abs(c.E - 1.8172) < 0.01 && Math.abs(c.alpha - 0.3473) < 0.01 && Math.abs(c.beta - 0.3672) < 0.01, chin.stdout);
  assertOneLineError(runCli(["fit", "chinchilla", "--dataset", "nope"]), "dataset", /unknown --dataset "nope"; datasets: epoch-chinchilla/);
  // and into a lab as a sweep
  const ds = runCli(["import", "--dataset", "epoch-chinchilla", "--sweep", "chin", "--lab", labDir, "--json"]);
  assert.equal(ds.status, 0, ds.stderr);
  assert.equal(JSON.parse(ds.stdout).runs, 245);
  const power = runCli(["fit", "power", "--x", "N", "--sweep", "chin", "--lab", labDir, "--loss", "train", "--json"]);
  assert.equal(power.status, 0, power.stderr);
  assert.equal(JSON.parse(power.stdout).nPoints, 245);
});

test("published laws reproduce the papers' numbers", () => {
  const gpt3 = findLaw("gpt3-c")!;
  assert.ok(Math.abs(lawLoss(gpt3, 3640 * PF_DAY) - 1.734) < 0.001); // GPT-3 175B on its frontier (the forecast's 1.73)
  assert.ok(Math.abs(lawLoss(findLaw("kaplan-n")!, 8.8e13) - 1) < 1e-12); // L(N_c) = 1
  assert.ok(Math.abs(lawLoss(findLaw("kaplan-c")!, 3.1e8 * PF_DAY) - 1) < 1e-12); // C in PF-days
  assert.ok(Math.abs(lawLoss(findLaw("kaplan-d")!, 5.4e13 / 2) - 2 ** 0.095) < 1e-12);
  const hoff = findLaw("hoffmann-nd")!;
  assert.ok(Math.abs(lawLoss(hoff, { N: 70e9, D: 1.4e12 }) - (1.69 + 406.4 / 70e9 ** 0.34 + 410.7 / 1.4e12 ** 0.28)) < 1e-12);
  const knd = findLaw("kaplan-nd")!;
  assert.ok(Math.abs(lawLoss(knd, { N: 6.4e13, D: Infinity }) - 1) < 1e-12);
  assert.deepEqual(datasetPoints("epoch-chinchilla").length, 245);
  assert.equal(datasetPoints("gpt3").length, 8);
});

test("report --overlay draws a published law over imported runs; export gives the laws and points with provenance", () => {
  const dir = tmp();
  const labDir = join(dir, "lab");
  const files = ([[2, 32], [2, 64], [3, 96], [4, 128]] as [number, number][]).map(([l, d]) => {
    writeHfRun(join(dir, `m${l}x${d}`), l, d);
    return join(dir, `m${l}x${d}`, "trainer_state.json");
  });
  assert.equal(runCli(["import", ...files, "--sweep", "hf", "--lab", labDir]).status, 0);
  const out = join(dir, "report");
  const rep = runCli(["report", "--lab", labDir, "--sweep", "hf", "--out", out, "--bootstrap", "0", "--overlay", "kaplan-c,kaplan-n", "--json"]);
  assert.equal(rep.status, 0, rep.stderr);
  const data = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
  assert.deepEqual(data.overlays.map((o: { name: string }) => o.name), ["kaplan-c", "kaplan-n"]);
  const kc = data.overlays[0];
  assert.equal(kc.points.length, 40);
  assert.ok(Math.abs(kc.points[5].loss - lawLoss(findLaw("kaplan-c")!, kc.points[5].x)) < 1e-12);
  assert.match(readFileSync(join(out, "loss-vs-compute.svg"), "utf8"), /kaplan-c/);
  assertOneLineError(runCli(["report", "--lab", labDir, "--overlay", "kaplan-d"]), "overlay", /--overlay "kaplan-d" is not a published law of C or N; use one of kaplan-n, kaplan-c, gpt3-c/);

  const ex = runCli(["export", "--sweep", "hf", "--lab", labDir]);
  assert.equal(ex.status, 0, ex.stderr);
  const x = JSON.parse(ex.stdout);
  assert.equal(x.scalingLab.version, JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version);
  assert.equal(x.loss, "val");
  assert.equal(x.runs.length, 4);
  assert.ok(x.runs.every((r: { source: string }) => r.source.endsWith("trainer_state.json")));
  assert.equal(x.points.length, 40);
  const frontier = x.laws.find((l: { name: string }) => l.name === "frontier");
  assert.ok(frontier.constants.alpha > 0 && frontier.runs.length >= 2 && frontier.points === 40, JSON.stringify(frontier));
  const params = x.laws.find((l: { name: string }) => l.name === "params");
  assert.equal(params.runs.length, 4);
  assert.ok(params.constants.alpha > 0.1, JSON.stringify(params));
  const csvFile = join(dir, "hf.csv");
  const exCsv = runCli(["export", "--sweep", "hf", "--lab", labDir, "--format", "csv", "--out", csvFile, "--json"]);
  assert.equal(exCsv.status, 0, exCsv.stderr);
  assert.deepEqual(JSON.parse(exCsv.stdout).laws, ["frontier", "params"]);
  const table = parseCsv(readFileSync(csvFile, "utf8"));
  assert.equal(table.header[0], "record");
  assert.equal(table.rows.filter((r) => r[0] === "law").length, 2);
  assert.equal(table.rows.filter((r) => r[0] === "point").length, 40);
  assertOneLineError(runCli(["export", "--sweep", "nope", "--lab", labDir]), "sweep", /no sweep "nope" .*known: hf/);
  assertOneLineError(runCli(["export", "--sweep", "hf", "--lab", labDir, "--format", "xml"]), "format", /--format must be json or csv/);
});

test("recordExternalRuns writes all or nothing and never takes over a run of scaling-lab's own", () => {
  const lab = openLab(join(tmp(), "lab"));
  try {
    lab.ensureSweep({ name: "ext", plan: "import" });
    const model = { nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 8, vocabSize: 16 };
    lab.planRun({ id: "own", sweep: "ext", config: { model, tokens: 64, batchTokens: 8 }, accounting: runAccounting(model) });
    const ext = (id: string) => ({
      id, config: {}, shape: null, N: 1000, D: 5000, C: 3e7, dir: ".", finalTrainLoss: 3, finalValLoss: null,
      metrics: [{ step: 1, tokens: 5000, flops: 3e7, lr: NaN, trainLoss: 3, gradNorm: NaN, elapsed: NaN, tokensPerSec: NaN }],
    });
    assert.throws(() => lab.recordExternalRuns({ name: "ext" }, [ext("fresh"), ext("own")]), /run id own is taken by a run trained by scaling-lab/);
    assert.equal(lab.getRun("fresh"), undefined); // the first run of the failed batch was rolled back
    assert.equal(lab.getRun("own")!.status, "planned");
    assert.deepEqual(lab.recordExternalRuns({ name: "ext" }, [ext("fresh")]).created, ["fresh"]);
    assert.equal(lab.getRun("fresh")!.nLayer, 0); // unknown shape
    assert.deepEqual(lab.endpoints("fresh"), [{ kind: "final", step: 1, tokens: 5000, flops: 3e7, valLoss: null, trainLoss: 3 }]);
    assert.deepEqual(lab.runPoints("ext", { loss: "train" }).map((p) => [p.run, p.N, p.D, p.loss]), [["fresh", 1000, 5000, 3]]);
    lab.ensureSweep({ name: "other", plan: "import" });
    assert.throws(() => lab.recordExternalRuns({ name: "other" }, [ext("fresh")]), /taken by an imported run of sweep ext/);
  } finally {
    lab.close();
  }
});
