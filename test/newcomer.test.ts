/**
 * A newcomer's first hour (issue 18), through the CLI as a user runs it: every flag checked before any work starts;
 * progress on stderr whatever --json does to stdout; the hints that used to point the wrong way (a missing file, the
 * forecast's reference, a training preset in `flops`, the lab `fit --sweep` reads); the warning when training repeats
 * its data; the demo summary's wording; the dashboard's API in the CLI's names; and a server started through npm that
 * stops when npm's process does.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HttpError, sampleQuery } from "../src/server/server.js";
import { openLab } from "../src/store/index.js";
import { type DemoResult, demoSummary } from "../src/studies/scaling.js";
import { assertOneLineError, cliPath, repoRoot, runCli, tinyCorpusData } from "./helpers.js";

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `sl-${prefix}-`));

/** The last line of stdout, parsed: what --json prints. */
function jsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1, `--json prints one line on stdout, got:\n${stdout}`);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

test("every flag is checked before any work: demo, sweep, train and prepare fail in one line and write nothing", async () => {
  const data = await tinyCorpusData();
  const lab = join(tmp("flags"), "lab");
  assertOneLineError(runCli(["demo", "--ladder", "nope", "--lab", lab]), "demo --ladder nope", /^scaling-lab demo: --ladder: unknown ladder "nope" \(built-in ladders: .*quick/);
  assertOneLineError(runCli(["demo", "--backend", "bogus", "--lab", lab]), "demo --backend", /--backend must be one of auto, native, wasm, js, webgpu, got "bogus"/);
  assertOneLineError(runCli(["demo", "--tokens", "12x", "--lab", lab]), "demo --tokens", /--tokens: "12x" is not a token count/);
  assertOneLineError(runCli(["demo", "--quick", "--ladder", "cpu-xs", "--lab", lab]), "demo --quick --ladder", /give --quick or --ladder, not both/);
  assertOneLineError(runCli(["demo", "--quick", "--sizes", "q-1,q-9", "--lab", lab]), "demo --sizes", /ladder quick has no size q-9/);
  assertOneLineError(runCli(["demo", "--ladder", "tiny-test", "--tokens", "100", "--lab", lab]), "demo: too few steps", /raise --tokens to at least/);
  assert.equal(existsSync(lab), false, "no lab, no prepared corpus");

  assertOneLineError(runCli(["sweep", "--ladder", "tiny-test", "--tokens", "12800", "--data", data, "--lab", lab, "--backend", "bogus"]), "sweep --backend", /--backend must be one of/);
  const dry = runCli(["sweep", "--ladder", "tiny-test", "--tokens", "12800", "--data", data, "--lab", lab, "--concurrency", "x", "--dry-run"]);
  assertOneLineError(dry, "sweep --concurrency x --dry-run", /--concurrency must be a number, got "x"/);
  assert.equal(existsSync(lab), false, "the sweep recorded nothing");

  const out = join(tmp("flags-train"), "run");
  assertOneLineError(runCli(["train", "--data", data, "--out", out, "--preset", "nano", "--backend", "bogus"]), "train --backend", /--backend must be one of/);
  const config = join(tmp("flags-config"), "c.json");
  writeFileSync(config, JSON.stringify({ data, preset: "nano", backend: "cuda" }));
  assertOneLineError(runCli(["train", "--config", config, "--out", out]), "train --config with a bad backend", /unknown backend "cuda"/);
  assert.equal(existsSync(out), false, "train wrote nothing");

  const prepared = join(tmp("flags-prepare"), "out");
  assertOneLineError(runCli(["prepare", "--source", "builtin", "--out", prepared, "--vocab", "100"]), "prepare --vocab 100", /BPE vocab must be an integer from 257/);
  assertOneLineError(runCli(["prepare", "--source", "builtin", "--out", prepared, "--shard-tokens", "0"]), "prepare --shard-tokens 0", /--shard-tokens must be an integer ≥ 4096/);
  assert.equal(existsSync(prepared), false, "prepare wrote nothing");
});

test("a lab holds one demo: another ladder, budget or vocabulary is refused before any work, naming the fix", () => {
  const lab = tmp("demo-lab");
  const store = openLab(lab);
  store.ensureSweep({ name: "demo", plan: "curves", ladder: "cpu-xs", spec: { data: join(lab, "data", "builtin-bpe2048"), tokens: [4e6] } });
  store.close();
  const r = runCli(["demo", "--quick", "--lab", lab]);
  assertOneLineError(r, "demo --quick on a full demo's lab", /already holds a demo with ladder cpu-xs, 4M tokens per run, a 2048-token vocabulary; give this one another --lab \(e\.g\. --lab \.\/lab-quick\)/);
  assert.equal(existsSync(join(lab, "data")), false);
});

test("long commands show progress on stderr under --json; training that repeats its data warns with the epochs", async () => {
  const data = await tinyCorpusData();
  const dir = tmp("progress");
  const run = join(dir, "run");
  // ≈ 2.3 epochs of the tiny corpus
  const train = runCli(["train", "--data", data, "--out", run, "--preset", "nano", "--block-size", "64", "--micro-batch", "4", "--batch-tokens", "256", "--tokens", "60000", "--json"]);
  assert.equal(train.status, 0, train.stderr);
  const summary = jsonLine(train.stdout);
  assert.equal(summary.status, "done");
  assert.match(train.stderr, /^train: warning: this run reads 2\.\d epochs of the training data; .*\(prepare more text, or lower --tokens\)$/m);
  assert.match(train.stderr, /^train: \S+ params .* steps, backend/m);
  assert.match(train.stderr, /^train \d+\/\d+ \(100%\) loss [\d.]+ .* tok\/s .* ETA/m, "a progress line");

  const sweep = runCli(["sweep", "--ladder", "tiny-test", "--tokens", "60000", "--data", data, "--sweep", "rep", "--lab", join(dir, "lab"), "--dry-run", "--json"]);
  assert.equal(sweep.status, 0, sweep.stderr);
  const plan = jsonLine(sweep.stdout);
  assert.ok((plan.estSeconds as number) > 0);
  assert.match(String(plan.warning), /^warning: all 5 runs read up to 2\.\d epochs of the training data/);
  assert.match(sweep.stderr, /^sweep: warning: all 5 runs read up to 2\.\d epochs/m);
  assert.match(sweep.stderr, /^sweep: estimating 5 runs from the measured speed of each shape/m);
  assert.match(sweep.stderr, /^sweep: measuring the speed of 1×8 on \w+ with 1 thread/m, "says what it measures while it does");

  const corpus = join(dir, "corpus.txt");
  writeFileSync(corpus, "The whale swam on. ".repeat(400) + "\n\n" + "The ship sailed on. ".repeat(400));
  const prepare = runCli(["prepare", "--source", corpus, "--tokenizer", "bytes", "--out", join(dir, "data"), "--doc-chars", "2000", "--val-fraction", "0.2", "--json"]);
  assert.equal(prepare.status, 0, prepare.stderr);
  assert.ok(jsonLine(prepare.stdout).tokens);
  assert.match(prepare.stderr, /^prepare: encode /m);

  const evalRun = runCli(["eval", "--model", run, "--task", "arithmetic-2da", "--shots", "0", "--n", "3", "--json"]);
  assert.equal(evalRun.status, 0, evalRun.stderr);
  assert.equal(jsonLine(evalRun.stdout).task, "arithmetic-2da");
  assert.match(evalRun.stderr, /^eval \S+: arithmetic-2da 0-shot: 3\/3$/m);

  // the right hint for a missing file, and for a file that is not UTF-8
  assertOneLineError(runCli(["score", "--model", run, "--text", join(dir, "missing.txt")]), "score a missing file", /--text \S+missing\.txt: no such file \(check the path\)$/);
  assert.doesNotMatch(runCli(["score", "--model", run, "--text", join(dir, "missing.txt")]).stderr, /UTF-8/);
  const latin1 = join(dir, "latin1.txt");
  writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b]));
  assertOneLineError(runCli(["score", "--model", run, "--text", latin1]), "score latin-1", /is not UTF-8 text; convert it first, e\.g\. iconv/);
  assertOneLineError(runCli(["score", "--model", run, "--text", dir]), "score a folder", /is a folder; give a file/);
});

test("flops takes the training presets; forecast --fit names the user's own model as the reference", () => {
  const flops = runCli(["flops", "--preset", "cpu-1m", "--json"]);
  assert.equal(flops.status, 0, flops.stderr);
  const f = jsonLine(flops.stdout) as { shape: { nLayer: number; nEmbd: number; vocabSize: number }; tokens: number; flops: number };
  assert.deepEqual([f.shape.nLayer, f.shape.nEmbd, f.shape.vocabSize], [4, 128, 4096]);
  assert.equal(f.tokens, 8192 * 200, "train's default budget for the preset");
  assert.equal(jsonLine(runCli(["flops", "--preset", "cpu-1m", "--vocab-size", "512", "--tokens", "1e6", "--json"]).stdout).tokens, 1e6);
  assertOneLineError(runCli(["flops", "--preset", "gpt5"]), "flops --preset gpt5", /unknown preset "gpt5" \(choose one of: gpt3-small.*; or a training preset: nano, micro, cpu-1m/);

  const dir = tmp("forecast");
  const csv = join(dir, "curves.csv");
  const rows = ["run,C,loss"];
  for (const [run, top] of [["small", 1e10], ["mid", 1e11], ["big", 1e12]] as const) {
    for (let c = top / 100; c <= top; c *= 10) rows.push(`${run},${c},${(8 * c ** -0.05 * (run === "big" ? 1 : 1.02)).toFixed(6)}`);
  }
  writeFileSync(csv, rows.join("\n") + "\n");
  const fit = runCli(["fit", "frontier", "--csv", csv, "--json"]);
  assert.equal(fit.status, 0, fit.stderr);
  const law = jsonLine(fit.stdout);
  assert.deepEqual((law.largestPoint as { run: string; C: number }).run, "big");
  const lawFile = join(dir, "law.json");
  writeFileSync(lawFile, fit.stdout);
  const fc = jsonLine(runCli(["forecast", "--fit", lawFile, "--samples", "0", "--json"]).stdout) as { assumptions: Record<string, { value: unknown; source: string }> };
  assert.equal(fc.assumptions.referenceName.value, "big");
  assert.match(fc.assumptions.referenceName.source, /the largest point the law was fitted to/);
  assert.ok(Math.abs((fc.assumptions.referencePfDays.value as number) - 1e12 / 8.64e19) < 1e-15);
  assert.match(fc.assumptions.referenceCostUSD.source, /GPT-3's price per PF-day/);
  const named = jsonLine(runCli(["forecast", "--fit", lawFile, "--samples", "0", "--reference-name", "mine", "--reference-pf-days", "1", "--json"]).stdout) as typeof fc;
  assert.equal(named.assumptions.referenceName.value, "mine", "flags still win");
  const essay = jsonLine(runCli(["forecast", "--samples", "0", "--json"]).stdout) as typeof fc;
  assert.equal(essay.assumptions.referenceName.value, "GPT-3 175B", "GPT-3's law keeps GPT-3 as the reference");
});

test("fit --sweep without --lab reads ./lab of the folder it runs in, and says so", () => {
  const cwd = tmp("fit-lab");
  const r = spawnSync(process.execPath, [cliPath, "fit", "frontier", "--sweep", "mine"], { cwd, encoding: "utf8" });
  assertOneLineError(r, "fit --sweep with no lab here", /no lab at \S+\/lab .*\(--lab defaults to \.\/lab in the folder you run from\)$/);
  const store = openLab(join(cwd, "lab"));
  store.ensureSweep({ name: "other" });
  store.close();
  const known = spawnSync(process.execPath, [cliPath, "fit", "frontier", "--sweep", "mine"], { cwd, encoding: "utf8" });
  assertOneLineError(known, "fit --sweep of an unknown sweep", /no sweep "mine" .*known: other.*--lab defaults to \.\/lab/);
});

test("demo.txt says when the actual loss fell outside the predicted interval, what the run reused, and a quick demo's caveat", () => {
  const row = { K: 4, extrapolationFactor: 4.5, fitPoints: 11, fitRuns: 4, predicted: 4.0, interval: [3.9, 4.1] as [number, number], actual: 3.5, errorPct: 14.3, inInterval: false };
  const result: DemoResult = {
    lab: "/l", sweep: "demo", ladder: "quick", runs: 5, wallSeconds: 11, trainSeconds: 0, reusedSeconds: 23,
    frontierR2: 0.97, frontierDecades: 1.2, frontierLaw: "L = 1 + 10·C^-0.05", prediction: { ...row, run: "demo.q-5", law: "L(N, D)", level: 0.9 },
    predictionErrorPct: 14.3, extrapolationFactor: 4.5, extrapolation: [row], predictionOtherN: null, tokensPerParam: null, tokensPerParamInterval: null,
    chinchillaLaw: null, ordered: true, smallestRung: null, iclScore: [], icl: [], forecast: { error: "no law" }, notes: [],
    table: [{ run: "demo.q-5", params: 2e5, N: 1.5e5, D: 1e6, C: 1e12, finalValLoss: 3.5, endpoints: [[1e6, 3.5]], wallSeconds: 23 }],
    files: { json: "j", summary: "s", report: "r" },
    note: "too small for meaningful fits",
  };
  const text = demoSummary(result);
  assert.match(text, /actual 3\.5000, error 14\.30%, OUTSIDE the interval/);
  assert.match(text, /^NOTE: too small for meaningful fits$/m);
  assert.match(text, /Wall time 11 s: 0 s of training now, 23 s of training reused/);
  const inside = demoSummary({ ...result, prediction: { ...result.prediction!, actual: 4.05, inInterval: true }, note: undefined });
  assert.doesNotMatch(inside, /OUTSIDE|NOTE/);
});

test("the dashboard's API takes the CLI's flag names and is documented in serve --help", () => {
  assert.equal(sampleQuery(new URLSearchParams("max-tokens=5&temperature=0&seed=3")).maxTokens, 5);
  assert.equal(sampleQuery(new URLSearchParams("tokens=7")).maxTokens, 7, "the page's older name still works");
  assert.equal(sampleQuery(new URLSearchParams("")).maxTokens, 60);
  assert.throws(() => sampleQuery(new URLSearchParams("max-tokens=100000")), (e: Error) => e instanceof HttpError && e.status === 400 && /^max-tokens must be/.test(e.message));
  const help = runCli(["serve", "--help"]).stdout;
  for (const route of ["/api/lab", "/api/runs?sweep=NAME", "/api/metrics?run=ID&after=STEP", "/api/report?sweep=NAME", "/api/sample?run=ID&prompt=TEXT&max-tokens=N", "/api/events"]) {
    assert.ok(help.includes(route), `serve --help documents ${route}`);
  }
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  assert.ok(readme.includes("/api/sample?run=ID&prompt=TEXT&max-tokens=N"), "so does the README");
});

/** Starts `serve` under a parent process that stays until killed; resolves to the parent, the server's pid and its URL. */
async function serveUnderParent(env: NodeJS.ProcessEnv): Promise<{ parent: ReturnType<typeof spawn>; pid: number; url: string }> {
  const lab = tmp("serve-parent");
  const script = `const c = require("node:child_process").spawn(process.execPath, ${JSON.stringify([cliPath, "serve", "--lab", lab, "--port", "0", "--json"])}, { stdio: ["ignore", "inherit", "inherit"] });
console.log(JSON.stringify({ pid: c.pid })); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"], env });
  let out = "";
  const got = await new Promise<{ pid: number; url: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no server within 60 s: ${out}`)), 60_000);
    parent.stdout!.on("data", (d) => {
      out += d;
      const lines = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { pid?: number; url?: string });
      const pid = lines.find((l) => l.pid)?.pid;
      const url = lines.find((l) => l.url)?.url;
      if (pid && url) {
        clearTimeout(timer);
        resolve({ pid, url });
      }
    });
  });
  return { parent, ...got };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("a server started through npm stops when npm's process does (npx scaling-lab serve & … kill $!)", async () => {
  const { parent, pid, url } = await serveUnderParent({ ...process.env, npm_command: "exec" });
  assert.equal((await fetch(url + "api/lab")).status, 200);
  parent.kill("SIGKILL"); // npm's wrapper gone, as after kill $! (it takes its shell down, not the server)
  const deadline = Date.now() + 60_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(alive(pid), false, "the server exited with its parent");
  await assert.rejects(fetch(url + "api/lab"), "nothing answers any more");

  // started directly (not through npm), it outlives its parent, as a server under nohup should
  const direct = await serveUnderParent(Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "npm_command")));
  direct.parent.kill("SIGKILL");
  await new Promise((r) => setTimeout(r, 1500));
  try {
    assert.equal(alive(direct.pid), true);
  } finally {
    process.kill(direct.pid, "SIGTERM");
  }
});

test("the webgpu backend's fixes name wasm next to native (the fallback without the addon)", () => {
  const dir = join(repoRoot, "src", "engine", "webgpu");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const text = readFileSync(join(dir, file), "utf8");
    for (const m of text.matchAll(/--backend native[^`"\n]{0,12}/g)) {
      assert.match(m[0], /^--backend native( or wasm| \(or wasm)/, `${file}: "${m[0]}"`);
    }
  }
});
