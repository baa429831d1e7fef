/** Shared test helpers: locating the reference data, comparing tensors, choosing backends. */
import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type PrepareResult, prepareDataset } from "../src/data/prepare.js";
import { createBackend, type AnyBackend } from "../src/engine/index.js";
import { type GPTShape, runAccounting } from "../src/model/accounting.js";
import { Rng } from "../src/util/rng.js";

// measured speeds (src/sweep/speed.ts) go to a fresh cache per test process, not the user's ~/.cache
process.env.SCALING_LAB_CACHE ??= mkdtempSync(join(tmpdir(), "sl-cache-"));

/** The repository root (tests run from dist/test/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The repository's reference data (reference/README.md: PyTorch vectors, published scaling data). */
export const referenceDir = resolve(repoRoot, "reference");
/** The compiled CLI, as `npx scaling-lab` runs it. */
export const cliPath = resolve(repoRoot, "dist/src/cli/main.js");

/** Runs `scaling-lab ARGS…` in a child process (stdout and stderr as text). */
export function runCli(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliPath, ...args], { encoding: "utf8" });
}

/**
 * Asserts a CLI run failed as bad input should: exit status 2 and exactly one line on stderr, matching every pattern
 * (typically the problem, and the `scaling-lab COMMAND: ` prefix).
 */
export function assertOneLineError(r: SpawnSyncReturns<string>, what: string, ...patterns: RegExp[]): void {
  assert.equal(r.status, 2, `${what}: status ${r.status}, stderr ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  for (const re of patterns) assert.match(lines[0], re);
}

/**
 * Max absolute difference divided by the reference's max magnitude (a scale-aware relative error that does not
 * blow up on entries near zero). Returns 0 for identical arrays.
 */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxDiff)) maxDiff = d; // NaN propagates as a failure
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}

/**
 * The backends every engine test covers: js and wasm always; native unless SCALING_LAB_SKIP_NATIVE=1 (a missing
 * addon is a failure otherwise, so CI really tests it).
 */
export async function testBackends(): Promise<AnyBackend[]> {
  const list: AnyBackend[] = [await createBackend("js"), await createBackend("wasm")];
  if (process.env.SCALING_LAB_SKIP_NATIVE !== "1") list.push(await createBackend("native"));
  return list;
}

/** n standard-normal floats times `scale`. */
export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

/** n integers uniform in [0, V). */
export function randInts(rng: Rng, n: number, V: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(V);
  return a;
}

/**
 * A tiny prepared dataset (bytes tokenizer, 40 short documents of a 10-word vocabulary), made once per process:
 * enough for sweeps of the tiny-test ladder.
 */
export async function tinyCorpusData(): Promise<string> {
  if (tinyDir) return tinyDir;
  const dir = mkdtempSync(join(tmpdir(), "sl-tinydata-"));
  const src = join(dir, "corpus.txt");
  const words = "the whale ship sea captain white deep harpoon crew storm".split(" ");
  let text = "";
  for (let d = 0; d < 40; d++) {
    for (let i = 0; i < 120; i++) text += words[(d * 7 + i * 3 + (i % 5)) % words.length] + (i % 9 === 8 ? ".\n" : " ");
    text += "\n\n";
  }
  writeFileSync(src, text);
  await prepareDataset({ sources: [src], tokenizer: "bytes", outDir: join(dir, "data"), valFraction: 0.1, docChars: 2000 });
  tinyDir = join(dir, "data");
  return tinyDir;
}
let tinyDir: string | undefined;

/**
 * How close a backend's tensor must be to the reference: its largest error relative to the tensor's largest value
 * (`maxRel`, see {@link relError}), and every element on its own: |actual − expected| ≤ atol·max|expected| +
 * rtol·|expected| (see {@link elementError}), so an error in a small entry cannot hide behind the largest one.
 */
export interface Tolerance {
  /** Bound on max |a − e| / max |e|. */
  maxRel: number;
  /** Per-element floor, as a fraction of the tensor's largest magnitude (float32 rounding of sums near zero). */
  atol: number;
  /** Per-element bound relative to the element itself. */
  rtol: number;
}

/** The tolerance of kernel comparisons and reference vectors: 1e-4 of the largest value, and per element. */
export const TOLERANCE: Tolerance = { maxRel: 1e-4, atol: 1e-5, rtol: 1e-4 };

/** The worst element of a per-element check: ratio > 1 fails (see {@link Tolerance}). */
export interface ElementError {
  /** max over elements of |a − e| / (atol·max|e| + rtol·|e|); NaN anywhere gives Infinity. */
  ratio: number;
  /** Index of the worst element. */
  index: number;
}

/** The per-element error of `actual` against `expected` (see {@link Tolerance}). */
export function elementError(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Pick<Tolerance, "atol" | "rtol">): ElementError {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) maxRef = Math.max(maxRef, Math.abs(expected[i]));
  const floor = tol.atol * maxRef;
  const worst: ElementError = { ratio: 0, index: -1 };
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const bound = floor + tol.rtol * Math.abs(expected[i]);
    const r = d === 0 ? 0 : bound > 0 ? d / bound : Infinity;
    if (!(r <= worst.ratio)) { // NaN counts as the worst
      worst.ratio = Number.isNaN(r) ? Infinity : r;
      worst.index = i;
    }
  }
  return worst;
}

/**
 * Asserts that `actual` matches `expected` within `tol`, both on the largest error and element by element. A number
 * r stands for { maxRel: r, atol: r / 10, rtol: r } (the shape of {@link TOLERANCE}).
 */
export function assertClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: Tolerance | number = TOLERANCE): void {
  const tol = typeof tolerance === "number" ? { maxRel: tolerance, atol: tolerance / 10, rtol: tolerance } : tolerance;
  const e = relError(actual, expected);
  assert.ok(e <= tol.maxRel, `${name}: relative error ${e.toExponential(2)} > ${tol.maxRel}`);
  const el = elementError(actual, expected, tol);
  if (el.ratio > 1) {
    const i = el.index;
    assert.fail(`${name}: element ${i} is ${actual[i]}, expected ${expected[i]} (error ${Math.abs(actual[i] - expected[i]).toExponential(2)} > ${tol.atol} × max|expected| + ${tol.rtol} × |expected|)`);
  }
}

/** A planRun input with the accounting of its model added (what sweep planning computes for real runs). */
export function planned<T extends { config: { model: GPTShape } }>(input: T): T & { accounting: ReturnType<typeof runAccounting> } {
  return { ...input, accounting: runAccounting(input.config.model) };
}

/**
 * A small prepared dataset (bytes tokenizer, 30 documents) in `out`, its corpus written beside it as
 * corpus-SEED.txt; `seed` changes the train/validation split (so another seed is another dataset).
 */
export async function smallCorpusData(out: string, seed = 0, onProgress?: (message: string) => void): Promise<PrepareResult> {
  const src = join(out, "..", `corpus-${seed}.txt`);
  const words = "the whale ship sea captain white deep harpoon crew storm".split(" ");
  let text = "";
  for (let d = 0; d < 30; d++) {
    for (let i = 0; i < 80; i++) text += words[(d * 7 + i * 3) % words.length] + (i % 9 === 8 ? ".\n" : " ");
    text += "\n\n";
  }
  writeFileSync(src, text);
  return prepareDataset({ sources: [src], tokenizer: "bytes", outDir: out, valFraction: 0.1, docChars: 400, seed, onProgress });
}

/** A TCP port of 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Writes DIR/banded.json, a two-size ladder of GPT-3's alternating attention for sweep tests: the ladder's window 4,
 * overridden to 2 by its second size (their runs must record [4, 2]). Returns the file's path.
 */
export function writeBandedLadder(dir: string, batchTokens: number): string {
  const file = join(dir, "banded.json");
  writeFileSync(file, JSON.stringify({
    blockSize: 16, batchTokens, localWindow: 4,
    sizes: [{ name: "a", nLayer: 2, nHead: 2, nEmbd: 8 }, { name: "b", nLayer: 2, nHead: 2, nEmbd: 16, localWindow: 2 }],
  }));
  return file;
}
