/**
 * Arithmetic benchmark: train a small GPT on an arithmetic-only corpus — 2D+ problems in GPT-3's format
 * ("\n\nQ: What is 48 plus 76?\n\nA: 124"), drawn only from the training side of the evaluation partition, so
 * every test problem is unseen — with the bytes tokenizer (one token per digit), then measure few-shot exact
 * match on arithmetic-2da with the eval harness. Target: ≥ 90% few-shot accuracy within ~10 minutes on 2 cores.
 *
 * Tokenizer: `--tokenizer digits` (default) is a small BPE that merges the template's words but never digits;
 * `--tokenizer bytes` is one token per byte.
 *
 * Defaults (3 layers × 96 wide, 3 heads, context 96, 0.33M non-embedding parameters; 10M tokens in micro-batches of
 * 16 × 96, peak lr 3e-3): on 2 shared cores with the native backend, 350 s of training (356 s in all) reached
 * val loss 0.558 and 92.8% 0-shot, 93.8% 1-shot, 94.8% 2-shot, 94.0% 4-shot exact match on 2,000 unseen 2D+
 * problems (±0.5%). A 96-token context holds at most 4 demonstrations.
 *
 * Run: `npx tsc -p . && node dist/bench/arith-bench.js [--tokens 10000000] [--tokenizer digits|bytes] [--layers 3]
 * [--embd 96] [--heads 3] [--block 96] [--batch 16] [--lr 3e-3] [--backend auto] [--n 2000] [--json]`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { type ByteLevelBpe, DataError, bytesTokenizer, saveTokenizer, trainBpe } from "../src/data/index.js";
import { createBackend } from "../src/engine/index.js";
import { arithmeticTask, arithmeticSpec, arithmeticTokens, evaluateTask } from "../src/evals/index.js";
import { resolveTrainConfig } from "../src/train/config.js";
import { loadModel } from "../src/train/load-model.js";
import { train } from "../src/train/loop.js";
import { TokenWindows } from "../src/train/token-data.js";

/**
 * A small BPE for the GPT-3 arithmetic format that never merges digits: trained on the template's words only
 * (" What", " is", " plus", …) and " 0"…" 9", so a problem is ~19 tokens (vs ~33 bytes) and every digit stays
 * its own token.
 */
function digitTokenizer(): ByteLevelBpe {
  const counts = new Map<string, number>();
  for (const w of [" What", " is", " plus", " minus", " times"]) counts.set(w, 1000);
  for (let d = 0; d <= 9; d++) counts.set(` ${d}`, 100);
  let vocab = 400;
  for (;;) {
    try {
      return trainBpe(counts, vocab);
    } catch (e) {
      const fit = e instanceof DataError ? /--vocab (\d+)/.exec(e.message) : null;
      if (!fit) throw e;
      vocab = Number(fit[1]);
    }
  }
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const log = (s: string) => (json ? process.stderr : process.stdout).write(s + "\n");
  const tokens = Number(flag("tokens", "10000000"));
  const n = Number(flag("n", "2000"));
  const backend = await createBackend(flag("backend", "auto"));
  const tokenizer = flag("tokenizer", "digits") === "bytes" ? bytesTokenizer() : digitTokenizer();
  const blockSize = Number(flag("block", "96"));
  const t0 = performance.now();

  // ~19 tokens per problem (33 bytes); the stream repeats the ~5,000 training-side pairs, never a test pair
  const trainTokens = arithmeticTokens(tokenizer, { tasks: ["2da"], problems: 200000, seed: 1 });
  const valTokens = arithmeticTokens(tokenizer, { tasks: ["2da"], problems: 2000, seed: 2 });
  const config = resolveTrainConfig(
    {
      model: { nLayer: Number(flag("layers", "3")), nHead: Number(flag("heads", "3")), nEmbd: Number(flag("embd", "96")), blockSize },
      tokens, batchTokens: Number(flag("batch", "16")) * blockSize, microBatch: Number(flag("batch", "16")), lr: Number(flag("lr", "3e-3")), warmupFraction: 0.02, weightDecay: 0.1,
      evalEvery: 100, evalTokens: 16384, checkpointEvery: 1000000, seed: 7, backend: backend.name,
    },
    tokenizer.vocabSize,
  );
  const outDir = mkdtempSync(join(tmpdir(), "sl-arith-bench-"));
  try {
    let lastLog = 0;
    const summary = await train(config, new TokenWindows(trainTokens, valTokens, tokenizer.vocabSize, 7), {
      outDir,
      backend,
      onProgress: (e) => {
        const now = performance.now();
        if (now - lastLog > 15000 || e.step === e.steps) {
          lastLog = now;
          log(`step ${e.step}/${e.steps} loss ${e.trainLoss.toFixed(4)}${e.valLoss !== undefined ? ` val ${e.valLoss.toFixed(4)}` : ""} ${e.tokensPerSec} tok/s eta ${e.etaSec.toFixed(0)}s`);
        }
      },
    });
    const trainSec = (performance.now() - t0) / 1000;
    saveTokenizer(tokenizer, join(outDir, "tokenizer.json"));
    const { model, tokenizer: tok } = loadModel(outDir, backend);
    const t1 = performance.now();
    const results = await evaluateTask(model, tok, arithmeticTask(arithmeticSpec("arithmetic-2da")!), { shots: [0, 1, 2, 4], n, seed: 1234 });
    const evalSec = (performance.now() - t1) / 1000;
    const out = {
      bench: "arith-bench",
      backend: backend.name,
      cores: cpus().length,
      model: config.model,
      nonEmbeddingParams: summary.nonEmbeddingParams,
      trainTokens: summary.tokens,
      finalValLoss: summary.finalValLoss,
      trainSeconds: Number(trainSec.toFixed(1)),
      evalSeconds: Number(evalSec.toFixed(1)),
      totalSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      results: results.map((r) => ({ shots: r.shots, n: r.n, accuracy: r.accuracy, stderr: r.stderr, meanLogLikelihood: r.meanLogLikelihood })),
    };
    if (json) console.log(JSON.stringify(out));
    else {
      log(`trained ${summary.tokens} tokens in ${trainSec.toFixed(0)} s (${backend.name}, ${cpus().length} cores), val loss ${summary.finalValLoss?.toFixed(4)}`);
      for (const r of results) log(`arithmetic-2da ${r.shots}-shot: ${(100 * r.accuracy).toFixed(1)}% ± ${(100 * r.stderr).toFixed(1)}% (n=${r.n}, mean log-lik ${r.meanLogLikelihood.toFixed(3)})`);
      log(`eval ${evalSec.toFixed(1)} s; total ${out.totalSeconds} s`);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    backend.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
