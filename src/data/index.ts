/**
 * The data layer of scaling-lab: corpus sources, the train/validation split, tokenizers, mixtures, token shards
 * and the batch loader the train loop reads from.
 *
 * Typical use by the train loop:
 * ```ts
 * import { Dataset } from "../data/index.js";
 * const data = Dataset.open("runs/data");                 // manifest.json + tokenizer.json
 * const train = data.loader({ split: "train", batchSize: B, blockSize: T, seed });
 * train.restore(checkpoint.data);                         // optional: resume bit-exactly
 * const { inputs, targets } = train.next();               // Int32Array (B, T) each
 * checkpoint.data = train.state();                        // { seed, step }, JSON-serialisable
 * const val = data.loader({ split: "val", batchSize: B, blockSize: T, seed: 1 });
 * for (let i = 0; i < evalBatches; i++) val.batch(i);     // the same windows at every evaluation
 * data.tokenizer.vocabSize; data.tokenizer.eotId;          // for the model config and sampling
 * data.manifest.unigram.valCrossEntropy;                   // the "learned nothing but frequencies" baseline
 * ```
 * and by `prepare`: {@link prepareDataset}. Tokenizers: {@link gpt2Tokenizer} (for HF GPT-2 checkpoints),
 * {@link bytesTokenizer}, {@link trainBpe}, {@link loadTokenizer}. Errors caused by the input are
 * {@link DataError}s with a one-line message that names the fix.
 *
 * End-of-text ids: bpe → vocabSize − 1; gpt2 → 50256; bytes → 255 (vocab 256; 0xFF never occurs in UTF-8).
 * Lone UTF-16 surrogates encode as U+FFFD, so decode(encode(x)) === x.toWellFormed() for every string.
 */
export { DataError } from "./errors.js";
export {
  type Tokenizer,
  type TokenizerKind,
  type BpeSpec,
  type HfTokenizerJson,
  ByteLevelBpe,
  END_OF_TEXT,
  GPT2_SPLIT_PATTERN,
  MAX_VOCAB_SIZE,
  bytesTokenizer,
  gpt2Tokenizer,
  loadTokenizer,
  saveTokenizer,
  tokenizerFromJson,
} from "./tokenizer.js";
export { WordCounter, trainBpe, trainBpeOnTexts, type TrainBpeOptions } from "./bpe-train.js";
export {
  type Document,
  type Source,
  type SourceOptions,
  BUILTIN_SOURCES,
  builtinFiles,
  readUtf8Chunks,
  resolveSource,
  resolveSources,
} from "./sources.js";
export { type Split, assignSplits, splitScore } from "./split.js";
export {
  type EpochReport,
  type MixtureComponent,
  mixtureEpochs,
  normalizeWeights,
  parseTokenCount,
  parseWeights,
} from "./mixture.js";
export {
  type DataManifest,
  type ManifestSource,
  type ShardInfo,
  type SplitCounts,
  type TokenArray,
  type TokenDtype,
  MANIFEST_FILE,
  TOKENIZER_FILE,
  ShardWriter,
  dtypeFor,
  readManifest,
  checkManifest,
  readShard,
  shardTokens,
  writeManifest,
} from "./shards.js";
export { type PrepareOptions, type PrepareResult, prepareDataset, unigramBaselines } from "./prepare.js";
export { type Batch, type LoaderOptions, type LoaderState, BatchLoader, Dataset, uniform } from "./loader.js";
