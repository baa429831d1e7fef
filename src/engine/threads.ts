/** How many threads the CPU backends (native, wasm) use when not told. */
import { availableParallelism } from "node:os";

/**
 * Default thread count: `SCALING_LAB_THREADS` when set, else every available core (at most 64).
 * Throws a one-line RangeError for a malformed `SCALING_LAB_THREADS`.
 */
export function defaultThreads(): number {
  const env = process.env.SCALING_LAB_THREADS;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 1 && n <= 64) return n;
    throw new RangeError(`SCALING_LAB_THREADS=${env} is not an integer in [1, 64]; fix: unset it or pick a valid count`);
  }
  return Math.max(1, Math.min(64, availableParallelism()));
}
