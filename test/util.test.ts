/**
 * util/: the helpers every layer shares — units, time, atomic files and the one thread-count decision (which honours
 * SCALING_LAB_THREADS and never exceeds what the native addon's pool accepts).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { defaultWorkers } from "../src/fit/pool.js";
import { writeFileAtomic } from "../src/util/files.js";
import { Rng } from "../src/util/rng.js";
import { defaultThreads, MAX_THREADS, ThreadCountError, shareThreads } from "../src/util/threads.js";
import { decimalYear } from "../src/util/time.js";
import { flopsToPfDays, PF_DAY, pfDaysToFlops } from "../src/util/units.js";
import { assertOneLineError, repoRoot, runCli } from "./helpers.js";

/** Runs `fn` with SCALING_LAB_THREADS set to `value` (unset for undefined), restoring it afterwards. */
function withThreadsEnv<T>(value: string | undefined, fn: () => T): T {
  const before = process.env.SCALING_LAB_THREADS;
  if (value === undefined) delete process.env.SCALING_LAB_THREADS;
  else process.env.SCALING_LAB_THREADS = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.SCALING_LAB_THREADS;
    else process.env.SCALING_LAB_THREADS = before;
  }
}

test("units: a PF-day is 10^15 FLOP/s for a day, and the conversions invert", () => {
  assert.equal(PF_DAY, 1e15 * 86400);
  assert.equal(flopsToPfDays(3.14e23), 3.14e23 / 8.64e19);
  assert.equal(pfDaysToFlops(flopsToPfDays(1e21)), 1e21);
});

test("time: decimal years in UTC", () => {
  assert.equal(decimalYear(new Date(Date.UTC(2026, 0, 1))), 2026);
  assert.equal(decimalYear(new Date(Date.UTC(2024, 6, 2))), 2024 + 183 / 366, "leap year: 2 July is day 183 of 366");
  assert.ok(Math.abs(decimalYear(new Date(Date.UTC(2026, 10, 24))) - 2026.9) < 0.005);
});

test("atomic files: the new content replaces the old whole, and no temp file is left", () => {
  const dir = mkdtempSync(join(tmpdir(), "sl-atomic-"));
  const file = join(dir, "state.json");
  writeFileAtomic(file, "old\n");
  writeFileAtomic(file, Buffer.from("new ✓\n", "utf8"));
  assert.equal(readFileSync(file, "utf8"), "new ✓\n");
  assert.deepEqual(readdirSync(dir), ["state.json"]);
});

test("rng: one generator; a seed's own stream is unchanged (checkpoints resume), and streams are independent", () => {
  const r = new Rng(42);
  // the sequence of seed 42 before streams existed: a saved RNG state keeps meaning the same draws
  assert.deepEqual([r.nextU32(), r.nextU32()], [3704290710, 166753127]);
  assert.deepEqual(new Rng(0).getState(), [1020716019, 454327756, 1275600319, 1215922603]);
  const draws = (g: Rng) => Array.from({ length: 8 }, () => g.nextU32());
  assert.deepEqual(draws(new Rng(7, 0)), draws(new Rng(7)), "stream 0 is the seed's own stream");
  assert.deepEqual(draws(new Rng(7, 3)), draws(new Rng(7, 3)), "a stream is deterministic");
  const streams = [0, 1, 2, 3].map((i) => draws(new Rng(7, i))[0]);
  assert.equal(new Set(streams).size, 4, "streams of one seed differ");
  assert.notDeepEqual(draws(new Rng(7, 1)), draws(new Rng(8, 1)), "the same stream of another seed differs");
  const g = new Rng(5, 2);
  const u = Array.from({ length: 2000 }, () => g.uniform(-1, 3));
  assert.ok(u.every((x) => x >= -1 && x < 3));
  const mean = u.reduce((a, b) => a + b, 0) / u.length;
  assert.ok(Math.abs(mean - 1) < 0.1, `uniform(-1, 3) mean ${mean}`);
});

test("threads: SCALING_LAB_THREADS wins; else the cores, capped at the addon's limit (a >64-core machine)", () => {
  assert.equal(defaultThreads({ cores: 2, env: {} }), 2);
  assert.equal(defaultThreads({ cores: 192, env: {} }), MAX_THREADS, "192 cores: the native pool's limit, not 192");
  assert.equal(defaultThreads({ cores: 0, env: {} }), 1);
  assert.equal(defaultThreads({ cores: 192, env: { SCALING_LAB_THREADS: "3" } }), 3);
  assert.equal(defaultThreads({ cores: 2, env: { SCALING_LAB_THREADS: "" } }), 2, "an empty variable counts as unset");
  for (const bad of ["abc", "0", "65", "2.5"]) {
    assert.throws(() => defaultThreads({ cores: 8, env: { SCALING_LAB_THREADS: bad } }), (e: Error) =>
      e instanceof ThreadCountError && new RegExp(`^SCALING_LAB_THREADS=${bad.replace(".", "\\.")} is not an integer in \\[1, 64\\]; fix:`).test(e.message));
  }
});

test("shared threads: an equal share of the total, at least 1, at most the addon's limit", () => {
  const machine = { cores: 256, env: {} };
  assert.equal(shareThreads(undefined, 1, machine), 64, "one run on 256 cores asks for 64, which the addon accepts");
  assert.equal(shareThreads(undefined, 2, machine), 32);
  assert.equal(shareThreads(200, 1, machine), 64, "an explicit total above the limit is capped too");
  assert.equal(shareThreads(8, 3, machine), 2);
  assert.equal(shareThreads(2, 4, machine), 1);
  assert.equal(shareThreads(6, 0, machine), 6, "no runs counts as one");
  assert.equal(shareThreads(undefined, 2, { cores: 256, env: { SCALING_LAB_THREADS: "6" } }), 3);
});

test("threads: the cap is the native addon's own limit (MAX_THREADS in native/addon.c)", () => {
  const source = readFileSync(join(repoRoot, "native/addon.c"), "utf8");
  const m = /#define MAX_THREADS (\d+)/.exec(source);
  assert.ok(m, "native/addon.c defines MAX_THREADS");
  assert.equal(MAX_THREADS, Number(m[1]));
});

test("threads: the fit worker pool honours SCALING_LAB_THREADS (at most 8 workers)", () => {
  assert.equal(withThreadsEnv("1", defaultWorkers), 1);
  assert.equal(withThreadsEnv("5", defaultWorkers), 5);
  assert.equal(withThreadsEnv("40", defaultWorkers), 8);
});

test("threads: a malformed SCALING_LAB_THREADS is a one-line error, not a stack trace", () => {
  const csv = join(repoRoot, "reference/chinchilla/svg_extracted_data.csv");
  assert.ok(existsSync(csv));
  const r = withThreadsEnv("lots", () => runCli(["fit", "power", "--csv", csv, "--n-col", "Model Size", "--x", "N", "--bootstrap", "4"]));
  assertOneLineError(r, "malformed SCALING_LAB_THREADS", /SCALING_LAB_THREADS=lots is not an integer in \[1, 64\]; fix: unset it/);
});
