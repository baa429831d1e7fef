/**
 * The GPT model configuration: a zod schema, validation with one-line errors, and named presets.
 * Names follow nanoGPT / the GPT-3 paper: vocabSize, blockSize (context), nLayer, nHead, nEmbd (d_model).
 */
import { z } from "zod";

/** Shape of a GPT-2/GPT-3 model. */
export const GPTConfigSchema = z.object({
  /** Vocabulary size (tokens the embedding and the tied output head cover). */
  vocabSize: z.number().int().min(2),
  /** Context length T: the longest sequence the model accepts (rows of the position embedding). */
  blockSize: z.number().int().min(1),
  /** Transformer blocks. */
  nLayer: z.number().int().min(1),
  /** Attention heads; must divide nEmbd. */
  nHead: z.number().int().min(1),
  /** Model width d_model. */
  nEmbd: z.number().int().min(1),
  /**
   * GPT-3's alternating attention (Brown et al. 2020, §2.1): with W > 0, layers of odd index (1, 3, …) attend
   * within a local causal band of W keys (position i sees j with i − W < j ≤ i), the others stay dense.
   * 0 or absent = every layer dense (GPT-2); W ≥ blockSize is dense too.
   */
  localWindow: z.number().int().optional(),
});

/** Shape of a GPT-2/GPT-3 model (see {@link GPTConfigSchema}). */
export type GPTConfig = z.infer<typeof GPTConfigSchema>;

/** An invalid model configuration; the message names the problem and the fix. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Validates a configuration and returns it typed, or throws a {@link ConfigError} with a one-line message.
 * @example validateConfig({ vocabSize: 256, blockSize: 128, nLayer: 4, nHead: 4, nEmbd: 128 })
 */
export function validateConfig(raw: unknown): GPTConfig {
  const r = GPTConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue.path.join(".") || "config";
    throw new ConfigError(`invalid model config: ${where}: ${issue.message} (fix the value of ${where})`);
  }
  const c = r.data;
  if (c.localWindow !== undefined && c.localWindow < 0) {
    throw new ConfigError(
      `invalid model config: localWindow ${c.localWindow} is negative (use 0 for dense attention, or W > 0 keys for GPT-3's banded odd layers, e.g. 128)`,
    );
  }
  if (c.nEmbd % c.nHead !== 0) {
    throw new ConfigError(
      `invalid model config: nEmbd ${c.nEmbd} is not divisible by nHead ${c.nHead} (choose nHead dividing nEmbd, e.g. ${largestDivisorAtMost(c.nEmbd, c.nHead)})`,
    );
  }
  return c;
}

function largestDivisorAtMost(n: number, k: number): number {
  for (let d = Math.min(n, k); d >= 1; d--) if (n % d === 0) return d;
  return 1;
}

/**
 * The local attention window of layer `l`: the config's localWindow on odd layers (GPT-3's alternating pattern),
 * 0 (dense) on even layers and when the model has no window.
 */
export function layerWindow(c: Pick<GPTConfig, "localWindow">, l: number): number {
  return l % 2 === 1 ? c.localWindow ?? 0 : 0;
}

/** Head size d_head = nEmbd / nHead. */
export function headSize(c: GPTConfig): number {
  return c.nEmbd / c.nHead;
}
