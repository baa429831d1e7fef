/**
 * The shape of an evaluation task, and the two ideas every task shares:
 *
 * - **Items** in the GPT-3 data format: a `context` and the `completion` the model should continue it with
 *   (`{"context": "\n\nQ: What is 98 plus 45?\n\nA:", "completion": " 143"}`), exactly as in the JSONL files of
 *   github.com/openai/gpt-3/tree/master/data.
 * - **A fixed partition** of every problem into an *evaluation side* and a *training side* by a hash of its key
 *   (e.g. `plus:48:76`), independent of any seed. Test items come from the evaluation side only; few-shot
 *   demonstrations and the synthetic pretraining stream (stream.ts) come from the training side only. So the
 *   demonstrations never contain a test problem and a model pretrained on the stream has never seen one, by
 *   construction, whatever seeds are used.
 */
import { fmix32 } from "../util/hash.js";

/** One evaluation item: the model sees `context` and should continue it with `completion`. */
export interface TaskItem {
  context: string;
  completion: string;
}

/** Test items and a disjoint pool of demonstrations. */
export interface TaskSplit {
  /** The items scored, in a fixed order. */
  test: TaskItem[];
  /** Demonstrations for k-shot prompts; never equal to a test item. */
  pool: TaskItem[];
}

/** An evaluation task: how prompts are laid out, and where items come from. */
export interface EvalTask {
  /** The name users pass to `--task` (e.g. `arithmetic-2da`). */
  readonly name: string;
  /** One line for the task list. */
  readonly about: string;
  /** Text before the first example (e.g. an instruction line ending in "\n"); "" for none. */
  readonly description: string;
  /** Text between consecutive examples ("" when every context starts with its own separator, as arithmetic's "\n\n"). */
  readonly separator: string;
  /**
   * `n` test items (distinct, from the evaluation side) and a pool of demonstrations (from the training side),
   * deterministic in `seed`. Throws an {@link EvalError} when the task has fewer than `n` evaluation items.
   */
  split(n: number, seed: number, poolSize: number): TaskSplit;
  /** The strings whose presence in training text means the item leaked (contamination audit). */
  patterns(item: TaskItem): string[];
}

/** Bad evaluation input (unknown task, impossible item count, shots that do not fit, bad task file); names the fix. */
export class EvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EvalError";
  }
}

/** Share of all problems on the evaluation side of the partition. */
export const EVAL_SIDE_FRACTION = 0.5;

/** A 32-bit hash of a string (FNV-1a over UTF-16 code units, then murmur3's finaliser for avalanche). */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h >>> 0);
}

/** Whether a problem key lies on the evaluation side of the fixed partition (else the training side). */
export function onEvalSide(key: string): boolean {
  return hash32(key) / 4294967296 < EVAL_SIDE_FRACTION;
}

/** Fisher–Yates shuffle in place with a uniform-int source. */
export function shuffleInPlace<T>(xs: T[], int: (n: number) => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = int(i + 1);
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}
