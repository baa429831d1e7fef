/**
 * Runs {@link FitTask}s on worker threads (one per core by default) or inline. Results come back in task
 * order, so callers get the same answer with any number of workers.
 */
import { Worker } from "node:worker_threads";
import { defaultThreads } from "../util/threads.js";
import { FitError } from "./errors.js";
import { type FitTask, runTask } from "./tasks.js";

/** The most worker threads a fit starts by default (more rarely pays for their start-up). */
export const MAX_FIT_WORKERS = 8;

/** The default number of worker threads: the default thread count (SCALING_LAB_THREADS or the cores), at most 8. */
export function defaultWorkers(): number {
  return Math.min(MAX_FIT_WORKERS, defaultThreads());
}

/**
 * Runs tasks and resolves to their results in order. With `workers` ≤ 1 (or a single task) they run inline
 * on this thread; otherwise on up to `workers` threads, each taking the next task when it finishes one.
 */
export async function runTasks<R>(tasks: FitTask[], workers: number = defaultWorkers()): Promise<R[]> {
  if (workers <= 1 || tasks.length <= 1) return tasks.map((t) => runTask(t) as R);
  const count = Math.min(workers, tasks.length);
  const results: R[] = new Array(tasks.length);
  let next = 0;
  const url = new URL("./worker.js", import.meta.url);
  const threads: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: count }, () => {
        const w = new Worker(url);
        threads.push(w);
        return new Promise<void>((resolve, reject) => {
          const feed = () => {
            if (next >= tasks.length) {
              resolve();
              return;
            }
            const id = next++;
            w.postMessage({ id, task: tasks[id] });
          };
          w.on("message", (msg: { id: number; result?: R; error?: { name: string; message: string } }) => {
            if (msg.error) {
              reject(msg.error.name === "FitError" ? new FitError(msg.error.message) : new Error(msg.error.message));
              return;
            }
            results[msg.id] = msg.result as R;
            feed();
          });
          w.on("error", reject);
          w.on("exit", (code) => {
            if (code !== 0) reject(new Error(`fit worker exited with code ${code}`));
          });
          feed();
        });
      }),
    );
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return results;
}
