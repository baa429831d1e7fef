/**
 * How the wasm backend starts a thread — a Node worker thread, or a Web Worker when the engine runs in a browser (the
 * playground's trainer worker) — and whether threads can share memory there. How many threads to use is decided in
 * src/util/threads.ts.
 */
import { Worker as NodeWorker } from "node:worker_threads";

/** Whether this is Node.js (as opposed to a browser page or Web Worker). */
export function isNode(): boolean {
  return typeof process === "object" && typeof process.versions?.node === "string";
}

/**
 * Whether threads can share memory here: always in Node; in a browser only where the page is cross-origin isolated
 * (served with COOP/COEP headers), which is what exposes SharedArrayBuffer.
 */
export function sharedMemoryAvailable(): boolean {
  return typeof SharedArrayBuffer === "function" && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

/** A thread started by {@link startThread}. */
export interface ThreadHandle {
  /** Stops the thread at once. */
  terminate(): void;
}

/**
 * Starts a thread that runs `body`, a classic script that finds its input in a `workerData` variable: a Node worker
 * thread (unref'd: it never keeps the process alive), or in a browser a Web Worker from a Blob URL whose first
 * message is `workerData`. `onGone` is called once if the thread fails to start or exits.
 */
export function startThread(body: string, workerData: unknown, onGone: () => void): ThreadHandle {
  let gone = false;
  const once = () => {
    if (!gone) {
      gone = true;
      onGone();
    }
  };
  if (isNode()) {
    // execArgv [] : the source is CommonJS even when this process runs with --input-type=module (regression test)
    const w = new NodeWorker(`const { workerData } = require("node:worker_threads");\n${body}`, { eval: true, execArgv: [], workerData });
    w.unref();
    w.once("error", once);
    w.once("exit", once);
    return { terminate: () => void w.terminate() };
  }
  // the body returns when it is done (the wasm workers on a stop): the worker then closes itself
  const source = `self.onmessage = (event) => {\nself.onmessage = null;\nconst workerData = event.data;\n${body}\nself.close();\n};`;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const w = new Worker(url);
  w.onerror = (e) => {
    e.preventDefault();
    once();
  };
  w.postMessage(workerData);
  return {
    terminate: () => {
      w.terminate();
      URL.revokeObjectURL(url);
    },
  };
}
