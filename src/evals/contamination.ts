/**
 * Contamination audit, after GPT-3 §4 / appendix C: search the prepared (tokenized) training data for each
 * evaluation item's patterns — for arithmetic "48 plus 76", "48 + 76 =" and the full answer form; for word tasks
 * the scrambled word and "scrambled = word"; for task files the item text — and report the fraction of items
 * with at least one pattern present.
 *
 * The shards are decoded back to text (cut after end-of-text ids, so no character is split) and scanned once
 * with an Aho–Corasick automaton over all patterns of all items. A match counts only at a word boundary: a
 * pattern starting (ending) with a letter or digit must not be preceded (followed) by one, so "148 plus 76"
 * does not contain "48 plus 76".
 */
import { Dataset } from "../data/loader.js";
import type { Split } from "../data/split.js";
import type { EvalTask, TaskItem } from "./task.js";

/** Options of {@link auditContamination}. */
export interface ContaminationOptions {
  /** Which split to search (default "train"). */
  split?: Split | "all";
  /** Progress lines (for stderr). */
  onProgress?: (message: string) => void;
}

/** What {@link auditContamination} found for one task. */
export interface ContaminationReport {
  task: string;
  /** Items audited. */
  n: number;
  /** Items with at least one pattern in the data. */
  itemsFound: number;
  /** itemsFound / n. */
  fraction: number;
  /** Pattern occurrences in total. */
  occurrences: number;
  /** Up to 5 patterns found, with their counts. */
  examples: { pattern: string; count: number }[];
  /** Tokens and characters searched. */
  tokens: number;
  chars: number;
  split: Split | "all";
}

const isWordChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c > 127;

/** Multi-pattern search (Aho–Corasick over UTF-16 code units) fed text in chunks, with word-boundary checks. */
export class PatternMatcher {
  private readonly next: Map<number, number>[] = [new Map()];
  private readonly rootNext = new Int32Array(65536); // dense root row (0 = stay at root)
  private fail: Int32Array = new Int32Array(1);
  private outLink: Int32Array = new Int32Array(1); // nearest node on the fail chain that ends a pattern (−1 none)
  private readonly ends: number[][] = [[]];
  /** Occurrences of each pattern so far. */
  readonly counts: Int32Array;
  private state = 0;
  private pos = 0; // global index of the next character
  private tail = ""; // the last maxLen+1 characters seen
  private pending: { pattern: number; end: number }[] = [];
  private readonly maxLen: number;

  /** Builds the automaton of `patterns` (empty patterns are ignored). */
  constructor(readonly patterns: readonly string[]) {
    this.counts = new Int32Array(patterns.length);
    this.maxLen = Math.max(1, ...patterns.map((p) => p.length));
    patterns.forEach((p, id) => {
      if (p.length === 0) return;
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        let t = this.next[s].get(c);
        if (t === undefined) {
          t = this.next.length;
          this.next.push(new Map());
          this.ends.push([]);
          this.next[s].set(c, t);
        }
        s = t;
      }
      this.ends[s].push(id);
    });
    const n = this.next.length;
    this.fail = new Int32Array(n);
    this.outLink = new Int32Array(n).fill(-1);
    const queue: number[] = [];
    for (const [c, t] of this.next[0]) {
      this.rootNext[c] = t;
      queue.push(t);
    }
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q];
      for (const [c, t] of this.next[s]) {
        let f = this.fail[s];
        while (f !== 0 && !this.next[f].has(c)) f = this.fail[f];
        const g = f === 0 ? this.rootNext[c] : this.next[f].get(c)!;
        this.fail[t] = g === t ? 0 : g;
        const ft = this.fail[t];
        this.outLink[t] = this.ends[ft].length > 0 ? ft : this.outLink[ft];
        queue.push(t);
      }
    }
  }

  private step(s: number, c: number): number {
    for (;;) {
      if (s === 0) return this.rootNext[c];
      const t = this.next[s].get(c);
      if (t !== undefined) return t;
      s = this.fail[s];
    }
  }

  private charAt(global: number, window: string, windowStart: number): number {
    const i = global - windowStart;
    return i >= 0 && i < window.length ? window.charCodeAt(i) : -1;
  }

  private accept(pattern: number, end: number, window: string, windowStart: number, after: number): void {
    const p = this.patterns[pattern];
    const start = end - p.length + 1;
    const before = this.charAt(start - 1, window, windowStart);
    if (isWordChar(p.charCodeAt(0)) && before >= 0 && isWordChar(before)) return;
    if (isWordChar(p.charCodeAt(p.length - 1)) && after >= 0 && isWordChar(after)) return;
    this.counts[pattern]++;
  }

  /** Scans the next chunk of text. */
  feed(text: string): void {
    if (text.length === 0) return;
    const window = this.tail + text;
    const windowStart = this.pos - this.tail.length;
    for (const m of this.pending) this.accept(m.pattern, m.end, window, windowStart, text.charCodeAt(0));
    this.pending = [];
    let s = this.state;
    for (let i = 0; i < text.length; i++) {
      s = this.step(s, text.charCodeAt(i));
      const end = this.pos + i;
      for (let o = this.ends[s].length > 0 ? s : this.outLink[s]; o > 0; o = this.outLink[o]) {
        for (const id of this.ends[o]) {
          if (i + 1 < text.length) this.accept(id, end, window, windowStart, text.charCodeAt(i + 1));
          else this.pending.push({ pattern: id, end });
        }
      }
    }
    this.state = s;
    this.pos += text.length;
    this.tail = window.slice(Math.max(0, window.length - this.maxLen - 1));
  }

  /** Ends the text (resolves matches at its very end). */
  finish(): void {
    const windowStart = this.pos - this.tail.length;
    for (const m of this.pending) this.accept(m.pattern, m.end, this.tail, windowStart, -1);
    this.pending = [];
  }
}

/** Streams the decoded text of a prepared data directory's split, in chunks cut after end-of-text ids. */
export function* decodedText(dataset: Dataset, split: Split | "all", chunkTokens = 1 << 20): Generator<{ text: string; tokens: number }> {
  const { manifest, tokenizer } = dataset;
  const splits: Split[] = split === "all" ? ["train", "val"] : [split];
  for (const sp of splits) {
    for (let s = 0; s < manifest.sources.length; s++) {
      const tokens = dataset.tokens(sp, s);
      let start = 0;
      while (start < tokens.length) {
        let end = Math.min(tokens.length, start + chunkTokens);
        if (end < tokens.length) {
          let cut = end;
          while (cut > start && tokens[cut - 1] !== tokenizer.eotId) cut--;
          if (cut > start) end = cut; // else one document longer than a chunk: cut anyway
        }
        yield { text: tokenizer.decode(tokens.subarray(start, end)), tokens: end - start };
        start = end;
      }
    }
  }
}

/** Audits `items` of `task` against the data in `dataDir`; see the module comment. */
export function auditContamination(dataDir: string, task: EvalTask, items: readonly TaskItem[], options: ContaminationOptions = {}): ContaminationReport {
  const split = options.split ?? "train";
  const dataset = Dataset.open(dataDir);
  const itemPatterns = items.map((it) => task.patterns(it));
  const all: string[] = [];
  const ids = new Map<string, number>();
  const owners: number[][] = []; // pattern id → items
  itemPatterns.forEach((ps, item) => {
    for (const p of ps) {
      let id = ids.get(p);
      if (id === undefined) {
        id = all.length;
        ids.set(p, id);
        all.push(p);
        owners.push([]);
      }
      owners[id].push(item);
    }
  });
  const matcher = new PatternMatcher(all);
  let tokens = 0;
  let chars = 0;
  let lastLog = performance.now();
  for (const chunk of decodedText(dataset, split)) {
    matcher.feed(chunk.text);
    tokens += chunk.tokens;
    chars += chunk.text.length;
    if (options.onProgress && performance.now() - lastLog > 2000) {
      lastLog = performance.now();
      options.onProgress(`${task.name}: searched ${tokens} tokens`);
    }
  }
  matcher.finish();
  const found = new Set<number>();
  let occurrences = 0;
  const examples: { pattern: string; count: number }[] = [];
  matcher.counts.forEach((count, id) => {
    if (count === 0) return;
    occurrences += count;
    for (const item of owners[id]) found.add(item);
    if (examples.length < 5) examples.push({ pattern: all[id], count });
  });
  return { task: task.name, n: items.length, itemsFound: found.size, fraction: items.length > 0 ? found.size / items.length : 0, occurrences, examples, tokens, chars, split };
}
