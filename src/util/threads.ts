/**
 * Thread counts: the one place that decides how many threads scaling-lab uses when not told — the CPU backends
 * (native, wasm), the fit worker pool and the sweep executors (local and Redis) all ask here, so
 * `SCALING_LAB_THREADS` means the same everywhere and no default exceeds what the native addon accepts.
 */
import { availableParallelism } from "node:os";

/**
 * The most threads one native thread pool accepts (MAX_THREADS in native/addon.c; createPool throws a RangeError
 * above it and a sweep's run would fall back to wasm). Every count returned here is at most this.
 */
export const MAX_THREADS = 64;

/** The machine a thread count is decided for; the defaults describe this process (tests pass others). */
export interface ThreadMachine {
  /** Cores available to this process (default: os.availableParallelism()). */
  cores?: number;
  /** The environment read for SCALING_LAB_THREADS (default: process.env). */
  env?: Record<string, string | undefined>;
}

/** A malformed `SCALING_LAB_THREADS`: the message is one line naming the fix. */
export class ThreadCountError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "ThreadCountError";
  }
}

/**
 * Default thread count: `SCALING_LAB_THREADS` when set (an integer in [1, {@link MAX_THREADS}]), else every
 * available core, at most {@link MAX_THREADS}. Throws a {@link ThreadCountError} for a malformed variable.
 * @example defaultThreads({ cores: 128 }) // 64 when SCALING_LAB_THREADS is unset
 */
export function defaultThreads(machine: ThreadMachine = {}): number {
  if (typeof process !== "object" && machine.cores === undefined) {
    // a browser page or Web Worker (the playground): its cores, as the browser reports them
    return Math.max(1, Math.min(MAX_THREADS, (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1));
  }
  const raw = (machine.env ?? process.env).SCALING_LAB_THREADS;
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_THREADS) return n;
    throw new ThreadCountError(`SCALING_LAB_THREADS=${raw} is not an integer in [1, ${MAX_THREADS}]; fix: unset it or pick a valid count`);
  }
  return Math.max(1, Math.min(MAX_THREADS, machine.cores ?? availableParallelism()));
}

/**
 * Threads for each of `runs` concurrent training runs sharing `total` threads (default {@link defaultThreads}):
 * an equal share, at least 1 and at most {@link MAX_THREADS} (what one run's native pool accepts).
 * @example shareThreads(undefined, 2, { cores: 16 }) // 8
 */
export function shareThreads(total: number | undefined, runs: number, machine: ThreadMachine = {}): number {
  const all = total ?? defaultThreads(machine);
  return Math.max(1, Math.min(MAX_THREADS, Math.floor(all / Math.max(1, runs))));
}
