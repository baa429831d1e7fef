/**
 * Byte-level BPE training with incremental pair counts.
 *
 * The corpus is split with GPT-2's pre-tokenization regex and reduced to a table of distinct words with counts
 * ({@link WordCounter}). Training then repeats: take the most frequent adjacent pair (ties → the smaller
 * (left id, right id)), give it a new id, rewrite only the words that contain it, and update the pair counts of
 * those words. A max-heap with lazy deletion finds the best pair; an index pair → words finds the words to
 * rewrite. Same words in the same order → the same merges, always.
 *
 * Ids: 0–255 are the bytes, merges produce 256, 257, …, and the end-of-text token is the last id (vocabSize − 1).
 * A merge whose bytes equal an existing token reuses that id (as Hugging Face's trainer does).
 */
import { DataError } from "./errors.js";
import { PairHeap } from "./heap.js";
import { ByteLevelBpe, GPT2_SPLIT_PATTERN, MAX_VOCAB_SIZE } from "./tokenizer.js";
import { utf8Bytes } from "./utf8.js";

const KEY = MAX_VOCAB_SIZE;

/** Counts pre-tokenized words (GPT-2 regex pieces) over any number of texts. */
export class WordCounter {
  /** Distinct piece → occurrences, in first-seen order. */
  readonly counts = new Map<string, number>();
  /** UTF-16 code units seen so far (a cheap size measure; see `bytes` for UTF-8 bytes). */
  chars = 0;
  /** UTF-8 bytes seen so far. */
  bytes = 0;
  private readonly re = new RegExp(GPT2_SPLIT_PATTERN.source, GPT2_SPLIT_PATTERN.flags);

  /** Adds every piece of `text`. */
  add(text: string): void {
    const counts = this.counts;
    const re = this.re;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const w = m[0];
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    this.chars += text.length;
    this.bytes += Buffer.byteLength(text, "utf8");
  }
}

/** Options of {@link trainBpe}. */
export interface TrainBpeOptions {
  /** A pair must occur at least this often to be merged (default 2); training stops with an error before that. */
  minPairCount?: number;
  /** Called every `progressEvery` merges with (merges done, merges planned). */
  onProgress?: (done: number, total: number) => void;
  /** Default 1000. */
  progressEvery?: number;
}

/**
 * Trains a byte-level BPE tokenizer with `vocabSize` ids (256 bytes + merges + end-of-text) on a word-count table.
 * Throws a DataError naming the largest supportable vocab when the corpus runs out of pairs that occur at least
 * `minPairCount` times.
 */
export function trainBpe(wordCounts: Map<string, number>, vocabSize: number, options: TrainBpeOptions = {}): ByteLevelBpe {
  const minPairCount = options.minPairCount ?? 2;
  const progressEvery = options.progressEvery ?? 1000;
  if (!Number.isInteger(vocabSize) || vocabSize < 257 || vocabSize > MAX_VOCAB_SIZE) {
    throw new DataError(`BPE vocab must be an integer from 257 (256 bytes + end-of-text) to ${MAX_VOCAB_SIZE}, got ${vocabSize}; pass e.g. --vocab 4096`);
  }
  const eotId = vocabSize - 1;
  const target = eotId; // ids 256 … eotId−1 come from merges

  // Words as symbol arrays, with counts.
  const words: Int32Array[] = [];
  const counts: number[] = [];
  for (const [w, c] of wordCounts) {
    const bytes = utf8Bytes(w);
    if (bytes.length === 0) continue;
    words.push(Int32Array.from(bytes));
    counts.push(c);
  }
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  const addWhere = (key: number, w: number) => {
    const list = where.get(key);
    if (list === undefined) where.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  for (let w = 0; w < words.length; w++) {
    const s = words[w];
    const c = counts[w];
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i] * KEY + s[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + c);
      addWhere(key, w);
    }
  }
  // most frequent first, ties to the smaller pair key: keys are −count
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(-c, key);

  const idBytes: Uint8Array[] = [];
  const idOfBytes = new Map<string, number>();
  for (let b = 0; b < 256; b++) {
    idBytes.push(Uint8Array.of(b));
    idOfBytes.set(String.fromCharCode(b), b);
  }
  const merges: number[] = [];
  const mergedIds: number[] = [];
  const stamp = new Int32Array(words.length).fill(-1);
  let nextId = 256;
  const planned = target - 256;

  while (nextId < target) {
    // The most frequent valid pair (lazy deletion: entries whose count went down are re-queued).
    let best = -1;
    let bestCount = 0;
    while (heap.size > 0) {
      const [negCount, key] = heap.pop();
      const c = -negCount;
      const current = pairCount.get(key) ?? 0;
      if (current === c) {
        best = key;
        bestCount = c;
        break;
      }
      if (current > 0 && current < c) heap.push(-current, key);
    }
    if (best < 0 || bestCount < minPairCount) {
      throw new DataError(
        `BPE vocab ${vocabSize} is larger than this corpus supports: after ${nextId - 256} merges no pair occurs ${minPairCount}+ times; ` +
          `use --vocab ${nextId + 1} or less, or add text`,
      );
    }
    const a = Math.floor(best / KEY);
    const b = best - a * KEY;
    const joined = new Uint8Array(idBytes[a].length + idBytes[b].length);
    joined.set(idBytes[a], 0);
    joined.set(idBytes[b], idBytes[a].length);
    const joinedKey = latin1(joined);
    let id = idOfBytes.get(joinedKey);
    const created = id === undefined;
    if (id === undefined) {
      id = nextId++;
      idBytes.push(joined);
      idOfBytes.set(joinedKey, id);
    }
    const r = merges.length / 2;
    merges.push(a, b);
    mergedIds.push(id);

    const newKeys = new Set<number>();
    const list = where.get(best) ?? [];
    for (const w of list) {
      if (stamp[w] === r) continue;
      stamp[w] = r;
      const s = words[w];
      let found = false;
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === a && s[i + 1] === b) {
          found = true;
          break;
        }
      }
      if (!found) continue;
      const c = counts[w];
      for (let i = 0; i + 1 < s.length; i++) {
        const key = s[i] * KEY + s[i + 1];
        pairCount.set(key, pairCount.get(key)! - c);
      }
      const t: number[] = [];
      for (let i = 0; i < s.length; ) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          t.push(id);
          i += 2;
        } else t.push(s[i++]);
      }
      const ns = Int32Array.from(t);
      words[w] = ns;
      for (let i = 0; i + 1 < ns.length; i++) {
        const key = ns[i] * KEY + ns[i + 1];
        pairCount.set(key, (pairCount.get(key) ?? 0) + c);
        if (ns[i] === id || ns[i + 1] === id) {
          addWhere(key, w);
          newKeys.add(key);
        }
      }
    }
    pairCount.delete(best);
    where.delete(best);
    for (const key of newKeys) {
      const c = pairCount.get(key) ?? 0;
      if (c > 0) heap.push(-c, key);
    }
    if (options.onProgress && created && (nextId - 256) % progressEvery === 0) options.onProgress(nextId - 256, planned);
  }
  const byteToId = new Int32Array(256);
  for (let i = 0; i < 256; i++) byteToId[i] = i;
  return new ByteLevelBpe({ kind: "bpe", vocabSize, eotId, byteToId, merges, mergedIds });
}

/** Trains on texts directly: counts words, then {@link trainBpe}. */
export function trainBpeOnTexts(texts: Iterable<string>, vocabSize: number, options: TrainBpeOptions = {}): ByteLevelBpe {
  const counter = new WordCounter();
  for (const t of texts) counter.add(t);
  return trainBpe(counter.counts, vocabSize, options);
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
