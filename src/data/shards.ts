/**
 * On-disk token shards and their manifest.
 *
 * A prepared data directory holds
 * - `tokenizer.json` — the tokenizer (Hugging Face layout);
 * - `manifest.json` — {@link DataManifest}: sources, weights, tokenizer hash, token counts per split and per
 *   source, the shard list;
 * - shards `<split>-s<source index>-<n>.bin` — raw little-endian token ids, uint16 when the vocab has at most
 *   65,536 ids, else uint32. Each source's split is one token stream in which every document is followed by the
 *   end-of-text id, cut into files of at most `shardTokens` tokens.
 * The manifest is written last (temp file + rename): a directory without it is an unfinished prepare.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/files.js";
import { DataError } from "./errors.js";
import type { Split } from "./split.js";

/** Element type of the shard files. */
export type TokenDtype = "uint16" | "uint32";

/** A token array as stored (uint16 or uint32). */
export type TokenArray = Uint16Array | Uint32Array;

/** uint16 when every id fits (vocab ≤ 65,536), else uint32. */
export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? "uint16" : "uint32";
}

/** Counts per split. */
export interface SplitCounts {
  train: number;
  val: number;
}

/** One shard file. */
export interface ShardInfo {
  /** File name inside the data directory. */
  file: string;
  split: Split;
  /** Index into manifest.sources. */
  source: number;
  tokens: number;
}

/** One source as recorded in the manifest. */
export interface ManifestSource {
  name: string;
  spec: string;
  /** Number of files read. */
  files: number;
  /** Normalised sampling weight (weights sum to 1). */
  weight: number;
  documents: SplitCounts;
  /** UTF-8 bytes of document text (end-of-text tokens excluded). */
  bytes: SplitCounts;
  /** Tokens, one end-of-text per document included. */
  tokens: SplitCounts;
}

/** The manifest.json of a prepared data directory. */
export interface DataManifest {
  format: "scaling-lab-data";
  version: 1;
  tokenizer: { kind: string; vocabSize: number; eotId: number; hash: string; file: string };
  dtype: TokenDtype;
  byteOrder: "little";
  seed: number;
  valFraction: number;
  textField: string;
  docChars: number;
  sources: ManifestSource[];
  documents: SplitCounts;
  bytes: SplitCounts;
  tokens: SplitCounts;
  /**
   * Unigram baselines in nats/token: the entropy of the training split's token frequencies, and the cross-entropy
   * of the validation split under those frequencies (add-one smoothed). A model that learned nothing beyond
   * token frequencies scores about `valCrossEntropy` on validation.
   */
  unigram: { trainEntropy: number; valCrossEntropy: number | null };
  shards: ShardInfo[];
}

const LITTLE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Name of the manifest file in a data directory. */
export const MANIFEST_FILE = "manifest.json";
/** Name of the tokenizer file in a data directory. */
export const TOKENIZER_FILE = "tokenizer.json";

/** Streams tokens of one (split, source) into numbered shard files of at most `shardTokens` tokens. */
export class ShardWriter {
  private readonly buffer: TokenArray;
  private used = 0;
  private fd = -1;
  private inFile = 0;
  private readonly done: ShardInfo[] = [];
  private current: ShardInfo | undefined;
  /** Tokens written so far. */
  total = 0;

  constructor(
    private readonly dir: string,
    private readonly split: Split,
    private readonly source: number,
    private readonly dtype: TokenDtype,
    private readonly shardTokens = 1 << 26,
  ) {
    if (!Number.isInteger(shardTokens) || shardTokens < 1) throw new DataError(`shard size must be a positive integer, got ${shardTokens}`);
    const size = Math.min(1 << 20, shardTokens);
    this.buffer = dtype === "uint16" ? new Uint16Array(size) : new Uint32Array(size);
  }

  /** Appends token ids (they must be < 2^16 for uint16 shards). */
  append(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      if (this.inFile + this.used === this.shardTokens) this.rollover();
      if (this.used === this.buffer.length) this.flush();
      this.buffer[this.used++] = ids[i];
    }
    this.total += ids.length;
  }

  private open(): void {
    const file = `${this.split}-s${this.source}-${String(this.done.length).padStart(5, "0")}.bin`;
    this.fd = openSync(join(this.dir, file), "w");
    this.current = { file, split: this.split, source: this.source, tokens: 0 };
    this.inFile = 0;
  }

  private flush(): void {
    if (this.used === 0) return;
    if (this.fd < 0) this.open();
    const view = this.buffer.subarray(0, this.used);
    const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    if (!LITTLE) swapInPlace(bytes, this.dtype);
    writeSync(this.fd, bytes);
    this.inFile += this.used;
    this.current!.tokens += this.used;
    this.used = 0;
  }

  private rollover(): void {
    this.flush();
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
      this.done.push(this.current!);
      this.current = undefined;
      this.inFile = 0;
    }
  }

  /** Flushes and closes; returns the shard files written (none if no token was appended). */
  close(): ShardInfo[] {
    this.rollover();
    return this.done;
  }
}

function swapInPlace(bytes: Buffer, dtype: TokenDtype): void {
  if (dtype === "uint16") bytes.swap16();
  else bytes.swap32();
}

/** Reads one shard file into a typed array. */
export function readShard(dir: string, shard: ShardInfo, dtype: TokenDtype): TokenArray {
  const path = join(dir, shard.file);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    throw new DataError(`shard ${path} is missing; re-run scaling-lab prepare for ${dir}`);
  }
  return shardTokens(buf, shard, dtype, path);
}

/**
 * A shard's bytes (as read from its file, or fetched by a browser) as a typed array, checked against the manifest's
 * token count; `path` names it in the error.
 */
export function shardTokens(bytes: Uint8Array, shard: ShardInfo, dtype: TokenDtype, path: string): TokenArray {
  const width = dtype === "uint16" ? 2 : 4;
  if (bytes.length !== shard.tokens * width) {
    throw new DataError(`shard ${path} has ${bytes.length} bytes, the manifest says ${shard.tokens * width}; run scaling-lab prepare again`);
  }
  // Copy into a fresh, aligned buffer (readFileSync may return a pooled, unaligned view).
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (!LITTLE) swapInPlace(Buffer.from(copy.buffer), dtype);
  return dtype === "uint16" ? new Uint16Array(copy.buffer) : new Uint32Array(copy.buffer);
}

/** Reads and checks manifest.json of a prepared data directory. */
export function readManifest(dir: string): DataManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) throw new DataError(`${dir} has no ${MANIFEST_FILE}; run scaling-lab prepare --out ${dir} first`);
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new DataError(`${path} is not valid JSON; re-run scaling-lab prepare --out ${dir}`);
  }
  return checkManifest(m, path);
}

/** Checks a parsed manifest.json (read from a directory, or fetched by a browser); `path` names it in the error. */
export function checkManifest(json: unknown, path: string): DataManifest {
  const m = json as Partial<DataManifest> | null;
  if (!m || m.format !== "scaling-lab-data" || m.version !== 1) {
    throw new DataError(`${path} is not a scaling-lab data manifest (version 1); run scaling-lab prepare again`);
  }
  return m as DataManifest;
}

/** Writes manifest.json atomically (temp file, fsync, rename). */
export function writeManifest(dir: string, manifest: DataManifest): void {
  writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
}
