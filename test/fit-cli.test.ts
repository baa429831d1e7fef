/** CSV parsing, column mapping, and the `scaling-lab fit` command: contract output and one-line errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { assertOneLineError, runCli } from "./helpers.js";
import { FitError, chinchillaLoss, parseCsv, pointsFromCsv } from "../src/fit/index.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "scaling-lab-fit-"));

function writeCsv(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

test("parseCsv handles quotes, doubled quotes, embedded commas/newlines, CRLF and a BOM", () => {
  const t = parseCsv('\ufeffname,"Model Size",note\r\n"a, b",1e9,"say ""hi""\nthere"\r\n\r\nc,2,\n');
  assert.deepEqual(t.header, ["name", "Model Size", "note"]);
  assert.deepEqual(t.rows, [
    ["a, b", "1e9", 'say "hi"\nthere'],
    ["c", "2", ""],
  ]);
  assert.throws(() => parseCsv('a,b\n"unterminated,1\n'), /unterminated quoted field/);
});

test("pointsFromCsv maps columns, derives D = C/(6N), and drops the highest losses", () => {
  const text = 'Model Size,Training FLOP,loss\n1e8,6e17,3.0\n2e8,1.2e18,2.9\n4e8,2.4e18,2.95\n';
  const pts = pointsFromCsv(text, { n: "Model Size", c: "Training FLOP", dropHighest: 1 });
  assert.equal(pts.length, 2);
  assert.equal(pts[0].D, 6e17 / (6 * 1e8));
  assert.ok(!pts.some((p) => p.loss === 3.0));
  // Default names: N, tokens, loss (case-insensitive).
  const d = pointsFromCsv("n,Tokens,LOSS\n1,2,3\n");
  assert.deepEqual(d[0], { N: 1, D: 2, C: 12, loss: 3 });
});

test("pointsFromCsv errors name the column, row and flag", () => {
  const cases: [string, object, RegExp][] = [
    ["N,D,value\n1,2,3\n", {}, /no loss column; name it with --loss-col/],
    ["N,loss\n1,2\n", { require: ["N", "D"] }, /no token \(D\) or compute \(C\) column; name it with --d-col or --c-col/],
    ["N,D,loss\n1,2,3\n", { n: "params" }, /no column "params" \(--n-col\); columns are: N, D, loss/],
    ["N,D,loss\n1,2,3\n-1,2,3\n", {}, /row 3: N must be positive, got -1/],
    ["N,D,loss\n1,2,0\n", {}, /row 2: loss must be positive, got 0/],
    ["N,D,loss\n1,abc,3\n", {}, /row 2: D is not a number \("abc"\)/],
    ["N,D,loss\n1,2,3\n", { dropHighest: 1 }, /cannot drop the 1 highest-loss points of only 1/],
  ];
  for (const [text, opts, re] of cases) {
    assert.throws(() => pointsFromCsv(text, opts), (e: unknown) => e instanceof FitError && re.test(e.message) && !e.message.includes("\n"));
  }
});

function chinchillaCsv(): string {
  const p = { E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28 };
  const rows = ["params,tokens,loss"];
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      const N = 10 ** (7 + i * 0.6);
      const D = 10 ** (9 + j * 0.5);
      rows.push(`${N},${D},${chinchillaLoss(p, N, D) * (1 + 0.002 * Math.sin(7 * i + 3 * j))}`);
    }
  }
  return rows.join("\n") + "\n";
}

test("fit chinchilla --json prints E, A, B, alpha, beta and intervals when bootstrapped", () => {
  const file = writeCsv("chin.csv", chinchillaCsv());
  const r = runCli(["fit", "chinchilla", "--csv", file, "--bootstrap", "8", "--workers", "2", "--predict-c", "1e22", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]);
  for (const k of ["E", "A", "B", "alpha", "beta"]) assert.equal(typeof j[k], "number", k);
  assert.ok(Math.abs(j.alpha - 0.34) < 0.05 && Math.abs(j.beta - 0.28) < 0.05, `${j.alpha} ${j.beta}`);
  for (const k of ["E", "A", "B", "alpha", "beta", "G", "nOptExponent"]) assert.equal(j.intervals[k].length, 2, k);
  assert.equal(j.bootstrap.samples.length + j.bootstrap.failures, 8);
  assert.equal(j.predictions[0].query.C, 1e22);
  assert.ok(j.predictions[0].N > 0 && j.predictions[0].intervals.N[0] <= j.predictions[0].N);
});

test("fit: every bad input gives one clear line and exit status 2", () => {
  const good = writeCsv("good.csv", chinchillaCsv());
  const cases: [string[], RegExp][] = [
    [["fit", "--csv", good], /give one fit kind: chinchilla, power, frontier, isoflop/],
    [["fit", "magic", "--csv", good], /give one fit kind/],
    [["fit", "chinchilla"], /give the points: --csv FILE/],
    [["fit", "chinchilla", "--csv", path.join(tmp, "missing.csv")], /cannot read --csv .*ENOENT/],
    [["fit", "chinchilla", "--csv", writeCsv("nocol.csv", "params,loss\n1,2\n")], /no token \(D\) or compute \(C\) column/],
    [["fit", "chinchilla", "--csv", good, "--n-col", "size"], /no column "size" \(--n-col\)/],
    [["fit", "chinchilla", "--csv", writeCsv("neg.csv", "N,D,loss\n1e8,1e9,2\n-1e8,1e9,2\n")], /row 3: N must be positive/],
    [["fit", "chinchilla", "--csv", writeCsv("zeroc.csv", "N,C,loss\n1e8,0,2\n")], /row 2: C must be positive/],
    [["fit", "power", "--csv", writeCsv("zerol.csv", "C,loss\n1,0\n2,1\n3,1\n")], /row 2: loss must be positive/],
    [["fit", "chinchilla", "--csv", writeCsv("few.csv", "N,D,loss\n1e8,1e9,3\n2e8,2e9,2.9\n3e8,1e9,2.8\n")], /needs at least 6 points, got 3/],
    [["fit", "power", "--csv", writeCsv("few2.csv", "C,loss\n1,3\n2,2.9\n")], /needs at least 3 points, got 2/],
    [["fit", "chinchilla", "--csv", good, "--predict-n", "1e9"], /give --predict-n and --predict-d together/],
    [["fit", "chinchilla", "--csv", good, "--bootstrap", "x"], /--bootstrap must be a number, got "x"/],
    [["fit", "power", "--csv", good, "--x", "Q"], /--x must be C, N or D/],
    [["fit", "chinchilla", "--sweep", "s1", "--lab", path.join(tmp, "no-lab-here")], /no lab at .*pass the right --lab DIR/],
  ];
  for (const [args, re] of cases) {
    assertOneLineError(runCli(args), args.join(" "), re, /^scaling-lab fit: /);
  }
});
