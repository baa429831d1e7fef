/**
 * Model ladders: named families of sizes trained the same way (presets/ladders.json — a ladder is data, not code).
 * Each size gets Kaplan et al. (2020)'s size-dependent learning rate unless the ladder gives one.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { paramCounts } from "../model/accounting.js";
import { validateConfig } from "../model/config.js";
import { kaplanLearningRate } from "../train/config.js";

const SizeSchema = z.object({
  name: z.string().min(1),
  nLayer: z.number().int().positive(),
  nHead: z.number().int().positive(),
  nEmbd: z.number().int().positive(),
  lr: z.number().positive().optional(),
  /** This size's local attention window (overrides the ladder's). */
  localWindow: z.number().int().optional(),
});

const LadderSchema = z.object({
  about: z.string().optional(),
  blockSize: z.number().int().positive(),
  batchTokens: z.number().int().positive(),
  /** GPT-3's alternating attention for every size: odd layers see the last localWindow tokens (0/absent = dense). */
  localWindow: z.number().int().optional(),
  sizes: z.array(SizeSchema).min(2),
});

/** One rung of a ladder. */
export type LadderSize = z.infer<typeof SizeSchema>;
/** A ladder: sizes sharing context length and batch (in tokens). */
export type Ladder = z.infer<typeof LadderSchema> & { name: string };

/** A ladder that cannot be used; the message names the fix. */
export class LadderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LadderError";
  }
}

function laddersPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ["../../../presets/ladders.json", "../../presets/ladders.json"]) {
    const p = resolve(here, rel);
    if (existsSync(p)) return p;
  }
  return resolve(here, "../../../presets/ladders.json");
}

/** Names of the built-in ladders (plus `gpt3`, the accounting-only GPT-3 family). */
export function ladderNames(): string[] {
  return Object.keys((JSON.parse(readFileSync(laddersPath(), "utf8")) as { ladders: object }).ladders);
}

/** Loads a built-in ladder by name, or a ladder JSON file by path, validated. */
export function loadLadder(nameOrPath: string): Ladder {
  let raw: unknown;
  let name = nameOrPath;
  if (nameOrPath.endsWith(".json")) {
    if (!existsSync(nameOrPath)) throw new LadderError(`ladder file ${nameOrPath} does not exist`);
    raw = JSON.parse(readFileSync(nameOrPath, "utf8"));
    name = nameOrPath.replace(/^.*\//, "").replace(/\.json$/, "");
  } else {
    const all = (JSON.parse(readFileSync(laddersPath(), "utf8")) as { ladders: Record<string, unknown> }).ladders;
    raw = all[nameOrPath];
    if (!raw) throw new LadderError(`unknown ladder "${nameOrPath}" (built-in ladders: ${Object.keys(all).join(", ")}; or give a ladder .json file)`);
  }
  const r = LadderSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new LadderError(`ladder ${name}: ${i.path.join(".")}: ${i.message}`);
  }
  const ladder = { ...r.data, name };
  validateLadder(ladder);
  return ladder;
}

/** Checks shapes (heads divide width), unique names and strictly increasing size; throws LadderError. */
export function validateLadder(l: Ladder): void {
  const seen = new Set<string>();
  let prev = 0;
  for (const s of l.sizes) {
    if (seen.has(s.name)) throw new LadderError(`ladder ${l.name}: size name "${s.name}" appears twice (names must be unique)`);
    seen.add(s.name);
    try {
      validateConfig({ vocabSize: 2, blockSize: l.blockSize, nLayer: s.nLayer, nHead: s.nHead, nEmbd: s.nEmbd, localWindow: sizeWindow(l, s) });
    } catch (e) {
      throw new LadderError(`ladder ${l.name}, size ${s.name}: ${(e as Error).message}`);
    }
    const n = sizeParams(s, l.blockSize).nonEmbedding;
    if (n <= prev) throw new LadderError(`ladder ${l.name}: size ${s.name} (N=${n}) is not larger than the one before it (order sizes from small to large)`);
    prev = n;
  }
  if (l.batchTokens % l.blockSize !== 0) {
    throw new LadderError(`ladder ${l.name}: batchTokens ${l.batchTokens} is not a multiple of blockSize ${l.blockSize}`);
  }
}

/** The local attention window of a size: its own, else the ladder's, else 0 (dense). */
export function sizeWindow(l: Pick<Ladder, "localWindow">, s: LadderSize): number {
  return s.localWindow ?? l.localWindow ?? 0;
}

/** Parameter counts of one size (non-embedding N does not depend on the vocabulary; `total` does). */
export function sizeParams(s: LadderSize, blockSize: number, vocabSize = 1) {
  return paramCounts({ vocabSize, blockSize, nLayer: s.nLayer, nHead: s.nHead, nEmbd: s.nEmbd });
}

/** The peak learning rate of a size: the ladder's, else Kaplan's LR(N). */
export function sizeLearningRate(s: LadderSize, blockSize: number): number {
  return s.lr ?? kaplanLearningRate(sizeParams(s, blockSize).nonEmbedding);
}
