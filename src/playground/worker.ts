/**
 * The playground's trainer: a Web Worker running the CLI's training loop (src/train/loop.ts) on the CLI's model,
 * data loader and backends — wasm (matrix products on Web Workers over shared memory where the page is
 * cross-origin isolated, one thread otherwise) or webgpu (navigator.gpu). Runs are recorded in memory and handed
 * to the page when they finish; see protocol.ts for the messages.
 */
import type { Dataset } from "../data/loader.js";
import type { AnyBackend } from "../engine/backend.js";
import { sharedMemoryAvailable } from "../engine/threads.js";
import { createWasmBackend } from "../engine/wasm.js";
import { WebGpuError } from "../engine/webgpu/device.js";
import { resolveTrainConfig, type TrainConfigInput } from "../train/config.js";
import { DatasetData } from "../train/dataset-data.js";
import { train } from "../train/loop.js";
import { memorySink } from "../train/sink.js";
import { measureThroughput } from "./bench.js";
import { fetchDataset } from "./data.js";
import type { FromTrainer, PageBackend, ToTrainer, TrainerErrorKind } from "./protocol.js";

let dataset: Dataset | null = null;
let backend: AnyBackend | null = null;
let stopping = false;
/** Messages wait here while a run trains (the loop yields once a step, so "stop" gets through). */
let busy: Promise<void> = Promise.resolve();

const post = (m: FromTrainer) => (self as unknown as Worker).postMessage(m);

/** The first line of an error's message. */
function line(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

/** Opens the backend the page asked for; "auto" falls back to wasm (saying why) when WebGPU is not there. */
async function openBackend(kind: PageBackend, threads: number, notes: string[]): Promise<AnyBackend> {
  if (kind !== "wasm") {
    try {
      const { createWebGpuBackend } = await import("../engine/webgpu/backend.js");
      return (await createWebGpuBackend()) as unknown as AnyBackend;
    } catch (e) {
      if (kind === "webgpu") throw e;
      notes.push(`WebGPU is not available (${line(e)}); training on the wasm backend`);
    }
  }
  const shared = sharedMemoryAvailable();
  if (!shared && threads > 1) {
    notes.push("no SharedArrayBuffer: the page is not cross-origin isolated, so the wasm backend runs on one thread (serve it with scaling-lab playground for every core)");
  }
  return createWasmBackend(shared ? threads : 1);
}

async function init(m: Extract<ToTrainer, { type: "init" }>): Promise<void> {
  try {
    dataset = await fetchDataset(m.dataUrl);
  } catch (e) {
    post({ type: "error", id: null, kind: "data", message: `the corpus slice did not load: ${line(e)}` });
    return;
  }
  const notes: string[] = [];
  try {
    backend?.dispose();
    backend = await openBackend(m.backend, m.threads, notes);
  } catch (e) {
    post({ type: "error", id: null, kind: "backend", message: line(e) });
    return;
  }
  post({ type: "ready", backend: backend.info(), vocabSize: dataset.tokenizer.vocabSize, isolated: sharedMemoryAvailable(), notes });
}

/**
 * Resolves a run's config as `scaling-lab train` does, with this data's vocabulary and the backend in use (so the
 * exported config.json says what trained it), and checks the data fits.
 */
function prepare(input: TrainConfigInput) {
  const info = backend!.info();
  const config = resolveTrainConfig({ ...input, backend: info.name, threads: info.threads }, dataset!.tokenizer.vocabSize);
  const data = new DatasetData(dataset!, config.seed);
  data.checkFits(config.microBatch, config.model.blockSize);
  return { config, data };
}

function errorKind(e: unknown): TrainerErrorKind {
  return e instanceof WebGpuError && e.kind === "device-lost" ? "gpu-lost" : "run";
}

async function trainRun(m: Extract<ToTrainer, { type: "train" }>): Promise<void> {
  if (!dataset || !backend) {
    post({ type: "error", id: m.id, kind: "backend", message: "the trainer is not ready (the data or the backend failed to load)" });
    return;
  }
  stopping = false;
  try {
    const { config, data } = prepare(m.config);
    const sink = memorySink(m.id);
    const summary = await train(config, data, {
      sink,
      backend,
      shouldStop: () => stopping,
      onStart: (s) => post({ type: "start", id: m.id, config, steps: s.steps }),
      onProgress: (event) => post({ type: "progress", id: m.id, event }),
    });
    if (summary.status === "done") post({ type: "done", id: m.id, run: sink.run });
    else post({ type: "stopped", id: m.id });
  } catch (e) {
    post({ type: "error", id: m.id, kind: errorKind(e), message: line(e) });
  }
}

async function bench(m: Extract<ToTrainer, { type: "bench" }>): Promise<void> {
  if (!dataset || !backend) return;
  try {
    const { config, data } = prepare({ ...m.config, tokens: (m.config.batchTokens ?? 2048) * m.steps });
    const t = await measureThroughput(config, data, backend);
    post({ type: "bench", tokensPerSec: t.tokensPerSec, steps: t.steps, backend: backend.info() });
  } catch (e) {
    post({ type: "error", id: null, kind: errorKind(e), message: line(e) });
  }
}

self.onmessage = (ev: MessageEvent<ToTrainer>) => {
  const m = ev.data;
  if (m.type === "stop") {
    stopping = true;
    return;
  }
  busy = busy.then(() => (m.type === "init" ? init(m) : m.type === "train" ? trainRun(m) : bench(m)));
};
