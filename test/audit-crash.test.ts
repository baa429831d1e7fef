/**
 * Issue 21, "Crashes and hangs" and "Security" (points 13–16): each input that used to end in a stack trace now gets
 * a one-line error naming the fix; thread counts and Monte-Carlo draws are bounded; a worker whose Redis is
 * unreachable stops promptly on SIGTERM; the dashboard answers only Host names of this machine.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, statSync, truncateSync, writeFileSync } from "node:fs";
import http from "node:http";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../src/cli/command.js";
import { forecastCommand } from "../src/cli/forecast.js";
import { prepareCommand } from "../src/cli/prepare.js";
import { runsCommand } from "../src/cli/runs.js";
import { sweepCommand } from "../src/cli/sweep.js";
import { trainCommand } from "../src/cli/train.js";
import { createBackend, JsBackend } from "../src/engine/index.js";
import { readSafetensors, writeSafetensors } from "../src/model/safetensors.js";
import { hostAllowed, startServer } from "../src/server/server.js";
import { openLab } from "../src/store/index.js";
import { LadderError, loadLadder } from "../src/sweep/ladder.js";
import { CheckpointError, loadCheckpoint, readCheckpointHeader } from "../src/train/checkpoint.js";
import { resolveTrainConfig } from "../src/train/config.js";
import { train } from "../src/train/loop.js";
import { TokenWindows } from "../src/train/token-data.js";
import { capThreads } from "../src/util/threads.js";
import { cliPath, freePort, planned, tinyCorpusData } from "./helpers.js";

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `sl-audit-${p}-`));

/** Asserts a command rejects with a one-line UserError matching `re`. */
async function oneLine(run: Promise<number>, re: RegExp): Promise<void> {
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof UserError, `not a UserError: ${(e as Error)?.stack ?? e}`);
    assert.ok(!e.message.includes("\n"), e.message);
    assert.match(e.message, re);
    return true;
  });
}

test("13: a checkpoint whose loop state is broken JSON is refused in one line (load, header, train --resume)", async () => {
  const dir = tmp("ckpt");
  const tokens = new Int32Array(4000).map((_, i) => (i * 7) % 16);
  const config = resolveTrainConfig({ preset: "nano", data: "(memory)", tokens: 64 * 3, batchTokens: 64, microBatch: 4, model: { blockSize: 16 }, backend: "js" }, 16);
  await train(config, new TokenWindows(tokens, tokens.slice(0, 1000), 16, 1), { outDir: dir, backend: new JsBackend() });
  const file = join(dir, "checkpoint.safetensors");
  const st = readSafetensors(file);
  writeSafetensors(file, new Map([...st.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }])), { ...st.metadata, state: "{\"step\": 3," });
  assert.throws(() => loadCheckpoint(dir), (e: unknown) => e instanceof CheckpointError && /is damaged \(its loop state is not valid JSON\).*delete it/.test((e as Error).message));
  assert.throws(() => readCheckpointHeader(dir), CheckpointError);
  await oneLine(trainCommand.run(["--out", dir, "--resume"]), /checkpoint .* is damaged \(its loop state is not valid JSON\)/);
});

test("13: train flags that used to crash get one-line errors: --micro-batch 1e9, --vocab-size 1e9, --beta1 1, --out naming a file", async () => {
  const data = await tinyCorpusData();
  const out = join(tmp("flags"), "run");
  const base = ["--data", data, "--preset", "nano", "--tokens", "2048", "--backend", "js", "--out", out];
  await oneLine(trainCommand.run([...base, "--micro-batch", "1e9"]), /needs about [\d.]+ GB of memory to train \(micro-batch 1000000000 × 32 tokens.*lower --micro-batch/);
  await oneLine(trainCommand.run([...base, "--vocab-size", "1e9"]), /needs about [\d.]+ GB of memory.*vocab 1000000000.*lower --micro-batch, --vocab-size/);
  await oneLine(trainCommand.run([...base, "--beta1", "1"]), /invalid training config: beta1: .*1/);
  await oneLine(trainCommand.run([...base, "--beta2", "1"]), /invalid training config: beta2/);
  const file = join(tmp("file"), "afile");
  writeFileSync(file, "not a folder");
  await oneLine(trainCommand.run([...base.slice(0, -2), "--out", file]), /--out .*afile is a file, not a directory; choose another --out/);
});

test("13: prepare --shard-tokens 1, a malformed ladder JSON and a damaged lab.sqlite get one-line errors", async () => {
  await oneLine(prepareCommand.run(["--source", "builtin:moby-dick", "--out", join(tmp("shards"), "d"), "--shard-tokens", "1"]), /--shard-tokens must be an integer ≥ 4096, got "1"/);
  const root = tmp("ladder");
  const bad = join(root, "bad.json");
  writeFileSync(bad, '{ "blockSize": 16, "sizes": [ ');
  assert.throws(() => loadLadder(bad), (e: unknown) => e instanceof LadderError && /ladder file .*bad\.json is not valid JSON \(.*\); fix it/.test((e as Error).message));
  const data = await tinyCorpusData();
  await oneLine(sweepCommand.run(["--ladder", bad, "--data", data, "--lab", join(root, "lab"), "--dry-run"]), /bad\.json is not valid JSON/);
  // a lab.sqlite cut in half (a full disk, a bad copy): damaged, and how to rebuild it
  const labDir = join(root, "lab2");
  const lab = openLab(labDir);
  const config = resolveTrainConfig({ preset: "nano", data: "d", tokens: 640, batchTokens: 64, microBatch: 2, backend: "js" }, 16);
  for (let i = 0; i < 200; i++) lab.planRun(planned({ id: `r${i}`, config, extra: { pad: "x".repeat(400) } }));
  lab.close();
  const file = join(labDir, "lab.sqlite");
  truncateSync(file, Math.floor(statSync(file).size / 2));
  await oneLine(runsCommand.run(["--lab", labDir]), /the lab database .*lab\.sqlite is damaged \(database disk image is malformed\); rebuild it from the run folders: scaling-lab runs --rebuild --lab/);
});

test("14: thread counts are capped at the machine's cores; forecast --samples is bounded", async () => {
  assert.equal(capThreads(1000, { cores: 4 }), 4);
  assert.equal(capThreads(3, { cores: 16 }), 3);
  assert.equal(capThreads(undefined, { cores: 16 }), undefined);
  const wasm = await createBackend("wasm", { threads: 1000 });
  try {
    assert.ok(wasm.info().threads <= availableParallelism(), `${wasm.info().threads} threads`);
  } finally {
    wasm.dispose();
  }
  const t0 = Date.now();
  await oneLine(forecastCommand.run(["--samples", "1e9"]), /--samples must be at most 1,000,000/);
  assert.ok(Date.now() - t0 < 5000, "refused before drawing");
});

test("15: a worker whose Redis is unreachable stops within seconds of the first SIGTERM", { timeout: 60_000 }, async () => {
  const port = await freePort(); // nothing listens there
  const w = spawn(process.execPath, [cliPath, "worker", "--redis", `redis://127.0.0.1:${port}`, "--artifacts", tmp("artifacts")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  w.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number>((r) => w.on("exit", (c, s) => r(c ?? (s === "SIGTERM" ? 143 : 1))));
  const t0 = Date.now();
  while (!/cannot reach Redis/.test(stderr) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 50));
  assert.match(stderr, /cannot reach Redis at 127\.0\.0\.1:\d+/);
  w.kill("SIGTERM");
  const sent = Date.now();
  const kill = setTimeout(() => w.kill("SIGKILL"), 20_000);
  const code = await exited;
  clearTimeout(kill);
  const seconds = (Date.now() - sent) / 1000;
  assert.ok(seconds < 10, `took ${seconds} s to stop after SIGTERM`);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /unreachable: stopping without handing runs back/);
});

/** GET a path with the given Host header. */
function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, headers: { Host: host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("16: the dashboard answers only Host names of this machine (no DNS rebinding), unless --host names another", async () => {
  const lab = tmp("host");
  const dash = await startServer({ lab, port: 0, report: { workers: 1 } });
  try {
    for (const host of [`127.0.0.1:${dash.port}`, `localhost:${dash.port}`, `[::1]:${dash.port}`]) {
      assert.equal((await get(dash.port, "/api/lab", host)).status, 200, host);
    }
    for (const host of [`evil.example:${dash.port}`, "attacker.test", `127.0.0.1.nip.io:${dash.port}`]) {
      const r = await get(dash.port, "/lab/lab.sqlite", host);
      assert.equal(r.status, 403, host);
      assert.match(JSON.parse(r.body).error, /Host ".*" is not this dashboard's address \(a DNS-rebinding web page\?\); open http:\/\/127\.0\.0\.1:\d+\/, or start scaling-lab serve with --host NAME/);
    }
  } finally {
    await dash.close();
  }
  assert.ok(hostAllowed("mybox.lan:8470", "mybox.lan"));
  assert.ok(hostAllowed("anything.example", "0.0.0.0"));
  assert.ok(hostAllowed("192.168.1.9:8470", "127.0.0.1"));
  assert.ok(!hostAllowed("mybox.lan", "127.0.0.1"));
  assert.ok(hostAllowed(undefined, "127.0.0.1"));
});

test("13: the CLI prints no stack trace for these (a spawned scaling-lab exits 2 with one line)", () => {
  const r = spawn(process.execPath, [cliPath, "forecast", "--reference-year", "1e20"], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise<void>((resolve) => {
    let err = "";
    r.stderr!.on("data", (d) => (err += d));
    r.on("close", (code) => {
      assert.equal(code, 2);
      assert.equal(err.trim().split("\n").length, 1, err);
      assert.doesNotMatch(err, /internal error|\n\s+at /);
      resolve();
    });
  });
});
