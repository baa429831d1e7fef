/**
 * The emergence study end to end on a tiny config through the CLI (`demo --study emergence --json`): the JSON
 * contract, a contamination audit that finds no evaluation item in the training data, metrics that hang
 * together, the report's study charts, a re-run that trains and evaluates nothing again, and one-line errors for
 * bad input (an empty arithmetic fraction, shots that do not fit, a tokenizer that merges digits, a task that is
 * not arithmetic).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gpt2Tokenizer, saveTokenizer } from "../src/data/index.js";
import { openLab } from "../src/store/index.js";
import { cliPath } from "../src/sweep/executor.js";
import { Rng } from "../src/util/rng.js";

let work = "";
let english = "";
let ladder = "";

before(() => {
  work = mkdtempSync(join(tmpdir(), "sl-emergence-"));
  english = join(work, "english");
  mkdirSync(english);
  const rng = new Rng(2);
  const words = "the whale and a ship sailed on the sea while the captain said that every man should watch".split(" ");
  for (let f = 0; f < 8; f++) {
    writeFileSync(join(english, `doc${f}.txt`), Array.from({ length: 2500 }, () => words[rng.int(words.length)]).join(" ") + ".\n");
  }
  ladder = join(work, "ladder.json");
  writeFileSync(ladder, JSON.stringify({
    blockSize: 64, batchTokens: 512,
    sizes: [
      { name: "u-1", nLayer: 1, nHead: 1, nEmbd: 8 },
      { name: "u-2", nLayer: 1, nHead: 2, nEmbd: 16 },
      { name: "u-3", nLayer: 2, nHead: 2, nEmbd: 24 },
    ],
  }));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function study(lab: string, extra: string[] = []) {
  const args = [
    cliPath(), "demo", "--study", "emergence", "--lab", lab, "--english", english, "--problems", "3000", "--ladder", ladder,
    "--tokens", "10240", "--vocab", "300", "--n", "60", "--shots", "0,1", "--json", ...extra,
  ];
  return spawnSync(process.execPath, args, { encoding: "utf8", timeout: 300000 });
}

test("demo --study emergence on a tiny config: contract, contamination, metrics, report, and a re-run that redoes nothing", () => {
  const lab = join(work, "lab");
  const r = study(lab);
  assert.equal(r.status, 0, r.stderr);
  const last = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(last.sizes, 3);
  for (const k of ["exactMatch", "answerLogLikelihood", "digitAccuracy", "sampledPassRate", "zeroShot", "N", "C"]) {
    assert.ok(Array.isArray(last[k]) && last[k].length === 3, k);
  }
  assert.equal(last.n, 60);
  assert.equal(typeof last.wallSeconds, "number");
  assert.ok(last.N[0] < last.N[1] && last.N[1] < last.N[2], "smallest size first");
  assert.equal(last.fewShot, 1);
  assert.deepEqual(last.contamination.map((c: { itemsFound: number }) => c.itemsFound), [0], "no evaluation item in the training data");
  for (let i = 0; i < 3; i++) {
    const [lo, hi] = last.exactInterval[i];
    assert.ok(lo <= last.exactMatch[i] && last.exactMatch[i] <= hi);
    assert.ok(last.answerLogLikelihood[i] < 0 && last.digitAccuracy[i] >= last.exactMatch[i]);
    assert.ok(last.sampledPassRate[i] > 0 && last.sampledPassRate[i] < 1, "sampling resolves what 60 items cannot");
  }
  assert.ok(last.iclScore.every((s: number | null) => typeof s === "number"));
  for (const f of ["emergence.json", "emergence.txt", "index.html", "emergence-exact-vs-smooth.svg", "emergence-resolved.svg", "accuracy-vs-shots.svg", "icl-curves.svg", "icl-score.png"]) {
    assert.ok(existsSync(join(lab, "report", "emergence", f)), f);
  }
  const store = openLab(lab, { readonly: true });
  const evals = store.listEvals({ sweep: "emergence" });
  store.close();
  assert.equal(evals.filter((e) => e.task === "arithmetic-2da").length, 3 * 2, "one row per (size, shots)");
  const again = study(lab);
  assert.equal(again.status, 0, again.stderr);
  const second = JSON.parse(again.stdout.trim().split("\n").pop()!);
  assert.equal(second.trainSeconds, last.trainSeconds, "no run trained again");
  assert.deepEqual(second.exactMatch, last.exactMatch);
  assert.deepEqual(second.sampledPassRate, last.sampledPassRate);
  assert.doesNotMatch(again.stderr, /2da \d-shot: exact/, "no evaluation redone");
});

function assertOneLine(r: ReturnType<typeof study>, pattern: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines[lines.length - 1], pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test("bad study input: one line naming the fix", () => {
  const lab = join(work, "lab-bad");
  assertOneLine(study(lab, ["--arithmetic-fraction", "0"]), /^scaling-lab demo: an arithmetic fraction of 0 leaves .* e\.g\. --arithmetic-fraction 0\.5$/);
  assertOneLine(study(lab, ["--tasks", "cycle-letters"]), /unknown arithmetic task "cycle-letters".*2da/);
  assertOneLine(study(lab, ["--shots", "0,5"]), /--shots 5 does not fit arithmetic-2da in the 64-token context \(([1-4]) demonstrations fit\); use at most \1 shots/);
  const gpt2 = join(work, "gpt2-tokenizer.json");
  saveTokenizer(gpt2Tokenizer(), gpt2);
  assertOneLine(study(lab, ["--tokenizer", gpt2]), /the tokenizer writes arithmetic-2da's answer .* digit token\(s\) for \d digits; .*drop --tokenizer/);
  assertOneLine(study(lab, ["--study", "nope"]), /unknown study "nope"/);
  assert.ok(!existsSync(join(lab, "lab.sqlite")) || openLab(lab, { readonly: true }).listRuns().every((r) => r.status === "planned"), "nothing trained");
});
