/**
 * The deterministic document-level train/validation split.
 *
 * Each document gets a score in [0, 1) from a hash of the seed and its text (SHA-256, first 32 bits). Within a
 * source, documents are taken into validation in order of increasing score until they hold `valFraction` of
 * the source's text (by UTF-8 bytes; a document is taken if at least half of it fits). So the validation split
 * is a pseudo-random set of whole documents whose size matches the requested fraction closely even when there
 * are few documents; it depends only on the seed and the documents (not on file order or machine), and identical
 * documents always fall on the same side of the cut (no leakage through duplicates, barring a tie at the cut).
 * With two or more documents and 0 < valFraction < 1 both splits get at least one document; a source with a
 * single document puts it in training.
 */
import { createHash } from "node:crypto";

/** The two splits of a prepared dataset. */
export type Split = "train" | "val";

/** The split score of a document: a uniform-looking number in [0, 1) determined by (seed, text). */
export function splitScore(text: string, seed: number): number {
  const digest = createHash("sha256").update(`${seed}\u0000`).update(text).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/**
 * Assigns one source's documents to splits from their scores and sizes (see the module comment). Returns one
 * flag per document, 1 = validation.
 */
export function assignSplits(scores: ArrayLike<number>, sizes: ArrayLike<number>, valFraction: number): Uint8Array {
  const n = scores.length;
  const isVal = new Uint8Array(n);
  if (n < 2 || !(valFraction > 0)) return isVal;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
  let total = 0;
  for (let i = 0; i < n; i++) total += sizes[i];
  const target = valFraction * total;
  let taken = 0;
  let count = 0;
  for (const i of order) {
    if (taken + sizes[i] / 2 > target) break;
    isVal[i] = 1;
    taken += sizes[i];
    count++;
  }
  if (count === 0) isVal[order[0]] = 1;
  if (count === n) isVal[order[n - 1]] = 0;
  return isVal;
}
