/**
 * {@link TrainData} over token arrays held in memory: training batches are random windows (nanoGPT style) drawn
 * from a seeded RNG whose state is the loader's position; validation batches are the first consecutive windows of
 * the held-out tokens, the same on every call.
 */
import { Rng, type RngState } from "../util/rng.js";
import type { TrainData } from "./loop.js";

/** Token ids of one split: any integer typed array (uint16 / uint32 shards, Int32Array in tests). */
export type TokenArray = Uint16Array | Uint32Array | Int32Array;

/** Random-window batches over in-memory token arrays. */
export class TokenWindows implements TrainData {
  private rng: Rng;

  /**
   * @param train training tokens (documents joined by the tokenizer's end-of-text id)
   * @param val held-out tokens
   * @param vocabSize the tokenizer's vocabulary size
   * @param seed seed of the window order
   */
  constructor(
    private readonly train: TokenArray,
    private readonly val: TokenArray,
    readonly vocabSize: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  /** Throws when a split is too short for windows of T+1 tokens. */
  checkFits(T: number): void {
    if (this.train.length < T + 1) {
      throw new RangeError(`the training split has ${this.train.length} tokens, fewer than blockSize+1 = ${T + 1} (use more data or a smaller --block-size)`);
    }
    if (this.val.length < T + 1) {
      throw new RangeError(`the validation split has ${this.val.length} tokens, fewer than blockSize+1 = ${T + 1} (raise --val-fraction in prepare or use a smaller --block-size)`);
    }
  }

  /** @inheritdoc */
  nextTrain(x: Int32Array, y: Int32Array, B: number, T: number): void {
    const n = this.train.length - T - 1;
    for (let b = 0; b < B; b++) {
      const start = this.rng.int(n + 1);
      copyWindow(this.train, start, x, y, b * T, T);
    }
  }

  /** @inheritdoc */
  valBatches(B: number, T: number, maxTokens: number): (x: Int32Array, y: Int32Array) => boolean {
    const windows = Math.min(Math.floor((this.val.length - 1) / T), Math.max(1, Math.floor(maxTokens / T)));
    let w = 0;
    return (x, y) => {
      if (w >= windows) return false;
      for (let b = 0; b < B; b++) {
        if (w < windows) {
          copyWindow(this.val, w * T, x, y, b * T, T);
          w++;
        } else {
          // pad a ragged last batch with ignored targets
          x.fill(0, b * T, (b + 1) * T);
          y.fill(-1, b * T, (b + 1) * T);
        }
      }
      return true;
    };
  }

  /** @inheritdoc */
  getState(): unknown {
    return { rng: this.rng.getState() };
  }

  /** @inheritdoc */
  setState(state: unknown): void {
    const s = state as { rng?: RngState } | null;
    if (!s?.rng) throw new Error("data loader state is missing its RNG (the checkpoint is from another version)");
    this.rng.setState(s.rng);
  }
}

function copyWindow(src: TokenArray, start: number, x: Int32Array, y: Int32Array, at: number, T: number): void {
  for (let t = 0; t < T; t++) {
    x[at + t] = src[start + t];
    y[at + t] = src[start + t + 1];
  }
}
