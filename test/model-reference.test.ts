/**
 * The GPT against PyTorch on the CPU backends: reference/gpt-tiny holds float64 PyTorch results (weights,
 * batch, logits, per-token loss, every gradient, one AdamW step; `long` at T = 160 with clipping). Each backend must
 * match every tensor within 1e-4 of its largest value and element by element (the check itself is shared with the
 * webgpu tests: reference-vectors.ts).
 *
 * The AdamW step is taken from the reference gradients, which checks the optimizer in isolation. Stepping from our
 * own float32 gradients differs on the key biases: their gradient is exactly zero in exact arithmetic (softmax is
 * invariant to shifting every key by the same vector), so float32 noise of ~1e-11 there becomes a step of ~lr/1000
 * through Adam's normalisation, while PyTorch's float64 gradient of ~1e-20 gives ~0.
 */
import { test } from "node:test";
import { testBackends } from "./helpers.js";
import { checkReferenceVectors, REFERENCE_FILES } from "./reference-vectors.js";

for (const file of REFERENCE_FILES) {
  test(`reference vectors (${file}): logits, loss, gradients and one AdamW step match PyTorch`, async (t) => {
    for (const backend of await testBackends()) {
      const r = await checkReferenceVectors(backend, file);
      t.diagnostic(`${backend.name}/${file}: ${r.tensors} tensors, worst ${r.worstName} rel err ${r.worstError.toExponential(2)}, worst element at ${r.worstElementRatio.toFixed(3)} of its bound`);
      backend.dispose();
    }
  });
}
