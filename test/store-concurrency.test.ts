/**
 * Two real processes write one lab at the same time: both create it (fresh directory), plan the same and their own
 * runs, append metrics to shared and own runs (overlapping steps included), and race to claim the same runs.
 * The two run in lockstep (each waits for the other's previous iteration), so their transactions really overlap.
 * Nothing may be lost, duplicated or corrupted, and each contested run is claimed exactly once.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { openLab } from "../src/store/index.js";
import { openDatabase } from "../src/store/sqlite.js";

const storeUrl = pathToFileURL(resolve(dirname(fileURLToPath(import.meta.url)), "../src/store/index.js")).href;

/** Iterations per worker; each does 2 planRun, 3 appendMetrics and 1 claimRun (6 transactions). */
const ITER = 100;
const ROWS = 5;

/** The child: waits for the go file, opens the (possibly not yet existing) lab and hammers it. */
const WORKER = `
import { existsSync } from "node:fs";
const { openLab } = await import(process.env.STORE_URL);
const w = process.env.WORKER, ITER = Number(process.env.ITER), ROWS = Number(process.env.ROWS);
const offset = w === "a" ? 0 : 1_000_000;
const nap = new Int32Array(new SharedArrayBuffer(4));
console.log("ready");
while (!existsSync(process.env.GO)) Atomics.wait(nap, 0, 0, 5);
const lab = openLab(process.env.LAB);
lab.ensureSweep({ name: "race", plan: "grid" });
const config = { model: { vocabSize: 16, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 16 }, tokens: 2560, batchTokens: 256, seed: 1 };
const accounting = { params: 4080, N: 3312, flopsPerToken: 22944 }; // runAccounting(config.model)
const row = (step, loss) => ({ step, tokens: step * 256, flops: step * 1e6, lr: 1e-3, trainLoss: loss, gradNorm: 1, elapsed: 0.1, tokensPerSec: 100 });
const claims = [];
lab.planRun({ id: "shared-1", sweep: "race", config, accounting });
const other = w === "a" ? "b" : "a";
for (let i = 0; i < ITER; i++) {
  // lockstep: wait until the other process has reached the previous iteration, so the writes really overlap
  const deadline = Date.now() + 30_000;
  while (i > 0 && !lab.getRun(other + "-" + (i - 1))) {
    if (Date.now() > deadline) throw new Error("worker " + other + " stopped before iteration " + (i - 1));
    Atomics.wait(nap, 0, 0, 1);
  }
  lab.planRun({ id: "shared-" + i, sweep: "race", config, accounting });
  lab.planRun({ id: w + "-" + i, sweep: "race", config, accounting });
  // disjoint steps on one shared run, from both processes
  lab.appendMetrics("shared-0", Array.from({ length: ROWS }, (_, k) => row(offset + i * ROWS + k + 1, 3)));
  // the same steps on another shared run, from both processes: upserts, never duplicates
  lab.appendMetrics("shared-1", Array.from({ length: ROWS }, (_, k) => row(k + 1, w === "a" ? 1 : 2)));
  lab.appendMetrics(w + "-" + i, Array.from({ length: ROWS }, (_, k) => row(k + 1, 4)));
  if (lab.claimRun("shared-" + i, { backend: w, machine: w })) claims.push("shared-" + i);
}
lab.close();
console.log(JSON.stringify({ claims }));
`;

function startWorker(name: string, env: Record<string, string>): { child: ChildProcess; ready: Promise<void>; done: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(process.execPath, ["--input-type=module", "-e", WORKER], {
    env: { ...process.env, ...env, WORKER: name },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let markReady: () => void;
  const ready = new Promise<void>((res) => (markReady = res));
  child.stdout!.on("data", (b: Buffer) => {
    out += b.toString();
    if (out.includes("ready")) markReady();
  });
  child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  const done = new Promise<{ code: number | null; out: string; err: string }>((res) =>
    child.on("close", (code) => {
      markReady();
      res({ code, out, err });
    }),
  );
  return { child, ready, done };
}

test("two processes writing one lab at once lose and duplicate nothing", async () => {
  const root = mkdtempSync(join(tmpdir(), "sl-race-"));
  const labDir = join(root, "lab");
  const go = join(root, "go");
  const env = { STORE_URL: storeUrl, LAB: labDir, GO: go, ITER: String(ITER), ROWS: String(ROWS) };
  const a = startWorker("a", env);
  const b = startWorker("b", env);
  await Promise.all([a.ready, b.ready]);
  writeFileSync(go, "");
  // a worker that fails stops the other at once (it would otherwise wait for it until its deadline)
  a.done.then((r) => r.code !== 0 && b.child.kill());
  b.done.then((r) => r.code !== 0 && a.child.kill());
  const [ra, rb] = await Promise.all([a.done, b.done]);
  const report = `worker a: exit ${ra.code} ${ra.err}\nworker b: exit ${rb.code} ${rb.err}`;
  assert.ok(ra.code === 0 && rb.code === 0, report);

  const claimsA = (JSON.parse(ra.out.trim().split("\n").pop()!) as { claims: string[] }).claims;
  const claimsB = (JSON.parse(rb.out.trim().split("\n").pop()!) as { claims: string[] }).claims;
  console.error("claims", claimsA.length, claimsB.length);
  assert.equal(claimsA.length + claimsB.length, ITER, "every contested run is claimed once");
  assert.deepEqual(claimsA.filter((c) => claimsB.includes(c)), [], "no run is claimed by both");

  const lab = openLab(labDir, { create: false });
  try {
    const runs = lab.listRuns({ sweep: "race" });
    assert.equal(runs.length, 3 * ITER, "ITER shared + ITER per worker");
    assert.equal(lab.listSweeps().length, 1);
    assert.equal(lab.metrics("shared-0").length, 2 * ITER * ROWS, "disjoint steps from both processes all kept");
    const s1 = lab.metrics("shared-1");
    assert.deepEqual(s1.map((m) => m.step), [1, 2, 3, 4, 5], "the same steps from both processes are upserted");
    assert.ok(s1.every((m) => m.trainLoss === s1[0].trainLoss), "each upsert replaces a whole batch atomically");
    for (const w of ["a", "b"]) {
      for (let i = 0; i < ITER; i++) assert.equal(lab.metrics(`${w}-${i}`).length, ROWS, `${w}-${i}`);
    }
    const shared = runs.filter((r) => r.id.startsWith("shared-"));
    assert.ok(shared.every((r) => r.status === "running" && r.attempts === 1));
    assert.equal(shared.filter((r) => r.machine === "a").length, claimsA.length);
    assert.equal(lab.getRun("shared-0")!.tokensDone, (1_000_000 + ITER * ROWS) * 256, "progress follows the latest step");
  } finally {
    lab.close();
  }
  const db = openDatabase(join(labDir, "lab.sqlite"), { readonly: true });
  assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM metrics").get() as { n: number }).n, 2 * ITER * ROWS + ROWS + 2 * ITER * ROWS);
  db.close();
});
