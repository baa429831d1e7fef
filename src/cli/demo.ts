/** `scaling-lab demo` — the whole scaling experiment on the built-in corpus, end to end. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { DataError } from "../data/errors.js";
import { parseTokenCount } from "../data/mixture.js";
import { DEFAULT_LAB_DIR, LAB_DB_FILE, LabError, openLab } from "../store/index.js";
import { type DemoOptions, demoSummary, runDemo } from "../studies/scaling.js";
import { estimateRuns } from "../sweep/estimate.js";
import { type Ladder, LadderError, loadLadder } from "../sweep/ladder.js";
import { makePlan, PlanError } from "../sweep/plan.js";
import { resolveTrainConfig, type TrainConfig, TrainConfigError } from "../train/config.js";
import { defaultThreads } from "../util/threads.js";
import { type Command, type FlagValues, intFlag, numberFlag, parseFlags, printJson, UserError } from "./command.js";
import { duration, Progress, si } from "./progress.js";
import { sweepProgress, sweepUserError } from "./sweep.js";
import { asUserError, backendFlag } from "./train.js";
import { EMERGENCE_HELP, runStudy, studyFlag } from "./emergence.js";

/** The ladder `--quick` trains (presets/ladders.json). */
export const QUICK_LADDER = "quick";
/** Where `--quick` writes when no --lab is given (apart from a full demo's lab, so the two never mix). */
export const QUICK_LAB_DIR = "./lab-quick";
/** What the quick demo's outputs say about themselves. */
export function quickNote(runs: number, tokens: number): string {
  return `demo --quick: ${runs} tiny models on ${si(tokens)} tokens each, to show every stage in a minute or two; far too small and short for meaningful fits (run the full demo for those)`;
}

const HELP = `scaling-lab demo — the scaling experiment end to end on the built-in corpus (≈8 minutes on 2 idle cores;
--quick: every stage in 1–2 minutes; --dry-run: the estimate for this machine)

Usage: scaling-lab demo [--quick] [--lab DIR] [--ladder cpu-xs] [--tokens N] [--vocab V] [--sizes A,B,...]
                        [--backend auto|native|wasm|js|webgpu] [--threads N] [--cost-per-hour 0.10] [--dry-run] [--json]

Steps: prepare the built-in corpus (State of the Union addresses + Moby-Dick, offline) with the ladder's BPE →
train every size of the ladder but the largest by its recipe (cooldown branches give several endpoints a run) →
predict the largest model's loss from endpoints with ≤ 1/K of its compute BEFORE training it → train it and score
the prediction → fit the compute frontier and Chinchilla's L(N, D) → forecast the compute to halve the largest
model's reducible loss → write LAB/report/demo.json, demo.txt and the report (index.html, every chart as SVG and PNG).
--tokens and --vocab default to the ladder's (cpu-xs: 5M tokens, 512). Re-running reuses the prepared data and every
finished run ("23 s of training reused").

--quick     the same stages on the "${QUICK_LADDER}" ladder (5 tiny sizes, 3k–150k non-embedding parameters, 1M tokens
            each, a 512-token BPE) in ${QUICK_LAB_DIR} unless --lab is given: a first look at every step in 1–2
            minutes on 2 cores. Its fits are far too small and short to mean anything; its outputs say so.
--dry-run   check the flags and print the runs and their training time here (the speed of each shape is
            measured once per machine and cached, as the sweep's estimate and ETA use it); trains nothing.
Every flag is checked before any work starts; a lab holds one demo (one ladder, one token budget, one vocabulary).

--json ends the output with one JSON line: runs, wallSeconds, frontierR2, predictionErrorPct, and the rest
(the same fields for --quick, plus "note"). Progress goes to stderr either way.

Examples:
  npx scaling-lab demo --quick
  npx scaling-lab demo --lab lab --dry-run
  npx scaling-lab demo --lab lab

${EMERGENCE_HELP}`;

/** The flags of `demo`. */
const DEMO_FLAGS = {
  lab: { type: "string" }, tokens: { type: "string" }, vocab: { type: "string" }, ladder: { type: "string" },
  backend: { type: "string" }, threads: { type: "string" }, sizes: { type: "string" }, "cost-per-hour": { type: "string" },
  quick: { type: "boolean" }, "dry-run": { type: "boolean" },
} as const;

/** A demo checked before any work: its options, its ladder and its runs' resolved configs (for the estimate). */
interface CheckedDemo {
  opts: DemoOptions;
  ladder: Ladder;
  runs: { id: string; N: number; C: number; config: TrainConfig }[];
  /** Runs an earlier demo in this lab finished (they are reused). */
  done: Set<string>;
}

/**
 * Turns the flags into demo options and checks everything that can be checked without the data — the ladder, the
 * sizes, the token budget, the vocabulary, the backend, the recipe of every run, and that the lab does not hold a
 * demo of another ladder, budget or vocabulary — so a mistake costs a second, not a prepared corpus.
 */
export function checkDemoFlags(v: FlagValues<typeof DEMO_FLAGS>): CheckedDemo {
  if (v.quick && v.ladder) throw new UserError(`give --quick or --ladder, not both (--quick trains the ${QUICK_LADDER} ladder)`);
  const ladderName = v.quick ? QUICK_LADDER : v.ladder ?? "cpu-xs";
  let ladder: Ladder;
  try {
    ladder = loadLadder(ladderName);
  } catch (e) {
    if (e instanceof LadderError || e instanceof SyntaxError) throw new UserError(`--ladder: ${e.message}`);
    throw e;
  }
  let tokens: number;
  try {
    tokens = v.tokens ? parseTokenCount(v.tokens) : ladder.tokens ?? 4_000_000;
  } catch (e) {
    if (e instanceof DataError) throw new UserError(`--tokens: ${e.message}`);
    throw e;
  }
  const vocab = v.vocab ? intFlag("vocab", v.vocab, 2048, 257) : ladder.vocab ?? 2048;
  const backend = backendFlag(v.backend);
  const threads = v.threads ? intFlag("threads", v.threads, 1, 1) : undefined;
  const costPerHour = numberFlag("cost-per-hour", v["cost-per-hour"], 0.1);
  if (!(costPerHour >= 0)) throw new UserError(`--cost-per-hour must be ≥ 0, got ${v["cost-per-hour"]}`);
  const sizes = v.sizes ? v.sizes.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
  const lab = v.lab ?? (v.quick ? QUICK_LAB_DIR : DEFAULT_LAB_DIR);
  let runs: CheckedDemo["runs"];
  try {
    const plan = makePlan({ kind: "curves", sweep: "demo", ladder, data: "(checked before preparing)", tokens: [tokens], vocabSize: vocab, sizes, overrides: backend ? { backend } : {} });
    runs = plan.map((r) => ({ id: r.id, N: r.N, C: r.C, config: resolveTrainConfig(r.config, vocab) }));
  } catch (e) {
    if (e instanceof PlanError || e instanceof TrainConfigError) throw new UserError(e.message);
    throw e;
  }
  if (runs.length < 2) throw new UserError(`the demo needs at least 2 sizes (the others to predict the largest), got ${runs.length}; give more --sizes or drop the flag`);
  const done = checkDemoLab(lab, ladderName, tokens, vocab);
  return {
    done,
    opts: { lab, ladder: ladderName, tokens, vocab, backend, threads, sizes, costPerHour, ...(v.quick ? { note: quickNote(runs.length, tokens) } : {}) },
    ladder,
    runs,
  };
}

/**
 * Refuses a lab whose demo was made with another ladder, token budget or vocabulary (their runs would mix); returns
 * the ids of the runs an earlier demo there finished.
 */
function checkDemoLab(labDir: string, ladder: string, tokens: number, vocab: number): Set<string> {
  if (!existsSync(join(labDir, LAB_DB_FILE))) return new Set();
  let sweep;
  let done: Set<string>;
  try {
    const lab = openLab(labDir, { create: false });
    try {
      sweep = lab.getSweep("demo");
      done = new Set(sweep ? lab.listRuns({ sweep: "demo", status: "done" }).map((r) => r.id) : []);
    } finally {
      lab.close();
    }
  } catch (e) {
    if (e instanceof LabError) throw new UserError(e.message);
    throw e;
  }
  if (!sweep) return done;
  const had = {
    ladder: sweep.ladder,
    tokens: Array.isArray(sweep.spec.tokens) ? Number(sweep.spec.tokens[0]) : null,
    vocab: Number(/bpe(\d+)$/.exec(String(sweep.spec.data ?? ""))?.[1] ?? NaN),
  };
  const differs = [
    had.ladder !== null && had.ladder !== ladder ? `ladder ${had.ladder}` : "",
    had.tokens !== null && had.tokens !== tokens ? `${si(had.tokens)} tokens per run` : "",
    Number.isFinite(had.vocab) && had.vocab !== vocab ? `a ${had.vocab}-token vocabulary` : "",
  ].filter(Boolean);
  if (differs.length) {
    throw new UserError(
      `${labDir} already holds a demo with ${differs.join(", ")}; give this one another --lab (e.g. --lab ${ladder === QUICK_LADDER ? QUICK_LAB_DIR : "lab-" + ladder}), or the same flags to reuse it`,
    );
  }
  return done;
}

/**
 * The training time of the demo's runs here that are not done yet: the smaller ones as the sweep schedules them, then
 * the largest alone (it is trained after the prediction), from the measured speed of each shape (measured once per
 * machine and cached: the sweep reuses the measurements).
 */
async function estimateDemo(checked: CheckedDemo, log: (line: string) => void): Promise<{ seconds: number; runs: { id: string; threads: number; seconds: number }[] }> {
  const threads = checked.opts.threads ?? defaultThreads();
  const backend = checked.opts.backend ?? "auto";
  const largest = checked.runs.reduce((a, b) => (b.N > a.N ? b : a));
  const opts = { threads, backend, onMeasure: (m: string) => log(`demo: ${m}`) };
  const todo = (rs: CheckedDemo["runs"]) => rs.filter((r) => !checked.done.has(r.id));
  const first = await estimateRuns(todo(checked.runs.filter((r) => r !== largest)), opts);
  const last = await estimateRuns(todo([largest]), opts);
  return { seconds: first.seconds + last.seconds, runs: [...first.runs, ...last.runs] };
}

export const demoCommand: Command = {
  name: "demo",
  summary: "the whole experiment on the built-in corpus: ladder → prediction → frontier → forecast (--quick: 1–2 min)",
  help: HELP,
  async run(argv) {
    if (studyFlag(argv) !== undefined) return runStudy(argv);
    const { values: v } = parseFlags("demo", argv, DEMO_FLAGS);
    const checked = checkDemoFlags(v);
    const progress = new Progress("demo", process.stderr, false, (x) => `${si(x)}FLOP`);
    if (checked.opts.note) progress.log(`${checked.opts.note}`);
    if (v["dry-run"]) {
      const est = await estimateDemo(checked, (l) => progress.log(l)).catch(asUserError);
      if (v.json) {
        printJson({ lab: resolve(checked.opts.lab), ladder: checked.ladder.name, tokens: checked.opts.tokens, vocab: checked.opts.vocab, estSeconds: est.seconds, runs: est.runs });
      } else {
        for (const r of est.runs) console.log(`${r.id.padEnd(28)} ${String(r.threads).padStart(2)} thr ${duration(r.seconds).padStart(7)}`);
        const reused = checked.runs.length - est.runs.length;
        console.log(
          `demo: ${est.runs.length ? `${est.runs.length} runs of ${checked.ladder.name} to train, about ${duration(est.seconds)} here (plus preparing the corpus, the fits and the report)` : "nothing left to train"}` +
            `${reused ? `; ${reused} finished runs reused` : ""}`,
        );
      }
      return 0;
    }
    // the time to expect, from the speeds the sweep will use too (a backend that cannot be measured reports itself later)
    const est = await estimateDemo(checked, (l) => progress.log(l)).catch(() => null);
    if (est) {
      const reused = checked.runs.length - est.runs.length;
      progress.log(
        `demo: ${est.runs.length ? `about ${duration(est.seconds)} of training here for ${est.runs.length} runs` : "nothing to train"}` +
          `${reused ? ` (${reused} finished runs reused)` : ""}; the progress bar's ETA is for each training phase`,
      );
    }
    const result = await runDemo({
      ...checked.opts,
      log: (l) => progress.log(l),
      hooks: {
        onProgress: sweepProgress(progress),
        log: (l) => progress.log(l),
        onRunEnd: (run, o) => progress.log(`demo: ${run.id} ${o.status}${run.finalValLoss !== null ? `, val loss ${run.finalValLoss.toFixed(4)}` : ""}${o.error ? `: ${o.error}` : ""}`),
      },
    }).catch(sweepUserError);
    if (v.json) {
      const { table: _t, ...rest } = result;
      void _t;
      printJson(rest);
    } else {
      process.stdout.write("\n" + demoSummary(result));
      console.log(`files: ${result.files.summary}, ${result.files.json}`);
      console.log(`report: ${result.files.report}`);
    }
    return 0;
  },
};
