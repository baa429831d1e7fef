/**
 * Published scaling data as points and as runs to import (provenance in presets/published/README.md):
 * `epoch-chinchilla`, Epoch AI's digitisation of Chinchilla's 245 runs (N, C, final training loss; D = C/(6N)), and
 * `gpt3`, the 8 GPT-3 models (shapes, N, D, C; the paper prints no per-model losses, so it has no points to fit).
 */
import { readFileSync } from "node:fs";
import { type ScalingPoint, parseCsv } from "../fit/index.js";
import { gpt3PresetPath, gpt3Presets, paramCounts } from "../model/accounting.js";
import type { ExternalRunInput } from "../store/index.js";
import { packageFile } from "./files.js";

/** A published dataset. */
export interface PublishedDataset {
  name: string;
  description: string;
  source: string;
  /** Whether it holds losses (and so points to fit and runs to import). */
  hasLosses: boolean;
}

/** The datasets, by name. */
export const DATASETS: readonly PublishedDataset[] = [
  {
    name: "epoch-chinchilla",
    description: "Chinchilla's 245 runs: N (all parameters), C, final training loss; D = C/(6N)",
    source:
      "Epoch AI (Besiroglu et al. 2024, Chinchilla Scaling: A replication attempt), data/svg_extracted_data.csv, digitised from Hoffmann et al. (2022) Figure 4",
    hasLosses: true,
  },
  {
    name: "gpt3",
    description: "the 8 GPT-3 models: shapes, non-embedding N, D = 300B tokens, C = 6·N·D; no per-model losses (the paper prints none)",
    source: "Brown et al. (2020), Table 2.1 (shapes) and Table D.1 (tokens, compute)",
    hasLosses: false,
  },
];

/** The dataset with this name, or undefined. */
export function findDataset(name: string): PublishedDataset | undefined {
  return DATASETS.find((d) => d.name === name.toLowerCase());
}

/** Path of the Chinchilla CSV in the package. */
export function chinchillaCsvPath(): string {
  return packageFile("reference/chinchilla/svg_extracted_data.csv");
}

/** The dataset's points: {run, N, D, C, loss} (loss NaN where the source gives none). */
export function datasetPoints(name: string): ScalingPoint[] {
  if (name === "gpt3") {
    return gpt3Presets().map((p) => {
      const N = paramCounts(p.shape).nonEmbedding;
      return { run: p.name, N, D: p.tokens, C: 6 * N * p.tokens, loss: NaN };
    });
  }
  if (name !== "epoch-chinchilla") throw new RangeError(`unknown dataset ${name}`);
  const { header, rows } = parseCsv(readFileSync(chinchillaCsvPath(), "utf8"));
  const col = (h: string) => header.indexOf(h);
  const [iN, iC, iL] = [col("Model Size"), col("Training FLOP"), col("loss")];
  return rows.map((r, i) => {
    const N = Number(r[iN]);
    const C = Number(r[iC]);
    return { run: `chinchilla-${String(i + 1).padStart(3, "0")}`, N, C, D: C / (6 * N), loss: Number(r[iL]) };
  });
}

/**
 * The dataset as runs for Lab.recordExternalRuns, ids `<prefix>.<point>` (default prefix: the dataset's name): one
 * logged point each, its final loss as a training loss (Chinchilla's losses are final training losses).
 */
export function datasetRuns(name: string, prefix: string = name): ExternalRunInput[] {
  const ds = findDataset(name)!;
  const file = name === "gpt3" ? gpt3PresetPath() : chinchillaCsvPath();
  return datasetPoints(name).map((p) => ({
    id: `${prefix}.${p.run}`,
    name: p.run!,
    config: { model: null, tokens: p.D, batchTokens: null, source: { dataset: name, file: ds.source } },
    shape: null,
    N: p.N!,
    D: p.D!,
    C: p.C!,
    metrics: [{ step: 1, tokens: Math.round(p.D!), flops: p.C!, lr: NaN, trainLoss: p.loss, gradNorm: NaN, elapsed: NaN, tokensPerSec: NaN }],
    finalTrainLoss: Number.isFinite(p.loss) ? p.loss : null,
    finalValLoss: null,
    dir: file.replace(/[\\/][^\\/]*$/, ""),
    extra: { dataset: name, size: p.run },
  }));
}
