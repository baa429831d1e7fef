/** `scaling-lab demo --study emergence`: few-shot arithmetic across a ladder (src/studies/emergence.ts). */
import { parseTokenCount } from "../data/mixture.js";
import { EvalError } from "../evals/task.js";
import { DEFAULT_FRACTION, StudyError, emergenceSummary, runEmergence } from "../studies/emergence.js";
import { UserError, intFlag, numberFlag, parseFlags, printJson } from "./command.js";
import { Progress, si } from "./progress.js";
import { sweepProgress, sweepUserError } from "./sweep.js";

/** The study's part of `demo --help`. */
export const EMERGENCE_HELP = `Studies:
  scaling-lab demo --study emergence [--lab DIR] [--tokens 16e6] [--arithmetic-fraction 0.75] [--tasks 2da]
                   [--shots 0,1,2,4] [--n 1000] [--vocab 512] [--tokenizer FILE] [--sizes a,b] [--ladder FILE]
                   [--english SOURCE] [--problems 150000] [--backend B] [--threads N] [--json]
  Few-shot arithmetic across a ladder (GPT-3 Fig. 3.10 / 1.2 at under 1M parameters): the emergence ladder
  (presets/emergence.json) trained on built-in English + GPT-3's arithmetic stream (training-side problems only,
  one token per digit) → a contamination audit → GPT-3's arithmetic tasks at every shot count on n unseen items
  per size: exact match with a 95% interval, answer log-likelihood, digit accuracy, and the pass rate of
  temperature-1 sampling resolved below 1/n by sampling until 50 passes (PassUntil-style) → the in-context
  learning curve of each size → LAB/report/emergence/ (index.html, charts, emergence.json, emergence.txt).
  Re-running reuses the data, the finished runs and the stored evaluations. --english takes any prepare source
  in place of the built-in corpus (e.g. a folder of .txt files); --problems sizes the arithmetic stream.
  --json ends with one JSON line: sizes, exactMatch, answerLogLikelihood, digitAccuracy, sampledPassRate,
  zeroShot, n, wallSeconds, ... (arrays over sizes, smallest first).
  Example: npx scaling-lab demo --study emergence --lab lab-emergence --json`;

const FLAGS = {
  study: { type: "string" }, lab: { type: "string" }, tokens: { type: "string" }, "arithmetic-fraction": { type: "string" },
  tasks: { type: "string" }, shots: { type: "string" }, n: { type: "string" }, vocab: { type: "string" }, tokenizer: { type: "string" },
  sizes: { type: "string" }, ladder: { type: "string" }, backend: { type: "string" }, threads: { type: "string" }, seed: { type: "string" },
  english: { type: "string" }, problems: { type: "string" },
} as const;

/** The value of `--study` in argv (either `--study X` or `--study=X`), if given. */
export function studyFlag(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--study") return argv[i + 1] ?? "";
    if (argv[i].startsWith("--study=")) return argv[i].slice("--study=".length);
  }
  return undefined;
}

function list(name: string, raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const xs = raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (xs.length === 0) throw new UserError(`--${name} needs a comma-separated list, got "${raw}"`);
  return xs;
}

/** Runs `demo --study NAME`; resolves to the exit status. */
export async function runStudy(argv: string[]): Promise<number> {
  const { values: v } = parseFlags("demo --study emergence", argv, FLAGS);
  const s = (k: keyof typeof FLAGS) => v[k] as string | undefined;
  if (s("study") !== "emergence") throw new UserError(`unknown study "${s("study")}"; the one study is emergence (scaling-lab demo --study emergence)`);
  const shots = list("shots", s("shots"))?.map((x) => {
    if (!/^\d+$/.test(x)) throw new UserError(`--shots must be integers ≥ 0 separated by commas, got "${s("shots")}" (e.g. --shots 0,1,2,4)`);
    return Number(x);
  });
  const progress = new Progress("emergence", process.stderr, false, (x) => `${si(x)}FLOP`);
  const result = await runEmergence({
    lab: s("lab") ?? "./lab-emergence",
    tokens: s("tokens") ? parseTokenCount(s("tokens")!) : undefined,
    fraction: numberFlag("arithmetic-fraction", s("arithmetic-fraction"), DEFAULT_FRACTION),
    tasks: list("tasks", s("tasks")),
    shots,
    n: s("n") ? intFlag("n", s("n"), 1000, 1) : undefined,
    vocab: s("vocab") ? intFlag("vocab", s("vocab"), 512, 257) : undefined,
    tokenizer: s("tokenizer"),
    english: s("english"),
    problems: s("problems") ? intFlag("problems", s("problems"), 150000, 1) : undefined,
    sizes: list("sizes", s("sizes")),
    ladder: s("ladder"),
    backend: s("backend"),
    threads: s("threads") ? intFlag("threads", s("threads"), 1, 1) : undefined,
    seed: s("seed") ? intFlag("seed", s("seed"), 1234, 0) : undefined,
    log: (l) => progress.log(l),
    hooks: {
      onProgress: sweepProgress(progress),
      log: (l) => progress.log(l),
      onRunEnd: (run, o) => progress.log(`emergence: ${run.id} ${o.status}${run.finalValLoss !== null ? `, val loss ${run.finalValLoss.toFixed(4)}` : ""}${o.error ? `: ${o.error}` : ""}`),
    },
  }).catch((e) => {
    if (e instanceof StudyError || e instanceof EvalError) throw new UserError(e.message);
    return sweepUserError(e);
  });
  if (v.json) {
    const { table, ...rest } = result;
    printJson({ ...rest, runs: table.map(({ metrics, ...row }) => ({ ...row, evals: metrics.map(({ sampled, ...m }) => ({ ...m, sampledPassRate: sampled.rate, sampledDraws: sampled.draws })) })) });
  } else {
    process.stdout.write("\n" + emergenceSummary(result));
    console.log(`files: ${result.files.summary}, ${result.files.json}`);
    if (result.files.report) console.log(`report: ${result.files.report}`);
  }
  return 0;
}
