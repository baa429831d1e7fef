/**
 * Text logs of nanoGPT and llm.c (what they print to stdout, saved with `| tee log.txt`, and llm.c's `-o DIR`
 * main.log). Lines recognised (anywhere in a line, so timestamps or rank prefixes do not matter):
 *
 * | trainer | line | read as |
 * |---|---|---|
 * | nanoGPT | `step N: train loss X, val loss Y` | evaluation after N steps |
 * | nanoGPT | `iter N: loss X, time Tms, mfu M%` | training loss of iteration N (0-based) → step N+1 |
 * | nanoGPT | `tokens per iteration will be: 491,520` | tokens per step |
 * | llm.c (CUDA) | `step N/M \| loss X (…)\| norm G (…)\| lr L \| T ms \| …` (also `train loss X`) | step N |
 * | llm.c (CPU) | `step N: train loss X (took T ms)` | iteration N (0-based) → step N+1 |
 * | llm.c | `val loss X` | validation after the steps done so far |
 * | llm.c main.log | `s:N trl:X [lr:L norm:G]`, `s:N tel:Y` | train loss of iteration N → step N+1; val after N steps |
 * | llm.c | `\| total batch size \| 524288 \|`, `total_batch_size=524288` | tokens per step |
 * | both | `num_layers L`/`n_layer`, `num_heads NH`/`n_head`, `channels C`/`n_embd`, `max_seq_len`/`block_size`, `vocab_size` (as `\| key \| v \|`, `key: v`, `key = v` or nanoGPT's `found vocab_size = 65`) | the model's shape |
 *
 * Steps count optimizer updates done, as scaling-lab's own metrics do, so tokens = step × tokens per step.
 */
import { type GPTShape, paramCounts } from "../model/accounting.js";
import { IngestError } from "./errors.js";
import type { LoggedStep, ParsedRun } from "./types.js";

const NUM = String.raw`([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|nan|NaN|-?inf|-?Inf|-?Infinity)`;
const NANO_EVAL = new RegExp(String.raw`\bstep (\d+): train loss ${NUM}, val loss ${NUM}`);
const NANO_ITER = new RegExp(String.raw`\biter (\d+): loss ${NUM}(?:, time ([\d.]+)\s*ms)?`);
const LLMC_CUDA = new RegExp(String.raw`\bstep\s+(\d+)\s*/\s*(\d+)\s*[|:]\s*(?:train )?loss\s+${NUM}`);
const LLMC_CPU = new RegExp(String.raw`\bstep (\d+): train loss ${NUM}(?: \(took ([\d.]+) ms\))?`);
const VAL_LINE = new RegExp(String.raw`(?:^|\]\s*|:\s*)val loss ${NUM}\s*$`);
const LLMC_LOG = new RegExp(String.raw`^s:(\d+) (trl|tel):${NUM}`);
const LR = new RegExp(String.raw`\blr[: ]\s*${NUM}`);
const NORM = new RegExp(String.raw`\bnorm[: ]\s*${NUM}`);
const MS = /\|\s*([\d.]+)\s*ms\b/;
const TOKENS_PER_STEP = [/tokens per iteration will be:\s*([\d,]+)/, /^\|\s*total batch size\s*\|\s*(\d+)\s*\|/, /\btotal_batch_size=(\d+)/];
const SHAPE_KEYS: [keyof GPTShape, string[]][] = [
  ["nLayer", ["num_layers L", "num_layers", "n_layer"]],
  ["nHead", ["num_heads NH", "num_heads", "n_head"]],
  ["nEmbd", ["channels C", "channels", "n_embd"]],
  ["blockSize", ["max_sequence_length T", "max_seq_len", "block_size"]],
  ["vocabSize", ["vocab_size V", "vocab_size"]],
];

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const SHAPE_PATTERNS = SHAPE_KEYS.map(([key, names]) => [
  key,
  names.map((n) => new RegExp(String.raw`^(?:\|\s*${escape(n)}\s*\|\s*(\d+)\s*\||\s*(?:found\s+)?${escape(n)}\s*[:=]\s*(\d+)\b)`)),
] as const);

/** Reads a nanoGPT / llm.c log's text into a run; throws an IngestError naming the file and line on a bad loss. */
export function parseTextLog(file: string, text: string): ParsedRun {
  const byStep = new Map<number, LoggedStep>();
  const shape: Partial<GPTShape> = {};
  let tokensPerStep: number | undefined;
  let lastStep = 0;
  let elapsed = 0;
  let matched = 0;
  const lines = text.split(/\r?\n/);
  const value = (raw: string, step: number, lineNo: number, what: string): number => {
    const x = Number(raw.replace(/^(-?)inf(inity)?$/i, "$1Infinity"));
    if (!Number.isFinite(x)) {
      throw new IngestError(`${file}:${lineNo}: ${what} is ${raw} at step ${step} (training diverged?); cut the log before that line`);
    }
    return x;
  };
  const put = (step: number, fields: Partial<LoggedStep>, lineNo: number): void => {
    const row = byStep.get(step) ?? { step };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (row as unknown as Record<string, number>)[k] = v;
    byStep.set(step, row);
    lastStep = Math.max(lastStep, step);
    matched = lineNo;
  };
  lines.forEach((line, i) => {
    const n = i + 1;
    let m: RegExpExecArray | null;
    if ((m = NANO_EVAL.exec(line))) {
      const step = Number(m[1]);
      // nanoGPT's evaluation line also estimates the training loss; an iter line of the same step wins
      const row = byStep.get(step);
      put(step, { valLoss: value(m[3], step, n, "val loss"), ...(row?.trainLoss === undefined ? { trainLoss: value(m[2], step, n, "train loss") } : {}) }, n);
    } else if ((m = NANO_ITER.exec(line))) {
      const step = Number(m[1]) + 1;
      if (m[3] !== undefined) elapsed += Number(m[3]) / 1000;
      put(step, { trainLoss: value(m[2], step, n, "loss"), ...(m[3] !== undefined ? { elapsed } : {}) }, n);
    } else if ((m = LLMC_CUDA.exec(line))) {
      const step = Number(m[1]);
      const ms = MS.exec(line);
      if (ms) elapsed += Number(ms[1]) / 1000;
      const lr = LR.exec(line);
      const norm = NORM.exec(line);
      put(step, {
        trainLoss: value(m[3], step, n, "loss"),
        ...(lr ? { lr: Number(lr[1]) } : {}),
        ...(norm ? { gradNorm: Number(norm[1]) } : {}),
        ...(ms ? { elapsed } : {}),
      }, n);
    } else if ((m = LLMC_CPU.exec(line))) {
      const step = Number(m[1]) + 1;
      if (m[3] !== undefined) elapsed += Number(m[3]) / 1000;
      put(step, { trainLoss: value(m[2], step, n, "train loss"), ...(m[3] !== undefined ? { elapsed } : {}) }, n);
    } else if ((m = VAL_LINE.exec(line))) {
      put(lastStep, { valLoss: value(m[1], lastStep, n, "val loss") }, n);
    } else if ((m = LLMC_LOG.exec(line))) {
      const iter = Number(m[1]);
      if (m[2] === "trl") {
        const lr = LR.exec(line);
        const norm = NORM.exec(line);
        put(iter + 1, { trainLoss: value(m[3], iter + 1, n, "train loss"), ...(lr ? { lr: Number(lr[1]) } : {}), ...(norm ? { gradNorm: Number(norm[1]) } : {}) }, n);
      } else {
        put(iter, { valLoss: value(m[3], iter, n, "val loss") }, n);
      }
    } else {
      for (const re of TOKENS_PER_STEP) {
        const t = re.exec(line);
        if (t) tokensPerStep = Number(t[1].replace(/,/g, ""));
      }
      for (const [key, patterns] of SHAPE_PATTERNS) {
        for (const re of patterns) {
          const s = re.exec(line);
          if (s && shape[key] === undefined) shape[key] = Number(s[1] ?? s[2]);
        }
      }
    }
  });
  if (matched === 0) {
    throw new IngestError(
      `${file}: no nanoGPT or llm.c log lines found ("step N: train loss X, val loss Y", "iter N: loss X", "step N/M | loss X", "s:N trl:X"); check the file or pass --format`,
    );
  }
  const steps = [...byStep.values()].filter((s) => s.step > 0 || s.trainLoss !== undefined || s.valLoss !== undefined).sort((a, b) => a.step - b.step);
  const run: ParsedRun = { file, format: "text-log", steps, config: {} };
  if (tokensPerStep !== undefined && tokensPerStep > 0) run.tokensPerStep = tokensPerStep;
  if (SHAPE_KEYS.every(([k]) => shape[k] !== undefined)) {
    run.shape = shape as GPTShape;
  } else if (shape.nLayer !== undefined && shape.nEmbd !== undefined) {
    // non-embedding N needs only depth and width
    run.params = paramCounts({ nLayer: shape.nLayer, nEmbd: shape.nEmbd, nHead: 1, blockSize: 1, vocabSize: 1 }).nonEmbedding;
  }
  run.config = { ...(Object.keys(shape).length ? { shape } : {}), ...(tokensPerStep !== undefined ? { tokensPerStep } : {}) };
  return run;
}
