/**
 * Task generators, prompts and data paths of the few-shot evals, without a model: GPT-3's data format byte for
 * byte, operand ranges, the evaluation/training partition (disjoint demonstrations, a stream without eval
 * items), word scrambles, JSONL task files, k-shot truncation, the `arithmetic:` prepare source, and the
 * contamination audit on prepared shards with planted items.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bytesTokenizer, prepareDataset, resolveSource } from "../src/data/index.js";
import {
  ARITHMETIC_TASKS,
  EvalError,
  PatternMatcher,
  arithmeticDocuments,
  arithmeticSpec,
  arithmeticTask,
  arithmeticTokens,
  auditContamination,
  binaryProblem,
  chooseDemos,
  compositeProblem,
  encodeExample,
  fileTask,
  mixArithmetic,
  onEvalSide,
  parseArithmeticItem,
  promptText,
  registerArithmeticSource,
  resolveTask,
  sampleProblems,
  scramble,
  wordTask,
} from "../src/evals/index.js";
import { Rng } from "../src/util/rng.js";
import { runCli } from "./helpers.js";

const tmp = () => mkdtempSync(join(tmpdir(), "sl-evals-"));

test("arithmetic items match GPT-3's released data byte for byte", () => {
  // lines copied from github.com/openai/gpt-3/tree/master/data
  const cases: [ReturnType<typeof binaryProblem>, string][] = [
    [binaryProblem("minus", 33, 88), `{"context": "\\n\\nQ: What is 33 minus 88?\\n\\nA:", "completion": " -55"}`], // two_digit_subtraction
    [binaryProblem("minus", 55, 0), `{"context": "\\n\\nQ: What is 55 minus 0?\\n\\nA:", "completion": " 55"}`],
    [binaryProblem("times", 95, 45), `{"context": "\\n\\nQ: What is 95 times 45?\\n\\nA:", "completion": " 4275"}`], // two_digit_multiplication
    [binaryProblem("times", 25, 0), `{"context": "\\n\\nQ: What is 25 times 0?\\n\\nA:", "completion": " 0"}`],
    [compositeProblem(9, "+", 8, "*", 2), `{"context": "\\n\\nQ: What is (9 + 8) * 2?\\n\\nA:", "completion": " 34"}`], // single_digit_three_ops
    [compositeProblem(4, "-", 7, "-", 3), `{"context": "\\n\\nQ: What is (4 - 7) - 3?\\n\\nA:", "completion": " -6"}`],
    [compositeProblem(1, "-", 9, "*", 5), `{"context": "\\n\\nQ: What is (1 - 9) * 5?\\n\\nA:", "completion": " -40"}`],
  ];
  for (const [p, line] of cases) {
    const ref = JSON.parse(line) as { context: string; completion: string };
    assert.equal(p.item.context, ref.context);
    assert.equal(p.item.completion, ref.completion);
    assert.deepEqual(parseArithmeticItem(ref), p, "the released lines parse back to the same problem");
  }
  const add = binaryProblem("plus", 98, 45).item;
  assert.equal(add.context, "\n\nQ: What is 98 plus 45?\n\nA:");
  assert.equal(add.completion, " 143");
  assert.equal(Buffer.from(add.context + add.completion).toString("hex"), Buffer.from("\n\nQ: What is 98 plus 45?\n\nA: 143").toString("hex"));
});

test("operands lie in [0, 10^k) (1DC: digits 1-9) and answers are right", () => {
  for (const spec of ARITHMETIC_TASKS) {
    const items = arithmeticTask(spec).split(300, 5, 0).test;
    assert.equal(items.length, 300);
    const seen = new Set<number>();
    for (const it of items) {
      const p = parseArithmeticItem(it);
      assert.ok(p, `${spec.name}: ${JSON.stringify(it)} parses`);
      for (const x of p.operands) {
        if (spec.op === "composite") assert.ok(x >= 1 && x <= 9);
        else assert.ok(Number.isInteger(x) && x >= 0 && x < 10 ** spec.digits, `${spec.name} operand ${x}`);
        seen.add(x);
      }
      const [a, b, c] = p.operands;
      if (spec.op === "plus") assert.equal(p.answer, a + b);
      if (spec.op === "minus") assert.equal(p.answer, a - b);
      if (spec.op === "times") assert.equal(p.answer, a * b);
      if (spec.op === "composite") assert.equal(p.answer, eval(p.expression));
      void c;
    }
    // the draw spans the range: some operand has the task's full digit count, and small ones occur too
    if (spec.op !== "composite") {
      assert.ok([...seen].some((x) => x >= 10 ** (spec.digits - 1)), `${spec.name} reaches ${spec.digits} digits`);
      assert.ok([...seen].some((x) => x < 10 ** spec.digits / 2), `${spec.name} draws small operands`);
    }
  }
});

test("test items are distinct, from the evaluation side, reproducible; demonstrations never equal a test item", () => {
  const task = resolveTask("arithmetic-2da");
  const a = task.split(2000, 11, 1000);
  const b = task.split(2000, 11, 1000);
  assert.deepEqual(a, b, "same seed, same items");
  assert.notDeepEqual(task.split(2000, 12, 0).test, a.test, "another seed, other items");
  const keys = a.test.map((it) => parseArithmeticItem(it)!.key);
  assert.equal(new Set(keys).size, 2000);
  assert.ok(keys.every((k) => onEvalSide(k)));
  const testContexts = new Set(a.test.map((it) => it.context));
  assert.equal(a.pool.length, 1000);
  assert.ok(a.pool.every((it) => !testContexts.has(it.context) && !onEvalSide(parseArithmeticItem(it)!.key)));
  // the partition is about the operation and operands, not the task: a 3D+ pool never holds a 2D+ test problem
  const pool3 = resolveTask("arithmetic-3da").split(10, 1, 5000).pool;
  assert.ok(pool3.every((it) => !testContexts.has(it.context)));
  // small spaces are exhausted exactly, then refuse with a one-line error
  const evalSide = sampleProblems(arithmeticSpec("arithmetic-2da")!, 1, "eval", 0);
  assert.equal(evalSide.length, 1);
  assert.throws(() => task.split(9000, 1, 0), (e: Error) => e instanceof EvalError && /only \d+ distinct evaluation problems; use --n \d+/.test(e.message));
});

test("word scrambles follow GPT-3's definitions and the prompt reads like figure G.19", () => {
  const rng = new Rng(3);
  for (let i = 0; i < 50; i++) {
    const word = ["inevitably", "corruption", "opponent", "succession", "objects", "casino"][i % 6];
    const cl = scramble("cycle-letters", word, rng);
    assert.notEqual(cl, word);
    assert.ok((cl + cl).includes(word), `${cl} is a rotation of ${word}`);
    const a1 = scramble("anagrams-1", word, rng);
    assert.ok(a1 !== word && a1[0] === word[0] && a1.at(-1) === word.at(-1));
    assert.equal([...a1].sort().join(""), [...word].sort().join(""));
    const a2 = scramble("anagrams-2", word, rng);
    assert.ok(a2 !== word && a2.slice(0, 2) === word.slice(0, 2) && a2.slice(-2) === word.slice(-2));
    assert.equal([...a2].sort().join(""), [...word].sort().join(""));
    const ri = scramble("random-insertion", word, rng);
    assert.equal(ri.length, 2 * word.length - 1);
    assert.equal([...ri].filter((_, j) => j % 2 === 0).join(""), word);
    assert.ok([...ri].filter((_, j) => j % 2 === 1).every((c) => /[^a-z]/.test(c)));
    assert.equal(scramble("reversed-words", word, rng), [...word].reverse().join(""));
  }
  const words = ["sticks", "casino", "froggy", "simple", "biggest", "roasted", "palace", "objects", "defeat", "reciprocal"];
  const task = wordTask("reversed-words", words);
  const { test: items, pool } = task.split(3, 1, 4);
  const trainSide = words.filter((w) => !onEvalSide(`word:${w}`)).length;
  assert.ok(trainSide > 0 && trainSide < words.length, "the fixed partition puts some words on each side");
  assert.equal(items.length, 3);
  assert.equal(pool.length, Math.min(4, trainSide));
  for (const it of [...items, ...pool]) {
    assert.match(it.context, /^[a-z]+ =$/);
    assert.equal(it.completion, " " + [...it.context.slice(0, -2)].reverse().join(""));
  }
  assert.ok(items.every((t) => !pool.some((p) => p.completion === t.completion)), "pool words are not test words");
  assert.equal(
    promptText(task, [{ context: "stcejbo =", completion: " objects" }, { context: "ecalap =", completion: " palace" }], { context: "onisac =", completion: " casino" }),
    "Please unscramble the letters into a word, and write that word:\nstcejbo = objects\necalap = palace\nonisac =",
  );
  assert.throws(() => task.split(100, 1, 0), (e: Error) => e instanceof EvalError && /use --n \d+ or less/.test(e.message));
  // the default word list comes from the built-in corpus
  const corpusTask = resolveTask("anagrams_1");
  assert.equal(corpusTask.name, "anagrams-1");
  const { test: ci } = corpusTask.split(20, 1, 0);
  assert.ok(ci.every((it) => /^ [a-z]{5,14}$/.test(it.completion)));
});

test("k-shot prompts: demonstrations from the pool, oldest dropped first to fit, clear errors when nothing fits", () => {
  const tok = bytesTokenizer();
  const task = resolveTask("arithmetic-2da");
  const { test: items, pool } = task.split(5, 2, 50);
  const demos = chooseDemos(pool, 8, 2, 0, task.name);
  assert.equal(new Set(demos.map((d) => d.context)).size, 8);
  assert.deepEqual(chooseDemos(pool, 8, 2, 0), demos, "deterministic per (seed, index)");
  assert.notDeepEqual(chooseDemos(pool, 8, 2, 1), demos);
  const item = items[0];
  const full = encodeExample(task, tok, item, demos, { maxTokens: 10000 });
  assert.equal(full.shotsUsed, 8);
  assert.equal(full.tokens[0], tok.eotId);
  assert.equal(tok.decode(full.tokens.slice(1)), promptText(task, demos, item) + item.completion);
  assert.equal(tok.decode(full.tokens.slice(full.completionStart)), item.completion);
  // room for the item and exactly three demonstrations: the three newest are kept, in order
  const need = (k: number) => 1 + tok.encode(promptText(task, demos.slice(8 - k), item)).length + tok.encode(item.completion).length;
  const cut = encodeExample(task, tok, item, demos, { maxTokens: need(3) });
  assert.equal(cut.shotsUsed, 3);
  assert.equal(tok.decode(cut.tokens.slice(1, cut.completionStart)), promptText(task, demos.slice(5), item));
  for (let k = 1; k <= 8; k++) {
    assert.equal(encodeExample(task, tok, item, demos, { maxTokens: need(k) }).shotsUsed, k, `exactly ${k} fit`);
    if (k < 8) assert.equal(encodeExample(task, tok, item, demos, { maxTokens: need(k + 1) - 1 }).shotsUsed, k, `one token short of ${k + 1}`);
  }
  assert.throws(() => encodeExample(task, tok, item, demos, { maxTokens: need(0) }), /--shots 8 does not fit .* not even one demonstration fits; use --shots 0/);
  assert.throws(() => encodeExample(task, tok, item, [], { maxTokens: need(0) - 1 }), /needs \d+ tokens even with no demonstrations.*larger blockSize/);
  assert.throws(() => chooseDemos(pool.slice(0, 3), 4, 1, 0, "t"), /fewer than --shots 4; use --shots 3 or less/);
});

test("JSONL task files: GPT-3's format loads, bad files give one-line errors", () => {
  const dir = tmp();
  try {
    const path = join(dir, "two_digit_subtraction.jsonl");
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify(binaryProblem("minus", i, 2 * i).item));
    writeFileSync(path, lines.join("\n") + "\n");
    const task = resolveTask(path);
    assert.equal(task.name, "two_digit_subtraction");
    assert.equal(task.separator, "", "contexts start with \\n\\n, so examples are joined directly");
    const { test: items, pool } = task.split(100, 1, 8);
    assert.equal(pool.length, 8);
    assert.equal(items.length, 32, "at most the items left after the pool");
    assert.ok(items.every((t) => !pool.some((p) => p.context === t.context)));
    assert.deepEqual(task.patterns(items[0]).length, 3, "arithmetic items in a file get GPT-3's patterns");
    const plain = join(dir, "plain.jsonl");
    writeFileSync(plain, `{"context": "Capital of France:", "completion": " Paris"}\n{"context": "Capital of Italy:", "completion": " Rome"}\n`);
    assert.equal(fileTask(plain).separator, "\n\n");
    const cases: [string, RegExp][] = [
      ["", /has no items; each line must be \{"context"/],
      ["\n  \n", /has no items/],
      ["{oops\n", /:1 is not valid JSON/],
      [`{"context": "a"}\n`, /:1 lacks string fields "context" and "completion"/],
      [`{"context": "a", "completion": ""}\n`, /:1 has an empty completion/],
    ];
    for (const [text, re] of cases) {
      const p = join(dir, "bad.jsonl");
      writeFileSync(p, text);
      assert.throws(() => resolveTask(p), (e: Error) => e instanceof EvalError && re.test(e.message) && !e.message.includes("\n"));
    }
    assert.throws(() => resolveTask(join(dir, "missing.jsonl")), /cannot read task file .*missing.jsonl \(ENOENT\)/);
    assert.throws(() => resolveTask("arithmetic-9da"), /unknown task "arithmetic-9da"; use one of arithmetic-2da/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the arithmetic stream never contains an evaluation item and mixes in at the asked fraction", async () => {
  const docs = [...arithmeticDocuments({ tasks: ["2da", "arithmetic-1dc"], problems: 4000, seed: 9 })];
  assert.equal(docs.length, 250);
  const text = docs.map((d) => d.text).join("");
  const found = [...text.matchAll(/Q: What is (.+?)\?\n\nA: (-?\d+)/g)];
  assert.equal(found.length, 4000);
  for (const m of found) {
    const p = parseArithmeticItem({ context: `\n\nQ: What is ${m[1]}?\n\nA:`, completion: ` ${m[2]}` });
    assert.ok(p && !onEvalSide(p.key), `${m[1]} is a training-side problem with the right answer`);
  }
  const evalItems = [...resolveTask("arithmetic-2da").split(2000, 1234, 0).test, ...resolveTask("arithmetic-1dc").split(2000, 1234, 0).test];
  assert.ok(evalItems.every((it) => !text.includes(it.context + it.completion)));

  const tok = bytesTokenizer();
  const base = Int32Array.from({ length: 60000 }, (_, i) => (i % 500 === 499 ? tok.eotId : 200 + (i % 26))); // bytes no arithmetic text uses
  const mixed = mixArithmetic(base, tok, { tasks: ["2da"], fraction: 0.25, seed: 1 });
  const extra = mixed.length - base.length;
  assert.ok(Math.abs(extra / mixed.length - 0.25) < 0.02, `arithmetic share ${(extra / mixed.length).toFixed(3)}`);
  assert.deepEqual(mixed.filter((x) => x >= 200 && x < 226), base.filter((x) => x >= 200 && x < 226), "base tokens kept in order");
  assert.ok(mixed.slice(0, 499).every((x) => x >= 200), "arithmetic goes in at document boundaries");
  assert.equal(arithmeticTokens(tok, { tasks: ["2da"], problems: 16 }).filter((x) => x === tok.eotId).length, 1);

  // as a prepare source: registered explicitly, never by importing evals/
  assert.throws(() => resolveSource("arithmetic:2da+3ds:64"), /unknown source "arithmetic:2da\+3ds:64"/);
  registerArithmeticSource();
  const src = resolveSource("arithmetic:2da+3ds:64");
  const srcDocs = [];
  for await (const d of src.documents()) srcDocs.push(d);
  assert.equal(srcDocs.length, 4);
  assert.throws(() => resolveSource("arithmetic:7dz"), (e: Error) => e.name === "DataError" && /unknown arithmetic task "7dz"/.test(e.message));
  assert.throws(() => resolveSource("arithmetic:2da:lots"), /bad problem count "lots"/);
});

test("`scaling-lab prepare` resolves an arithmetic: source (the public path registers it)", () => {
  const out = join(tmp(), "data");
  const r = runCli(["prepare", "--source", "arithmetic:2da+3ds:64", "--tokenizer", "bytes", "--val-fraction", "0", "--out", out, "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { documents: { train: number }; sources: { name: string; spec: string }[] };
  assert.equal(result.sources[0].spec, "arithmetic:2da+3ds:64");
  assert.equal(result.documents.train, 4, "64 problems, 16 to a document");
});

test("pattern matcher finds every occurrence at word boundaries, across chunk edges", () => {
  const patterns = ["48 plus 76", "8 plus 7", "abc", "bc", "What is 48 plus 76?\n\nA: 124"];
  const text = "x 48 plus 76 y 148 plus 76 48 plus 761 (48 plus 76) abc abcd zabc bc\n\nQ: What is 48 plus 76?\n\nA: 124\n";
  const naive = patterns.map((p) => {
    let n = 0;
    for (let i = text.indexOf(p); i >= 0; i = text.indexOf(p, i + 1)) {
      const w = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c);
      if (w(p[0]) && w(text[i - 1])) continue;
      if (w(p.at(-1)) && w(text[i + p.length])) continue;
      n++;
    }
    return n;
  });
  assert.deepEqual(naive, [3, 0, 1, 1, 1]);
  for (const size of [1, 2, 3, 7, 1000]) {
    const m = new PatternMatcher(patterns);
    for (let i = 0; i < text.length; i += size) m.feed(text.slice(i, i + size));
    m.finish();
    assert.deepEqual([...m.counts], naive, `chunks of ${size}`);
  }
});

test("contamination audit finds planted evaluation items in prepared shards", async () => {
  const dir = tmp();
  try {
    const task = resolveTask("arithmetic-2da");
    const items = task.split(50, 1234, 0).test;
    const p = (i: number) => parseArithmeticItem(items[i])!;
    const [a0, b0] = p(0).operands;
    const [a1, b1] = p(1).operands;
    const [a2, b2] = p(2).operands;
    const corpus = join(dir, "corpus.txt");
    writeFileSync(
      corpus,
      `The ledger said ${a0} plus ${b0} and nothing else.\n\nA table: ${a1} + ${b1} = ${a1 + b1}.\n\n` +
        `Not a match: 1${a2} plus ${b2}0 and ${a2} plus ${b2}7.\n\n` + "Filler text about whales. ".repeat(400),
    );
    await prepareDataset({ sources: [corpus], tokenizer: "bytes", outDir: join(dir, "data"), valFraction: 0, docChars: 0 });
    const r = auditContamination(join(dir, "data"), task, items);
    assert.equal(r.n, 50);
    assert.equal(r.itemsFound, 2);
    assert.equal(r.fraction, 0.04);
    assert.deepEqual(r.examples.map((e) => e.pattern).sort(), [`${a0} plus ${b0}`, `${a1} + ${b1} =`].sort());
    assert.ok(r.tokens > 10000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
