/**
 * {@link TrainData} over a prepared data directory (scaling-lab prepare): training batches from the dataset's
 * mixture-weighted BatchLoader (its state is {seed, step}), validation batches the first k batches of a val loader.
 */
import { type BatchLoader, type Dataset, type LoaderState } from "../data/loader.js";
import type { TrainData } from "./loop.js";

/** Adapts a {@link Dataset} to the training loop. */
export class DatasetData implements TrainData {
  readonly vocabSize: number;
  private trainLoader: BatchLoader | null = null;
  private valLoader: BatchLoader | null = null;
  private pending: LoaderState | null = null;

  constructor(private readonly dataset: Dataset, private readonly seed: number, private readonly weights?: number[]) {
    this.vocabSize = dataset.tokenizer.vocabSize;
  }

  private train(B: number, T: number): BatchLoader {
    if (!this.trainLoader || this.trainLoader.batchSize !== B || this.trainLoader.blockSize !== T) {
      this.trainLoader = this.dataset.loader({ split: "train", batchSize: B, blockSize: T, seed: this.seed, weights: this.weights });
      if (this.pending) this.trainLoader.restore(this.pending);
      this.pending = null;
    }
    return this.trainLoader;
  }

  /** Checks that both splits can supply windows of T+1 tokens (throws DataError naming the fix). */
  checkFits(B: number, T: number): void {
    this.train(B, T);
    this.val(B, T);
  }

  private val(B: number, T: number): BatchLoader {
    if (!this.valLoader || this.valLoader.batchSize !== B || this.valLoader.blockSize !== T) {
      this.valLoader = this.dataset.loader({ split: "val", batchSize: B, blockSize: T, seed: this.seed + 1 });
    }
    return this.valLoader;
  }

  /** @inheritdoc */
  nextTrain(x: Int32Array, y: Int32Array, B: number, T: number): void {
    const b = this.train(B, T).next();
    x.set(b.inputs);
    y.set(b.targets);
  }

  /** @inheritdoc */
  valBatches(B: number, T: number, maxTokens: number): (x: Int32Array, y: Int32Array) => boolean {
    const loader = this.val(B, T);
    const n = Math.max(1, Math.floor(maxTokens / (B * T)));
    let k = 0;
    return (x, y) => {
      if (k >= n) return false;
      const b = loader.batch(k++);
      x.set(b.inputs);
      y.set(b.targets);
      return true;
    };
  }

  /** @inheritdoc */
  getState(): unknown {
    return this.trainLoader ? this.trainLoader.state() : this.pending ?? { seed: this.seed >>> 0, step: 0 };
  }

  /** @inheritdoc */
  setState(state: unknown): void {
    const s = state as LoaderState;
    if (this.trainLoader) this.trainLoader.restore(s);
    else this.pending = s;
  }
}
