/**
 * Loading a model to use (score, sample, eval): a scaling-lab run directory (checkpoint.safetensors + its
 * tokenizer.json), a checkpoint file, or a Hugging Face GPT-2 folder (config.json + model.safetensors, with the
 * GPT-2 tokenizer unless the folder has its own tokenizer.json). A run's model keeps the attention pattern it was
 * trained with (its config's `localWindow`) unless the caller overrides the window; GPT-2 folders are dense only.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { gpt2Tokenizer, loadTokenizer, type Tokenizer } from "../data/tokenizer.js";
import type { AnyBackend } from "../engine/backend.js";
import { GPT } from "../model/gpt.js";
import { HfImportError, isHfGpt2Dir, loadHfGpt2 } from "../model/hf-gpt2.js";
import { CHECKPOINT_FILE } from "../util/run-folder.js";
import { CheckpointError, loadCheckpoint } from "./checkpoint.js";

/** A model ready to use, with its tokenizer and where it came from. */
export interface LoadedModel {
  model: GPT<object, object>;
  tokenizer: Tokenizer;
  kind: "scaling-lab" | "hf-gpt2";
  path: string;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /**
   * Run the model with this local attention window on its odd layers instead of the one it was trained with
   * (0 = dense). A Hugging Face GPT-2 model is dense only: a window > 0 is refused.
   */
  localWindow?: number;
}

/** Loads a run directory, checkpoint file or HF GPT-2 folder onto `backend`. */
export function loadModel(path: string, backend: AnyBackend, opts: LoadModelOptions = {}): LoadedModel {
  if (!existsSync(path)) throw new CheckpointError(`no model at ${path} (give a run directory, a checkpoint file or an HF GPT-2 folder)`);
  const isDir = statSync(path).isDirectory();
  if (isDir && !existsSync(join(path, CHECKPOINT_FILE)) && isHfGpt2Dir(path)) {
    if (opts.localWindow) {
      throw new HfImportError(
        `${path} is a Hugging Face GPT-2 model, which has dense attention only; drop --local-window ${opts.localWindow} (or give 0)`,
      );
    }
    const { config, weights } = loadHfGpt2(path);
    const model = new GPT(backend, config);
    model.loadWeights(weights);
    const tokenizer = existsSync(join(path, "tokenizer.json")) ? loadTokenizer(join(path, "tokenizer.json")) : gpt2Tokenizer();
    return { model, tokenizer, kind: "hf-gpt2", path };
  }
  const ck = loadCheckpoint(path);
  const dir = isDir ? path : dirname(path);
  const window = opts.localWindow ?? ck.config.model.localWindow;
  const model = new GPT(backend, { ...ck.config.model, ...(window !== undefined ? { localWindow: window } : {}) });
  model.loadWeights(ck.weights);
  const candidates = [join(dir, "tokenizer.json"), join(ck.config.data, "tokenizer.json")];
  const tokPath = candidates.find((p) => existsSync(p));
  if (!tokPath) {
    throw new CheckpointError(`no tokenizer.json next to ${path} or in its data directory ${ck.config.data} (copy the tokenizer.json used for training into ${dir})`);
  }
  return { model, tokenizer: loadTokenizer(tokPath), kind: "scaling-lab", path };
}
