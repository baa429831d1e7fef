/**
 * The PyTorch reference-vector check as a function of a backend, so every backend (js, wasm, native, webgpu) runs
 * the same assertions: reference/gpt-tiny/*.safetensors hold float64 PyTorch results (scripts/make-reference.py:
 * weights, batch, logits, per-token loss, every gradient, the global gradient norm, one AdamW step, clipped where
 * the file says so); each tensor must match within {@link TOLERANCE}: 1e-4 of its largest value, and element by
 * element.
 *
 * A new reference file needs its name in {@link REFERENCE_FILES} and, when it exercises a model option, that
 * option read from its metadata in {@link referenceConfig}.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { AnyBackend } from "../src/engine/backend.js";
import type { GPTConfig } from "../src/model/config.js";
import { GPT } from "../src/model/gpt.js";
import { readSafetensors } from "../src/model/safetensors.js";
import { assertClose, elementError, referenceDir, relError, TOLERANCE, type Tolerance } from "./helpers.js";

/**
 * The reference files every backend is checked against, smallest first: `tiny` and `small` (T ≤ 40), `sparse`
 * (T = 48, GPT-3's alternating attention: layers 1 and 3 banded with W = 8), `long` (T = 160, longer than a 64-row
 * attention block, with the gradient clipped before the AdamW step).
 */
export const REFERENCE_FILES: readonly string[] = ["tiny", "small", "sparse", "long"];

/** The worst tensor of a check. */
export interface ReferenceResult {
  worstName: string;
  /** Its largest error relative to the tensor's largest value. */
  worstError: number;
  /** The largest per-element error ratio over all tensors (≤ 1 passes; see helpers.ts elementError). */
  worstElementRatio: number;
  /** Number of tensors compared. */
  tensors: number;
}

/** The GPT configuration a reference file's header metadata describes (`local_window`: banded odd layers). */
export function referenceConfig(md: Record<string, string>): GPTConfig {
  const localWindow = Number(md.local_window ?? 0);
  if (localWindow > 0) assert.equal(md.sparse_layers, "odd", "the model bands odd layers only");
  return {
    vocabSize: Number(md.vocab), blockSize: Number(md.ctx), nLayer: Number(md.layers),
    nHead: Number(md.heads), nEmbd: Number(md.d_model), localWindow,
  };
}

/**
 * Loads the reference weights into a fresh GPT on `backend`, then checks logits, per-token loss, loss, every
 * gradient and their global norm, and one AdamW step from the reference gradients (clipped to `clip_max_norm` when
 * the file sets it). Throws an assertion error naming the first tensor over `tol`.
 */
export async function checkReferenceVectors(backend: AnyBackend, file: string, tol: Tolerance = TOLERANCE): Promise<ReferenceResult> {
  const ref = readSafetensors(join(referenceDir, "gpt-tiny", `${file}.safetensors`));
  const md = ref.metadata;
  const config = referenceConfig(md);
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
  const result: ReferenceResult = { worstName: "", worstError: 0, worstElementRatio: 0, tensors: 0 };
  const check = (name: string, actual: ArrayLike<number>, expected: ArrayLike<number>) => {
    const err = relError(actual, expected);
    result.tensors++;
    if (!(err <= result.worstError)) {
      result.worstName = name;
      result.worstError = err;
    }
    result.worstElementRatio = Math.max(result.worstElementRatio, elementError(actual, expected, tol).ratio);
    assertClose(`${backend.name}/${file}: ${name}`, actual, expected, tol);
  };

  await model.forward(inputs, null, B, T);
  check("logits", await model.readLogits(), get("logits"));

  model.zeroGrad();
  const { loss } = await model.forward(inputs, targets, B, T);
  check("per_token_loss", await model.readLosses(), get("per_token_loss"));
  check("loss", [loss!], get("loss"));
  model.backward();
  const grads = await model.exportGrads();
  let sumSq = 0;
  for (const s of model.layout) {
    const g = grads.get(s.name)!;
    check("grad." + s.name, g, get("grad." + s.name));
    for (const x of g) sumSq += x * x;
  }
  if (ref.tensors.has("grad_norm")) check("grad_norm (of our gradients)", [Math.sqrt(sumSq)], get("grad_norm"));

  // One AdamW step from the reference gradients checks the optimizer in isolation (see model-reference.test.ts for
  // why stepping from our own float32 gradients would differ on the key biases). With clipping, the step scales the
  // gradients by clip_max_norm / ‖g‖ first, from the norm the backend computes itself.
  const refGrads = new Map<string, Float32Array>();
  for (const s of model.layout) refGrads.set(s.name, get("grad." + s.name) as Float32Array);
  model.loadGrads(refGrads);
  const maxNorm = Number(md.clip_max_norm ?? 0);
  const norm = await model.step({
    lr: Number(md.lr), beta1: Number(md.beta1), beta2: Number(md.beta2), eps: Number(md.eps),
    weightDecay: Number(md.weight_decay), maxNorm,
  });
  if (ref.tensors.has("grad_norm")) {
    check("grad_norm (the step's)", [norm], get("grad_norm"));
    if (maxNorm > 0) assert.ok(norm > maxNorm, `${file}: the gradient norm ${norm} exceeds clip_max_norm ${maxNorm}, so the step is clipped`);
  }
  const after = await model.exportWeights();
  for (const s of model.layout) check("after_adamw." + s.name, after.get(s.name)!, get("after_adamw." + s.name));
  return result;
}
