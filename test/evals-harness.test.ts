/**
 * The few-shot harness on a REAL checkpoint: a tiny GPT trained here for a few seconds on the arithmetic stream
 * (bytes tokenizer). Checks that one batched forward gives the same verdict as greedy decoding and the same
 * log-likelihood as the model's own per-token losses, that padding and batching change nothing, that the trained
 * model beats its initialisation, the same scores after export to a Hugging Face GPT-2 folder, truncation
 * reporting, the CLI contract (`eval --json` prints one object), the
 * run-store recording (--lab, --sweep) and one-line errors for bad input.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { bytesTokenizer, saveTokenizer } from "../src/data/index.js";
import { createBackend, type AnyBackend } from "../src/engine/index.js";
import { arithmeticTokens, buildExamples, type EvalTask, evaluateTask, resolveTask, scoreExamples } from "../src/evals/index.js";
import { runAccounting } from "../src/model/accounting.js";
import { GPT } from "../src/model/gpt.js";
import { type StWriteTensor, writeSafetensors } from "../src/model/safetensors.js";
import { generate } from "../src/model/sample.js";
import { openLab } from "../src/store/index.js";
import { UserError } from "../src/cli/command.js";
import { contaminationCommand } from "../src/cli/contamination.js";
import { evalCommand } from "../src/cli/eval.js";
import { resolveTrainConfig } from "../src/train/config.js";
import { loadModel } from "../src/train/load-model.js";
import { train } from "../src/train/loop.js";
import { TokenWindows } from "../src/train/token-data.js";
import { repoRoot } from "./helpers.js";

const cli = join(repoRoot, "dist/src/cli/main.js");
let work = "";
let runDir = "";
let backend: AnyBackend;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "sl-evals-h-"));
  runDir = join(work, "run");
  backend = await createBackend("auto", { quiet: true });
  const tok = bytesTokenizer();
  const config = resolveTrainConfig(
    {
      data: "(memory)", model: { nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 96 }, tokens: 16 * 96 * 60, batchTokens: 16 * 96,
      microBatch: 16, lr: 5e-3, evalEvery: 60, evalTokens: 1536, checkpointEvery: 60, seed: 3, backend: "auto",
    },
    tok.vocabSize,
  );
  const data = new TokenWindows(
    arithmeticTokens(tok, { tasks: ["2da"], problems: 4000, seed: 1 }),
    arithmeticTokens(tok, { tasks: ["2da"], problems: 100, seed: 2 }),
    tok.vocabSize,
    5,
  );
  await train(config, data, { outDir: runDir, backend });
  saveTokenizer(tok, join(runDir, "tokenizer.json"));
});

after(() => {
  backend?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("one batched forward pass agrees with greedy decoding and with the model's per-token losses", async () => {
  const { model, tokenizer } = loadModel(runDir, backend);
  const task = resolveTask("arithmetic-2da");
  const { test: items, pool } = task.split(24, 7, 100);
  const examples = buildExamples(task, tokenizer, items, pool, 1, 7, model.config.blockSize + 1);
  const batched = await scoreExamples(model, examples);
  const single = await scoreExamples(model, examples, { maxBatch: 1 });
  for (let i = 0; i < examples.length; i++) {
    const { tokens, completionStart } = examples[i];
    const completion = tokens.slice(completionStart);
    assert.ok(Math.abs(batched[i].logLikelihood - single[i].logLikelihood) < 1e-4, "padding and batching change nothing");
    assert.equal(batched[i].correct, single[i].correct);
    const greedy = await generate(model, tokens.slice(0, completionStart), { maxTokens: completion.length, temperature: 0, topK: 0, topP: 1, seed: 0 });
    assert.equal(batched[i].correct, greedy.join(",") === completion.join(","), `item ${i}: exact match ⇔ greedy decode reproduces the completion`);
    const T = tokens.length - 1;
    const y = new Int32Array(T).fill(-1);
    for (let p = completionStart; p < tokens.length; p++) y[p - 1] = tokens[p];
    const r = await model.forward(Int32Array.from(tokens.slice(0, T)), y, 1, T);
    assert.equal(r.count, completion.length);
    assert.ok(Math.abs(-r.loss! * r.count - batched[i].logLikelihood) < 1e-3, `item ${i}: log-likelihood = −Σ cross-entropy`);
  }
  // the trained model outscores its random initialisation by a wide margin
  const init = new GPT(backend, model.config, 99);
  const initScores = await scoreExamples(init, examples);
  const mean = (xs: { logLikelihood: number }[]) => xs.reduce((a, s) => a + s.logLikelihood, 0) / xs.length;
  assert.ok(mean(batched) > mean(initScores) + 5, `trained ${mean(batched).toFixed(2)} vs init ${mean(initScores).toFixed(2)} nats`);
});

/**
 * A GPT with a known answer: LN_f's weight 0 and bias e₀ make its final activations e₀ at every position, so its
 * logits are column 0 of wte whatever the prompt: `scores` there, 0 elsewhere.
 */
async function constantModel(be: AnyBackend, vocabSize: number, scores: Map<number, number>): Promise<GPT<object, object>> {
  const model = new GPT(be, { vocabSize, blockSize: 64, nLayer: 1, nHead: 1, nEmbd: 4 }, 0);
  const w = await model.exportWeights();
  for (const x of w.values()) x.fill(0);
  w.get("lnf_b")![0] = 1;
  for (const [id, s] of scores) w.get("wte")![id * 4] = s;
  model.loadWeights(w);
  return model;
}

test("a model with a known answer: exact accuracy, log-likelihood and greedy agreement, at every shot count", async () => {
  const tok = bytesTokenizer();
  const seven = "7".charCodeAt(0), three = "3".charCodeAt(0);
  const model = await constantModel(backend, tok.vocabSize, new Map([[seven, 4], [three, 2]]));
  // log p of "7" and "3" under softmax(scores): every other id has logit 0
  const z = Math.exp(4) + Math.exp(2) + (tok.vocabSize - 2);
  const lp = (c: string) => (c === "7" ? 4 : c === "3" ? 2 : 0) - Math.log(z);
  const completions = ["7", "7", "3", "77", "73", "7", "37", "3", "777", "9", "7", "1"]; // greedy says "7…7"
  const items = completions.map((completion, i) => ({ context: `Q: item ${i}\nA: `, completion }));
  const task: EvalTask = {
    name: "known-answer", about: "", description: "", separator: "\n",
    split: (n) => ({ test: items.slice(0, n), pool: items.map((it) => ({ context: it.context + "(demo) ", completion: "7" })) }),
    patterns: (item) => [item.context],
  };
  const correct = completions.filter((c) => /^7+$/.test(c)).length; // 6 of 12
  const meanLl = completions.reduce((a, c) => a + [...c].reduce((b, ch) => b + lp(ch), 0), 0) / completions.length;
  const results = await evaluateTask(model, tok, task, { shots: [0, 3], n: 12, seed: 1 });
  for (const r of results) {
    assert.equal(r.n, 12);
    assert.equal(r.accuracy, correct / 12, `${r.shots}-shot accuracy`);
    assert.ok(Math.abs(r.stderr - Math.sqrt((0.5 * 0.5) / 12)) < 1e-12);
    assert.ok(Math.abs(r.meanLogLikelihood - meanLl) < 1e-4 * Math.abs(meanLl), `${r.shots}-shot mean log-likelihood ${r.meanLogLikelihood}, want ${meanLl}`);
  }
  // per item: the verdict is exactly "greedy decoding reproduces the completion", true and false cases alike
  const examples = buildExamples(task, tok, items, [], 0, 1, model.config.blockSize + 1);
  const scored = await scoreExamples(model, examples);
  for (let i = 0; i < items.length; i++) {
    const { tokens, completionStart } = examples[i];
    const greedy = await generate(model, tokens.slice(0, completionStart), { maxTokens: tokens.length - completionStart, temperature: 0, topK: 0, topP: 1, seed: 0 });
    assert.equal(scored[i].correct, /^7+$/.test(completions[i]), `item ${i} (${completions[i]})`);
    assert.equal(scored[i].correct, greedy.join(",") === tokens.slice(completionStart).join(","), `item ${i}: greedy decoding`);
  }
});

test("evaluateTask reports accuracy, log-likelihood and truncation per shot count", async () => {
  const { model, tokenizer } = loadModel(runDir, backend);
  const results = await evaluateTask(model, tokenizer, resolveTask("arithmetic-2da"), { shots: [0, 1, 8], n: 40, seed: 3 });
  assert.deepEqual(results.map((r) => r.shots), [0, 1, 8]);
  for (const r of results) {
    assert.equal(r.task, "arithmetic-2da");
    assert.equal(r.n, 40);
    assert.ok(Math.abs(r.stderr - Math.sqrt((r.accuracy * (1 - r.accuracy)) / 40)) < 1e-12);
    assert.ok(Number.isFinite(r.meanLogLikelihood) && r.meanLogLikelihood < 0);
    assert.ok(r.meanTokens <= 97);
  }
  assert.equal(results[0].meanShots, 0);
  assert.equal(results[1].meanShots, 1);
  assert.equal(results[1].truncatedFraction, 0);
  // 8 demonstrations of ~33 bytes cannot fit a 96-token context: the oldest were dropped
  assert.ok(results[2].meanShots >= 1 && results[2].meanShots < 3, `meanShots ${results[2].meanShots}`);
  assert.equal(results[2].truncatedFraction, 1);
  // the accuracy is the count of items whose greedy continuation is the completion, counted here by decoding
  const task = resolveTask("arithmetic-2da");
  const { test: items, pool } = task.split(40, 3, 1000);
  for (const r of results) {
    const examples = buildExamples(task, tokenizer, items, pool, r.shots, 3, model.config.blockSize + 1);
    let right = 0;
    for (const { tokens, completionStart } of examples) {
      const greedy = await generate(model, tokens.slice(0, completionStart), { maxTokens: tokens.length - completionStart, temperature: 0, topK: 0, topP: 1, seed: 0 });
      if (greedy.join(",") === tokens.slice(completionStart).join(",")) right++;
    }
    assert.equal(r.accuracy, right / 40, `${r.shots}-shot accuracy`);
  }
});

test("an imported Hugging Face GPT-2 folder scores exactly like the checkpoint it was exported from", async () => {
  const { model } = loadModel(runDir, backend);
  const { nEmbd: C, nLayer: L, nHead, vocabSize, blockSize } = model.config;
  const w = await model.exportWeights();
  const tensors = new Map<string, StWriteTensor>();
  const put = (key: string, name: string, shape: number[]) => tensors.set(`transformer.${key}`, { shape, data: w.get(name)! });
  const conv = (key: string, name: string, out: number, inp: number) => {
    // Linear (out, in) → GPT-2's Conv1D (in, out)
    const src = w.get(name)!;
    const dst = new Float32Array(src.length);
    for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) dst[i * out + o] = src[o * inp + i];
    tensors.set(`transformer.${key}`, { shape: [inp, out], data: dst });
  };
  put("wte.weight", "wte", [vocabSize, C]);
  put("wpe.weight", "wpe", [blockSize, C]);
  for (let l = 0; l < L; l++) {
    const h = `h.${l}.`;
    const p = `h${l}_`;
    put(h + "ln_1.weight", p + "ln1_w", [C]);
    put(h + "ln_1.bias", p + "ln1_b", [C]);
    conv(h + "attn.c_attn.weight", p + "qkv_w", 3 * C, C);
    put(h + "attn.c_attn.bias", p + "qkv_b", [3 * C]);
    conv(h + "attn.c_proj.weight", p + "attnproj_w", C, C);
    put(h + "attn.c_proj.bias", p + "attnproj_b", [C]);
    put(h + "ln_2.weight", p + "ln2_w", [C]);
    put(h + "ln_2.bias", p + "ln2_b", [C]);
    conv(h + "mlp.c_fc.weight", p + "fc_w", 4 * C, C);
    put(h + "mlp.c_fc.bias", p + "fc_b", [4 * C]);
    conv(h + "mlp.c_proj.weight", p + "fcproj_w", C, 4 * C);
    put(h + "mlp.c_proj.bias", p + "fcproj_b", [C]);
  }
  put("ln_f.weight", "lnf_w", [C]);
  put("ln_f.bias", "lnf_b", [C]);
  const hfDir = join(work, "hf");
  cpSync(join(runDir, "tokenizer.json"), join(hfDir, "tokenizer.json"));
  writeSafetensors(join(hfDir, "model.safetensors"), tensors, { format: "pt" });
  writeFileSync(join(hfDir, "config.json"), JSON.stringify({
    model_type: "gpt2", activation_function: "gelu_new", vocab_size: vocabSize, n_positions: blockSize, n_embd: C, n_layer: L, n_head: nHead, layer_norm_epsilon: 1e-5,
  }));
  const hf = loadModel(hfDir, backend);
  assert.equal(hf.kind, "hf-gpt2");
  const opts = { shots: [0, 2], n: 30, seed: 5 };
  const ours = await evaluateTask(model, loadModel(runDir, backend).tokenizer, resolveTask("arithmetic-2ds"), opts);
  const theirs = await evaluateTask(hf.model, hf.tokenizer, resolveTask("arithmetic-2ds"), opts);
  for (let i = 0; i < ours.length; i++) {
    assert.equal(theirs[i].accuracy, ours[i].accuracy);
    assert.ok(Math.abs(theirs[i].meanLogLikelihood - ours[i].meanLogLikelihood) < 1e-4);
  }
});

test("CLI contract: eval --json prints one JSON object; several results keep the first's keys plus results[]", async () => {
  const one = run(["eval", "--model", runDir, "--task", "arithmetic-2da", "--shots", "1", "--n", "20", "--json", "--backend", "js"]);
  assert.equal(one.status, 0, one.stderr);
  const lines = one.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  const obj = JSON.parse(lines[0]);
  assert.equal(obj.task, "arithmetic-2da");
  assert.equal(obj.shots, 1);
  assert.equal(obj.n, 20);
  // the same numbers as the library on the same backend, with the CLI's default seed and pool
  const jsModel = loadModel(runDir, await createBackend("js"));
  const [lib] = await evaluateTask(jsModel.model, jsModel.tokenizer, resolveTask("arithmetic-2da"), { shots: [1], n: 20, seed: 1234, poolSize: 1000 });
  assert.equal(obj.accuracy, lib.accuracy);
  assert.equal(obj.meanLogLik, lib.meanLogLikelihood);
  assert.ok(obj.N > 0 && obj.C > 0);

  const many = run(["eval", "--model", runDir, "--task", "arithmetic-2da,arithmetic-1dc", "--shots", "0,1", "--n", "10", "--json", "--backend", "js"]);
  assert.equal(many.status, 0, many.stderr);
  const m = JSON.parse(many.stdout.trim());
  assert.equal(m.results.length, 4);
  assert.deepEqual(m.results.map((r: { task: string; shots: number }) => `${r.task}/${r.shots}`), ["arithmetic-2da/0", "arithmetic-2da/1", "arithmetic-1dc/0", "arithmetic-1dc/1"]);
  assert.equal(m.task, "arithmetic-2da");
  assert.equal(m.shots, 0);

  const table = run(["eval", "--model", runDir, "--task", "reversed-words", "--shots", "0", "--n", "5", "--backend", "js"]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /reversed-words\s+0\s+5\s+\d+\.\d%/);
});

test("results go to the run store: one model with --lab, every run of a sweep with --sweep", () => {
  const labDir = join(work, "lab");
  const lab = openLab(labDir);
  try {
    lab.ensureSweep({ name: "emergence" });
    for (const id of ["small", "also-small"]) {
      const dir = join(labDir, "runs", id);
      cpSync(runDir, dir, { recursive: true });
      lab.importRunFolder(id, dir, { sweep: "emergence", accounting: runAccounting });
    }
  } finally {
    lab.close();
  }
  const swept = run(["eval", "--sweep", "emergence", "--lab", labDir, "--task", "arithmetic-2da", "--shots", "0,1", "--n", "8", "--json", "--backend", "js"]);
  assert.equal(swept.status, 0, swept.stderr);
  const s = JSON.parse(swept.stdout.trim());
  assert.equal(s.sweep, "emergence");
  assert.deepEqual(s.results.map((r: { model: string }) => r.model).sort(), ["also-small", "also-small", "small", "small"]);
  assert.ok(s.results.every((r: { C: number }) => r.C > 0));
  const byPath = run(["eval", "--model", runDir, "--lab", labDir, "--task", "arithmetic-2ds", "--shots", "0", "--n", "6", "--backend", "js"]);
  assert.equal(byPath.status, 0, byPath.stderr);
  const check = openLab(labDir, { readonly: true });
  try {
    const evals = check.listEvals({ sweep: "emergence" });
    assert.equal(evals.length, 4);
    assert.ok(evals.every((e) => e.task === "arithmetic-2da" && e.n === 8 && e.accuracy !== null && e.meanLogLik !== null));
    assert.equal(check.listEvals({ task: "arithmetic-2ds" })[0].model, runDir);
  } finally {
    check.close();
  }
  const missing = run(["eval", "--sweep", "nope", "--lab", labDir, "--task", "arithmetic-2da"]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no sweep "nope" .* known sweeps: emergence/);
});

test("bad input gives one-line errors: unknown task, shots that do not fit, empty task file", async () => {
  const long = join(work, "long.jsonl");
  const ctx = (i: number) => `Item ${String(i).padStart(2, "0")}. Read this carefully: ` + "word ".repeat(9) + "and answer:";
  writeFileSync(long, Array.from({ length: 20 }, (_, i) => JSON.stringify({ context: ctx(i), completion: ` ${i}` })).join("\n"));
  const empty = join(work, "empty.jsonl");
  writeFileSync(empty, "");
  const cases: [string[], RegExp][] = [
    [["--task", "arithmetic-7da"], /unknown task "arithmetic-7da"; use one of arithmetic-2da/],
    [["--task", long, "--shots", "2"], /--shots 2 does not fit long in the model's 96-token context: not even one demonstration fits; use --shots 0/],
    [["--task", empty], /task file .*empty.jsonl has no items; each line must be/],
    [["--task", "arithmetic-2da", "--n", "0"], /--n must be an integer ≥ 1/],
    [["--task", "arithmetic-2da", "--shots", "1,x"], /--shots must be integers ≥ 0/],
    [["--task", "arithmetic-2da", "--n", "6000"], /arithmetic-2da has only \d+ distinct evaluation problems; use --n \d+ or less/],
  ];
  for (const [args, re] of cases) {
    // in-process: the command throws a UserError, which main() prints as one line with exit status 2
    await assert.rejects(evalCommand.run(["--model", runDir, "--backend", "js", ...args]), (e: Error) => {
      assert.ok(e instanceof UserError, `${args.join(" ")}: ${e.stack}`);
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"), `one line: ${e.message}`);
      return true;
    });
  }
  const r = run(["eval", "--model", runDir, "--backend", "js", "--task", "arithmetic-7da"]);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.match(r.stderr, /^scaling-lab eval: unknown task "arithmetic-7da"/);
  const { model, tokenizer } = loadModel(runDir, backend);
  const zeroShot = await evaluateTask(model, tokenizer, resolveTask(long), { shots: [0], n: 5 });
  assert.equal(zeroShot[0].n, 5, "the same long items fit without demonstrations");
  await assert.rejects(contaminationCommand.run(["--task", "arithmetic-2da", "--data", join(work, "nothing")]), /has no manifest.json; run scaling-lab prepare/);
});
