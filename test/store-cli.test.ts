/**
 * `scaling-lab runs`: the table, --json (one object on one line), --csv (header + rows), filters, --import, and
 * one-line errors (no lab, unknown sweep, bad status, newer lab, locked lab). Listing works while another process
 * holds the write lock.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { CSV_COLUMNS, type RunRecord, SCHEMA_VERSION, openLab } from "../src/store/index.js";
import { openDatabase } from "../src/store/sqlite.js";
import { parseCsv } from "../src/fit/index.js";
import { UserError } from "../src/cli/command.js";
import { runsCommand } from "../src/cli/runs.js";
import { planned } from "./helpers.js";

const cli = resolve(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");

function runCli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [cli, "runs", ...args], { encoding: "utf8", env: { ...process.env, ...env } });
}

const shape = { vocabSize: 256, blockSize: 64, nLayer: 2, nHead: 2, nEmbd: 64 };

/** A lab with a sweep of two runs (one done, one planned) and a stand-alone failed run. */
function makeLab(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "sl-runs-cli-")), "lab");
  const lab = openLab(dir);
  lab.ensureSweep({ name: "ladder", plan: "curves", ladder: "cpu-xs" });
  lab.planRun(planned({ id: "xs-0", sweep: "ladder", config: { model: shape, tokens: 10240, batchTokens: 1024, seed: 1 } }));
  lab.planRun(planned({ id: "xs-1", sweep: "ladder", config: { model: { ...shape, nEmbd: 128, nHead: 4 }, tokens: 10240, batchTokens: 1024, seed: 1 } }));
  lab.planRun(planned({ id: "odd", name: "odd, \"quoted\"", config: { model: shape, tokens: 1024, batchTokens: 1024 } }));
  lab.markRunning("xs-0", { backend: "native", machine: "box, 2 cores" });
  lab.finishRun("xs-0", { tokens: 10240, flops: 1e12, finalTrainLoss: 3.1, finalValLoss: 3.25, bestValLoss: 3.2, elapsed: 83 });
  lab.failRun("odd", "diverged at step 3");
  lab.close();
  return dir;
}

test("runs prints a readable table with shape, N, D, C, status, losses, wall time and backend", () => {
  const dir = makeLab();
  const r = runCli(["--lab", dir]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0], /^id\s+sweep\s+shape\s+N\s+D\s+C\s+status\s+final val\s+best val\s+wall\s+backend$/);
  const xs0 = lines.find((l) => l.startsWith("xs-0"))!;
  assert.match(xs0, /ladder\s+2L·64d·2h \(ctx 64\)\s+100k\s+10\.2k\s+7\.66e9\s+done\s+3\.2500\s+3\.2000\s+1m23s\s+native/);
  assert.match(lines.find((l) => l.startsWith("xs-1"))!, /planned\s+-\s+-\s+-\s+-$/);
  assert.match(lines[lines.length - 1], /3 runs in .*: 1 planned, 1 done, 1 failed/);

  const only = runCli(["--lab", dir, "--sweep", "ladder", "--status", "done,planned"]);
  assert.equal(only.status, 0, only.stderr);
  assert.equal(only.stdout.split("\n").filter((l) => /^xs-/.test(l)).length, 2);
  assert.ok(!only.stdout.includes("odd"));
  const none = runCli(["--lab", dir, "--status", "running"]);
  assert.match(none.stdout, /^no runs in .* with status running\n$/);
});

test("runs --json prints one JSON object on one line with every stored field", () => {
  const dir = makeLab();
  const r = runCli(["--lab", dir, "--sweep", "ladder", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split("\n").length, 1);
  const out = JSON.parse(r.stdout) as { lab: string; runs: RunRecord[] };
  assert.equal(out.lab, dir);
  assert.deepEqual(out.runs.map((x) => x.id), ["xs-0", "xs-1"]);
  const xs0 = out.runs[0];
  assert.equal(xs0.status, "done");
  assert.equal(xs0.finalValLoss, 3.25);
  assert.equal(xs0.wallSeconds, 83);
  assert.deepEqual(xs0.config.model, shape);
  assert.equal(xs0.machine, "box, 2 cores");
});

test("runs --csv prints a header and one quoted row per run that parses back", () => {
  const dir = makeLab();
  const r = runCli(["--lab", dir, "--csv"]);
  assert.equal(r.status, 0, r.stderr);
  const table = parseCsv(r.stdout);
  assert.deepEqual(table.header, [...CSV_COLUMNS]);
  assert.equal(table.rows.length, 3);
  const col = (name: string) => table.header.indexOf(name);
  const odd = table.rows.find((row) => row[col("name")] === 'odd, "quoted"')!;
  assert.equal(odd[col("status")], "failed");
  assert.equal(odd[col("error")], "diverged at step 3");
  assert.equal(odd[col("sweep")], "");
  const xs0 = table.rows.find((row) => row[col("id")] === "xs-0")!;
  assert.equal(Number(xs0[col("finalValLoss")]), 3.25);
  assert.equal(xs0[col("machine")], "box, 2 cores");
});

test("runs --import stores a run folder written by the trainer", () => {
  const root = mkdtempSync(join(tmpdir(), "sl-runs-import-"));
  const folder = join(root, "my-run");
  mkdirSync(folder);
  writeFileSync(join(folder, "config.json"), JSON.stringify({ model: shape, tokens: 2048, batchTokens: 1024, seed: 3, lr: 1e-3 }));
  const row = (step: number, extra: object = {}) => JSON.stringify({ step, tokens: step * 1024, flops: step * 1e9, lr: 1e-3, trainLoss: 5 / step, gradNorm: 1, elapsed: step, tokensPerSec: 1024, ...extra });
  writeFileSync(join(folder, "metrics.jsonl"), row(1) + "\n" + row(2, { valLoss: 2.4 }) + "\n");
  writeFileSync(join(folder, "summary.json"), JSON.stringify({ status: "done", steps: 2, tokens: 2048, flops: 2e9, finalTrainLoss: 2.5, finalValLoss: 2.4, bestValLoss: 2.4, elapsed: 2, backend: "js" }));
  const lab = join(root, "lab");
  const r = runCli(["--import", folder, "--lab", lab, "--sweep", "imported", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const { imported } = JSON.parse(r.stdout) as { imported: RunRecord };
  assert.equal(imported.id, "my-run");
  assert.equal(imported.status, "done");
  assert.equal(imported.sweep, "imported");
  assert.equal(imported.finalValLoss, 2.4);
  const listed = JSON.parse(runCli(["--lab", lab, "--json"]).stdout) as { runs: RunRecord[] };
  assert.equal(listed.runs.length, 1);
  const bad = runCli(["--import", join(root, "nothing"), "--lab", lab]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^scaling-lab runs: no config.json in .*nothing; point at a run folder/);
});

test("runs errors are one line naming the fix", async () => {
  const dir = makeLab();
  const cases: [string[], RegExp][] = [
    [["--lab", join(dir, "missing")], /no lab at .*missing .*pass the right --lab DIR/],
    [["--lab", dir, "--sweep", "nope"], /no sweep "nope" in .* \(known: ladder\); check --sweep and --lab/],
    [["--lab", dir, "--status", "finished"], /--status "finished" is not a run status; use one or more of planned, running, done, failed, stopped/],
    [["--lab", dir, "--json", "--csv"], /choose one output: --json or --csv/],
    [["--lab", dir, "--id", "x"], /--id goes with --import DIR/],
    [["--lab", dir, "--bogus"], /Unknown option '--bogus'.*scaling-lab runs --help/],
  ];
  // in-process (each CLI start loads every command): the command throws a one-line UserError ...
  for (const [args, re] of cases) {
    await assert.rejects(runsCommand.run(args), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes("\n"), args.join(" "));
  }
  // ... which the CLI prints as one line on stderr with exit status 2
  const r = runCli(["--lab", dir, "--sweep", "nope"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^scaling-lab runs: no sweep "nope" in .*\n$/);
  assert.equal(r.stdout, "");
  assert.match(runsCommand.help, /Examples:\n {2}scaling-lab runs --lab/);
});

test("a newer lab and a locked lab give one-line errors; listing does not wait for a writer", () => {
  const dir = makeLab();
  const file = join(dir, "lab.sqlite");
  const other = openDatabase(file);
  other.exec("BEGIN IMMEDIATE");
  other.prepare("UPDATE runs SET name = 'renamed' WHERE id = 'xs-1'").run();
  const list = runCli(["--lab", dir, "--json"], { SCALING_LAB_BUSY_TIMEOUT_MS: "200" });
  assert.equal(list.status, 0, list.stderr);
  assert.equal((JSON.parse(list.stdout) as { runs: RunRecord[] }).runs.length, 3);
  const folder = join(dir, "runs", "new-run");
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "config.json"), JSON.stringify({ model: shape, tokens: 1024, batchTokens: 1024 }));
  const locked = runCli(["--lab", dir, "--import", folder], { SCALING_LAB_BUSY_TIMEOUT_MS: "200" });
  assert.equal(locked.status, 2);
  assert.match(locked.stderr, /^scaling-lab runs: the lab database .*lab\.sqlite is locked by another process \(still busy after 0\.2 s\); wait for it to finish or stop it, then retry\n$/);
  other.exec("COMMIT");

  other.prepare("UPDATE meta SET value = ? WHERE key = 'schemaVersion'").run(String(SCHEMA_VERSION + 5));
  other.close();
  const newer = runCli(["--lab", dir]);
  assert.equal(newer.status, 2);
  assert.match(newer.stderr, /^scaling-lab runs: the lab .* was written by a newer scaling-lab \(schema version \d+; this one reads up to \d+\); upgrade scaling-lab .*\n$/);
});
