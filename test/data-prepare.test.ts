/**
 * `prepare` end to end: shard files and manifest (counts per split and source, dtype, tokenizer hash), the token
 * streams decoding back to the documents separated by end-of-text, uint32 shards for big vocabularies, re-preparing
 * into the same directory, the batch loader (targets = inputs shifted by one, determinism, bit-exact resume,
 * blockSize larger than a split), and the CLI's one-line errors.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import {
  DataError,
  Dataset,
  END_OF_TEXT,
  ShardWriter,
  bytesTokenizer,
  dtypeFor,
  loadTokenizer,
  prepareDataset,
  readShard,
  resolveSource,
  saveTokenizer,
  tokenizerFromJson,
} from "../src/data/index.js";

const dir = mkdtempSync(join(tmpdir(), "data-prepare-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli", "main.js");

/** 40 small JSONL documents and 3 text files: a corpus with two sources. */
function writeCorpus(): void {
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `Document ${i}: the quick brown fox ${"jumps ".repeat(i % 5 + 1)}over the lazy dog ${i * 7}. 😀` }));
  writeFileSync(join(dir, "web.jsonl"), lines.join("\n") + "\n");
  mkdirSync(join(dir, "books"), { recursive: true });
  for (let k = 0; k < 3; k++) {
    writeFileSync(join(dir, "books", `b${k}.txt`), Array.from({ length: 30 }, (_, p) => `Book ${k}, paragraph ${p}. It was a dark and stormy night; 日本語 ${p}.`).join("\n\n"));
  }
}

async function documentsOf(spec: string, docChars: number): Promise<string[]> {
  const out: string[] = [];
  for await (const d of resolveSource(spec, { cwd: dir, docChars }).documents()) out.push(d.text);
  return out;
}

describe("prepare", () => {
  before(writeCorpus);

  test("writes tokenizer.json, manifest.json and shards whose streams decode to the documents", async () => {
    const out = join(dir, "out-bytes");
    const { manifest } = await prepareDataset({ sources: "web=web.jsonl,books", tokenizer: "bytes", outDir: out, valFraction: 0.2, seed: 3, docChars: 500, cwd: dir });
    assert.ok(existsSync(join(out, "tokenizer.json")) && existsSync(join(out, "manifest.json")));
    const onDisk = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    assert.deepEqual(onDisk, manifest);
    assert.equal(manifest.tokenizer.kind, "bytes");
    assert.equal(manifest.tokenizer.hash, bytesTokenizer().hash);
    assert.equal(manifest.dtype, "uint16");
    assert.deepEqual(manifest.sources.map((s) => s.name), ["web", "books"]);
    assert.equal(manifest.sources[1].files, 3);

    const data = Dataset.open(out);
    const tok = data.tokenizer;
    for (let s = 0; s < 2; s++) {
      const src = manifest.sources[s];
      const docs = await documentsOf(s === 0 ? "web.jsonl" : "books", 500);
      assert.equal(src.documents.train + src.documents.val, docs.length);
      assert.ok(src.documents.val >= 1 && src.documents.train >= 1);
      let total = 0;
      for (const split of ["train", "val"] as const) {
        const tokens = data.tokens(split, s);
        assert.equal(tokens.length, src.tokens[split]);
        const fromShards = manifest.shards.filter((x) => x.split === split && x.source === s).reduce((a, x) => a + x.tokens, 0);
        assert.equal(fromShards, tokens.length);
        // documents separated by end-of-text, each one a real document of this source
        const text = tok.decode(tokens);
        const parts = text.split(END_OF_TEXT);
        assert.equal(parts.pop(), "", "the stream ends with end-of-text");
        assert.equal(parts.length, src.documents[split]);
        for (const p of parts) assert.ok(docs.includes(p));
        total += parts.length;
        assert.equal(src.bytes[split], parts.reduce((a, p) => a + Buffer.byteLength(p), 0));
      }
      assert.equal(total, docs.length);
    }
    assert.equal(manifest.tokens.train, manifest.sources[0].tokens.train + manifest.sources[1].tokens.train);
    // default weights: proportional to training tokens
    const t = manifest.sources.map((s) => s.tokens.train);
    assert.ok(Math.abs(manifest.sources[0].weight - t[0] / (t[0] + t[1])) < 1e-12);
    assert.ok(manifest.unigram.trainEntropy > 0 && manifest.unigram.valCrossEntropy! > 0);
  });

  test("trains a BPE tokenizer on the training split only, deterministically", async () => {
    const a = await prepareDataset({ sources: "web.jsonl,books", tokenizer: "bpe", vocabSize: 300, outDir: join(dir, "bpe-a"), cwd: dir, valFraction: 0.1 });
    const b = await prepareDataset({ sources: "web.jsonl,books", tokenizer: "bpe", vocabSize: 300, outDir: join(dir, "bpe-b"), cwd: dir, valFraction: 0.1 });
    assert.equal(a.manifest.tokenizer.hash, b.manifest.tokenizer.hash);
    assert.equal(a.manifest.tokenizer.vocabSize, 300);
    assert.equal(a.manifest.tokenizer.eotId, 299);
    assert.deepEqual(readFileSync(join(dir, "bpe-a", "train-s0-00000.bin")), readFileSync(join(dir, "bpe-b", "train-s0-00000.bin")));
    assert.equal(loadTokenizer(join(dir, "bpe-a", "tokenizer.json")).hash, a.manifest.tokenizer.hash);
    assert.ok(a.manifest.tokens.train < a.manifest.bytes.train, "BPE compresses");
  });

  test("a vocab above 65,536 gets uint32 shards; a given tokenizer.json is copied", async () => {
    assert.equal(dtypeFor(65536), "uint16");
    assert.equal(dtypeFor(65537), "uint32");
    // bytes + an end-of-text id of 70000: a sparse vocabulary of 70,001 ids
    const json = bytesTokenizer().toJSON();
    delete json.model.vocab[END_OF_TEXT];
    json.model.vocab[END_OF_TEXT] = 70000;
    json.added_tokens[0].id = 70000;
    const big = tokenizerFromJson(json);
    assert.equal(big.vocabSize, 70001);
    const tokPath = join(dir, "big-tokenizer.json");
    saveTokenizer(big, tokPath);
    const { manifest } = await prepareDataset({ sources: "web.jsonl", tokenizer: tokPath, outDir: join(dir, "big"), cwd: dir, valFraction: 0.1 });
    assert.equal(manifest.dtype, "uint32");
    const data = Dataset.open(join(dir, "big"));
    const tokens = data.tokens("train", 0);
    assert.ok(tokens instanceof Uint32Array);
    assert.equal(tokens[tokens.length - 1], 70000);
    assert.equal(readFileSync(join(dir, "big", "train-s0-00000.bin")).length, 4 * tokens.length);
  });

  test("shards roll over at shardTokens and re-preparing replaces the old shards", async () => {
    const out = join(dir, "small-shards");
    const first = await prepareDataset({ sources: "books", tokenizer: "bytes", outDir: out, cwd: dir, shardTokens: 1000, valFraction: 0.1, docChars: 500 });
    assert.ok(first.manifest.shards.length > 3);
    for (const s of first.manifest.shards) assert.ok(s.tokens <= 1000 && s.tokens > 0);
    const second = await prepareDataset({ sources: "books", tokenizer: "bytes", outDir: out, cwd: dir, valFraction: 0.1, docChars: 500 });
    const bins = readdirSync(out).filter((f) => f.endsWith(".bin")).sort();
    assert.deepEqual(bins, second.manifest.shards.map((s) => s.file).sort());
    assert.equal(second.manifest.tokens.train, first.manifest.tokens.train);
  });

  test("ShardWriter + readShard round-trip both dtypes", () => {
    for (const dtype of ["uint16", "uint32"] as const) {
      const w = new ShardWriter(dir, "train", 9, dtype, 7);
      const ids = Array.from({ length: 30 }, (_, i) => (dtype === "uint16" ? i * 2000 : i * 150_000) % (dtype === "uint16" ? 65536 : 2 ** 31));
      w.append(ids.slice(0, 11));
      w.append(ids.slice(11));
      const shards = w.close();
      assert.deepEqual(shards.map((s) => s.tokens), [7, 7, 7, 7, 2]);
      const back = shards.flatMap((s) => Array.from(readShard(dir, s, dtype)));
      assert.deepEqual(back, ids);
    }
  });

  test("bad inputs: empty corpus, single document, vocab larger than the corpus, weights count", async () => {
    writeFileSync(join(dir, "blank.txt"), "");
    await assert.rejects(prepareDataset({ sources: "blank.txt", tokenizer: "bytes", outDir: join(dir, "x"), cwd: dir }), /empty corpus: source "blank.txt"/);
    writeFileSync(join(dir, "one.txt"), "just one short document");
    await assert.rejects(prepareDataset({ sources: "one.txt", tokenizer: "bytes", outDir: join(dir, "x"), cwd: dir }), /validation split is empty.*--doc-chars.*--val-fraction 0/);
    await assert.rejects(
      prepareDataset({ sources: "web.jsonl", tokenizer: "bpe", vocabSize: 20000, outDir: join(dir, "x"), cwd: dir }),
      (e: unknown) => e instanceof DataError && /larger than this corpus supports.*--vocab \d+ or less/.test(e.message),
    );
    await assert.rejects(prepareDataset({ sources: "web.jsonl", tokenizer: "bytes", weights: [1, 2], outDir: join(dir, "x"), cwd: dir }), /2 weights for 1 sources/);
    await assert.rejects(prepareDataset({ sources: "web.jsonl", tokenizer: "sentencepiece", outDir: join(dir, "x"), cwd: dir }), /unknown tokenizer "sentencepiece"/);
    const ok = await prepareDataset({ sources: "one.txt", tokenizer: "bytes", outDir: join(dir, "noval"), cwd: dir, valFraction: 0 });
    assert.equal(ok.manifest.tokens.val, 0);
    assert.equal(ok.manifest.unigram.valCrossEntropy, null);
  });
});

describe("batch loader", () => {
  let data: Dataset;
  before(async () => {
    writeCorpus();
    await prepareDataset({ sources: "web=web.jsonl,books", weights: [0.5, 0.5], tokenizer: "bytes", outDir: join(dir, "loader"), cwd: dir, valFraction: 0.2, docChars: 500 });
    data = Dataset.open(join(dir, "loader"));
  });

  test("targets are the inputs shifted by one, taken from one source's token stream", () => {
    const B = 6;
    const T = 32;
    const { inputs, targets } = data.loader({ split: "train", batchSize: B, blockSize: T, seed: 1 }).batch(0);
    assert.equal(inputs.length, B * T);
    assert.equal(targets.length, B * T);
    const streams = [data.tokens("train", 0), data.tokens("train", 1)].map((a) => Array.from(a).join(","));
    for (let r = 0; r < B; r++) {
      for (let t = 0; t + 1 < T; t++) assert.equal(targets[r * T + t], inputs[r * T + t + 1]);
      const window = [...inputs.subarray(r * T, (r + 1) * T), targets[(r + 1) * T - 1]].join(",");
      assert.ok(streams.some((s) => s.includes(window)), `row ${r} is a window of a source stream`);
    }
  });

  test("batch(step) is deterministic; state/restore resumes bit-exactly", () => {
    const opts = { split: "train" as const, batchSize: 4, blockSize: 16, seed: 42 };
    const a = data.loader(opts);
    for (let i = 0; i < 5; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.state()));
    assert.deepEqual(saved, { seed: 42, step: 5 });
    const continued = [a.next(), a.next(), a.next()];
    const b = data.loader({ ...opts, seed: 7 });
    b.restore(saved);
    const resumed = [b.next(), b.next(), b.next()];
    assert.deepEqual(resumed, continued);
    assert.deepEqual(data.loader(opts).batch(6), continued[1]);
    assert.notDeepEqual(data.loader({ ...opts, seed: 43 }).batch(6).inputs, continued[1].inputs);
    assert.notDeepEqual(a.batch(0).inputs, a.batch(1).inputs);
  });

  test("blockSize larger than a split is a one-line DataError naming the fix", () => {
    const valTokens = data.manifest.tokens.val;
    assert.throws(
      () => data.loader({ split: "val", batchSize: 1, blockSize: valTokens }),
      (e: unknown) => e instanceof DataError && /validation split .* has \d+; use a smaller blockSize or re-run prepare with a larger --val-fraction/.test(e.message),
    );
    const trainTokens = data.manifest.sources[0].tokens.train;
    assert.throws(() => data.loader({ split: "train", batchSize: 1, blockSize: trainTokens }), /source "web" has \d+ training tokens, fewer than blockSize \+ 1/);
    assert.throws(() => data.loader({ split: "train", batchSize: 0, blockSize: 4 }), /batch size must be an integer/);
    assert.throws(() => Dataset.open(join(dir, "does-not-exist")), /has no manifest.json; run scaling-lab prepare --out/);
  });
});

describe("CLI", () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, "prepare", ...args], { cwd: dir, encoding: "utf8" });

  test("--json prints one JSON object with per-source epochs; progress goes to stderr", () => {
    writeCorpus();
    const r = run("--source", "web=web.jsonl,books", "--weights", "3,1", "--tokenizer", "bytes", "--out", "cli-out", "--val-fraction", "0.2", "--plan-tokens", "1M", "--json");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    const out = JSON.parse(lines[0]);
    assert.equal(out.sources.length, 2);
    assert.equal(out.sources[0].weight, 0.75);
    assert.ok(Math.abs(out.sources[0].epochs - (0.75 * 1e6) / out.sources[0].tokens.train) < 1e-9);
    assert.match(r.stderr, /prepare: /);
  });

  test("bad input exits 2 with one line naming the fix", () => {
    writeFileSync(join(dir, "latin.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    const cases: [string[], RegExp][] = [
      [["--source", "missing.txt", "--out", "o"], /unknown source "missing.txt"/],
      [["--source", "latin.txt", "--out", "o"], /not UTF-8.*iconv/],
      [["--source", "web.jsonl", "--out", "o", "--text-field", "body"], /has no "body" field.*--text-field text/],
      [["--source", "web.jsonl", "--out", "o", "--vocab", "100"], /from 257/],
      [["--source", "web.jsonl", "--out", "o", "--tokenizer", "gpt2", "--vocab", "100"], /--vocab only applies to --tokenizer bpe/],
      [["--out", "o"], /--source is required/],
    ];
    for (const [args, pattern] of cases) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      const errLines = r.stderr.split("\n").filter((l) => l.startsWith("scaling-lab"));
      assert.equal(errLines.length, 1, r.stderr);
      assert.match(errLines[0], pattern);
      assert.ok(!r.stderr.includes("    at "), "no stack trace");
    }
  });
});
