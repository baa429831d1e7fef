/** Paths the benchmark scripts share. */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (benchmarks run from dist/bench/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
