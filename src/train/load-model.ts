/**
 * Loading a model to use (score, sample, eval): a scaling-lab run directory (checkpoint.safetensors + its
 * tokenizer.json), a checkpoint file, or a Hugging Face GPT-2 folder (config.json + model.safetensors, with the
 * GPT-2 tokenizer unless the folder has its own tokenizer.json).
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { gpt2Tokenizer, loadTokenizer, type Tokenizer } from "../data/tokenizer.js";
import type { AnyBackend } from "../engine/backend.js";
import { GPT } from "../model/gpt.js";
import { isHfGpt2Dir, loadHfGpt2 } from "../model/hf-gpt2.js";
import { CHECKPOINT_FILE } from "../util/run-folder.js";
import { CheckpointError, loadCheckpoint } from "./checkpoint.js";

/** A model ready to use, with its tokenizer and where it came from. */
export interface LoadedModel {
  model: GPT<object, object>;
  tokenizer: Tokenizer;
  kind: "scaling-lab" | "hf-gpt2";
  path: string;
}

/** Loads a run directory, checkpoint file or HF GPT-2 folder onto `backend`. */
export function loadModel(path: string, backend: AnyBackend): LoadedModel {
  if (!existsSync(path)) throw new CheckpointError(`no model at ${path} (give a run directory, a checkpoint file or an HF GPT-2 folder)`);
  const isDir = statSync(path).isDirectory();
  if (isDir && !existsSync(join(path, CHECKPOINT_FILE)) && isHfGpt2Dir(path)) {
    const { config, weights } = loadHfGpt2(path);
    const model = new GPT(backend, config);
    model.loadWeights(weights);
    const tokenizer = existsSync(join(path, "tokenizer.json")) ? loadTokenizer(join(path, "tokenizer.json")) : gpt2Tokenizer();
    return { model, tokenizer, kind: "hf-gpt2", path };
  }
  const ck = loadCheckpoint(path);
  const dir = isDir ? path : dirname(path);
  const model = new GPT(backend, ck.config.model);
  model.loadWeights(ck.weights);
  const candidates = [join(dir, "tokenizer.json"), join(ck.config.data, "tokenizer.json")];
  const tokPath = candidates.find((p) => existsSync(p));
  if (!tokPath) {
    throw new CheckpointError(`no tokenizer.json next to ${path} or in its data directory ${ck.config.data} (copy the tokenizer.json used for training into ${dir})`);
  }
  return { model, tokenizer: loadTokenizer(tokPath), kind: "scaling-lab", path };
}
