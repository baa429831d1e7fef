/**
 * GPT-3's word scrambling tasks (Brown et al. 2020, §3.9.2) over words from our own corpus:
 *
 * | task | GPT-3 data file | example |
 * |---|---|---|
 * | cycle-letters | cycle_letters_in_word | "lyinevitab =" → " inevitably" |
 * | anagrams-1 | mid_word_1_anagrams (first and last letter kept) | "criroptuon =" → " corruption" |
 * | anagrams-2 | mid_word_2_anagrams (first and last 2 letters kept) | "opoepnnt =" → " opponent" |
 * | random-insertion | random_insertion_in_word (a punctuation mark or space between every two letters) | "s.u!c/c!e.s s i/o/n =" → " succession" |
 * | reversed-words | reversed_words | "stcejbo =" → " objects" |
 *
 * Prompts read as in the paper's figure G.19: "Please unscramble the letters into a word, and write that word:"
 * on the first line, then one "scrambled = word" example per line. As in the arithmetic files, the space before
 * the answer belongs to the completion (context "asinoc =", completion " casino"), which keeps byte-level BPE
 * tokenization natural. Words are the most frequent lower-case words of 5–14 letters (the paper: more than 4 and
 * fewer than 15 characters) in the built-in corpus, or any list the caller gives; each word's side of the
 * evaluation/training partition is fixed by the key `word:<word>`.
 */
import { readFileSync } from "node:fs";
import { builtinFiles } from "../data/sources.js";
import { Rng } from "../util/rng.js";
import { EvalError, type EvalTask, type TaskItem, type TaskSplit, hash32, onEvalSide, shuffleInPlace } from "./task.js";

/** A word-scrambling transformation. */
export type ScrambleKind = "cycle-letters" | "anagrams-1" | "anagrams-2" | "random-insertion" | "reversed-words";

/** The five tasks with one line each. */
export const WORD_TASKS: readonly { name: ScrambleKind; about: string }[] = [
  { name: "cycle-letters", about: "unscramble a word whose letters were cycled (CL)" },
  { name: "anagrams-1", about: "unscramble a word with its first and last letter kept (A1)" },
  { name: "anagrams-2", about: "unscramble a word with its first 2 and last 2 letters kept (A2)" },
  { name: "random-insertion", about: "remove the characters inserted between the letters (RI)" },
  { name: "reversed-words", about: "un-reverse a word spelled backwards (RW)" },
];

/** The instruction line of every word task. */
export const UNSCRAMBLE_DESCRIPTION = "Please unscramble the letters into a word, and write that word:\n";

/** Characters random insertion puts between letters. */
export const INSERTION_CHARS = " .,!?/:;-";

/** Whether `scramble(kind, word)` can produce something different from the word itself. */
export function scramblable(kind: ScrambleKind, word: string): boolean {
  const L = word.length;
  const allSame = (s: string) => s.split("").every((c) => c === s[0]);
  if (kind === "anagrams-1") return L >= 4 && !allSame(word.slice(1, -1));
  if (kind === "anagrams-2") return L >= 6 && !allSame(word.slice(2, -2));
  if (kind === "cycle-letters") return L >= 2 && !allSame(word);
  if (kind === "reversed-words") return word !== word.split("").reverse().join("");
  return L >= 2;
}

/** Shuffles the middle of `word`, keeping `keep` letters at each end, until it differs from the word. */
function midAnagram(word: string, keep: number, rng: Rng): string {
  const head = word.slice(0, keep);
  const mid = word.slice(keep, word.length - keep).split("");
  const tail = word.slice(word.length - keep);
  for (;;) {
    const out = head + shuffleInPlace(mid, (n) => rng.int(n)).join("") + tail;
    if (out !== word) return out;
  }
}

/** Scrambles `word` by `kind` (the word must be {@link scramblable}); deterministic in the RNG state. */
export function scramble(kind: ScrambleKind, word: string, rng: Rng): string {
  if (!scramblable(kind, word)) throw new EvalError(`"${word}" cannot be scrambled by ${kind}; pick another word`);
  switch (kind) {
    case "cycle-letters":
      for (;;) {
        const k = 1 + rng.int(word.length - 1);
        const out = word.slice(k) + word.slice(0, k);
        if (out !== word) return out;
      }
    case "anagrams-1":
      return midAnagram(word, 1, rng);
    case "anagrams-2":
      return midAnagram(word, 2, rng);
    case "random-insertion": {
      let out = word[0];
      for (let i = 1; i < word.length; i++) out += INSERTION_CHARS[rng.int(INSERTION_CHARS.length)] + word[i];
      return out;
    }
    case "reversed-words":
      return word.split("").reverse().join("");
  }
}

/** The item "scrambled =" → " word". */
export function wordItem(scrambled: string, word: string): TaskItem {
  return { context: `${scrambled} =`, completion: ` ${word}` };
}

let corpusWordsCache: string[] | undefined;

/**
 * The `limit` most frequent lower-case words of 5–14 letters in the built-in corpus (State of the Union +
 * Moby Dick), most frequent first, ties alphabetical. Read once per process (about a second).
 */
export function corpusWords(limit = 10000): string[] {
  if (!corpusWordsCache) {
    const counts = new Map<string, number>();
    for (const file of builtinFiles("builtin")) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/\p{L}+/gu)) {
        const w = m[0];
        if (w.length >= 5 && w.length <= 14 && /^[a-z]+$/.test(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
    corpusWordsCache = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([w]) => w);
  }
  return corpusWordsCache.slice(0, limit);
}

/** A word-scrambling {@link EvalTask} over `words` (default: {@link corpusWords}). */
export function wordTask(kind: ScrambleKind, words?: readonly string[]): EvalTask {
  const about = WORD_TASKS.find((t) => t.name === kind)!.about;
  let sides: { eval: string[]; train: string[] } | undefined;
  const getSides = () => {
    if (!sides) {
      const list = [...new Set(words ?? corpusWords())].filter((w) => scramblable(kind, w));
      sides = { eval: list.filter((w) => onEvalSide(`word:${w}`)), train: list.filter((w) => !onEvalSide(`word:${w}`)) };
    }
    return sides;
  };
  const draw = (list: string[], count: number, seed: number, what: string): TaskItem[] => {
    if (count > list.length) throw new EvalError(`${kind} has only ${list.length} ${what} words; use --n ${list.length} or less`);
    const rng = new Rng(seed);
    const chosen = shuffleInPlace(list.slice(), (n) => rng.int(n)).slice(0, count);
    return chosen.map((w) => wordItem(scramble(kind, w, rng), w));
  };
  return {
    name: kind,
    about,
    description: UNSCRAMBLE_DESCRIPTION,
    separator: "\n",
    split(n: number, seed: number, poolSize: number): TaskSplit {
      const s = getSides();
      const test = draw(s.eval, n, hash32(`${kind}:test:${seed}`), "evaluation");
      const pool = poolSize > 0 ? draw(s.train, Math.min(poolSize, s.train.length), hash32(`${kind}:pool:${seed}`), "training-side") : [];
      return { test, pool };
    },
    patterns(item: TaskItem): string[] {
      const scrambled = item.context.replace(/ =$/, "");
      return [scrambled, `${scrambled} =${item.completion}`];
    },
  };
}
