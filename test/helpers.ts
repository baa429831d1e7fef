/** Shared test helpers: locating shared/, comparing tensors, choosing backends. */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createBackend, type AnyBackend } from "../src/engine/index.js";

/** The repository root (tests run from dist/test/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The read-only shared/ folder beside the repository. */
export const sharedDir = resolve(repoRoot, "../shared");

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
 * The backends every engine test covers: js always; native unless SCALING_LAB_SKIP_NATIVE=1 (a missing addon is a
 * failure otherwise, so CI really tests it).
 */
export async function testBackends(): Promise<AnyBackend[]> {
  const list: AnyBackend[] = [await createBackend("js")];
  if (process.env.SCALING_LAB_SKIP_NATIVE !== "1") list.push(await createBackend("native"));
  return list;
}

/** Whether the shared reference folder is present. */
export function haveShared(): boolean {
  return existsSync(sharedDir);
}
