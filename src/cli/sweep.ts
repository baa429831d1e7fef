/** `scaling-lab sweep` — plan and train a ladder of models into the lab store. */
import { DataError } from "../data/errors.js";
import { parseTokenCount } from "../data/mixture.js";
import { join } from "node:path";
import { DEFAULT_LAB_DIR, LabError, openLab } from "../store/index.js";
import { LadderError, loadLadder } from "../sweep/ladder.js";
import { fitLrLaw, lrPoints, LrSweepError } from "../sweep/lr.js";
import { writeFileAtomic } from "../util/files.js";
import { type Executor, LocalExecutor, type SweepProgress } from "../sweep/executor.js";
import { RedisExecutor, RedisExecutorError } from "../sweep/redis-executor.js";
import { RedisUrlError } from "../sweep/redis-connection.js";
import { PLAN_KINDS, type PlanKind, PlanError, planTotals } from "../sweep/plan.js";
import { estimatePlan, planSweep, repetitionWarning, runSweep, SweepMismatchError, type SweepOptions } from "../sweep/sweep.js";
import { TrainConfigError } from "../train/config.js";
import { FitError } from "../fit/index.js";
import { DemoError } from "../studies/scaling.js";
import { type Command, type FlagValues, intFlag, parseFlags, printJson, UserError } from "./command.js";
import { duration, Progress, si } from "./progress.js";
import { asUserError, backendFlag } from "./train.js";

const HELP = `scaling-lab sweep — train a ladder of model sizes the same way, into the lab store

Usage: scaling-lab sweep --plan curves|isoflop|grid|lr --ladder NAME --data DIR [--sweep NAME] [--lab DIR]
                         [--tokens 2e6[,4e6]] [--budgets 1e13,3e13] [--seeds 1,2] [--sizes xs-1,xs-2]
                         [--concurrency auto|K] [--threads N] [--backend auto|native|wasm|js|webgpu] [--dry-run] [--json]
                         [--executor local|redis://HOST:6379]  (redis: runs go to scaling-lab worker processes)

Plans:
  curves   every size for the same --tokens budget; full learning curves → the L(C) frontier (Kaplan et al.)
  lr       every size × --lrs learning rates at one --tokens budget → each size's best rate and LR*(N), written as a
           ladder with that law (LAB/lr-<ladder>.json, or --lr-out FILE) for --ladder FILE
  isoflop  each --budgets C × every size with D = C / 6N (Chinchilla approach 2); sizes with < 20 steps dropped
  grid     sizes × --tokens budgets × --seeds
Ladders: cpu-xs (8 sizes, 12.8k–1.5M non-embedding params), cpu-s (7 sizes, 50k–10.6M), cpu-s-local (cpu-s with
GPT-3's alternating attention, odd layers over the last 64 tokens), playground (5 sizes, 12.8k–1.0M: the browser
page's), tiny-test, or a .json file (a ladder or size "localWindow" W gives the odd layers a band of W keys).

--concurrency auto (default): small runs train side by side on one thread each when that is faster than one run
on every core (measured per shape and cached per machine); K: K runs at a time, the threads split between them.
Re-running a sweep skips finished runs and resumes interrupted ones from their checkpoints (a run left "running" by
a sweep process that died is resumed at once; its training child dies with it). A sweep name is tied to its plan,
ladder and data: re-running it with other ones is refused (use another --sweep). --dry-run prints the
plan (runs, FLOPs, epochs over the data) and the time it would take here, from a measured tokens/s of each size.

Example:
  scaling-lab prepare --source builtin --tokenizer bpe --vocab 2048 --out data/builtin-2k
  scaling-lab sweep --plan curves --ladder cpu-xs --tokens 4e6 --data data/builtin-2k --sweep demo --dry-run`;

function list(flag: string, v: string | undefined, parse: (s: string) => number): number[] | undefined {
  if (v === undefined) return undefined;
  try {
    return v.split(",").map((s) => parse(s.trim()));
  } catch (e) {
    throw new UserError(`--${flag}: ${(e as Error).message}`);
  }
}

function flopsNumber(s: string): number {
  const x = Number(s);
  if (!(x > 0)) throw new Error(`"${s}" is not a positive number of FLOPs (write e.g. 1e13)`);
  return x;
}

/** Maps the errors users cause in sweeps to one-line UserErrors. */
export function sweepUserError(e: unknown): never {
  if (
    e instanceof PlanError || e instanceof LadderError || e instanceof DataError || e instanceof LabError ||
    e instanceof TrainConfigError || e instanceof FitError || e instanceof RedisExecutorError || e instanceof DemoError ||
    e instanceof SweepMismatchError
  ) {
    throw new UserError(e.message);
  }
  throw e;
}

/**
 * After an lr sweep: fits LR*(N) to its runs and writes the ladder with that law (`lrLaw`, with how it was measured) to
 * `out` (default LAB/lr-<ladder>.json), ready for `--ladder FILE`.
 */
function writeLrLaw(opts: SweepOptions, out: string | undefined) {
  const lab = openLab(opts.lab);
  try {
    const ladder = loadLadder(opts.ladder);
    const about = `measured by scaling-lab sweep --plan lr on ${new Date().toISOString().slice(0, 10)}: sizes ${[...new Set(lab.listRuns({ sweep: opts.sweep }).map((r) => r.name))].join(", ")}, ` +
      `learning rates ${opts.lrs!.join(", ")}, ${opts.tokens![0]} tokens each, data ${opts.data}; each size's best rate from a parabola in log lr, then a power law in total parameters.`;
    const r = fitLrLaw(lrPoints(lab, opts.sweep), "total", about);
    const file = out ?? join(opts.lab, `lr-${ladder.name}.json`);
    const { name: _name, ...rest } = ladder;
    void _name;
    writeFileAtomic(file, JSON.stringify({ ...rest, lrLaw: r.law, sizes: rest.sizes.map(({ lr: _lr, ...s }) => s) }, null, 2) + "\n");
    return { ...r, file };
  } catch (e) {
    if (e instanceof LrSweepError) throw new UserError(e.message);
    throw e;
  } finally {
    lab.close();
  }
}

/** The parsed flags of `sweep`. */
type SweepFlags = FlagValues<typeof SWEEP_FLAGS>;

/** Builds SweepOptions from parsed flags. */
export function sweepOptionsFromFlags(v: SweepFlags): SweepOptions {
  const plan = v.plan ?? "curves";
  if (!(PLAN_KINDS as readonly string[]).includes(plan)) throw new UserError(`unknown plan "${plan}" (use one of: ${PLAN_KINDS.join(", ")})`);
  if (!v.data) throw new UserError("--data DIR is required (a prepared dataset: scaling-lab prepare --out DIR)");
  const ladder = v.ladder ?? "cpu-xs";
  const overrides: SweepOptions["overrides"] = {};
  if (backendFlag(v.backend)) overrides.backend = v.backend;
  if (v["eval-every"]) overrides.evalEvery = intFlag("eval-every", v["eval-every"], 1, 1);
  if (v["eval-tokens"]) overrides.evalTokens = intFlag("eval-tokens", v["eval-tokens"], 1, 1);
  return {
    lab: v.lab ?? DEFAULT_LAB_DIR,
    sweep: v.sweep ?? `${plan}-${ladder.replace(/^.*\//, "").replace(/\.json$/, "")}`,
    plan: plan as PlanKind,
    ladder,
    data: v.data,
    tokens: list("tokens", v.tokens, (s) => parseTokenCount(s)),
    budgets: list("budgets", v.budgets, flopsNumber),
    lrs: list("lrs", v.lrs, (s) => {
      const x = Number(s);
      if (!(x > 0)) throw new Error(`"${s}" is not a positive learning rate (write e.g. 2e-3)`);
      return x;
    }),
    seeds: list("seeds", v.seeds, (s) => {
      const x = Number(s);
      if (!Number.isInteger(x)) throw new Error(`"${s}" is not an integer seed`);
      return x;
    }),
    sizes: v.sizes ? v.sizes.split(",").map((s) => s.trim()) : undefined,
    overrides,
  };
}

/** The executor from flags: local (default), or redis://host:port (workers on other machines). */
export function executorFromFlags(v: SweepFlags): Executor {
  const ex = v.executor ?? "local";
  if (/^rediss?:\/\//.test(ex)) {
    try {
      return new RedisExecutor({ url: ex });
    } catch (e) {
      if (e instanceof RedisUrlError) throw new UserError(`--executor: ${e.message}`);
      throw e;
    }
  }
  if (ex !== "local") throw new UserError(`unknown executor "${ex}" (use local, or redis://HOST:6379 for workers on other machines)`);
  return new LocalExecutor({
    concurrency: concurrencyFlag(v),
    threads: v.threads ? intFlag("threads", v.threads, 1, 1) : undefined,
    backend: v.backend,
  });
}

/** --concurrency: auto (default) or a number of runs at a time. */
function concurrencyFlag(v: SweepFlags): number | "auto" {
  return v.concurrency === undefined || v.concurrency === "auto" ? "auto" : intFlag("concurrency", v.concurrency, 1, 1);
}

/**
 * Draws sweep progress: one bar over the sweep's FLOPs, with the training speed and the ETA (from the measured speed
 * of each shape when the executor has it, else from the FLOP rate so far).
 */
export function sweepProgress(progress: Progress) {
  return (p: SweepProgress) => {
    const rate = p.flopsThisProcess / Math.max(1e-9, p.elapsed);
    const eta = p.etaSec ?? (rate > 0 ? (p.flopsTotal - p.flopsDone) / rate : NaN);
    const a = p.active[0];
    const cur = a ? ` ${a.id} step ${a.step} loss ${a.trainLoss.toFixed(3)}${a.valLoss !== undefined ? ` val ${a.valLoss.toFixed(3)}` : ""}` : "";
    const speed = p.tokensPerSec ? ` ${si(p.tokensPerSec)} tok/s` : "";
    progress.update(p.flopsDone, p.flopsTotal, `runs ${p.runsDone}/${p.runsTotal}${cur}${speed}`, eta);
  };
}

/** The flags of `sweep`. */
export const SWEEP_FLAGS = {
  plan: { type: "string" }, ladder: { type: "string" }, data: { type: "string" }, sweep: { type: "string" },
  lab: { type: "string" }, tokens: { type: "string" }, budgets: { type: "string" }, seeds: { type: "string" },
  sizes: { type: "string" }, concurrency: { type: "string" }, threads: { type: "string" }, backend: { type: "string" },
  executor: { type: "string" }, "dry-run": { type: "boolean" }, lrs: { type: "string" }, "lr-out": { type: "string" }, "eval-every": { type: "string" }, "eval-tokens": { type: "string" },
} as const;

export const sweepCommand: Command = {
  name: "sweep",
  summary: "plan and train a ladder of sizes (curves, isoflop, grid) into the lab store",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("sweep", argv, SWEEP_FLAGS);
    const opts = sweepOptionsFromFlags(v);
    // every flag is checked before any work: the executor's too, on a dry run
    const executor = executorFromFlags(v);
    if (v["dry-run"]) {
      const { runs } = (() => {
        try {
          return planSweep(opts);
        } catch (e) {
          return sweepUserError(e);
        }
      })();
      const warning = repetitionWarning(runs);
      if (warning) process.stderr.write(`sweep: ${warning}\n`);
      process.stderr.write(`sweep: estimating ${runs.length} runs from the measured speed of each shape (cached per machine)\n`);
      const est = await estimatePlan(runs, {
        backend: v.backend ?? "auto", threads: v.threads ? intFlag("threads", v.threads, 1, 1) : undefined, concurrency: concurrencyFlag(v),
        onMeasure: (what) => process.stderr.write(`sweep: ${what}\n`),
      }).catch(asUserError);
      const totals = planTotals(runs);
      if (v.json) {
        printJson({
          sweep: opts.sweep, plan: opts.plan, ladder: opts.ladder, backend: est.backend, threads: est.threads, ...totals,
          estSeconds: est.totalSeconds, ...(warning ? { warning } : {}), runs: est.rows,
        });
        return 0;
      }
      console.log(`sweep ${opts.sweep}: plan ${opts.plan} over ladder ${opts.ladder} (${est.backend} backend, ${est.threads} thread${est.threads === 1 ? "" : "s"})`);
      console.log(["run".padEnd(28), "N".padStart(8), "params".padStart(8), "D".padStart(8), "C (FLOP)".padStart(9), "epochs".padStart(7), "thr".padStart(3), "tok/s".padStart(8), "time".padStart(7)].join(" "));
      for (const r of est.rows) {
        console.log([r.id.padEnd(28), si(r.N).padStart(8), si(r.params).padStart(8), si(r.D).padStart(8), si(r.C).padStart(9), r.epochs.toFixed(2).padStart(7), String(r.threads).padStart(3), si(r.tokensPerSec).padStart(8), duration(r.estSeconds).padStart(7)].join(" "));
      }
      console.log(`total: ${totals.runs} runs, ${si(totals.tokens)} tokens, ${si(totals.flops)}FLOP, about ${duration(est.totalSeconds)} here (runs scheduled as the sweep trains them)`);
      return 0;
    }
    // progress goes to stderr whatever --json does to stdout
    const progress = new Progress("sweep", process.stderr, false, (x) => `${si(x)}FLOP`);
    let stop = false;
    const onSigint = () => {
      stop = true;
      progress.log("interrupt: the current run checkpoints and stops; re-run the same command to resume");
    };
    process.on("SIGINT", onSigint);
    try {
      const result = await runSweep(opts, executor, {
        onProgress: sweepProgress(progress),
        log: (l) => progress.log(l),
        shouldStop: () => stop,
        onRunEnd: (run, o) => progress.log(`sweep: ${run.id} ${o.status}${run.finalValLoss !== null ? `, val loss ${run.finalValLoss.toFixed(4)}` : ""}${o.error ? `: ${o.error}` : ""}`),
      }).catch(sweepUserError);
      const failed = result.outcomes.filter((o) => o.status === "failed");
      const busy = result.outcomes.filter((o) => o.status === "busy");
      if (opts.plan === "lr") {
        const law = writeLrLaw(opts, v["lr-out"]);
        if (v.json) printJson({ sweep: result.sweep, lab: opts.lab, outcomes: result.outcomes, ...result.totals, lrLaw: law.law, r2: law.r2, sizes: law.sizes, file: law.file });
        else {
          for (const s of law.sizes) console.log(`${s.size.padEnd(8)} ${si(s.params).padStart(7)} params: best lr ${s.lrStar.toExponential(2)} (loss ${s.lossStar.toFixed(4)})${s.atEdge ? ` at the ${s.atEdge} edge of the grid: extend --lrs` : ""}`);
          console.log(`LR*(N) = ${law.law.coef.toPrecision(4)} · N^${law.law.exponent.toFixed(3)} (N = ${law.law.params} parameters, R² ${law.r2.toFixed(3)}); ladder with this law: ${law.file} (use --ladder ${law.file})`);
        }
        return failed.length ? 1 : 0;
      }
      if (v.json) printJson({ sweep: result.sweep, lab: opts.lab, outcomes: result.outcomes, ...result.totals });
      else {
        const reused = result.outcomes.filter((o) => o.status === "skipped").length;
        console.log(
          `sweep ${result.sweep}: ${result.outcomes.filter((o) => o.status === "done" || o.status === "skipped").length}/${result.outcomes.length} runs done` +
            `${reused ? ` (${reused} reused from an earlier sweep)` : ""}${failed.length ? `, ${failed.length} failed` : ""}` +
            `${busy.length ? `, ${busy.length} being trained by another process` : ""} (lab ${opts.lab}; see scaling-lab runs --sweep ${result.sweep})`,
        );
      }
      return failed.length ? 1 : 0;
    } finally {
      process.removeListener("SIGINT", onSigint);
    }
  },
};
