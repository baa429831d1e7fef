/**
 * `runTraining`: the whole `scaling-lab train` job as a function — open the prepared data, resolve the config
 * (preset → flags → defaults), check that the data fits the context, copy the tokenizer next to the run so the run
 * directory is self-contained, and train (or resume).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Dataset } from "../data/loader.js";
import { TOKENIZER_FILE } from "../data/shards.js";
import { writeFileAtomic } from "../util/files.js";
import { CHECKPOINT_FILE, CONFIG_FILE } from "../util/run-folder.js";
import { resolveTrainConfig, type TrainConfig, TrainConfigError, type TrainConfigInput } from "./config.js";
import { DatasetData } from "./dataset-data.js";
import { train, type TrainOptions, type TrainSummary } from "./loop.js";

/** Options of {@link runTraining}: the user's partial config plus loop options. */
export interface RunTrainingOptions extends Omit<TrainOptions, "outDir"> {
  config: TrainConfigInput;
  outDir: string;
}

/** Resolves the config of a run against its data directory (vocab from the tokenizer). */
export function resolveForData(input: TrainConfigInput): { config: TrainConfig; dataset: Dataset } {
  if (!input.data) throw new TrainConfigError("no data directory given (run scaling-lab prepare --out DIR first, then pass --data DIR)");
  const dataset = Dataset.open(input.data);
  const config = resolveTrainConfig(input, dataset.tokenizer.vocabSize);
  return { config, dataset };
}

/** Trains (or resumes) a run in `outDir`; see the module comment. */
export async function runTraining(opts: RunTrainingOptions): Promise<{ config: TrainConfig; summary: TrainSummary }> {
  let config: TrainConfig;
  let dataset: Dataset;
  const ckpt = join(opts.outDir, CHECKPOINT_FILE);
  if (opts.resume && existsSync(ckpt)) {
    // resuming: the saved config wins, so the run continues exactly as it started
    config = JSON.parse(readFileSync(join(opts.outDir, CONFIG_FILE), "utf8")) as TrainConfig;
    dataset = Dataset.open(config.data);
  } else {
    if (!opts.resume && existsSync(ckpt)) {
      throw new TrainConfigError(`${opts.outDir} already holds a run (pass --resume to continue it, or choose another --out)`);
    }
    ({ config, dataset } = resolveForData(opts.config));
  }
  const data = new DatasetData(dataset, config.seed);
  data.checkFits(config.microBatch, config.model.blockSize);
  mkdirSync(opts.outDir, { recursive: true });
  const tok = join(opts.outDir, TOKENIZER_FILE);
  if (!existsSync(tok)) copyFileSync(join(dataset.dir, dataset.manifest.tokenizer.file), tok);
  writeFileAtomic(join(opts.outDir, "epochs.json"), JSON.stringify(dataset.epochs(config.tokens), null, 2) + "\n");
  const summary = await train(config, data, { ...opts, outDir: opts.outDir });
  return { config, summary };
}
