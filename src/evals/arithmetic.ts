/**
 * GPT-3's ten arithmetic tasks (Brown et al. 2020, §3.9.1), in the exact format of the released data
 * (github.com/openai/gpt-3/tree/master/data, e.g. two_digit_subtraction.jsonl):
 *
 * | task | data file | context (completion) |
 * |---|---|---|
 * | arithmetic-2da … 5da | two…five_digit_addition | "\n\nQ: What is 98 plus 45?\n\nA:" (" 143") |
 * | arithmetic-2ds … 5ds | two…five_digit_subtraction | "\n\nQ: What is 33 minus 88?\n\nA:" (" -55") |
 * | arithmetic-2dm | two_digit_multiplication | "\n\nQ: What is 95 times 45?\n\nA:" (" 4275") |
 * | arithmetic-1dc | single_digit_three_ops | "\n\nQ: What is (9 + 8) * 2?\n\nA:" (" 34") |
 *
 * Operands of the k-digit tasks are uniform on [0, 10^k), as in the paper. For 1DC the paper's text says
 * [0, 10) with brackets around the last two numbers, but the released file puts the brackets around the first
 * two and never uses 0; we follow the released data: three digits from 1–9, two operations from {+, −, ×},
 * "(a op b) op c".
 *
 * Each problem has a key (`plus:48:76`, `minus:…`, `times:…`, `1dc:(9 + 8) * 2`) that fixes its side of the
 * evaluation/training partition (task.ts). The key names the operation, not the digit count, so "48 plus 76"
 * is on the same side for 2D+ and 3D+ and a 3D+ training stream cannot leak a 2D+ test item.
 */
import { Rng } from "../util/rng.js";
import { EvalError, type EvalTask, type TaskItem, type TaskSplit, hash32, onEvalSide, shuffleInPlace } from "./task.js";

/** The operation of an arithmetic task. */
export type ArithmeticOp = "plus" | "minus" | "times" | "composite";

/** One arithmetic task: operation and operand digits. */
export interface ArithmeticSpec {
  name: string;
  op: ArithmeticOp;
  /** Operands are uniform on [0, 10^digits) (composite: single digits 1–9). */
  digits: number;
  about: string;
}

/** The ten tasks of the paper, in its order. */
export const ARITHMETIC_TASKS: readonly ArithmeticSpec[] = [
  { name: "arithmetic-2da", op: "plus", digits: 2, about: "2-digit addition (2D+)" },
  { name: "arithmetic-2ds", op: "minus", digits: 2, about: "2-digit subtraction (2D-)" },
  { name: "arithmetic-3da", op: "plus", digits: 3, about: "3-digit addition (3D+)" },
  { name: "arithmetic-3ds", op: "minus", digits: 3, about: "3-digit subtraction (3D-)" },
  { name: "arithmetic-4da", op: "plus", digits: 4, about: "4-digit addition (4D+)" },
  { name: "arithmetic-4ds", op: "minus", digits: 4, about: "4-digit subtraction (4D-)" },
  { name: "arithmetic-5da", op: "plus", digits: 5, about: "5-digit addition (5D+)" },
  { name: "arithmetic-5ds", op: "minus", digits: 5, about: "5-digit subtraction (5D-)" },
  { name: "arithmetic-2dm", op: "times", digits: 2, about: "2-digit multiplication (2Dx)" },
  { name: "arithmetic-1dc", op: "composite", digits: 1, about: "1-digit composite, e.g. (2 * 3) + 4 (1DC)" },
];

/** A generated problem: its partition key, the item, and the numbers (for contamination patterns). */
export interface ArithmeticProblem {
  key: string;
  item: TaskItem;
  /** The expression as written after "What is " (e.g. "48 plus 76", "(9 + 8) * 2"). */
  expression: string;
  operands: number[];
  answer: number;
}

const SYMBOL = { plus: "+", minus: "-", times: "*" } as const;
type BinaryOp = keyof typeof SYMBOL;
const COMPOSITE_OPS = ["+", "-", "*"] as const;

function apply(op: string, a: number, b: number): number {
  if (op === "+" || op === "plus") return a + b;
  if (op === "-" || op === "minus") return a - b;
  return a * b;
}

/** The GPT-3 item of "What is {expression}?" with answer `answer`. */
export function arithmeticItem(expression: string, answer: number): TaskItem {
  return { context: `\n\nQ: What is ${expression}?\n\nA:`, completion: ` ${answer}` };
}

/** The problem `a op b` of a binary task. */
export function binaryProblem(op: BinaryOp, a: number, b: number): ArithmeticProblem {
  const expression = `${a} ${op} ${b}`;
  const answer = apply(op, a, b);
  return { key: `${op}:${a}:${b}`, item: arithmeticItem(expression, answer), expression, operands: [a, b], answer };
}

/** The 1DC problem "(a o1 b) o2 c". */
export function compositeProblem(a: number, o1: string, b: number, o2: string, c: number): ArithmeticProblem {
  const expression = `(${a} ${o1} ${b}) ${o2} ${c}`;
  const answer = apply(o2, apply(o1, a, b), c);
  return { key: `1dc:${expression}`, item: arithmeticItem(expression, answer), expression, operands: [a, b, c], answer };
}

/** Number of distinct problems of a task. */
export function problemSpace(spec: ArithmeticSpec): number {
  if (spec.op === "composite") return 9 * 9 * 9 * 3 * 3;
  const m = 10 ** spec.digits;
  return m * m;
}

/** The i-th problem of a task in a fixed enumeration (0 ≤ i < problemSpace). */
function problemAt(spec: ArithmeticSpec, i: number): ArithmeticProblem {
  if (spec.op === "composite") {
    const o2 = i % 3;
    const o1 = Math.floor(i / 3) % 3;
    const abc = Math.floor(i / 9);
    const c = (abc % 9) + 1;
    const b = (Math.floor(abc / 9) % 9) + 1;
    const a = Math.floor(abc / 81) + 1;
    return compositeProblem(a, COMPOSITE_OPS[o1], b, COMPOSITE_OPS[o2], c);
  }
  const m = 10 ** spec.digits;
  return binaryProblem(spec.op, Math.floor(i / m), i % m);
}

/** A uniformly random problem of a task. */
export function randomProblem(spec: ArithmeticSpec, rng: Rng): ArithmeticProblem {
  if (spec.op === "composite") {
    const d = () => 1 + rng.int(9);
    const op = () => COMPOSITE_OPS[rng.int(3)];
    const a = d();
    const o1 = op();
    const b = d();
    const o2 = op();
    return compositeProblem(a, o1, b, o2, d());
  }
  const m = 10 ** spec.digits;
  const a = rng.int(m);
  return binaryProblem(spec.op, a, rng.int(m));
}

/** Spaces up to this size are enumerated (exact, no rejection sampling). */
const ENUMERATE_LIMIT = 1 << 17;

/**
 * `count` distinct problems from one side of the partition, deterministic in `seed`. Small problem spaces are
 * enumerated and shuffled; large ones sampled by rejection. When the side holds fewer than `count` problems:
 * all of them if `atMost`, else an EvalError.
 */
export function sampleProblems(spec: ArithmeticSpec, count: number, side: "eval" | "train", seed: number, atMost = false): ArithmeticProblem[] {
  const wantEval = side === "eval";
  const rng = new Rng(seed);
  const space = problemSpace(spec);
  if (space <= ENUMERATE_LIMIT) {
    const all: ArithmeticProblem[] = [];
    for (let i = 0; i < space; i++) {
      const p = problemAt(spec, i);
      if (onEvalSide(p.key) === wantEval) all.push(p);
    }
    if (count > all.length && !atMost) {
      throw new EvalError(`${spec.name} has only ${all.length} distinct ${side === "eval" ? "evaluation" : "training-side"} problems; use --n ${all.length} or less`);
    }
    return shuffleInPlace(all, (n) => rng.int(n)).slice(0, count);
  }
  const out: ArithmeticProblem[] = [];
  const seen = new Set<string>();
  while (out.length < count) {
    const p = randomProblem(spec, rng);
    if (onEvalSide(p.key) !== wantEval || seen.has(p.key)) continue;
    seen.add(p.key);
    out.push(p);
  }
  return out;
}

/** The contamination patterns of a problem, after GPT-3 §4: "48 plus 76", "48 + 76 =", and the full Q/A answer form. */
export function arithmeticPatterns(p: ArithmeticProblem): string[] {
  const answerForm = `What is ${p.expression}?\n\nA: ${p.answer}`;
  if (p.key.startsWith("1dc:")) return [p.expression, answerForm];
  const [a, b] = p.operands;
  const op = p.key.slice(0, p.key.indexOf(":")) as BinaryOp;
  const symbols = op === "times" ? ["*", "×", "x"] : [SYMBOL[op]];
  return [`${a} ${op} ${b}`, ...symbols.map((s) => `${a} ${s} ${b} =`), answerForm];
}

/** Parses the expression back out of an arithmetic item's context (for patterns of items given as text). */
export function parseArithmeticItem(item: TaskItem): ArithmeticProblem | undefined {
  const m = /^\n\nQ: What is (.+)\?\n\nA:$/.exec(item.context);
  const answer = Number(item.completion.trim());
  if (!m || !Number.isInteger(answer)) return undefined;
  const bin = /^(\d+) (plus|minus|times) (\d+)$/.exec(m[1]);
  if (bin) return binaryProblem(bin[2] as BinaryOp, Number(bin[1]), Number(bin[3]));
  const comp = /^\((\d) ([+*-]) (\d)\) ([+*-]) (\d)$/.exec(m[1]);
  if (comp) return compositeProblem(Number(comp[1]), comp[2], Number(comp[3]), comp[4], Number(comp[5]));
  return undefined;
}

/** The {@link EvalTask} of an arithmetic spec. */
export function arithmeticTask(spec: ArithmeticSpec): EvalTask {
  return {
    name: spec.name,
    about: spec.about,
    description: "",
    separator: "",
    split(n: number, seed: number, poolSize: number): TaskSplit {
      const test = sampleProblems(spec, n, "eval", hash32(`${spec.name}:test:${seed}`)).map((p) => p.item);
      const pool = poolSize > 0 ? sampleProblems(spec, poolSize, "train", hash32(`${spec.name}:pool:${seed}`), true).map((p) => p.item) : [];
      return { test, pool };
    },
    patterns(item: TaskItem): string[] {
      const p = parseArithmeticItem(item);
      return p ? arithmeticPatterns(p) : [(item.context + item.completion).trim()];
    },
  };
}

/** The arithmetic spec of a task name, if it is one. */
export function arithmeticSpec(name: string): ArithmeticSpec | undefined {
  return ARITHMETIC_TASKS.find((t) => t.name === name);
}
