/**
 * `scaling-lab eval`: few-shot evaluation of one model (a run directory, a lab run id, or an HF GPT-2 folder) or
 * of every run of a sweep, on GPT-3's arithmetic / word-scrambling tasks or JSONL task files. Results print as a
 * table or JSON and, with --lab, go to the run store.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createBackend, type AnyBackend } from "../engine/index.js";
import { EvalError, type EvalResult, type EvalTask, evaluateTasks, listTasks, resolveTasks } from "../evals/index.js";
import { paramCounts } from "../model/accounting.js";
import { type Lab } from "../store/index.js";
import { loadModel, type LoadedModel } from "../train/load-model.js";
import { CHECKPOINT_FILE, SUMMARY_FILE } from "../util/run-folder.js";
import { type Command, UserError, intFlag, parseFlags, printJson } from "./command.js";
import { openLabForCli, labUserError } from "./runs.js";
import { asUserError } from "./train.js";
import { runIclEval } from "./eval-icl.js";

const HELP = `scaling-lab eval — few-shot accuracy (GPT-3's arithmetic and word-scrambling tasks) of a model or a sweep

Usage:
  scaling-lab eval --model RUN_DIR|HF_GPT2_DIR|RUN_ID --task NAME[,NAME...] [--shots 0,1,8] [--n 2000] [flags]
  scaling-lab eval --sweep NAME --lab DIR --task NAME[,NAME...] [--shots ...] [--n ...] [flags]
  scaling-lab eval --icl --sweep NAME --lab DIR [--icl-tokens 65536] [--force] [--json]
  scaling-lab eval --icl --model RUN_DIR [--json]

Each test item is a GPT-3 context ("\\n\\nQ: What is 98 plus 45?\\n\\nA:") and completion (" 143"). A k-shot
prompt puts k demonstrations before it, drawn from a pool that never contains a test item (the problems are
split in two halves by a fixed hash; tests come from one half, demonstrations and the arithmetic pretraining
stream from the other). Demonstrations are dropped, oldest first, when the prompt does not fit the context.
accuracy: the greedy continuation of the completion's length is exactly the completion (lm-eval-harness acc).
meanLogLik: the completion's summed log-likelihood in nats, averaged over items.

--icl: the in-context learning curve instead of a task: the validation loss at each position of the context
(Kaplan et al. 2020 Fig. 20), averaged over non-overlapping windows of the run's validation split, and the
in-context learning score (Olsson et al. 2022): the mean loss at context lengths around T/2 minus around T/20
(52–80 minus 6–8 tokens for T = 128; negative = the model learns from its context). Stored once per run in the
lab (recompute with --force); the report charts loss vs position per size and the score vs size.

Tasks:
${listTasks().map((t) => `  ${t.name.padEnd(18)} ${t.about}`).join("\n")}
  FILE.jsonl         your own items, one {"context": "...", "completion": "..."} per line

Flags:
  --model M        a run directory (checkpoint.safetensors + tokenizer.json), an HF GPT-2 folder
                   (config.json + model.safetensors), or the id of a run in --lab
  --sweep NAME     evaluate every finished run of this sweep (needs --lab)
  --lab DIR        the lab: results are recorded in its store (model = run id, or the --model path)
  --task LIST      task names or .jsonl files, comma-separated (required)
  --shots LIST     demonstrations per prompt, comma-separated (default 0,1,8)
  --n N            test items per task (default 2000, as in GPT-3)
  --seed N         seed of the test items and demonstrations (default 1234)
  --pool N         demonstration pool size (default 1000)
  --icl            the in-context learning curve and score (no --task)
  --icl-tokens N   validation tokens per run for --icl (default 65536; each predicted at 16 context lengths)
  --force          --icl: recompute curves already stored
  --no-bos         do not put the end-of-text token before each prompt
  --backend B      auto | native | wasm | js | webgpu (default auto)
  --json           one JSON object on one line: the first result's fields (task, shots, n, accuracy, stderr,
                   meanLogLik, meanShots, ...) at the top level, and "results": every (model, task, shots) result

Emergence across a ladder: pretrain on a mixture with a synthetic arithmetic stream (training-side problems
only; arithmetic:TASKS[:PROBLEMS], tasks joined by +), sweep, then evaluate the sweep:
  scaling-lab prepare --source builtin,arithmetic:2da+3da:200000 --weights 0.8,0.2 --out data/arith-mix
  scaling-lab sweep --plan curves --ladder cpu-xs --tokens 4e6 --data data/arith-mix --sweep emergence --lab lab
  scaling-lab eval --sweep emergence --lab lab --task arithmetic-2da,arithmetic-3da --shots 0,1,4 --n 1000
  scaling-lab contamination --task arithmetic-2da,arithmetic-3da --data data/arith-mix

Examples:
  scaling-lab eval --model runs/cpu-1m --task arithmetic-2da --shots 1 --n 20 --json
  scaling-lab eval --model ./gpt2 --task arithmetic-2da,arithmetic-2ds,cycle-letters --shots 0,1,8 --n 500
  scaling-lab eval --sweep emergence --lab lab --task arithmetic-2da,arithmetic-3da --shots 0,8 --n 1000
  scaling-lab eval --icl --sweep demo --lab lab --json`;

/** One printed/recorded result: the eval result plus which model it belongs to. */
export interface ModelEvalResult extends Omit<EvalResult, "meanLogLikelihood"> {
  /** Mean summed log-likelihood of the completion (nats). */
  meanLogLik: number;
  /** Run id (sweep / lab run) or model path. */
  model: string;
  kind: LoadedModel["kind"];
  /** Non-embedding parameters N. */
  N: number;
  /** Training FLOPs C of the run when known (lab record or summary.json), else null. */
  C: number | null;
  /** Training tokens D when known, else null. */
  D: number | null;
}

function parseShots(raw: string): number[] {
  const list = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  const shots = list.map(Number);
  const bad = list.findIndex((s, i) => !/^\d+$/.test(s) || !Number.isInteger(shots[i]));
  if (list.length === 0 || bad >= 0) throw new UserError(`--shots must be integers ≥ 0 separated by commas, got "${raw}" (e.g. --shots 0,1,8)`);
  return [...new Set(shots)];
}

/** Training compute of a run directory from its summary.json (flops, tokens), if present. */
function runCompute(dir: string): { C: number | null; D: number | null } {
  const path = join(dir, SUMMARY_FILE);
  if (!existsSync(path)) return { C: null, D: null };
  try {
    const s = JSON.parse(readFileSync(path, "utf8")) as { flops?: number; tokens?: number };
    return { C: typeof s.flops === "number" ? s.flops : null, D: typeof s.tokens === "number" ? s.tokens : null };
  } catch {
    return { C: null, D: null };
  }
}

function evalUserError(e: unknown): never {
  if (e instanceof EvalError) throw new UserError(e.message);
  return asUserError(e);
}

interface Target {
  /** What results are recorded under: a run id or the path given. */
  id: string;
  path: string;
  C: number | null;
  D: number | null;
}

async function evaluateTarget(target: Target, backend: AnyBackend, tasks: EvalTask[], opts: Parameters<typeof evaluateTasks>[3]): Promise<ModelEvalResult[]> {
  let loaded: LoadedModel;
  try {
    loaded = loadModel(target.path, backend);
  } catch (e) {
    return asUserError(e);
  }
  const N = paramCounts(loaded.model.config).nonEmbedding;
  const fromSummary = runCompute(target.path);
  const results = await evaluateTasks(loaded.model, loaded.tokenizer, tasks, opts).catch(evalUserError);
  return results.map(({ meanLogLikelihood, ...r }) => ({
    ...r,
    meanLogLik: meanLogLikelihood,
    model: target.id,
    kind: loaded.kind,
    N,
    C: target.C ?? fromSummary.C,
    D: target.D ?? fromSummary.D,
  }));
}

function record(lab: Lab, r: ModelEvalResult, seed: number): void {
  try {
    lab.recordEval({
      model: r.model,
      task: r.task,
      shots: r.shots,
      n: r.n,
      accuracy: r.accuracy,
      meanLogLik: r.meanLogLik,
      extra: { stderr: r.stderr, meanShots: r.meanShots, truncatedFraction: r.truncatedFraction, meanTokens: r.meanTokens, seed, N: r.N, C: r.C, kind: r.kind },
    });
  } catch (e) {
    throw labUserError(e);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const sci = (x: number | null) => (x === null ? "-" : x.toExponential(2));

function printTable(results: ModelEvalResult[]): void {
  const several = new Set(results.map((r) => r.model)).size > 1;
  const head = [...(several ? ["model", "N", "C"] : []), "task", "shots", "n", "accuracy", "±", "meanLogLik", "shots used"];
  const rows = results.map((r) => [
    ...(several ? [r.model, sci(r.N), sci(r.C)] : []),
    r.task, String(r.shots), String(r.n), pct(r.accuracy), pct(r.stderr), r.meanLogLik.toFixed(3), r.meanShots.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < (several ? 4 : 1) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  if (!several && results.length > 0) {
    const r = results[0];
    console.log(`model ${r.model} (${r.kind}, N = ${sci(r.N)} non-embedding params${r.C !== null ? `, C = ${sci(r.C)} training FLOPs` : ""})`);
  }
  console.log(line(head));
  for (const row of rows) console.log(line(row));
}

/** The `eval` command. */
export const evalCommand: Command = {
  name: "eval",
  summary: "few-shot accuracy on GPT-3's arithmetic and word-scrambling tasks (a model or a whole sweep)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("eval", argv, {
      model: { type: "string" },
      sweep: { type: "string" },
      lab: { type: "string" },
      task: { type: "string" },
      shots: { type: "string" },
      n: { type: "string" },
      seed: { type: "string" },
      pool: { type: "string" },
      "no-bos": { type: "boolean" },
      backend: { type: "string" },
      icl: { type: "boolean" },
      "icl-tokens": { type: "string" },
      force: { type: "boolean" },
    });
    if (v.icl) {
      if (v.task) throw new UserError("--icl measures the loss at each context position, not a task; drop --task (or drop --icl)");
      return runIclEval({
        sweep: v.sweep, lab: v.lab, model: v.model, backend: v.backend,
        maxTokens: intFlag("icl-tokens", v["icl-tokens"], 65536, 1), force: !!v.force, json: !!v.json,
      });
    }
    const { task: taskList, model, sweep, lab: labDir } = v;
    if (!taskList) throw new UserError("--task NAME is required (e.g. --task arithmetic-2da; see scaling-lab eval --help for the list)");
    if (!model === !sweep) throw new UserError("give exactly one of --model DIR (one model) or --sweep NAME --lab DIR (every run of a sweep)");
    if (sweep && !labDir) throw new UserError("--sweep needs --lab DIR (the lab that holds the sweep)");
    const shots = parseShots(v.shots ?? "0,1,8");
    const n = intFlag("n", v.n, 2000, 1);
    const seed = intFlag("seed", v.seed, 1234, 0);
    const poolSize = intFlag("pool", v.pool, 1000, 1);
    let tasks: EvalTask[];
    try {
      tasks = resolveTasks(taskList);
    } catch (e) {
      return evalUserError(e);
    }
    const backend = await createBackend(v.backend ?? "auto").catch(asUserError);
    let lab: Lab | undefined;
    try {
      lab = labDir ? openLabForCli(labDir, { create: !sweep }) : undefined;
      const targets: Target[] = [];
      if (sweep) {
        let runs;
        try {
          if (!lab!.getSweep(sweep)) {
            const known = lab!.listSweeps().map((s) => s.name);
            throw new UserError(`no sweep "${sweep}" in ${lab!.dir}; known sweeps: ${known.join(", ") || "none"} (see scaling-lab runs --lab ${labDir})`);
          }
          runs = lab!.listRuns({ sweep });
        } catch (e) {
          throw labUserError(e);
        }
        for (const run of runs) {
          const dir = resolve(lab!.dir, run.dir);
          if (run.status === "done" && existsSync(join(dir, CHECKPOINT_FILE))) targets.push({ id: run.id, path: dir, C: run.flopsDone || run.C, D: run.tokensDone || run.D });
          else process.stderr.write(`eval: skipping run ${run.id} (${run.status}${run.status === "done" ? ", no checkpoint" : ""}; only finished runs are evaluated)\n`);
        }
        if (targets.length === 0) throw new UserError(`sweep "${sweep}" has no finished run with a checkpoint yet; run scaling-lab sweep --sweep ${sweep} to finish it`);
      } else if (model) {
        const inLab = lab && !existsSync(model) ? lab.getRun(model) : undefined;
        if (inLab) targets.push({ id: inLab.id, path: resolve(lab!.dir, inLab.dir), C: inLab.flopsDone || inLab.C, D: inLab.tokensDone || inLab.D });
        else targets.push({ id: model, path: model, C: null, D: null });
      }
      const all: ModelEvalResult[] = [];
      for (const target of targets) {
        const results = await evaluateTarget(target, backend, tasks, {
          shots, n, seed, poolSize, bos: !v["no-bos"],
          onProgress: (m) => process.stderr.write(`eval ${target.id}: ${m}\n`),
        });
        for (const r of results) {
          if (lab) record(lab, r, seed);
          all.push(r);
        }
      }
      if (v.json) printJson(all.length === 1 ? all[0] : { ...all[0], ...(sweep ? { sweep } : {}), results: all });
      else printTable(all);
      return 0;
    } finally {
      backend.dispose();
      lab?.close();
    }
  },
};
