/**
 * `prepare`: sources → tokenizer.json + token shards + manifest.json (see shards.ts for the layout).
 *
 * Streaming passes over the corpus, so nothing larger than one document (or one Parquet row group) is held in
 * memory:
 * 1. scan — read every document, check it (UTF-8, fields) and score it for the train/validation split (split.ts);
 * 2. tokenizer — for `bpe`, count the words of the training documents (up to `tokenizerTrainChars`) and train;
 *    otherwise load gpt2, bytes or the given tokenizer.json;
 * 3. encode — tokenize every document into its (split, source) shard stream, each followed by the end-of-text id,
 *    and count unigram statistics.
 * The manifest is written last.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { WordCounter, singleDigitCounts, trainBpe } from "./bpe-train.js";
import { DataError } from "./errors.js";
import { normalizeWeights } from "./mixture.js";
import {
  type DataManifest,
  type ManifestSource,
  MANIFEST_FILE,
  type ShardInfo,
  ShardWriter,
  TOKENIZER_FILE,
  dtypeFor,
  isShardFileName,
  readManifest,
  writeManifest,
} from "./shards.js";
import { writeFileAtomic } from "../util/files.js";
import { type Source, type SourceOptions, resolveSources } from "./sources.js";
import { assignSplits, splitScore } from "./split.js";
import { type ByteLevelBpe, MAX_VOCAB_SIZE, bytesTokenizer, gpt2Tokenizer, loadTokenizer, saveTokenizer } from "./tokenizer.js";

/** Options of {@link prepareDataset}. */
export interface PrepareOptions {
  /** Source specs: "builtin", paths, folders, globs, "name=path" (comma-separated string or array). */
  sources: string | string[];
  /** Sampling weights, one per source (normalised); default: proportional to training tokens. */
  weights?: number[];
  /** "bpe" (train one), "gpt2", "bytes", or the path of an existing tokenizer.json. */
  tokenizer: string;
  /** Vocab size for a trained BPE (default 4096). */
  vocabSize?: number;
  /** Output directory (created if needed). */
  outDir: string;
  /** Fraction of documents held out for validation (default 0.01). */
  valFraction?: number;
  /** JSONL field / Parquet column with the text (default "text"). */
  textField?: string;
  /** Seed of the split (default 0). */
  seed?: number;
  /** Cut plain-text files into documents of about this many characters (default 65536, 0 = never). */
  docChars?: number;
  /** Largest shard file, in tokens (default 2^26). */
  shardTokens?: number;
  /** A trained BPE keeps every digit its own token ({@link singleDigitCounts}; default false). */
  singleDigits?: boolean;
  /** Train BPE on at most this many characters of training text, an equal share per source (default 0 = all). */
  tokenizerTrainChars?: number;
  /** Base directory for relative source paths. */
  cwd?: string;
  /** Progress lines (for stderr). */
  onProgress?: (message: string) => void;
}

/** What {@link prepareDataset} did. */
export interface PrepareResult {
  outDir: string;
  manifest: DataManifest;
  /** Wall-clock seconds per phase. */
  seconds: { scan: number; tokenizer: number; encode: number; total: number };
}

interface ScanResult {
  isVal: Uint8Array;
  documents: number;
}

/** Prepares a data directory; see the module comment. Bad input throws a DataError naming the fix. */
export async function prepareDataset(options: PrepareOptions): Promise<PrepareResult> {
  const t0 = performance.now();
  const log = options.onProgress ?? (() => {});
  let lastTick = 0;
  const tick = (message: () => string) => {
    // per-document progress, at most once a second
    const now = performance.now();
    if (now - lastTick >= 1000) {
      lastTick = now;
      log(message());
    }
  };
  const valFraction = options.valFraction ?? 0.01;
  const seed = options.seed ?? 0;
  const textField = options.textField ?? "text";
  const docChars = options.docChars ?? 65536;
  const trainCap = options.tokenizerTrainChars ?? 0;
  if (!(valFraction >= 0 && valFraction < 1)) throw new DataError(`--val-fraction must be in [0, 1), got ${valFraction}`);
  if (!Number.isInteger(docChars) || docChars < 0) throw new DataError(`--doc-chars must be an integer ≥ 0, got ${docChars}`);
  const sourceOptions: SourceOptions = { textField, docChars, cwd: options.cwd };
  const sources = resolveSources(options.sources, sourceOptions);
  if (options.weights && options.weights.length !== sources.length) {
    throw new DataError(`got ${options.weights.length} weights for ${sources.length} sources; pass one --weights value per --source entry`);
  }
  const tokenizerChoice = options.tokenizer;
  const trainsBpe = tokenizerChoice === "bpe";
  const vocabSize = options.vocabSize ?? 4096;
  if (trainsBpe && (!Number.isInteger(vocabSize) || vocabSize < 257 || vocabSize > MAX_VOCAB_SIZE)) {
    throw new DataError(`BPE vocab must be an integer from 257 (256 bytes + end-of-text) to ${MAX_VOCAB_SIZE}, got ${vocabSize}; pass e.g. --vocab 4096`);
  }
  if (!trainsBpe && tokenizerChoice !== "gpt2" && tokenizerChoice !== "bytes" && !tokenizerChoice.endsWith(".json")) {
    throw new DataError(`unknown tokenizer "${tokenizerChoice}"; use bpe, gpt2, bytes or the path of a tokenizer.json`);
  }

  // Pass 1: scan.
  const counter = trainsBpe ? new WordCounter() : undefined;
  const scans: ScanResult[] = [];
  for (const source of sources) {
    const scores: number[] = [];
    const sizes: number[] = [];
    let chars = 0;
    for await (const doc of source.documents()) {
      scores.push(splitScore(doc.text, seed));
      sizes.push(Buffer.byteLength(doc.text, "utf8"));
      chars += doc.text.length;
      tick(() => `scan ${source.name}: ${scores.length} documents, ${(chars / 1e6).toFixed(1)}M chars`);
    }
    if (scores.length === 0) {
      throw new DataError(`empty corpus: source "${source.name}" (${source.files.length} file(s)) has no text; point --source at files that contain text`);
    }
    const isVal = assignSplits(scores, sizes, valFraction);
    scans.push({ isVal, documents: scores.length });
    log(`scan ${source.name}: ${scores.length} documents, ${(chars / 1e6).toFixed(1)}M chars`);
  }
  const totalDocs = scans.reduce((a, s) => a + s.documents, 0);
  const valDocs = scans.reduce((a, s) => a + s.isVal.reduce((x, y) => x + y, 0), 0);
  if (valFraction > 0 && valDocs === 0) {
    throw new DataError(
      `validation split is empty: the corpus has only ${totalDocs} document(s); add documents, cut text files into more documents with --doc-chars (e.g. --doc-chars 16384), or pass --val-fraction 0`,
    );
  }
  const t1 = performance.now();

  // Tokenizer.
  const outDir = resolve(options.cwd ?? process.cwd(), options.outDir);
  let tokenizer: ByteLevelBpe;
  if (trainsBpe) {
    const capPerSource = trainCap / sources.length; // an equal share each, so every source shapes the vocab
    for (let s = 0; s < sources.length; s++) {
      let i = 0;
      const start = counter!.chars;
      for await (const doc of sources[s].documents()) {
        if (trainCap > 0 && counter!.chars - start >= capPerSource) break;
        if (!scans[s].isVal[i++]) counter!.add(doc.text);
      }
    }
    log(`tokenizer: training BPE to ${vocabSize} ids on ${(counter!.bytes / 1e6).toFixed(1)} MB (${counter!.counts.size} distinct words)`);
    tokenizer = trainBpe(options.singleDigits ? singleDigitCounts(counter!.counts) : counter!.counts, vocabSize, { onProgress: (d, n) => log(`tokenizer: ${d}/${n} merges`) });
  } else if (tokenizerChoice === "gpt2") tokenizer = gpt2Tokenizer();
  else if (tokenizerChoice === "bytes") tokenizer = bytesTokenizer();
  else tokenizer = loadTokenizer(resolve(options.cwd ?? process.cwd(), tokenizerChoice));
  const t2 = performance.now();

  // Output directory. A dataset already there stays whole until the new one is complete (a kill mid-way loses
  // nothing): the new shards and tokenizer go under names its manifest does not use, and the new manifest replaces
  // the old one atomically — the commit — before the old files are removed (see commitDataset).
  mkdirSync(outDir, { recursive: true });
  const old = existingManifest(outDir);
  const taken = new Set(old ? [...old.shards.map((s) => s.file), old.tokenizer.file] : []);
  const prefix = generationPrefix(taken);
  const tokenizerFile = old ? freeName(["tokenizer.next.json", "tokenizer.next-2.json", "tokenizer.next-3.json"], taken) : TOKENIZER_FILE;
  if (!trainsBpe && tokenizerChoice.endsWith(".json")) copyFileSync(resolve(options.cwd ?? process.cwd(), tokenizerChoice), join(outDir, tokenizerFile));
  else saveTokenizer(tokenizer, join(outDir, tokenizerFile));

  // Pass 2: encode into shards.
  const dtype = dtypeFor(tokenizer.vocabSize);
  const eot = [tokenizer.eotId];
  const unigramTrain = new Float64Array(tokenizer.vocabSize);
  const unigramVal = new Float64Array(tokenizer.vocabSize);
  const shards: ShardInfo[] = [];
  const manifestSources: ManifestSource[] = [];
  for (let s = 0; s < sources.length; s++) {
    const source: Source = sources[s];
    const writers = {
      train: new ShardWriter(outDir, "train", s, dtype, options.shardTokens, prefix),
      val: new ShardWriter(outDir, "val", s, dtype, options.shardTokens, prefix),
    };
    const documents = { train: 0, val: 0 };
    const bytes = { train: 0, val: 0 };
    let i = 0;
    for await (const doc of source.documents()) {
      if (i >= scans[s].documents) break;
      const split = scans[s].isVal[i++] ? "val" : "train";
      const ids = tokenizer.encode(doc.text);
      writers[split].append(ids);
      writers[split].append(eot);
      const counts = split === "train" ? unigramTrain : unigramVal;
      for (let k = 0; k < ids.length; k++) counts[ids[k]]++;
      counts[tokenizer.eotId]++;
      documents[split]++;
      bytes[split] += Buffer.byteLength(doc.text, "utf8");
      tick(() => `encode ${source.name}: ${i}/${scans[s].documents} documents`);
    }
    if (i !== scans[s].documents) {
      throw new DataError(`source "${source.name}" changed while preparing (${i} documents now, ${scans[s].documents} before); run prepare again`);
    }
    const tokens = { train: writers.train.total, val: writers.val.total };
    for (const shard of [...writers.train.close(), ...writers.val.close()]) shards.push(shard); // no spread into push: 100k+ shards overflow its arguments
    manifestSources.push({ name: source.name, spec: source.spec, files: source.files.length, weight: 0, documents, bytes, tokens });
    log(`encode ${source.name}: ${tokens.train} train + ${tokens.val} val tokens`);
  }
  const weights = normalizeWeights(options.weights, manifestSources.map((m) => m.tokens.train));
  manifestSources.forEach((m, i) => (m.weight = weights[i]));
  const sum = (f: (m: ManifestSource) => number) => manifestSources.reduce((a, m) => a + f(m), 0);
  const manifest: DataManifest = {
    format: "scaling-lab-data",
    version: 1,
    tokenizer: { kind: tokenizer.kind, vocabSize: tokenizer.vocabSize, eotId: tokenizer.eotId, hash: tokenizer.hash, file: tokenizerFile },
    dtype,
    byteOrder: "little",
    seed,
    valFraction,
    textField,
    docChars,
    sources: manifestSources,
    documents: { train: sum((m) => m.documents.train), val: sum((m) => m.documents.val) },
    bytes: { train: sum((m) => m.bytes.train), val: sum((m) => m.bytes.val) },
    tokens: { train: sum((m) => m.tokens.train), val: sum((m) => m.tokens.val) },
    unigram: unigramBaselines(unigramTrain, unigramVal),
    shards,
  };
  commitDataset(outDir, manifest);
  const t3 = performance.now();
  return {
    outDir,
    manifest,
    seconds: { scan: (t1 - t0) / 1000, tokenizer: (t2 - t1) / 1000, encode: (t3 - t2) / 1000, total: (t3 - t0) / 1000 },
  };
}

/** The readable manifest already in `dir`, or null (none, or unreadable: then there is no dataset to keep). */
function existingManifest(dir: string): DataManifest | null {
  if (!existsSync(join(dir, MANIFEST_FILE))) return null;
  try {
    return readManifest(dir);
  } catch {
    return null;
  }
}

/** "" or "g1-", "g2-", …: the first shard-name prefix that no shard in `taken` uses. */
function generationPrefix(taken: Set<string>): string {
  for (let g = 0; ; g++) {
    const prefix = g === 0 ? "" : `g${g}-`;
    if (![...taken].some((f) => isShardFileName(f) && f.startsWith(prefix) && (g > 0 || !/^g\d+-/.test(f)))) return prefix;
  }
}

function freeName(candidates: string[], taken: Set<string>): string {
  return candidates.find((c) => !taken.has(c)) ?? `tokenizer.next-${process.pid}.json`;
}

/**
 * Makes `manifest` (whose shards and tokenizer are written) the dataset of `dir`, so that a crash at any point
 * leaves a complete dataset, old or new: the manifest is replaced atomically (the commit); a tokenizer written under
 * a temporary name is then copied over tokenizer.json atomically and the manifest pointed at it; last, shard files
 * the new manifest does not list (the old dataset's, or a killed prepare's) are removed.
 */
function commitDataset(dir: string, manifest: DataManifest): void {
  writeManifest(dir, manifest);
  const temporary = manifest.tokenizer.file;
  if (temporary !== TOKENIZER_FILE) {
    writeFileAtomic(join(dir, TOKENIZER_FILE), readFileSync(join(dir, temporary)));
    writeManifest(dir, { ...manifest, tokenizer: { ...manifest.tokenizer, file: TOKENIZER_FILE } });
    manifest.tokenizer.file = TOKENIZER_FILE;
    rmSync(join(dir, temporary), { force: true });
  }
  const keep = new Set(manifest.shards.map((s) => s.file));
  for (const f of readdirSync(dir)) if (isShardFileName(f) && !keep.has(f)) rmSync(join(dir, f), { force: true });
}

/** Unigram entropy of the training counts and cross-entropy of validation under them (add-one smoothed), in nats. */
export function unigramBaselines(train: Float64Array, val: Float64Array): DataManifest["unigram"] {
  const nTrain = train.reduce((a, b) => a + b, 0);
  const nVal = val.reduce((a, b) => a + b, 0);
  let h = 0;
  for (const c of train) if (c > 0) h -= (c / nTrain) * Math.log(c / nTrain);
  let ce: number | null = null;
  if (nVal > 0) {
    const denom = nTrain + train.length;
    let s = 0;
    for (let i = 0; i < val.length; i++) if (val[i] > 0) s -= val[i] * Math.log((train[i] + 1) / denom);
    ce = s / nVal;
  }
  return { trainEntropy: h, valCrossEntropy: ce };
}
