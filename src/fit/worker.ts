/**
 * Worker-thread entry point: receives {@link FitTask}s, runs them with {@link runTask}, and posts the
 * results (or an error message) back. Started by pool.ts.
 */
import { parentPort } from "node:worker_threads";
import { type FitTask, runTask } from "./tasks.js";

parentPort?.on("message", (msg: { id: number; task: FitTask }) => {
  try {
    parentPort!.postMessage({ id: msg.id, result: runTask(msg.task) });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: msg.id, error: { name: err.name, message: err.message } });
  }
});
