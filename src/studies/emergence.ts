/**
 * The emergence study (`scaling-lab demo --study emergence`): does few-shot arithmetic appear with scale in a
 * ladder of models under a few million parameters, as GPT-3's 2-digit addition did between 1B and 175B?
 *
 *   built-in English + GPT-3's arithmetic stream (training-side problems only, tasks.ts) → a BPE that keeps every
 *   digit its own token → the `emergence` ladder (presets/emergence.json), every size on the same tokens →
 *   contamination audit of the evaluation items against the training data → GPT-3's arithmetic tasks at
 *   0 … k shots on n unseen items per size: exact match with its 95% interval beside the smooth metrics of the
 *   same items (answer log-likelihood, digit accuracy, PassUntil-style sampled pass rate; evals/metrics.ts) →
 *   the in-context learning curve of every size → the report's charts and LAB/report/emergence/emergence.json.
 *
 * Design, and why:
 * - Data: a mixture by tokens, `fraction` arithmetic (default three quarters) and the rest English; 16M tokens per
 *   run. Each arithmetic document is 16 problems in GPT-3's exact format ("\n\nQ: What is 48 plus 76?\n\nA: 124"),
 *   i.e. a few-shot prompt, so the models see in-context demonstrations in training. Only 3 of a problem's 19
 *   tokens are the answer, and measured under a half/half mixture a 3×96 model was still at 10% 2D+ after 4M
 *   arithmetic tokens (8M in all) while bench/arith-bench.ts needs about 10M to reach 94%: hence 12M arithmetic
 *   tokens per run, with a quarter English so every model still learns the language it is prompted in.
 * - Tokenizer: one token per digit (Lee et al. 2023 and others: tiny transformers learn addition far more easily
 *   when digits are tokens; GPT-2's BPE writes "143" as one token, "1435" as two). It also makes digit-level
 *   credit well defined. Answers are written in the normal order (not reversed), so the evaluation is GPT-3's.
 * - The evaluation items come from the evaluation half of the fixed problem partition (task.ts), which the
 *   stream never draws from; the contamination audit checks the prepared training data and must find none.
 * - Resumable like any sweep: the prepared data, finished runs and stored evaluations are reused.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { prepareDataset } from "../data/prepare.js";
import { MANIFEST_FILE } from "../data/shards.js";
import { loadTokenizer, type Tokenizer } from "../data/tokenizer.js";
import { type AnyBackend, createBackend } from "../engine/index.js";
import { type ArithmeticSpec, arithmeticTask } from "../evals/arithmetic.js";
import { auditContamination } from "../evals/contamination.js";
import { type TaskMetrics, evaluateMetrics } from "../evals/metrics.js";
import { encodeExample } from "../evals/prompt.js";
import { registerArithmeticSource, streamSpecs } from "../evals/stream.js";
import { type EvalTask, hash32 } from "../evals/task.js";
import { writeFileAtomic } from "../util/files.js";
import { writeReport } from "../report/index.js";
import { EMERGENCE_EVAL_KIND, type Lab, type RunRecord, openLab, storedTaskMetrics } from "../store/index.js";
import { CHECKPOINT_FILE } from "../util/run-folder.js";
import { loadModel } from "../train/load-model.js";
import { type ExecutorHooks, LocalExecutor } from "../sweep/executor.js";
import { loadLadder } from "../sweep/ladder.js";
import { planSweep, recordPlan, type SweepOptions } from "../sweep/sweep.js";
import { inContextCurves } from "./in-context.js";

/** Default share of arithmetic in the training tokens. */
export const DEFAULT_FRACTION = 0.75;
/** Default training tokens per run. */
export const DEFAULT_TOKENS = 16_000_000;

/** Bad study input (a task the tokenizer cannot express, shots that do not fit, an empty fraction); names the fix. */
export class StudyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StudyError";
  }
}

/** Options of {@link runEmergence}. */
export interface EmergenceOptions {
  lab: string;
  /** Sweep name (default "emergence"). */
  sweep?: string;
  /** Ladder name or JSON path (default presets/emergence.json). */
  ladder?: string;
  /** Training tokens per run (default 16M). */
  tokens?: number;
  /** Share of arithmetic in the training tokens, in (0, 1) (default 0.75). */
  fraction?: number;
  /** Arithmetic tasks trained (training side) and evaluated (evaluation side), codes or names (default ["2da"]). */
  tasks?: string[];
  /** Shot counts evaluated (default [0, 1, 2, 4]); the largest is the headline few-shot setting. */
  shots?: number[];
  /** Evaluation items per task (default 1000). */
  n?: number;
  /** BPE vocabulary (default 512). */
  vocab?: number;
  /** A tokenizer.json to use instead of training the single-digit BPE. */
  tokenizer?: string;
  /** The English source (a prepare source spec; default "builtin", the built-in corpus). */
  english?: string;
  /** Problems in the arithmetic stream (default 150,000: about 2.7M tokens of 2D+). */
  problems?: number;
  /** Only these sizes (tests). */
  sizes?: string[];
  backend?: string;
  /** Cores to use (default all). */
  threads?: number;
  /** Runs trained at once (default: one per core, each single-threaded, largest first). */
  concurrency?: number;
  /** Seed of the evaluation items and demonstrations (default 1234). */
  seed?: number;
  /** Skip the report (tests). */
  report?: boolean;
  hooks?: ExecutorHooks;
  log?: (line: string) => void;
}

/** One size's results (headline task). */
export interface EmergenceSize {
  run: string;
  size: string;
  N: number;
  params: number;
  D: number;
  C: number;
  finalValLoss: number | null;
  wallSeconds: number | null;
  /** Every (task, shots) evaluation of this run. */
  metrics: TaskMetrics[];
  /** In-context learning score (late minus early loss; evals/icl.ts), null if not computed. */
  iclScore: number | null;
}

/** What the study measured; the arrays are over sizes, smallest first. */
export interface EmergenceResult {
  lab: string;
  sweep: string;
  /** Number of sizes. */
  sizes: number;
  /** Headline task and shot count. */
  task: string;
  fewShot: number;
  n: number;
  N: number[];
  C: number[];
  /** Few-shot exact match of the headline task, and its 95% Wilson interval. */
  exactMatch: number[];
  exactInterval: [number, number][];
  /** Few-shot mean log-likelihood of the correct answer (nats). */
  answerLogLikelihood: number[];
  /** Few-shot digit accuracy (partial credit). */
  digitAccuracy: number[];
  /** Few-shot sampled pass rate (PassUntil-style, temperature 1). */
  sampledPassRate: number[];
  /** Zero-shot exact match of the headline task. */
  zeroShot: number[];
  /** Whether the answer log-likelihood rises with every step up in compute. */
  smoothMonotone: boolean;
  iclScore: (number | null)[];
  /** Share of evaluation items found in the training data, per task (must be 0). */
  contamination: { task: string; n: number; itemsFound: number; fraction: number }[];
  data: { dir: string; english: string; fraction: number; tasks: string[]; trainTokens: number; vocab: number };
  table: EmergenceSize[];
  wallSeconds: number;
  /** Training seconds summed over runs (each run's own clock). */
  trainSeconds: number;
  evalSeconds: number;
  files: { json: string; summary: string; report: string | null };
}

/** Path of presets/emergence.json, from the compiled or the source location. */
export function emergenceLadderPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ["../../../presets/emergence.json", "../../presets/emergence.json"]) {
    const p = resolve(here, rel);
    if (existsSync(p)) return p;
  }
  return resolve(here, "../../../presets/emergence.json");
}

/** Checks the options that need no data; throws a {@link StudyError} naming the fix. */
export function checkStudyOptions(o: Pick<EmergenceOptions, "fraction" | "tasks" | "shots" | "n">): ArithmeticSpec[] {
  const f = o.fraction ?? DEFAULT_FRACTION;
  if (!(f > 0 && f < 1)) {
    throw new StudyError(
      f === 0
        ? "an arithmetic fraction of 0 leaves the models no arithmetic to learn; give a share in (0, 1), e.g. --arithmetic-fraction 0.5"
        : `the arithmetic fraction must be a share in (0, 1), got ${f}; e.g. --arithmetic-fraction 0.5`,
    );
  }
  let specs: ArithmeticSpec[];
  try {
    specs = streamSpecs(o.tasks ?? ["2da"]);
  } catch (e) {
    throw new StudyError(`${(e as Error).message} (the study trains and evaluates GPT-3's arithmetic tasks)`);
  }
  const shots = o.shots ?? [0, 1, 2, 4];
  if (shots.length === 0 || shots.some((k) => !Number.isInteger(k) || k < 0)) throw new StudyError(`shot counts must be integers ≥ 0, got ${shots.join(",")}; e.g. --shots 0,1,2,4`);
  const n = o.n ?? 1000;
  if (!Number.isInteger(n) || n < 1) throw new StudyError(`--n must be a positive integer, got ${n}`);
  return specs;
}

/**
 * Checks that the tokenizer writes every task's text back exactly and each answer digit as its own token, and
 * that the largest shot count fits the context; throws a {@link StudyError} naming the fix.
 */
export function checkTasksFit(tokenizer: Tokenizer, tasks: readonly EvalTask[], shots: readonly number[], blockSize: number, seed: number): void {
  const k = Math.max(...shots);
  for (const task of tasks) {
    const { test, pool } = task.split(20, seed, Math.max(k, 1) * 4);
    for (const item of [...test, ...pool]) {
      const text = item.context + item.completion;
      if (tokenizer.decode(tokenizer.encode(text)) !== text) {
        throw new StudyError(`the tokenizer cannot write ${task.name}'s text back exactly (${JSON.stringify(text)}); use a byte-level tokenizer (drop --tokenizer to use the study's)`);
      }
      const digits = item.completion.replace(/[^0-9]/g, "").length;
      const answerTokens = tokenizer.encode(item.completion).map((id) => tokenizer.decode([id])).filter((s) => /[0-9]/.test(s));
      if (answerTokens.length !== digits || answerTokens.some((s) => s.replace(/[^0-9]/g, "").length !== 1)) {
        throw new StudyError(
          `the tokenizer writes ${task.name}'s answer ${JSON.stringify(item.completion)} as ${answerTokens.length} digit token(s) for ${digits} digits; ` +
            "the study needs one token per digit (digit credit, and tiny models learn arithmetic on digits): drop --tokenizer to train the study's single-digit BPE",
        );
      }
    }
    if (k > 0) {
      for (let i = 0; i < test.length; i++) {
        const demos = pool.slice(0, k);
        const e = encodeExample(task, tokenizer, test[i], demos, { maxTokens: blockSize + 1, index: i });
        if (e.shotsUsed < k) {
          throw new StudyError(
            `--shots ${k} does not fit ${task.name} in the ${blockSize}-token context (${e.shotsUsed} demonstrations fit); use at most ${e.shotsUsed} shots, e.g. --shots 0,1,${e.shotsUsed}`,
          );
        }
      }
    }
  }
}

/** Prepares (or reuses) the study's mixture; returns its directory. */
async function prepareData(
  lab: string, o: Required<Pick<EmergenceOptions, "fraction" | "vocab" | "problems" | "english">> & { codes: string[]; tokenizer?: string }, log: (l: string) => void,
): Promise<string> {
  const english = o.english === "builtin" ? "" : `-${hash32(o.english).toString(16)}`;
  const tok = o.tokenizer ? `t${loadTokenizer(o.tokenizer).hash}` : `v${o.vocab}`;
  const tag = `${o.codes.join("+")}-f${o.fraction}-p${o.problems}-${tok}${english}`;
  const dir = join(lab, "data", `emergence-${tag}`);
  if (existsSync(join(dir, MANIFEST_FILE))) {
    log(`emergence: reusing the prepared mixture in ${dir}`);
    return dir;
  }
  registerArithmeticSource(); // the arithmetic: source kind
  log(`emergence: preparing ${o.english === "builtin" ? "built-in English" : o.english} + ${(100 * o.fraction).toFixed(0)}% arithmetic (${o.codes.join(", ")}; training-side problems only) with a single-digit ${o.vocab}-token BPE`);
  await prepareDataset({
    sources: [o.english, `arithmetic:${o.codes.join("+")}:${o.problems}`], weights: [1 - o.fraction, o.fraction],
    tokenizer: o.tokenizer ?? "bpe", vocabSize: o.vocab, singleDigits: true, outDir: dir, onProgress: (m) => log(`emergence: ${m}`),
  });
  return dir;
}

/** The stored study evaluation of (run, task, shots, n), if any. */
function storedMetrics(lab: Lab, run: string, task: string, shots: number, n: number): TaskMetrics | undefined {
  const e = lab.listEvals({ model: run, task }).find((r) => r.shots === shots && r.n === n && storedTaskMetrics(r));
  return e ? (storedTaskMetrics(e) as TaskMetrics) : undefined;
}

/** Evaluates one run on every task and shot count, reusing what the lab already holds. */
async function evaluateRun(lab: Lab, run: RunRecord, backend: AnyBackend, tasks: EvalTask[], shots: number[], n: number, seed: number, log: (l: string) => void): Promise<TaskMetrics[]> {
  const out: TaskMetrics[] = [];
  let loaded: ReturnType<typeof loadModel> | undefined;
  for (const task of tasks) {
    const missing = shots.filter((k) => !storedMetrics(lab, run.id, task.name, k, n));
    if (missing.length) {
      loaded ??= loadModel(resolve(lab.dir, run.dir), backend);
      const { test, pool } = task.split(n, seed, 1000);
      const results = await evaluateMetrics(loaded.model, loaded.tokenizer, task, test, pool, missing, { seed, sampling: { seed } });
      for (const m of results) {
        lab.recordEval({
          model: run.id, task: task.name, shots: m.shots, n: m.n, accuracy: m.exactMatch, meanLogLik: m.answerLogLikelihood,
          extra: { kind: EMERGENCE_EVAL_KIND, metrics: m, N: run.N, C: run.flopsDone || run.C, seed },
        });
        log(
          `emergence: ${run.id} ${task.name} ${m.shots}-shot: exact ${(100 * m.exactMatch).toFixed(1)}% ` +
            `[${(100 * m.exactInterval[0]).toFixed(1)}, ${(100 * m.exactInterval[1]).toFixed(1)}], answer log-lik ${m.answerLogLikelihood.toFixed(3)}, ` +
            `digits ${(100 * m.digitAccuracy).toFixed(1)}%, sampled ${m.sampled.rate.toExponential(2)}`,
        );
      }
    }
    for (const k of shots) out.push(storedMetrics(lab, run.id, task.name, k, n)!);
  }
  loaded?.model.freeActivations();
  return out;
}

/** Runs the study (see the module comment). */
export async function runEmergence(opts: EmergenceOptions): Promise<EmergenceResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const specs = checkStudyOptions(opts);
  const codes = specs.map((s) => s.name.replace(/^arithmetic-/, ""));
  const fraction = opts.fraction ?? DEFAULT_FRACTION;
  const shots = [...new Set(opts.shots ?? [0, 1, 2, 4])].sort((a, b) => a - b);
  const n = opts.n ?? 1000;
  const seed = opts.seed ?? 1234;
  const vocab = opts.vocab ?? 512;
  const sweep = opts.sweep ?? "emergence";
  const lab = resolve(opts.lab);
  mkdirSync(lab, { recursive: true });
  const ladderName = opts.ladder ?? emergenceLadderPath();
  const ladder = loadLadder(ladderName);

  const data = await prepareData(
    lab, { fraction, vocab, problems: opts.problems ?? 150_000, english: opts.english ?? "builtin", codes, tokenizer: opts.tokenizer && resolve(opts.tokenizer) }, log,
  );
  const tokenizer = loadTokenizer(join(data, "tokenizer.json"));
  const tasks = specs.map(arithmeticTask);
  checkTasksFit(tokenizer, tasks, shots, ladder.blockSize, seed);

  const sweepOpts: SweepOptions = {
    lab, sweep, plan: "curves", ladder: ladderName, data, tokens: [opts.tokens ?? DEFAULT_TOKENS], sizes: opts.sizes,
    overrides: opts.backend ? { backend: opts.backend } : {},
  };
  const { runs, dataset } = planSweep(sweepOpts);
  const store = openLab(lab);
  try {
    const existing = store.getSweep(sweep);
    if (existing && existing.spec.data !== undefined && resolve(String(existing.spec.data)) !== resolve(data)) {
      throw new StudyError(`the lab's sweep "${sweep}" was trained on ${String(existing.spec.data)}, not ${data}; use another --lab (or --sweep) for a different mixture`);
    }
    const stored = recordPlan(store, sweepOpts, runs);
    const threads = opts.threads ?? availableParallelism();
    const concurrency = opts.concurrency ?? Math.max(1, Math.min(threads, stored.length));
    const executor = new LocalExecutor({ backend: opts.backend, threads, concurrency });
    log(`emergence: training ${stored.length} sizes of ${ladder.name} on ${(sweepOpts.tokens![0] / 1e6).toFixed(1)}M tokens each (${concurrency} at a time, largest first)`);
    await executor.execute(stored.slice().sort((a, b) => b.C - a.C), store, opts.hooks);
    const failed = store.listRuns({ sweep, status: "failed" });
    if (failed.length) {
      throw new StudyError(`run ${failed[0].id} failed (${failed[0].error ?? "no message"}); see ${join(lab, "runs", failed[0].id)}, fix the cause and re-run the study (finished runs are reused)`);
    }
    const done = store.listRuns({ sweep, status: "done" }).filter((r) => existsSync(join(resolve(lab, r.dir), CHECKPOINT_FILE))).sort((a, b) => a.N - b.N);
    if (done.length < stored.length) throw new StudyError(`only ${done.length} of ${stored.length} runs finished; re-run the study to resume the others`);

    // contamination: no evaluation item may occur in the training data
    const contamination = tasks.map((task) => {
      const { test } = task.split(n, seed, 0);
      const r = auditContamination(data, task, test);
      log(`emergence: contamination audit of ${task.name}: ${r.itemsFound} of ${r.n} evaluation items found in ${r.tokens} training tokens`);
      return { task: r.task, n: r.n, itemsFound: r.itemsFound, fraction: r.fraction };
    });

    const te = performance.now();
    const backend = await createBackend(opts.backend ?? "auto", { threads });
    const table: EmergenceSize[] = [];
    try {
      for (const r of done) {
        const metrics = await evaluateRun(store, r, backend, tasks, shots, n, seed, log);
        table.push({
          run: r.id, size: typeof r.extra.size === "string" ? r.extra.size : r.name, N: r.N, params: r.params, D: r.tokensDone, C: r.flopsDone || r.C,
          finalValLoss: r.finalValLoss, wallSeconds: r.wallSeconds, metrics, iclScore: null,
        });
      }
      const icl = await inContextCurves(store, sweep, { backend, log });
      for (const row of table) row.iclScore = icl.find((c) => c.run === row.run)?.score ?? null;
    } finally {
      backend.dispose();
    }
    const evalSeconds = (performance.now() - te) / 1000;

    const head = tasks[0].name;
    const few = shots[shots.length - 1];
    const pick = (row: EmergenceSize, k: number) => row.metrics.find((m) => m.task === head && m.shots === k)!;
    const ll = table.map((row) => pick(row, few).answerLogLikelihood);
    const files = {
      json: join(lab, "report", "emergence", "emergence.json"),
      summary: join(lab, "report", "emergence", "emergence.txt"),
      report: opts.report === false ? null : join(lab, "report", "emergence", "index.html"),
    };
    const result: EmergenceResult = {
      lab, sweep, sizes: table.length, task: head, fewShot: few, n,
      N: table.map((r) => r.N), C: table.map((r) => r.C),
      exactMatch: table.map((r) => pick(r, few).exactMatch),
      exactInterval: table.map((r) => pick(r, few).exactInterval),
      answerLogLikelihood: ll,
      digitAccuracy: table.map((r) => pick(r, few).digitAccuracy),
      sampledPassRate: table.map((r) => pick(r, few).sampled.rate),
      zeroShot: table.map((r) => pick(r, 0)?.exactMatch ?? NaN),
      smoothMonotone: ll.every((x, i) => i === 0 || x > ll[i - 1]),
      iclScore: table.map((r) => r.iclScore),
      contamination,
      data: { dir: data, english: opts.english ?? "builtin", fraction, tasks: codes, trainTokens: dataset.manifest.tokens.train, vocab: tokenizer.vocabSize },
      table,
      wallSeconds: 0,
      trainSeconds: table.reduce((a, r) => a + (r.wallSeconds ?? 0), 0),
      evalSeconds,
      files,
    };
    mkdirSync(dirname(files.json), { recursive: true });
    if (files.report) {
      log("emergence: writing the report (charts as SVG and PNG, index.html)");
      await writeReport({ lab, sweep, out: dirname(files.report), bootstrap: 0, log });
    }
    result.wallSeconds = (performance.now() - t0) / 1000;
    writeFileAtomic(files.json, JSON.stringify(result, null, 2) + "\n");
    writeFileAtomic(files.summary, emergenceSummary(result));
    return result;
  } finally {
    store.close();
  }
}

/** Reads a study result written before (LAB/report/emergence/emergence.json), if any. */
export function readEmergenceResult(lab: string): EmergenceResult | undefined {
  const p = join(resolve(lab), "report", "emergence", "emergence.json");
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as EmergenceResult) : undefined;
}

/** The sampled pass rate as printed: the rate, or "<bound" (95%, rule of three) when no sample passed. */
function sampledText(row: EmergenceSize, r: EmergenceResult): string {
  const m = row.metrics.find((x) => x.task === r.task && x.shots === r.fewShot)!;
  return m.sampled.passes === 0 ? `<${(3 / Math.max(1, m.sampled.draws)).toExponential(1)}` : m.sampled.rate.toExponential(2);
}

/** The readable summary of a study. */
export function emergenceSummary(r: EmergenceResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const si = (x: number) => (x >= 1e12 ? `${(x / 1e12).toPrecision(3)}T` : x >= 1e9 ? `${(x / 1e9).toPrecision(3)}G` : x >= 1e6 ? `${(x / 1e6).toPrecision(3)}M` : x >= 1e3 ? `${(x / 1e3).toPrecision(3)}k` : `${x}`);
  const lines = [
    `scaling-lab emergence study — ${r.sizes} sizes on ${r.data.english === "builtin" ? "built-in English" : r.data.english} + ${pct(r.data.fraction)} arithmetic (${r.data.tasks.join(", ")}), lab ${r.lab}`,
    `${r.task}: exact match at ${r.fewShot} shots on n = ${r.n} unseen items (95% Wilson interval), and the smooth metrics of the same items`,
    "",
    `${"run".padEnd(28)} ${"N".padStart(7)} ${"C".padStart(8)} ${"val loss".padStart(8)} ${"0-shot".padStart(7)} ${`${r.fewShot}-shot`.padStart(7)} ${"95% interval".padStart(15)} ${"ans. LL".padStart(8)} ${"digits".padStart(7)} ${"sampled".padStart(9)} ${"ICL".padStart(7)}`,
    ...r.table.map((t, i) =>
      `${t.run.padEnd(28)} ${si(t.N).padStart(7)} ${si(t.C).padStart(8)} ${(t.finalValLoss?.toFixed(3) ?? "-").padStart(8)} ${pct(r.zeroShot[i]).padStart(7)} ${pct(r.exactMatch[i]).padStart(7)} ` +
        `${`[${pct(r.exactInterval[i][0])}, ${pct(r.exactInterval[i][1])}]`.padStart(15)} ${r.answerLogLikelihood[i].toFixed(3).padStart(8)} ${pct(r.digitAccuracy[i]).padStart(7)} ` +
        `${sampledText(t, r).padStart(9)} ${(r.iclScore[i]?.toFixed(3) ?? "-").padStart(7)}`,
    ),
    "",
    `answer log-likelihood ${r.smoothMonotone ? "rises with every step up in compute" : "does NOT rise at every step up in compute"}; ` +
      "sampled: pass rate of temperature-1 samples (PassUntil-style: sampled until 50 passes), resolving rates below 1/n",
    `contamination: ${r.contamination.map((c) => `${c.task} ${c.itemsFound}/${c.n} evaluation items in the training data`).join("; ")}`,
    `wall time ${Math.round(r.wallSeconds)} s (training ${Math.round(r.trainSeconds)} s summed over runs, evaluation ${Math.round(r.evalSeconds)} s)`,
    "",
  ];
  return lines.join("\n");
}
