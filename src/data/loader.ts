/**
 * Reading a prepared data directory and sampling training batches from it.
 *
 * {@link Dataset.open} reads manifest.json and tokenizer.json; token shards are read into typed arrays on first
 * use (one array per (split, source)) and kept. {@link BatchLoader} samples batches of B windows of T+1
 * consecutive tokens: for every row it picks a source by the mixture weights, then a uniformly random start in
 * that source's token stream (GPT-3-style weighted sampling; windows may cross document boundaries, which are
 * marked by the end-of-text id).
 *
 * Every random draw is a pure function of (seed, step, row), so batch k is the same whenever it is asked for:
 * the loader's whole state is `{ seed, step }` ({@link LoaderState}), trivially saved in a checkpoint, and a
 * resumed run sees bit-identical batches. For validation, evaluate `batch(0) … batch(n−1)` of a val loader:
 * the same windows at every evaluation.
 */
import { join } from "node:path";
import { fmix32 } from "../util/hash.js";
import { DataError } from "./errors.js";
import { type EpochReport, mixtureEpochs, normalizeWeights } from "./mixture.js";
import { type DataManifest, type ShardInfo, type TokenArray, readManifest, readShard, shardTokens } from "./shards.js";
import type { Split } from "./split.js";
import { type ByteLevelBpe, loadTokenizer } from "./tokenizer.js";

/** One batch: inputs and next-token targets, each (B, T) row-major; targets[i] is the token after inputs[i]. */
export interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
}

/** The serialisable position of a {@link BatchLoader}: the next call to next() returns batch(step). */
export interface LoaderState {
  seed: number;
  step: number;
}

/** Options of {@link Dataset.loader}. */
export interface LoaderOptions {
  split: Split;
  /** B: rows per batch. */
  batchSize: number;
  /** T: tokens per row. */
  blockSize: number;
  /** Seed of the sampling (default 0); any integer, taken modulo 2^32. */
  seed?: number;
  /** Mixture weights, one per source (default: the manifest's weights). */
  weights?: number[];
}

/** A prepared data directory: its manifest, tokenizer and token arrays. */
export class Dataset {
  private readonly cache = new Map<string, TokenArray>();

  private constructor(
    /** The directory. */
    readonly dir: string,
    /** Its manifest.json. */
    readonly manifest: DataManifest,
    /** Its tokenizer.json. */
    readonly tokenizer: ByteLevelBpe,
    /** Reads one shard's tokens (from the directory, or from memory). */
    private readonly shard: (s: ShardInfo) => TokenArray,
  ) {
    if (tokenizer.hash !== manifest.tokenizer.hash) {
      throw new DataError(`${dir}/${manifest.tokenizer.file} does not match the manifest (hash ${tokenizer.hash} ≠ ${manifest.tokenizer.hash}); re-run scaling-lab prepare --out ${dir}`);
    }
  }

  /** Opens a directory written by prepareDataset / `scaling-lab prepare`. */
  static open(dir: string): Dataset {
    const manifest = readManifest(dir);
    const tokenizer = loadTokenizer(join(dir, manifest.tokenizer.file));
    return new Dataset(dir, manifest, tokenizer, (s) => readShard(dir, s, manifest.dtype));
  }

  /**
   * A prepared directory whose files are already in memory (a browser fetched them): the manifest, the tokenizer
   * and each shard's bytes by file name, as `scaling-lab prepare` wrote them. `dir` names it in messages.
   */
  static fromFiles(dir: string, manifest: DataManifest, tokenizer: ByteLevelBpe, files: ReadonlyMap<string, Uint8Array>): Dataset {
    return new Dataset(dir, manifest, tokenizer, (s) => {
      const bytes = files.get(s.file);
      if (!bytes) throw new DataError(`${dir} has no shard ${s.file}; prepare the data again`);
      return shardTokens(bytes, s, manifest.dtype, `${dir}/${s.file}`);
    });
  }

  /** The token stream of one source's split (documents each followed by the end-of-text id). */
  tokens(split: Split, source: number): TokenArray {
    if (!(source >= 0 && source < this.manifest.sources.length)) {
      throw new DataError(`source index ${source} is out of range (the data has ${this.manifest.sources.length} sources)`);
    }
    const key = `${split}/${source}`;
    let arr = this.cache.get(key);
    if (arr === undefined) {
      const shards = this.manifest.shards.filter((s) => s.split === split && s.source === source);
      const parts = shards.map((s) => this.shard(s));
      const total = parts.reduce((a, p) => a + p.length, 0);
      arr = this.manifest.dtype === "uint16" ? new Uint16Array(total) : new Uint32Array(total);
      let o = 0;
      for (const p of parts) {
        arr.set(p, o);
        o += p.length;
      }
      this.cache.set(key, arr);
    }
    return arr;
  }

  /** A batch loader over one split. */
  loader(options: LoaderOptions): BatchLoader {
    return new BatchLoader(this, options);
  }

  /** Epochs each source sees in a run of `plannedTokens` training tokens (default weights: the manifest's). */
  epochs(plannedTokens: number, weights?: number[]): EpochReport[] {
    const sources = this.manifest.sources;
    const w = normalizeWeights(weights ?? sources.map((s) => s.weight), sources.map((s) => s.tokens.train));
    return mixtureEpochs(sources.map((s, i) => ({ name: s.name, tokens: s.tokens.train, weight: w[i] })), plannedTokens);
  }
}

/** Samples (inputs, targets) batches deterministically from (seed, step); see the module comment. */
export class BatchLoader {
  /** B. */
  readonly batchSize: number;
  /** T. */
  readonly blockSize: number;
  readonly split: Split;
  /** Normalised weights actually used (sources too small for this split get 0 on validation). */
  readonly weights: number[];
  private readonly arrays: TokenArray[];
  private readonly cumulative: Float64Array;
  private readonly lastUsable: number;
  private seed: number;
  private step = 0;

  constructor(dataset: Dataset, options: LoaderOptions) {
    const { split, batchSize: B, blockSize: T } = options;
    if (split !== "train" && split !== "val") throw new DataError(`split must be "train" or "val", got "${split}"`);
    if (!Number.isInteger(B) || B < 1) throw new DataError(`batch size must be an integer ≥ 1, got ${B}`);
    if (!Number.isInteger(T) || T < 1) throw new DataError(`blockSize must be an integer ≥ 1, got ${T}`);
    this.split = split;
    this.batchSize = B;
    this.blockSize = T;
    this.seed = (options.seed ?? 0) >>> 0;
    const sources = dataset.manifest.sources;
    const w = normalizeWeights(options.weights ?? sources.map((s) => s.weight), sources.map((s) => s.tokens.train));
    const sizes = sources.map((s) => s.tokens[split]);
    const total = sizes.reduce((a, b) => a + b, 0);
    const usable = sizes.map((n, i) => w[i] > 0 && n >= T + 1);
    if (!usable.some((u) => u)) {
      const where = split === "val" ? "the validation split" : "the training split";
      const fix = split === "val" ? "use a smaller blockSize or re-run prepare with a larger --val-fraction" : "use a smaller blockSize or add text";
      throw new DataError(`blockSize ${T} needs ${T + 1} tokens but ${where} of ${dataset.dir} has ${total}; ${fix}`);
    }
    if (split === "train") {
      const small = sources.findIndex((s, i) => w[i] > 0 && !usable[i]);
      if (small >= 0) {
        throw new DataError(
          `source "${sources[small].name}" has ${sizes[small]} training tokens, fewer than blockSize + 1 = ${T + 1}; use a smaller blockSize, give it weight 0, or add text`,
        );
      }
    }
    const used = w.map((x, i) => (usable[i] ? x : 0));
    this.weights = normalizeWeights(used, used);
    this.arrays = sources.map((_, i) => (usable[i] ? dataset.tokens(split, i) : new Uint16Array(0)));
    this.lastUsable = usable.lastIndexOf(true);
    this.cumulative = new Float64Array(sources.length);
    let c = 0;
    for (let i = 0; i < sources.length; i++) {
      c += this.weights[i];
      this.cumulative[i] = c;
    }
  }

  /** Batch number `step` (a pure function of seed and step). */
  batch(step: number): Batch {
    if (!Number.isInteger(step) || step < 0) throw new DataError(`batch step must be an integer ≥ 0, got ${step}`);
    const B = this.batchSize;
    const T = this.blockSize;
    const inputs = new Int32Array(B * T); // (B, T)
    const targets = new Int32Array(B * T); // (B, T)
    const last = this.lastUsable; // rounding can leave the total a hair below 1: fall back to the last usable source
    for (let r = 0; r < B; r++) {
      const u = uniform(this.seed, step, r, 0);
      let s = 0;
      while (s < last && (u >= this.cumulative[s] || this.weights[s] === 0)) s++;
      const arr = this.arrays[s];
      const start = Math.floor(uniform(this.seed, step, r, 1) * (arr.length - T));
      const base = r * T;
      for (let t = 0; t < T; t++) {
        inputs[base + t] = arr[start + t];
        targets[base + t] = arr[start + t + 1];
      }
    }
    return { inputs, targets };
  }

  /** The next batch; advances the state by one step. */
  next(): Batch {
    return this.batch(this.step++);
  }

  /** The current position (save it with a checkpoint). */
  state(): LoaderState {
    return { seed: this.seed, step: this.step };
  }

  /** Restores a position saved by {@link state}. */
  restore(state: LoaderState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new DataError(`loader state step must be an integer ≥ 0, got ${state.step}`);
    this.seed = state.seed >>> 0;
    this.step = state.step;
  }
}

/** A uniform number in [0, 1) with 53 random bits, determined by (seed, step, row, k). */
export function uniform(seed: number, step: number, row: number, k: number): number {
  let h = fmix32((seed ^ 0x9e3779b9) >>> 0);
  h = fmix32((h ^ (step >>> 0)) >>> 0);
  h = fmix32((h ^ Math.floor(step / 2 ** 32)) >>> 0);
  h = fmix32((h ^ Math.imul(row + 1, 0x27d4eb2f)) >>> 0);
  h = fmix32((h ^ Math.imul(k + 1, 0x165667b1)) >>> 0);
  const a = fmix32((h ^ 0x68e31da4) >>> 0) >>> 5; // 27 bits
  const b = fmix32((h ^ 0xb5297a4d) >>> 0) >>> 6; // 26 bits
  return (a * 67108864 + b) / 9007199254740992;
}
