/**
 * The usual names of logged quantities across trainers (Hugging Face, PyTorch Lightning, W&B, nanoGPT, TensorBoard
 * tags), and how a table's or an event file's names are matched to them: flags name a column or tag exactly;
 * otherwise the first usual name present (case-insensitive) is used.
 */

/** Quantities a log can hold. */
export type Quantity = "step" | "trainLoss" | "valLoss" | "tokens" | "lr" | "gradNorm" | "elapsed";

/** Usual names, most specific first. */
export const USUAL_NAMES: Record<Quantity, string[]> = {
  // W&B's _step counts log calls; a trainer's own global step, when logged, is the optimizer step
  step: ["train/global_step", "trainer/global_step", "global_step", "step", "_step", "iter", "iteration"],
  trainLoss: ["train/loss", "train_loss", "trainloss", "loss/train", "training_loss", "train/lm_loss", "train loss", "loss"],
  valLoss: [
    "val/loss", "eval/loss", "val_loss", "eval_loss", "valloss", "loss/val", "loss/validation", "validation/loss",
    "valid/loss", "validation_loss", "val loss",
  ],
  tokens: ["tokens", "train/num_input_tokens_seen", "num_input_tokens_seen", "tokens_seen", "train/tokens", "consumed_tokens"],
  lr: ["lr", "learning_rate", "train/learning_rate", "train/lr"],
  gradNorm: ["grad_norm", "train/grad_norm", "gradnorm", "gradient_norm"],
  elapsed: ["_runtime", "elapsed", "runtime"],
};

/**
 * Picks the name of each quantity among `available` names: the flag's name when given (it must be present: the
 * returned `missing` lists flags naming absent columns), else the first usual name present.
 */
export function matchNames(
  available: readonly string[],
  given: Partial<Record<Quantity, string>>,
): { names: Partial<Record<Quantity, string>>; missing: string[] } {
  const lower = new Map(available.map((a) => [a.toLowerCase(), a]));
  const names: Partial<Record<Quantity, string>> = {};
  const missing: string[] = [];
  for (const q of Object.keys(USUAL_NAMES) as Quantity[]) {
    const flag = given[q];
    if (flag !== undefined) {
      if (available.includes(flag)) names[q] = flag;
      else missing.push(flag);
      continue;
    }
    const hit = USUAL_NAMES[q].map((n) => lower.get(n)).find((n) => n !== undefined);
    if (hit !== undefined) names[q] = hit;
  }
  return { names, missing };
}
