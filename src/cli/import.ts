/**
 * `scaling-lab import`: brings runs trained elsewhere into a lab as a sweep (src/ingest/), or a published dataset
 * (src/published/), so that fit, predict, report and serve work on them unchanged.
 */
import { IngestError, type IngestResult, SOURCE_FORMATS, type SourceFormat, importSources, summarize } from "../ingest/index.js";
import { DATASETS, datasetRuns, findDataset } from "../published/index.js";
import { DEFAULT_LAB_DIR, formatCount, formatFlops } from "../store/index.js";
import { type Command, UserError, parseFlags, printJson } from "./command.js";
import { withLab } from "./runs.js";

const HELP = `scaling-lab import — bring runs trained elsewhere into a lab, as one sweep

Usage:
  scaling-lab import FILE... --sweep NAME [--lab DIR] [--params N[,N...]] [--tokens-per-step K[,K...]]
                     [--format F] [--step-col C] [--loss-col C] [--val-col C] [--tokens-col C] [--json]
  scaling-lab import --dataset NAME --sweep NAME [--lab DIR] [--json]

Each FILE's format is detected (or forced with --format):
  hf-trainer   a Hugging Face Trainer's trainer_state.json (log_history: loss, eval_loss, step); the model's
               shape from the config.json beside it (GPT-2 style n_layer, n_embd, ...), if there is one
  tensorboard  events.out.tfevents.* (PyTorch SummaryWriter, tensorboardX, TensorFlow); losses by tag
  csv          a W&B run-history or chart export, or any CSV with a header (columns by name or by flag)
  jsonl        one JSON object per logged step (W&B history, your own logger, scaling-lab's metrics.jsonl)
  text-log     nanoGPT or llm.c output ("step N: train loss X, val loss Y", "iter N: loss X", "step N/M | loss X",
               llm.c's main.log "s:N trl:X")

Flags:
  --sweep NAME            the sweep the runs go to (created with plan "import"; a sweep made by scaling-lab sweep
                          is refused: its fits would mix foreign runs in)
  --lab DIR               the lab directory (default ${DEFAULT_LAB_DIR}; created if missing)
  --params LIST           non-embedding parameters N, for logs that do not record the model: one value for all
                          runs, or one per run in file order (overrides what a log records)
  --tokens-per-step LIST  tokens per optimizer step (batch × accumulation × devices × sequence length), for logs
                          that record neither tokens nor a batch size: one value, or one per run
  --format F              ${SOURCE_FORMATS.join(", ")}
  --step-col/--loss-col/--val-col/--tokens-col NAME
                          CSV/JSONL column (or TensorBoard tag) of the step, training loss, validation loss and
                          tokens seen (default: the usual names, e.g. _step, train/loss, eval/loss, tokens)
  --dataset NAME          import a published dataset instead: ${DATASETS.filter((d) => d.hasLosses).map((d) => d.name).join(", ")}
  --json                  one JSON line: lab, sweep, runs and points (the numbers imported), created, updated,
                          unchanged, and imported [{id, name, file, format, N, D, C, points, final losses, action}]

Each run gets N, D (tokens at its last logged step) and C = 6·N·D, its learning curve, and final losses.
Importing the same files again changes nothing (same run ids); a changed file updates its runs. A file that
cannot be read (truncated, damaged, missing fields, NaN losses) stops the import before anything is written.

Examples:
  scaling-lab import out/gpt2-*/trainer_state.json --sweep hf --lab lab
  scaling-lab import runs/*/events.out.tfevents.* --sweep tb --params 3.2e6,1.1e7,4.4e7 --tokens-per-step 65536
  scaling-lab import --dataset epoch-chinchilla --sweep chinchilla --lab lab --json`;

function numberList(flag: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const xs = raw.split(",").map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !(Number.isFinite(x) && x > 0))) {
    throw new UserError(`--${flag} must be a positive number or a comma list of them (one per run), got "${raw}"`);
  }
  return xs;
}

/** The `import` command. */
export const importCommand: Command = {
  name: "import",
  summary: "import runs trained elsewhere (HF Trainer, TensorBoard, W&B/CSV/JSONL, nanoGPT/llm.c logs) or a published dataset",
  help: HELP,
  async run(argv) {
    const { values: v, positionals: files } = parseFlags("import", argv, {
      lab: { type: "string" }, sweep: { type: "string" }, params: { type: "string" }, "tokens-per-step": { type: "string" },
      format: { type: "string" }, "step-col": { type: "string" }, "loss-col": { type: "string" }, "val-col": { type: "string" },
      "tokens-col": { type: "string" }, dataset: { type: "string" },
    }, true);
    const sweep = v.sweep as string | undefined;
    if (!sweep) throw new UserError("--sweep NAME is required: the sweep the imported runs go to (e.g. --sweep hf-gpt2)");
    const format = v.format as SourceFormat | undefined;
    if (format !== undefined && !SOURCE_FORMATS.includes(format)) {
      throw new UserError(`--format must be one of ${SOURCE_FORMATS.join(", ")}, got "${format}"`);
    }
    const dataset = v.dataset as string | undefined;
    let result: IngestResult;
    if (dataset !== undefined) {
      if (files.length) throw new UserError("give either files or --dataset NAME, not both");
      const ds = findDataset(dataset);
      if (!ds || !ds.hasLosses) {
        const known = DATASETS.filter((d) => d.hasLosses).map((d) => d.name).join(", ");
        throw new UserError(
          ds ? `the ${ds.name} dataset has no per-model losses to fit (${ds.description}); import one of: ${known}` : `unknown --dataset "${dataset}"; known: ${known}`,
        );
      }
      const runs = datasetRuns(ds.name, sweep);
      const done = await withLab(v.lab as string | undefined, {}, (lab) => lab.recordExternalRuns({ name: sweep, plan: "import", spec: { dataset: ds.name } }, runs));
      result = summarize(sweep, runs.map((r) => ({ ...r, file: ds.source, format: "csv" as const, paramsFrom: "log" as const })), done);
    } else {
      if (files.length === 0) throw new UserError("give the files to import (e.g. scaling-lab import out/*/trainer_state.json --sweep hf), or --dataset NAME");
      const columns = {
        ...(v["step-col"] !== undefined ? { step: v["step-col"] as string } : {}),
        ...(v["loss-col"] !== undefined ? { loss: v["loss-col"] as string } : {}),
        ...(v["val-col"] !== undefined ? { valLoss: v["val-col"] as string } : {}),
        ...(v["tokens-col"] !== undefined ? { tokens: v["tokens-col"] as string } : {}),
      };
      const params = numberList("params", v.params as string | undefined);
      const tokensPerStep = numberList("tokens-per-step", v["tokens-per-step"] as string | undefined);
      result = await withLab(v.lab as string | undefined, {}, (lab) => {
        try {
          return importSources(lab, files, {
            sweep, columns, ...(format ? { format } : {}), ...(params ? { params } : {}), ...(tokensPerStep ? { tokensPerStep } : {}),
          });
        } catch (e) {
          throw e instanceof IngestError ? new UserError(e.message) : e;
        }
      });
    }
    const lab = v.lab as string | undefined ?? DEFAULT_LAB_DIR;
    const trainOnly = result.runs.filter((r) => r.finalValLoss === null).length;
    if (v.json) {
      // the contract: `runs` and `points` are the numbers imported; each run's details are under `imported`
      const { runs, ...totals } = result;
      printJson({ lab, ...totals, runs: runs.length, imported: runs });
    } else {
      for (const r of result.runs) {
        const losses = `train ${r.finalTrainLoss?.toFixed(4) ?? "-"}, val ${r.finalValLoss?.toFixed(4) ?? "-"}`;
        console.log(`${r.action?.padEnd(9)} ${r.id}  ${r.format}  N=${formatCount(r.N)} D=${formatCount(r.D)} C=${formatFlops(r.C)}  ${r.points} points  final ${losses}`);
      }
      console.log(`sweep ${sweep} in ${lab}: ${result.runs.length} runs, ${result.points} points (${result.created} created, ${result.updated} updated, ${result.unchanged} unchanged)`);
      console.log(`next: scaling-lab fit frontier --sweep ${sweep} --lab ${lab}${trainOnly ? " --loss train" : ""}`);
    }
    if (trainOnly) {
      process.stderr.write(`import: ${trainOnly} of ${result.runs.length} runs log no validation loss; fit them with --loss train\n`);
    }
    return 0;
  },
};
