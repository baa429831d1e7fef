/**
 * The PyTorch reference-vector check as a function of a backend, so every backend (js, native, webgpu) runs the
 * same assertions: reference/gpt-tiny/{tiny,small,sparse}.safetensors hold float64 PyTorch results (weights,
 * batch, logits, per-token loss, every gradient, one AdamW step; `sparse` also the gradient norm, with GPT-3's
 * alternating dense / banded attention); each tensor must match within 1e-4 relative error.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AnyBackend } from "../src/engine/backend.js";
import { GPT } from "../src/model/gpt.js";
import { readSafetensors } from "../src/model/safetensors.js";
import { relError, referenceDir } from "./helpers.js";

/** Relative error every reference tensor must meet. */
export const REFERENCE_TOLERANCE = 1e-4;

/** The reference files, smallest first. */
export const REFERENCE_FILES = ["tiny", "small", "sparse"] as const;

/** The worst tensor of a check. */
export interface ReferenceResult {
  worstName: string;
  worstError: number;
  /** Number of tensors compared. */
  tensors: number;
}

/**
 * Loads the reference weights into a fresh GPT on `backend`, then checks logits, per-token loss, loss, every
 * gradient, and one AdamW step from the reference gradients. Throws an assertion error naming the first tensor
 * over tolerance.
 */
export async function checkReferenceVectors(backend: AnyBackend, file: string): Promise<ReferenceResult> {
  const ref = readSafetensors(join(referenceDir, "gpt-tiny", `${file}.safetensors`));
  const md = ref.metadata;
  const config = {
    vocabSize: Number(md.vocab), blockSize: Number(md.ctx), nLayer: Number(md.layers),
    nHead: Number(md.heads), nEmbd: Number(md.d_model), localWindow: Number(md.local_window ?? 0),
  };
  if (config.localWindow > 0) assert.equal(md.sparse_layers, "odd", "the model bands odd layers only");
  const B = Number(md.batch);
  const T = config.blockSize;
  const get = (n: string) => {
    const x = ref.tensors.get(n);
    assert.ok(x, `reference tensor ${n} missing`);
    return x.data;
  };
  const inputs = get("inputs") as Int32Array;
  const targets = get("targets") as Int32Array;
  const model = new GPT(backend, config, 0);
  const weights = new Map<string, Float32Array>();
  for (const s of model.layout) weights.set(s.name, get("param." + s.name) as Float32Array);
  model.loadWeights(weights);
  const result: ReferenceResult = { worstName: "", worstError: 0, tensors: 0 };
  const check = (name: string, actual: ArrayLike<number>, expected: ArrayLike<number>) => {
    const err = relError(actual, expected);
    result.tensors++;
    if (!(err <= result.worstError)) {
      result.worstName = name;
      result.worstError = err;
    }
    assert.ok(err <= REFERENCE_TOLERANCE, `${backend.name}/${file}: ${name} relative error ${err.toExponential(2)} > ${REFERENCE_TOLERANCE}`);
  };

  await model.forward(inputs, null, B, T);
  check("logits", await model.readLogits(), get("logits"));

  model.zeroGrad();
  const { loss } = await model.forward(inputs, targets, B, T);
  check("per_token_loss", await model.readLosses(), get("per_token_loss"));
  check("loss", [loss!], get("loss"));
  model.backward();
  const grads = await model.exportGrads();
  for (const s of model.layout) check("grad." + s.name, grads.get(s.name)!, get("grad." + s.name));
  if (ref.tensors.has("grad_norm")) {
    let sq = 0;
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
    check("grad_norm", [Math.sqrt(sq)], get("grad_norm"));
  }

  // One AdamW step from the reference gradients checks the optimizer in isolation (see model-reference.test.ts for
  // why stepping from our own float32 gradients would differ on the key biases).
  const refGrads = new Map<string, Float32Array>();
  for (const s of model.layout) refGrads.set(s.name, get("grad." + s.name) as Float32Array);
  model.loadGrads(refGrads);
  await model.step({
    lr: Number(md.lr), beta1: Number(md.beta1), beta2: Number(md.beta2), eps: Number(md.eps),
    weightDecay: Number(md.weight_decay), maxNorm: 0,
  });
  const after = await model.exportWeights();
  for (const s of model.layout) check("after_adamw." + s.name, after.get(s.name)!, get("after_adamw." + s.name));
  return result;
}
