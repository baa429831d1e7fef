/**
 * `runTraining`: the whole `scaling-lab train` job as a function — open the prepared data, resolve the config
 * (preset → flags → defaults), check that the data fits the context, copy the tokenizer next to the run so the run
 * directory is self-contained, and train (or resume).
 *
 * Which config a resumed run uses: the checkpoint's (the weights and optimizer state were trained with it). Only
 * {@link RESUME_CHANGEABLE} fields may change on --resume, from flags (or an edit of config.json): the peak learning
 * rate (lower it after a divergence), threads, backend, the data's path (the same data: its manifest hash must
 * match), and how often to validate and checkpoint. Any other difference, in flags or in config.json, is refused with
 * the field named. The data a run started on is pinned by its manifest hash (config.dataHash): a dataset prepared
 * again with other contents is refused.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Dataset } from "../data/loader.js";
import { runRepetitionWarning } from "../data/mixture.js";
import { TOKENIZER_FILE, manifestHash } from "../data/shards.js";
import { writeFileAtomic } from "../util/files.js";
import { CHECKPOINT_FILE, CONFIG_FILE } from "../util/run-folder.js";
import { readCheckpointHeader } from "./checkpoint.js";
import { resolveTrainConfig, type TrainConfig, TrainConfigError, type TrainConfigInput, TrainConfigSchema } from "./config.js";
import { DatasetData } from "./dataset-data.js";
import { train, type TrainOptions, type TrainSummary } from "./loop.js";

/** Options of {@link runTraining}: the user's partial config plus loop options. */
export interface RunTrainingOptions extends Omit<TrainOptions, "outDir"> {
  config: TrainConfigInput;
  outDir: string;
  /** Told about what the user should know before training starts (e.g. a run that repeats its data). */
  onWarning?: (message: string) => void;
}

/** The config fields a resumed run may change (flag names in `train --help`); every other field is the checkpoint's. */
export const RESUME_CHANGEABLE = ["lr", "threads", "backend", "data", "evalEvery", "checkpointEvery"] as const;

/** Resolves the config of a run against its data directory (vocab from the tokenizer; the data pinned by hash). */
export function resolveForData(input: TrainConfigInput): { config: TrainConfig; dataset: Dataset } {
  if (!input.data) throw new TrainConfigError("no data directory given (run scaling-lab prepare --out DIR first, then pass --data DIR)");
  const dataset = Dataset.open(input.data);
  const config = resolveTrainConfig(input, dataset.tokenizer.vocabSize);
  config.dataHash = manifestHash(dataset.dir) ?? undefined;
  return { config, dataset };
}

/** Trains (or resumes) a run in `outDir`; see the module comment. */
export async function runTraining(opts: RunTrainingOptions): Promise<{ config: TrainConfig; summary: TrainSummary }> {
  let config: TrainConfig;
  let dataset: Dataset;
  if (existsSync(opts.outDir) && !statSync(opts.outDir).isDirectory()) {
    throw new TrainConfigError(`--out ${opts.outDir} is a file, not a directory; choose another --out`);
  }
  const ckpt = join(opts.outDir, CHECKPOINT_FILE);
  if (opts.resume && existsSync(ckpt)) {
    config = resumeConfig(opts.outDir, opts.config, opts.log);
    dataset = Dataset.open(config.data);
    checkSameData(config, dataset.dir, opts.outDir);
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
  const epochs = dataset.epochs(config.tokens);
  writeFileAtomic(join(opts.outDir, "epochs.json"), JSON.stringify(epochs, null, 2) + "\n");
  const warning = runRepetitionWarning(epochs);
  if (warning) opts.onWarning?.(warning);
  const summary = await train(config, data, { ...opts, outDir: opts.outDir });
  return { config, summary };
}

/**
 * The config of a resumed run: the checkpoint's, with the changeable fields taken from config.json (when edited)
 * and then from `input` (flags). A difference in any other field is refused, naming it.
 */
export function resumeConfig(outDir: string, input: TrainConfigInput, log?: (line: string) => void): TrainConfig {
  const header = readCheckpointHeader(outDir)!;
  const saved = header.config;
  const recordPath = join(outDir, CONFIG_FILE);
  let record: Record<string, unknown> | null = null;
  if (existsSync(recordPath)) {
    try {
      record = JSON.parse(readFileSync(recordPath, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new TrainConfigError(
        `${recordPath} is not valid JSON (${(e as Error).message.split("\n")[0]}); the checkpoint holds the run's config: delete ${recordPath} and --resume again`,
      );
    }
  }
  const config: TrainConfig = { ...saved, model: { ...saved.model } };
  const apply = (given: Record<string, unknown>, where: string, strict: boolean) => {
    for (const [key, value] of Object.entries(given)) {
      if (value === undefined || key === "dataHash") continue;
      if (key === "model") {
        for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
          if (v !== undefined && v !== (saved.model as Record<string, unknown>)[k]) refuse(`model.${k}`, (saved.model as Record<string, unknown>)[k], v, where);
        }
        continue;
      }
      const before = (saved as Record<string, unknown>)[key];
      if (same(before, value)) continue;
      if ((RESUME_CHANGEABLE as readonly string[]).includes(key)) {
        if (!same((config as Record<string, unknown>)[key], value)) log?.(`resume: ${key} ${JSON.stringify(before)} → ${JSON.stringify(value)} (${where})`);
        (config as Record<string, unknown>)[key] = value;
      } else if (strict || key in saved) {
        refuse(key, before, value, where);
      }
    }
  };
  if (record) apply(record, `edited in ${recordPath}`, false);
  apply(input as Record<string, unknown>, "given with --resume", true);
  const r = TrainConfigSchema.safeParse(config);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new TrainConfigError(`invalid training config on --resume: ${issue.path.join(".")}: ${issue.message}`);
  }
  return { ...r.data, dataHash: saved.dataHash };
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function refuse(field: string, before: unknown, after: unknown, where: string): never {
  throw new TrainConfigError(
    `cannot change ${field} on --resume (${JSON.stringify(before)} in the checkpoint, ${JSON.stringify(after)} ${where}): the checkpoint's config wins and only ${RESUME_CHANGEABLE.join(", ")} may change; undo the change, or start a new run with another --out`,
  );
}

/** Refuses to resume on data other than the data the run started on (its manifest hash, when recorded). */
function checkSameData(config: TrainConfig, dataDir: string, outDir: string): void {
  if (!config.dataHash) return;
  const now = manifestHash(dataDir);
  if (now !== config.dataHash) {
    throw new TrainConfigError(
      `the data at ${dataDir} is not the data ${outDir} started on (manifest ${now ?? "missing"} ≠ ${config.dataHash}: prepared again since?); point --data at the original data, or start a new run with another --out`,
    );
  }
}
