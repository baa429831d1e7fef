/**
 * Corpus sources: .txt / .jsonl / .parquet files, folders, globs, named sources, the built-in corpora, UTF-8
 * checking across read chunks, long text files cut into documents, the train/validation split, and every bad
 * input (missing file, empty corpus, non-UTF-8, missing field or column, unsupported types).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parquetWriteFile } from "hyparquet-writer";
import { DataError, type Document, assignSplits, builtinFiles, readUtf8Chunks, resolveSource, resolveSources, splitScore } from "../src/data/index.js";
import { expandGlob, globToRegExp, splitSourceList } from "../src/data/glob.js";

const dir = mkdtempSync(join(tmpdir(), "data-sources-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<Document>): Promise<Document[]> {
  const out: Document[] = [];
  for await (const d of it) out.push(d);
  return out;
}

function file(rel: string, content: string | Uint8Array): string {
  const path = join(dir, rel);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, content);
  return path;
}

async function rejectsWith(spec: string, pattern: RegExp, options: Parameters<typeof resolveSource>[1] = {}): Promise<void> {
  await assert.rejects(
    async () => collect(resolveSource(spec, { cwd: dir, ...options }).documents()),
    (e: unknown) => e instanceof DataError && pattern.test(e.message) && !e.message.includes("\n"),
  );
}

describe("file formats", () => {
  test(".txt is one document; .md too; empty files are skipped", async () => {
    file("a.txt", "Hello there.\nSecond line.");
    file("b.md", "# Title\n\nbody");
    file("empty.txt", "");
    assert.deepEqual(await collect(resolveSource("a.txt", { cwd: dir }).documents()), [{ id: "a.txt", text: "Hello there.\nSecond line." }]);
    assert.equal((await collect(resolveSource("b.md", { cwd: dir }).documents()))[0].text, "# Title\n\nbody");
    assert.equal((await collect(resolveSource("empty.txt", { cwd: dir }).documents())).length, 0);
  });

  test("a UTF-8 BOM is dropped; multi-byte characters straddling the 1 MiB read boundary survive", async () => {
    file("bom.txt", "\uFEFFtext");
    assert.equal((await collect(resolveSource("bom.txt", { cwd: dir }).documents()))[0].text, "text");
    const text = "x".repeat((1 << 20) - 2) + "😀日本" + "y".repeat(1000);
    file("big.txt", text);
    const docs = await collect(resolveSource("big.txt", { cwd: dir, docChars: 0 }).documents());
    assert.equal(docs.length, 1);
    assert.equal(docs[0].text, text);
  });

  test("long text files are cut into documents at paragraph breaks, losing nothing", async () => {
    const paragraphs = Array.from({ length: 60 }, (_, i) => `Paragraph ${i}. ` + "word ".repeat(30 + (i % 7) * 10));
    const text = paragraphs.join("\n\n");
    file("book.txt", text);
    const docs = await collect(resolveSource("book.txt", { cwd: dir, docChars: 2000 }).documents());
    assert.ok(docs.length >= text.length / 2000, `${docs.length} documents`);
    assert.equal(docs.map((d) => d.text).join(""), text);
    for (const d of docs.slice(0, -1)) {
      assert.ok(d.text.length <= 2000);
      assert.ok(d.text.endsWith("\n\n"), "cut after a blank line");
    }
    assert.deepEqual(docs.map((d) => d.id).slice(0, 2), ["book.txt#0", "book.txt#1"]);
  });

  test(".jsonl reads the text field (configurable), skips blank lines and nulls", async () => {
    file("d.jsonl", '{"text":"one"}\n\n{"text":"two 😀","meta":1}\n{"text":null}\n{"text":"three"}');
    const docs = await collect(resolveSource("d.jsonl", { cwd: dir }).documents());
    assert.deepEqual(docs.map((d) => d.text), ["one", "two 😀", "three"]);
    assert.equal(docs[1].id, "d.jsonl:3");
    file("e.jsonl", '{"body":"alpha"}\n{"body":"beta"}\n');
    assert.deepEqual((await collect(resolveSource("e.jsonl", { cwd: dir, textField: "body" }).documents())).map((d) => d.text), ["alpha", "beta"]);
  });

  test(".parquet reads the text column over several row groups", async () => {
    const texts = ["first row", "second 日本", null, "fourth", "fifth"];
    parquetWriteFile({
      filename: join(dir, "p.parquet"),
      columnData: [
        { name: "id", data: [1, 2, 3, 4, 5], type: "INT32" },
        { name: "content", data: texts, type: "STRING" },
      ],
      rowGroupSize: 2,
    });
    const docs = await collect(resolveSource("p.parquet", { cwd: dir, textField: "content" }).documents());
    assert.deepEqual(docs.map((d) => d.text), ["first row", "second 日本", "fourth", "fifth"]);
    assert.equal(docs[2].id, "p.parquet[3]");
    await rejectsWith("p.parquet", /has no column "text" \(columns: id, content\); pass --text-field content/);
    await rejectsWith("p.parquet", /column "id" is not text.*--text-field/, { textField: "id" });
  });

  test("a Parquet column with invalid UTF-8 is rejected", async () => {
    parquetWriteFile({
      filename: join(dir, "bin.parquet"),
      columnData: [{ name: "text", data: [new Uint8Array([0x61, 0xff, 0x62])], type: "BYTE_ARRAY" }],
    });
    await rejectsWith("bin.parquet", /row 0 column "text" is not UTF-8/);
  });
});

describe("folders, globs, names, builtin", () => {
  test("folders are read recursively in sorted order, skipping hidden and unsupported files", async () => {
    file("corpus/b.txt", "bee");
    file("corpus/a.txt", "ay");
    file("corpus/sub/c.jsonl", '{"text":"sea"}');
    file("corpus/.hidden.txt", "hidden");
    file("corpus/notes.csv", "x,y");
    const src = resolveSource("corpus", { cwd: dir });
    assert.deepEqual((await collect(src.documents())).map((d) => d.text), ["ay", "bee", "sea"]);
    assert.equal(src.files.length, 3);
  });

  test("globs match with *, ** and {a,b}; lists with braces split correctly", async () => {
    assert.deepEqual(
      expandGlob("corpus/**/*.{txt,jsonl}", dir).map((f) => f.slice(dir.length + 1)),
      ["corpus/a.txt", "corpus/b.txt", "corpus/sub/c.jsonl"],
    );
    assert.deepEqual(expandGlob("corpus/*.txt", dir).length, 2);
    assert.ok(globToRegExp("a/**/b?.txt").test("a/x/y/b1.txt"));
    assert.ok(globToRegExp("a/**/b?.txt").test("a/b1.txt"));
    assert.ok(!globToRegExp("a/*.txt").test("a/x/b.txt"));
    assert.deepEqual(splitSourceList("a.txt, data/{x,y}/*.jsonl,builtin"), ["a.txt", "data/{x,y}/*.jsonl", "builtin"]);
    assert.deepEqual((await collect(resolveSource("corpus/*.txt", { cwd: dir }).documents())).map((d) => d.text), ["ay", "bee"]);
  });

  test("NAME=PATH names a source", () => {
    const [s] = resolveSources("books=corpus", { cwd: dir });
    assert.equal(s.name, "books");
    assert.equal(s.spec, "books=corpus");
  });

  test("builtin reads the offline SOTU addresses and Moby Dick chapters from node_modules", async () => {
    assert.equal(builtinFiles("builtin:sotu").length, 233);
    assert.equal(builtinFiles("builtin:moby-dick").length, 139);
    const moby = await collect(resolveSource("builtin:moby-dick").documents());
    assert.equal(moby.length, 139);
    assert.ok(moby[3].text.startsWith("CHAPTER 1. Loomings.\n\nCall me Ishmael."));
    const all = resolveSource("builtin");
    let chars = 0;
    let n = 0;
    for await (const d of all.documents()) {
      chars += d.text.length;
      n++;
    }
    assert.equal(n, 372);
    assert.ok(chars > 11_000_000 && chars < 13_000_000, `${chars} characters`);
  });
});

describe("bad inputs", () => {
  test("unknown sources and unsupported files", async () => {
    assert.throws(() => resolveSource("nope.txt", { cwd: dir }), /unknown source "nope.txt": no such file or folder; use builtin/);
    assert.throws(() => resolveSource("builtin:wiki", { cwd: dir }), /unknown source "builtin:wiki"/);
    assert.throws(() => resolveSource("zzz/*.txt", { cwd: dir }), /no .txt\/.jsonl\/.parquet files match this glob/);
    file("notes.csv", "a,b");
    assert.throws(() => resolveSource("notes.csv", { cwd: dir }), /unsupported file type ".csv".*use .txt/);
    mkdirSync(join(dir, "emptydir"), { recursive: true });
    assert.throws(() => resolveSource("emptydir", { cwd: dir }), /folder emptydir has no text files/);
    assert.throws(() => resolveSources("", { cwd: dir }), /no source given/);
  });

  test("non-UTF-8 files name the offset of the first bad byte, even past the first read chunk", async () => {
    file("latin1.txt", Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x61]));
    await rejectsWith("latin1.txt", /latin1.txt is not UTF-8 \(byte 0xe9 at offset 3\); convert it first, e.g. iconv/);
    const late = Buffer.concat([Buffer.alloc((1 << 20) + 5, 0x61), Buffer.from([0xc3, 0x28])]);
    file("late.txt", late);
    await rejectsWith("late.txt", new RegExp(`offset ${(1 << 20) + 5}\\)`));
    file("trunc.txt", Buffer.from([0x61, 0xf0, 0x9f, 0x98]));
    await rejectsWith("trunc.txt", /a truncated sequence at offset 1/);
    file("surrogate.txt", Buffer.from([0xed, 0xa0, 0x80]));
    await rejectsWith("surrogate.txt", /is not UTF-8/);
    file("bad.jsonl", Buffer.concat([Buffer.from('{"text":"'), Buffer.from([0xff]), Buffer.from('"}\n')]));
    await rejectsWith("bad.jsonl", /bad.jsonl is not UTF-8/);
  });

  test("readUtf8Chunks yields the exact text of a valid file", async () => {
    const text = "αβγ😀".repeat(300_000);
    const path = file("greek.txt", text);
    let got = "";
    for await (const chunk of readUtf8Chunks(path)) got += chunk;
    assert.equal(got, text);
  });

  test("JSONL: missing field, invalid JSON, non-object, non-string field", async () => {
    file("f1.jsonl", '{"text":"ok"}\n{"content":"x","id":3}\n');
    await rejectsWith("f1.jsonl", /f1.jsonl:2 has no "text" field \(fields: content, id\); pass --text-field content/);
    file("f2.jsonl", '{"text":"ok"}\n{"text": oops}\n');
    await rejectsWith("f2.jsonl", /f2.jsonl:2 is not valid JSON/);
    file("f3.jsonl", '["text"]\n');
    await rejectsWith("f3.jsonl", /f3.jsonl:1 is not a JSON object/);
    file("f4.jsonl", '{"text": 42}\n');
    await rejectsWith("f4.jsonl", /field "text" is a number, not text/);
  });
});

describe("train/validation split", () => {
  test("scores depend only on (seed, text)", () => {
    assert.equal(splitScore("some document", 0), splitScore("some document", 0));
    assert.notEqual(splitScore("some document", 0), splitScore("some document", 1));
    const s = splitScore("x", 3);
    assert.ok(s >= 0 && s < 1);
  });

  test("validation gets about valFraction of the text, as whole documents, deterministically", () => {
    const n = 2000;
    const scores = Array.from({ length: n }, (_, i) => splitScore(`doc ${i}`, 5));
    const sizes = Array.from({ length: n }, (_, i) => 100 + ((i * 37) % 400));
    const isVal = assignSplits(scores, sizes, 0.05);
    assert.deepEqual(isVal, assignSplits(scores, sizes, 0.05));
    const total = sizes.reduce((a, b) => a + b, 0);
    const val = sizes.reduce((a, b, i) => a + (isVal[i] ? b : 0), 0);
    assert.ok(Math.abs(val / total - 0.05) < 0.002, `val share ${val / total}`);
    // the val documents are the lowest scores
    const maxVal = Math.max(...scores.filter((_, i) => isVal[i]));
    const minTrain = Math.min(...scores.filter((_, i) => !isVal[i]));
    assert.ok(maxVal < minTrain);
  });

  test("both splits get a document when there are at least two; one document always trains", () => {
    assert.deepEqual([...assignSplits([0.9, 0.5], [10, 10], 0.01)], [0, 1]);
    assert.deepEqual([...assignSplits([0.9, 0.5], [10, 10], 0.99)], [0, 1]); // the highest score stays in training
    assert.deepEqual([...assignSplits([0.001], [10], 0.5)], [0]);
    assert.deepEqual([...assignSplits([0.1, 0.2, 0.3], [1, 1, 1], 0)], [0, 0, 0]);
  });
});
