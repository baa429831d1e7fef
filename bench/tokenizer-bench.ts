/**
 * Tokenizer benchmark on the built-in corpus (~12 MB: State of the Union addresses + Moby Dick).
 *
 * Measures
 * - BPE training to an 8,192-id vocab: word counting (GPT-2 pre-tokenization) + merges, single-threaded
 *   (target ≤ 15 s on 2 cores);
 * - encode throughput in MB/s of UTF-8 input for bpe-8k, gpt2 and bytes, cold (empty word cache) and warm
 *   (target ≥ 8 MB/s), with the gpt-tokenizer package as a reference for GPT-2;
 * - decode throughput;
 * - `prepare` end to end (scan, train, encode, write shards) with bpe-8k.
 *
 * Run: `npx tsc -p . && node dist/bench/tokenizer-bench.js [--json]`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { encode as referenceGpt2Encode } from "gpt-tokenizer/encoding/r50k_base";
import { type ByteLevelBpe, WordCounter, bytesTokenizer, gpt2Tokenizer, prepareDataset, resolveSource, trainBpe, tokenizerFromJson } from "../src/data/index.js";

interface EncodeResult {
  tokenizer: string;
  tokens: number;
  coldMBps: number;
  warmMBps: number;
  decodeMBps: number;
  bytesPerToken: number;
}

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const log = (s: string) => {
    if (!json) console.log(s);
  };

  const docs: string[] = [];
  for await (const d of resolveSource("builtin").documents()) docs.push(d.text);
  const bytes = docs.reduce((a, d) => a + Buffer.byteLength(d, "utf8"), 0);
  const mb = bytes / 1e6;
  log(`corpus: builtin, ${docs.length} documents, ${mb.toFixed(2)} MB; ${cpus().length} CPUs, node ${process.version}`);

  // BPE training, 8k vocab.
  let t0 = performance.now();
  const counter = new WordCounter();
  for (const d of docs) counter.add(d);
  const countSeconds = seconds(t0);
  t0 = performance.now();
  const bpe = trainBpe(counter.counts, 8192);
  const mergeSeconds = seconds(t0);
  const trainSeconds = countSeconds + mergeSeconds;
  log(`bpe train 8192: ${trainSeconds.toFixed(2)} s (word count ${countSeconds.toFixed(2)} s over ${counter.counts.size} distinct words, merges ${mergeSeconds.toFixed(2)} s)`);

  // Encode / decode throughput. Cold = a fresh tokenizer (empty word cache).
  const fresh: [string, () => ByteLevelBpe][] = [
    ["bpe-8k", () => tokenizerFromJson(bpe.toJSON())],
    ["gpt2", () => tokenizerFromJson(gpt2Tokenizer().toJSON())],
    ["bytes", () => bytesTokenizer()],
  ];
  const results: EncodeResult[] = [];
  for (const [name, make] of fresh) {
    const tok = make();
    t0 = performance.now();
    let tokens = 0;
    const encoded: number[][] = [];
    for (const d of docs) {
      const ids = tok.encode(d);
      tokens += ids.length;
      encoded.push(ids);
    }
    const cold = mb / seconds(t0);
    t0 = performance.now();
    for (const d of docs) tok.encode(d);
    const warm = mb / seconds(t0);
    t0 = performance.now();
    for (const ids of encoded) tok.decode(ids);
    const dec = mb / seconds(t0);
    results.push({ tokenizer: name, tokens, coldMBps: cold, warmMBps: warm, decodeMBps: dec, bytesPerToken: bytes / tokens });
    log(`encode ${name.padEnd(6)}: ${cold.toFixed(1)} MB/s cold, ${warm.toFixed(1)} MB/s warm; decode ${dec.toFixed(1)} MB/s; ${tokens} tokens (${(bytes / tokens).toFixed(2)} bytes/token)`);
  }
  t0 = performance.now();
  for (const d of docs) referenceGpt2Encode(d);
  const reference = mb / seconds(t0);
  log(`reference gpt-tokenizer r50k_base encode: ${reference.toFixed(1)} MB/s`);

  // prepare end to end.
  const out = mkdtempSync(join(tmpdir(), "tokenizer-bench-"));
  let prepareSeconds: Record<string, number>;
  try {
    const r = await prepareDataset({ sources: "builtin", tokenizer: "bpe", vocabSize: 8192, outDir: out });
    prepareSeconds = r.seconds;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  log(
    `prepare builtin bpe-8k: ${prepareSeconds.total.toFixed(2)} s (scan ${prepareSeconds.scan.toFixed(2)}, tokenizer ${prepareSeconds.tokenizer.toFixed(2)}, encode+write ${prepareSeconds.encode.toFixed(2)})`,
  );
  if (json) {
    console.log(
      JSON.stringify({
        corpusMB: mb,
        cpus: cpus().length,
        bpeTrain8k: { seconds: trainSeconds, countSeconds, mergeSeconds, distinctWords: counter.counts.size },
        encode: results,
        referenceGpt2MBps: reference,
        prepareSeconds,
      }),
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
