/**
 * scaling-lab as a library: every command is also a function (README.md, "Develop and test": how data flows). This
 * module re-exports the public API by concept; import deeper modules for the rest.
 */
export { createBackend, JsBackend, WasmBackend, BACKEND_NAMES, type AnyBackend, type Backend, type BackendInfo } from "./engine/index.js";
export { GPT, paramLayout, ModelInputError, type OptimizerHParams } from "./model/gpt.js";
export { validateConfig, type GPTConfig } from "./model/config.js";
export { paramCounts, flopsPerToken, trainingFlops } from "./model/accounting.js";
export { PF_DAY } from "./util/units.js";
export { generate, type SampleOptions } from "./model/sample.js";
export { scoreTokens } from "./model/score.js";
export { loadHfGpt2 } from "./model/hf-gpt2.js";
export { readSafetensors, writeSafetensors } from "./model/safetensors.js";
export { train, type TrainData, type TrainSummary } from "./train/loop.js";
export type { MetricRecord } from "./util/run-folder.js";
export { memorySink, type MemoryRun, type RunSink } from "./train/sink.js";
export { runTraining } from "./train/run.js";
export { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from "./train/config.js";
export { loadModel } from "./train/load-model.js";
export { loadLadder } from "./sweep/ladder.js";
export { makePlan } from "./sweep/plan.js";
export { runSweep, planSweep } from "./sweep/sweep.js";
export { LocalExecutor, type Executor } from "./sweep/executor.js";
export { predictHeldOut, predictFromRuns } from "./sweep/predict.js";
export { runDemo } from "./studies/scaling.js";
export { openLab, importRunBundle, parseRunBundle, runBundleText, type Lab, type RunBundle } from "./store/index.js";
export { startPlayground, type Playground } from "./server/index.js";
export * as data from "./data/index.js";
export * as fit from "./fit/index.js";
export * as forecast from "./forecast/index.js";
export * as evals from "./evals/index.js";
export * as report from "./report/index.js";
