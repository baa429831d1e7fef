/**
 * A synthetic arithmetic pretraining stream for the emergence experiment: documents of GPT-3-format problems
 * ("\n\nQ: What is 48 plus 76?\n\nA: 124" repeated), drawn ONLY from the training side of the fixed partition
 * (task.ts), so no evaluation item can occur in it whatever the seeds.
 *
 * Two ways in:
 * - as a `prepare` source: `scaling-lab prepare --source builtin,arithmetic:2da+3da --weights 0.8,0.2 ...`
 *   (`arithmetic:TASKS[:PROBLEMS]`, TASKS joined by "+", short codes like 2da or full names; PROBLEMS defaults
 *   to 100000). {@link registerArithmeticSource} registers the source kind with data/sources.ts (the `prepare`
 *   command calls it; a library user calls it before preparing such a mixture);
 * - in memory: {@link arithmeticTokens} and {@link mixArithmetic} for token arrays (TokenWindows in tests).
 */
import { DataError } from "../data/errors.js";
import { registerSyntheticSource, type Document, type Source } from "../data/sources.js";
import type { Tokenizer } from "../data/tokenizer.js";
import { Rng } from "../util/rng.js";
import { type ArithmeticSpec, arithmeticSpec, randomProblem } from "./arithmetic.js";
import { EvalError, onEvalSide } from "./task.js";

/** Options of the arithmetic stream. */
export interface ArithmeticStreamOptions {
  /** Task names or short codes: ["2da", "arithmetic-3ds", ...]. */
  tasks: readonly string[];
  /** Problems in the whole stream. */
  problems: number;
  /** Seed of the problem draw (default 0). */
  seed?: number;
  /** Problems per document (default 16; each document holds one task's problems). */
  problemsPerDocument?: number;
}

/** Default problem count of an `arithmetic:` source. */
export const DEFAULT_STREAM_PROBLEMS = 100000;

/** Resolves task names or short codes (2da → arithmetic-2da); throws an EvalError for anything else. */
export function streamSpecs(tasks: readonly string[]): ArithmeticSpec[] {
  if (tasks.length === 0) throw new EvalError("the arithmetic stream needs at least one task, e.g. arithmetic:2da+3da");
  return tasks.map((t) => {
    const name = t.trim().toLowerCase();
    const spec = arithmeticSpec(name.startsWith("arithmetic-") ? name : `arithmetic-${name}`);
    if (!spec) throw new EvalError(`unknown arithmetic task "${t}" in the stream; use codes 2da 2ds 3da 3ds 4da 4ds 5da 5ds 2dm 1dc joined by "+"`);
    return spec;
  });
}

/** The stream's documents, deterministic in the options. Problems are training-side only (never an eval item). */
export function* arithmeticDocuments(options: ArithmeticStreamOptions): Generator<Document> {
  const specs = streamSpecs(options.tasks);
  const per = options.problemsPerDocument ?? 16;
  if (!Number.isInteger(options.problems) || options.problems < 1) throw new EvalError(`the arithmetic stream needs a positive problem count, got ${options.problems}`);
  if (!Number.isInteger(per) || per < 1) throw new EvalError(`problems per document must be a positive integer, got ${per}`);
  const rng = new Rng(options.seed ?? 0);
  let made = 0;
  for (let d = 0; made < options.problems; d++) {
    const spec = specs[d % specs.length];
    const count = Math.min(per, options.problems - made);
    let text = "";
    for (let i = 0; i < count; ) {
      const p = randomProblem(spec, rng);
      if (onEvalSide(p.key)) continue;
      text += p.item.context + p.item.completion;
      i++;
    }
    made += count;
    yield { id: `arithmetic/${d}`, text };
  }
}

/** Parses `TASKS[:PROBLEMS]` (the part after "arithmetic:"). */
export function parseStreamArgs(args: string): ArithmeticStreamOptions {
  const [tasks, count, extra] = args.split(":");
  if (extra !== undefined || !tasks) {
    throw new EvalError(`bad arithmetic source "arithmetic:${args}"; write arithmetic:TASKS[:PROBLEMS], e.g. arithmetic:2da+3da:100000`);
  }
  const problems = count === undefined ? DEFAULT_STREAM_PROBLEMS : Number(count);
  if (!Number.isInteger(problems) || problems < 1) {
    throw new EvalError(`bad problem count "${count}" in arithmetic:${args}; give a positive integer, e.g. arithmetic:2da+3da:100000`);
  }
  return { tasks: tasks.split("+"), problems };
}

/** A data {@link Source} of the stream (what `--source arithmetic:...` resolves to). */
export function arithmeticSource(args: string, name: string, spec: string): Source {
  const options = parseStreamArgs(args);
  streamSpecs(options.tasks); // fail at resolve time, before any pass over the data
  return { name, spec, files: [], documents: async function* () { yield* arithmeticDocuments(options); } };
}

/**
 * Registers the `arithmetic:TASKS[:PROBLEMS]` source kind with data/ (registerSyntheticSource), so `prepare` resolves
 * it. Explicit rather than an import side effect; registering again is harmless.
 */
export function registerArithmeticSource(): void {
  registerSyntheticSource("arithmetic", (args, name, spec) => {
    try {
      return arithmeticSource(args, name, spec);
    } catch (e) {
      throw e instanceof EvalError ? new DataError(e.message) : e; // prepare reports DataErrors as one line
    }
  });
}

/** The stream tokenized, every document followed by the end-of-text id. */
export function arithmeticTokens(tokenizer: Tokenizer, options: ArithmeticStreamOptions): Int32Array {
  const out: number[] = [];
  for (const doc of arithmeticDocuments(options)) {
    for (const id of tokenizer.encode(doc.text)) out.push(id);
    out.push(tokenizer.eotId);
  }
  return Int32Array.from(out);
}

/** Options of {@link mixArithmetic}. */
export interface MixOptions extends Omit<ArithmeticStreamOptions, "problems"> {
  /** Target share of arithmetic tokens in the result, in [0, 1). */
  fraction: number;
}

/**
 * Interleaves an arithmetic stream into `base` tokens so that about `fraction` of the result is arithmetic:
 * each arithmetic document (with its end-of-text) is inserted at a document boundary of `base` when base has
 * end-of-text ids, else between evenly sized chunks. The base tokens keep their order.
 */
export function mixArithmetic(base: ArrayLike<number>, tokenizer: Tokenizer, options: MixOptions): Int32Array {
  const f = options.fraction;
  if (!(f >= 0 && f < 1)) throw new EvalError(`the arithmetic fraction must be in [0, 1), got ${f}`);
  if (f === 0 || base.length === 0) return Int32Array.from(base);
  const per = options.problemsPerDocument ?? 16;
  // estimate tokens per problem from a sample, then size the stream to the target share
  const sample = arithmeticTokens(tokenizer, { ...options, problems: per * 4 });
  const wanted = (base.length * f) / (1 - f);
  const problems = Math.max(1, Math.round((wanted / sample.length) * per * 4));
  const docs: Int32Array[] = [];
  for (const doc of arithmeticDocuments({ ...options, problems })) docs.push(Int32Array.from([...tokenizer.encode(doc.text), tokenizer.eotId]));
  const total = base.length + docs.reduce((a, d) => a + d.length, 0);
  const out = new Int32Array(total);
  let o = 0;
  let next = 0; // next base token to copy
  for (let k = 0; k < docs.length; k++) {
    // insertion point for document k: the first end-of-text after the proportional position, else the position
    const target = Math.floor(((k + 1) * base.length) / (docs.length + 1));
    let cut = target;
    while (cut < base.length && base[cut - 1] !== tokenizer.eotId && cut - target < 4096) cut++;
    if (cut < next) cut = next;
    for (; next < Math.min(cut, base.length); next++) out[o++] = base[next];
    out.set(docs[k], o);
    o += docs[k].length;
  }
  for (; next < base.length; next++) out[o++] = base[next];
  return out;
}
