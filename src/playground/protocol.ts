/**
 * The messages between the playground page (src/playground/main.ts) and its trainer, a Web Worker
 * (src/playground/worker.ts) that runs the CLI's training loop on the wasm or webgpu backend.
 */
import type { BackendInfo } from "../engine/backend.js";
import type { TrainConfig, TrainConfigInput } from "../train/config.js";
import type { ProgressEvent } from "../train/loop.js";
import type { MemoryRun } from "../train/sink.js";

/** Which backend the page asks for: "auto" is WebGPU where the browser offers an adapter, else wasm. */
export type PageBackend = "auto" | "wasm" | "webgpu";

/** What the page asks the trainer. */
export type ToTrainer =
  /** Load the prepared data at `dataUrl` and open the backend (threads: the wasm backend's, when memory is shared). */
  | { type: "init"; dataUrl: string; backend: PageBackend; threads: number }
  /** Train one run (its config is resolved in the worker against the data's vocabulary, as the CLI does). */
  | { type: "train"; id: string; config: TrainConfigInput }
  /** Stop the current run after its step (it is dropped: the page keeps only finished runs). */
  | { type: "stop" }
  /** Train `config` for `steps` steps and report the throughput (the bench). */
  | { type: "bench"; config: TrainConfigInput; steps: number };

/** Why the trainer failed, for the page's one line. */
export type TrainerErrorKind = "gpu-lost" | "backend" | "data" | "run";

/** What the trainer tells the page. */
export type FromTrainer =
  | { type: "ready"; backend: BackendInfo; vocabSize: number; isolated: boolean; notes: string[] }
  | { type: "start"; id: string; config: TrainConfig; steps: number }
  | { type: "progress"; id: string; event: ProgressEvent }
  | { type: "done"; id: string; run: MemoryRun }
  | { type: "stopped"; id: string }
  | { type: "bench"; tokensPerSec: number; steps: number; backend: BackendInfo }
  | { type: "error"; id: string | null; kind: TrainerErrorKind; message: string };
