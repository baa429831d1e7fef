/**
 * The browser playground's side of the CLI: the training loop recording into memory (memorySink) gives the same run
 * as the run folder, and a run bundle (the playground's export) imports into a lab with `runs --import FILE` —
 * statuses, metrics and endpoints stored, idempotent, and a damaged bundle refused in one line with nothing written.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createBackend } from "../src/engine/index.js";
import { type BundledRun, RUN_BUNDLE_FORMAT, type RunBundleHeader, openLab, runBundleText } from "../src/store/index.js";
import { resolveTrainConfig } from "../src/train/config.js";
import { train } from "../src/train/loop.js";
import type { MetricRecord } from "../src/util/run-folder.js";
import { memorySink } from "../src/train/sink.js";
import { TokenWindows } from "../src/train/token-data.js";
import { Rng } from "../src/util/rng.js";
import { assertOneLineError, runCli } from "./helpers.js";

function synthetic(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.random() < 0.1 ? rng.int(16) : (i * 7) % 16;
  return out;
}

function config(nEmbd: number) {
  return resolveTrainConfig(
    { preset: `t/e${nEmbd}`, data: "(memory)", tokens: 16 * 16 * 12, batchTokens: 16 * 16, microBatch: 16, evalEvery: 4, lr: 1e-2, model: { nLayer: 1, nHead: 2, nEmbd, blockSize: 16 } },
    16,
  );
}

const data = () => new TokenWindows(synthetic(6000, 1), synthetic(1500, 2), 16, 7);
const losses = (rows: MetricRecord[]) => rows.map((r) => [r.step, r.tokens, r.flops, r.lr, r.trainLoss, r.valLoss ?? null, r.gradNorm]);

test("a run recorded in memory is the run the folder records", async () => {
  const backend = await createBackend("js");
  const dir = mkdtempSync(join(tmpdir(), "sl-sink-"));
  const folder = await train(config(16), data(), { outDir: dir, backend });
  const seen: number[] = [];
  const sink = memorySink("memory", (row) => seen.push(row.step));
  const memory = await train(config(16), data(), { sink, backend });
  const fileRows = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as MetricRecord);
  assert.deepEqual(losses(sink.run.metrics), losses(fileRows));
  assert.deepEqual(seen, fileRows.map((r) => r.step));
  assert.deepEqual(sink.run.endpoints, folder.endpoints);
  assert.equal(sink.run.endpoints.length, 1);
  assert.deepEqual(JSON.parse(JSON.stringify(sink.run.config)), JSON.parse(readFileSync(join(dir, "config.json"), "utf8")));
  assert.equal(sink.run.summary?.finalValLoss, folder.finalValLoss);
  assert.equal(memory.status, "done");
  assert.equal(sink.hasCheckpoint(), false);
});

test("runs --import BUNDLE stores the playground's runs as a sweep (metrics, endpoints, status), idempotently", async () => {
  const backend = await createBackend("js");
  const runs: BundledRun[] = [];
  for (const nEmbd of [8, 16]) {
    const sink = memorySink();
    const c = config(nEmbd);
    await train(c, data(), { sink, backend });
    runs.push({ id: `pg.e${nEmbd}`, name: `e${nEmbd}`, config: c, metrics: sink.run.metrics, summary: sink.run.summary, endpoints: sink.run.endpoints });
  }
  const tmp = mkdtempSync(join(tmpdir(), "sl-bundle-"));
  const file = join(tmp, "export.jsonl");
  const header: RunBundleHeader = { format: RUN_BUNDLE_FORMAT, version: 1, sweep: "pg", plan: "curves", ladder: "playground", source: "test", created: new Date().toISOString() };
  writeFileSync(file, runBundleText({ header, runs }));
  const lab = join(tmp, "lab");

  const r = runCli(["runs", "--import", file, "--lab", lab, "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const imported = (JSON.parse(r.stdout) as { imported: { id: string; status: string; sweep: string }[] }).imported;
  assert.deepEqual(imported.map((x) => [x.id, x.status, x.sweep]), [["pg.e8", "done", "pg"], ["pg.e16", "done", "pg"]]);
  const again = runCli(["runs", "--import", file, "--lab", lab, "--sweep", "pg", "--json"]);
  assert.equal(again.status, 0, again.stderr);

  const l = openLab(lab);
  try {
    assert.equal(l.getSweep("pg")?.plan, "curves");
    assert.equal(l.getSweep("pg")?.ladder, "playground");
    assert.equal(l.listRuns({ sweep: "pg" }).length, 2);
    for (const run of runs) {
      const stored = l.getRun(run.id)!;
      assert.equal(stored.status, "done");
      assert.equal(stored.name, run.name);
      assert.equal(stored.finalValLoss, run.summary!.finalValLoss);
      assert.deepEqual(l.metrics(run.id).map((m) => m.trainLoss), run.metrics.map((m) => m.trainLoss));
      assert.deepEqual(l.endpoints(run.id).map((e) => [e.kind, e.tokens, e.valLoss]), run.endpoints.map((e) => [e.kind, e.tokens, e.valLoss]));
      assert.ok(existsSync(join(lab, "runs", run.id, "metrics.jsonl")), "the run folder is unpacked in the lab");
    }
    assert.equal(l.endpointPoints("pg").length, 2);
  } finally {
    l.close();
  }
  // the CLI's analysis reads the imported sweep
  const fit = runCli(["runs", "--lab", lab, "--sweep", "pg", "--json"]);
  assert.equal(fit.status, 0, fit.stderr);

  // a damaged bundle (cut mid-line) is refused in one line, and nothing is written
  const text = readFileSync(file, "utf8");
  const cut = join(tmp, "cut.jsonl");
  writeFileSync(cut, text.slice(0, text.length - 40));
  const fresh = join(tmp, "lab2");
  assertOneLineError(runCli(["runs", "--import", cut, "--lab", fresh]), "cut bundle", /cut\.jsonl:3: not a JSON object/, /export the runs again/);
  const l2 = openLab(fresh);
  try {
    assert.equal(l2.listRuns().length, 0);
  } finally {
    l2.close();
  }
  writeFileSync(cut, '{"format":"something-else"}\n');
  assertOneLineError(runCli(["runs", "--import", cut, "--lab", fresh]), "foreign file", /not a scaling-lab run bundle/);
});
