/**
 * The output head and its loss as one Backend operation (`classifier`), written once for the backends that build it
 * from their own kernels: logits = inp @ wteᵀ (matmulForward), softmax cross-entropy (crossEntropyForward, in
 * place), and, for training, the backward of the head (crossEntropyBackward, matmulBackward). The native backend
 * has a fused version that keeps the logits in the cache (native/classifier.c); both compute the same thing.
 */
import type { Backend } from "./backend.js";

/**
 * `classifier` composed from a backend's own kernels. `logits` must be an (N, V) buffer (see
 * {@link Backend.classifierScratch}). With `dinp` and `dwte` given, also runs the head's backward for the loss
 * sum(losses)·scale: dinp (N, C) overwritten, dwte (V, C) accumulated.
 */
export function composedClassifier<F extends object, I extends object>(
  be: Backend<F, I>, losses: F, dinp: F | null, dwte: F | null, logits: F | null, inp: F, wte: F, targets: I,
  scale: number, N: number, C: number, V: number,
): void {
  if (!logits) throw new Error(`${be.name} classifier: an (N, V) logits buffer is required (classifierScratch is true)`);
  be.matmulForward(logits, inp, wte, null, N, C, V); // (N, V)
  be.crossEntropyForward(losses, logits, logits, targets, N, V); // probabilities in place
  if (!dinp || !dwte) return;
  be.crossEntropyBackward(logits, logits, targets, scale, N, V); // dlogits in place
  be.matmulBackward(dinp, dwte, null, logits, inp, wte, N, C, V);
}
