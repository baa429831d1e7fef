/** `scaling-lab train` — train one GPT on a prepared dataset with GPT-3's recipe. */
import { readFileSync } from "node:fs";
import { BACKEND_NAMES } from "../engine/index.js";
import { CheckpointError } from "../train/checkpoint.js";
import { TrainConfigError, type TrainConfigInput } from "../train/config.js";
import { DivergenceError } from "../train/loop.js";
import { RunLockedError } from "../train/lock.js";
import { runTraining } from "../train/run.js";
import { DataError } from "../data/errors.js";
import { COOLDOWN_SHAPES, SCHEDULE_KINDS } from "../train/schedule.js";
import { ConfigError } from "../model/config.js";
import { type Command, type FlagValues, intFlag, numberFlag, parseFlags, printJson, UserError } from "./command.js";
import { duration, Progress, si } from "./progress.js";
import { exitWithParent, PARENT_PID_ENV } from "../util/process.js";

const HELP = `scaling-lab train — train a GPT on a prepared dataset (GPT-3's recipe by default)

Usage: scaling-lab train --data DIR --out RUN_DIR [--preset NAME] [flags]

Model:     --preset NAME (nano, micro, cpu-1m, cpu-6m, gpt2-small; default cpu-1m)
           --n-layer N --n-head N --n-embd N --block-size N --vocab-size N (override the preset)
           --local-window W (GPT-3's alternating attention: odd layers see the last W tokens; 0 = dense)
Budget:    --tokens N (training tokens D, e.g. 5e6)  --batch-tokens N  --micro-batch B
Optimizer: --lr X --min-lr-fraction 0.1 --warmup-fraction 0.02 --weight-decay 0.1
           --beta1 0.9 --beta2 0.95 --eps 1e-8 --grad-clip 1.0
Schedule:  --schedule cosine|wsd (GPT-3's cosine, or warmup-stable-decay) --cooldown-fraction 0.2
           --cooldown-shape 1-sqrt|linear|cosine --branches 0.25,0.5 (wsd: cooldown branches at these fractions of
           --tokens, or token counts; each adds an endpoint to endpoints.jsonl for ~cooldown-fraction of its cost)
Logging:   --eval-every STEPS --eval-tokens N --final-eval-tokens N (the end's and branches' evaluations)
           --checkpoint-every STEPS
Other:     --seed N --backend auto|native|wasm|js|webgpu --threads N --resume --json
           --config FILE (a JSON training config, e.g. a run's config.json; flags override it)

Writes RUN_DIR/config.json (resolved), metrics.jsonl, checkpoint.safetensors, tokenizer.json, summary.json.
--resume continues a stopped or killed run bit-exactly (same backend). Ctrl-C checkpoints and stops.
On --resume the checkpoint's config wins: only --lr (e.g. lower it after a divergence), --threads, --backend,
--data (the same data at another path), --eval-every and --checkpoint-every may change; other flags, or other
edits of config.json, are refused. The run is pinned to its data: data prepared again differently is refused.
One process trains a run folder at a time (RUN_DIR/train.lock).

Example:
  scaling-lab prepare --source builtin --tokenizer bpe --vocab 4096 --out data/builtin
  scaling-lab train --data data/builtin --preset cpu-1m --tokens 5e6 --out runs/cpu-1m
  scaling-lab train --data data/builtin --preset cpu-6m --local-window 64 --tokens 5e6 --out runs/cpu-6m-local`;

/** A flag of `train` that takes a value. */
type TrainValueFlag = Exclude<keyof typeof TRAIN_FLAGS, "resume">;

/** Turns the flags into a partial training config. */
export function trainConfigFromFlags(v: FlagValues<typeof TRAIN_FLAGS>): TrainConfigInput {
  const s = (k: TrainValueFlag) => v[k];
  const num = (k: TrainValueFlag) => (s(k) === undefined ? undefined : numberFlag(k, s(k), 0));
  const int = (k: TrainValueFlag, min = 1) => (s(k) === undefined ? undefined : intFlag(k, String(Number(s(k))), 0, min));
  const model: TrainConfigInput["model"] = {};
  if (s("n-layer")) model.nLayer = int("n-layer");
  if (s("n-head")) model.nHead = int("n-head");
  if (s("n-embd")) model.nEmbd = int("n-embd");
  if (s("block-size")) model.blockSize = int("block-size");
  if (s("vocab-size")) model.vocabSize = int("vocab-size", 2);
  // checked by the model config, whose error names the fix (0 = dense, W > 0 = banded odd layers)
  if (s("local-window") !== undefined) model.localWindow = windowOption(v).localWindow;
  return {
    preset: s("preset"), data: s("data"), model,
    tokens: int("tokens"), batchTokens: int("batch-tokens"), microBatch: int("micro-batch"),
    lr: num("lr"), minLrFraction: num("min-lr-fraction"), warmupFraction: num("warmup-fraction"),
    schedule: enumFlag("schedule", s("schedule"), SCHEDULE_KINDS), cooldownFraction: num("cooldown-fraction"),
    cooldownShape: enumFlag("cooldown-shape", s("cooldown-shape"), COOLDOWN_SHAPES), branches: listFlag("branches", s("branches")),
    weightDecay: num("weight-decay"), beta1: num("beta1"), beta2: num("beta2"), eps: num("eps"), gradClip: num("grad-clip"),
    evalEvery: int("eval-every"), evalTokens: int("eval-tokens"), finalEvalTokens: int("final-eval-tokens"), checkpointEvery: int("checkpoint-every"),
    seed: s("seed") === undefined ? undefined : intFlag("seed", s("seed"), 0, -(2 ** 31)),
    backend: backendFlag(s("backend")), threads: s("threads") === undefined ? undefined : intFlag("threads", s("threads"), 0, 0),
  };
}

/** The `--local-window W` override of a command that loads a model (sample, score): {} when not given. */
export function windowOption(v: { "local-window"?: string }): { localWindow?: number } {
  const w = v["local-window"];
  return w === undefined ? {} : { localWindow: numberFlag("local-window", w, 0) };
}

/** The flags of `train`. */
export const TRAIN_FLAGS = {
  preset: { type: "string" }, data: { type: "string" }, out: { type: "string" },
  "n-layer": { type: "string" }, "n-head": { type: "string" }, "n-embd": { type: "string" },
  "block-size": { type: "string" }, "vocab-size": { type: "string" }, "local-window": { type: "string" },
  tokens: { type: "string" }, "batch-tokens": { type: "string" }, "micro-batch": { type: "string" },
  lr: { type: "string" }, "min-lr-fraction": { type: "string" }, "warmup-fraction": { type: "string" },
  "weight-decay": { type: "string" }, beta1: { type: "string" }, beta2: { type: "string" }, eps: { type: "string" },
  "grad-clip": { type: "string" }, "eval-every": { type: "string" }, "eval-tokens": { type: "string" }, "final-eval-tokens": { type: "string" },
  "checkpoint-every": { type: "string" }, seed: { type: "string" }, backend: { type: "string" }, threads: { type: "string" },
  resume: { type: "boolean" }, config: { type: "string" },
  schedule: { type: "string" }, "cooldown-fraction": { type: "string" }, "cooldown-shape": { type: "string" }, branches: { type: "string" },
} as const;

/** A flag whose value must be one of `allowed` (undefined when not given). */
function enumFlag<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new UserError(`--${name} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value as T;
}

/** A comma-separated list of positive numbers (undefined when not given). */
function listFlag(name: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").filter((x) => x.trim() !== "").map((x) => {
    const n = Number(x);
    if (!(n > 0) || !Number.isFinite(n)) throw new UserError(`--${name} takes positive numbers separated by commas (e.g. 0.25,0.5), got "${value}"`);
    return n;
  });
}

/** Reads a JSON training config file (a partial TrainConfigInput or a full resolved config.json). */
export function readConfigFile(path: string): TrainConfigInput {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as TrainConfigInput;
  } catch (e) {
    throw new UserError(`cannot read --config ${path}: ${(e as Error).message.split("\n")[0]} (give a JSON file such as a run's config.json)`);
  }
}

/** Merges flags over a config file: flags win, model fields merge field by field. */
export function mergeConfig(base: TrainConfigInput, flags: TrainConfigInput): TrainConfigInput {
  const out: TrainConfigInput = { ...base };
  for (const [k, val] of Object.entries(flags)) if (val !== undefined && k !== "model") (out as Record<string, unknown>)[k] = val;
  out.model = { ...(base.model ?? {}) };
  for (const [k, val] of Object.entries(flags.model ?? {})) if (val !== undefined) (out.model as Record<string, unknown>)[k] = val;
  return out;
}

/** Checks a --backend value before any work starts; returns it (undefined when not given). */
export function backendFlag(value: string | undefined): string | undefined {
  if (value !== undefined && !(BACKEND_NAMES as readonly string[]).includes(value)) {
    throw new UserError(`--backend must be one of ${BACKEND_NAMES.join(", ")}, got "${value}"`);
  }
  return value;
}

/** Maps library errors that users cause to one-line UserErrors. */
export function asUserError(e: unknown): never {
  if (
    e instanceof TrainConfigError || e instanceof DataError || e instanceof ConfigError || e instanceof CheckpointError || e instanceof DivergenceError ||
    e instanceof RunLockedError
  ) {
    throw new UserError(e.message);
  }
  if (e instanceof Error && e.name.endsWith("Error") && /BackendUnavailable|ModelInput|Safetensors|HfImport/.test(e.name)) {
    throw new UserError(e.message);
  }
  throw e;
}

export const trainCommand: Command = {
  name: "train",
  summary: "train one GPT on a prepared dataset (GPT-3 recipe, checkpoints, --resume)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("train", argv, TRAIN_FLAGS);
    const out = v.out;
    if (!out) throw new UserError("--out RUN_DIR is required (where metrics and checkpoints go)");
    // started by a sweep: die with it rather than train on untracked (the sweep resumes the run when re-run)
    const parent = Number(process.env[PARENT_PID_ENV]);
    if (Number.isInteger(parent) && parent > 0) exitWithParent(parent);
    // progress goes to stderr whatever --json does to stdout
    const progress = new Progress("train", process.stderr, false);
    let stop = false;
    const onSigint = () => {
      stop = true;
      progress.log("interrupt: checkpointing and stopping (press Ctrl-C again to abort)");
      process.removeListener("SIGINT", onSigint);
    };
    process.on("SIGINT", onSigint);
    try {
      const { config, summary } = await runTraining({
        config: v.config ? mergeConfig(readConfigFile(v.config), trainConfigFromFlags(v)) : trainConfigFromFlags(v), outDir: out, resume: Boolean(v.resume),
        shouldStop: () => stop,
        onWarning: (m) => progress.log(`train: ${m}`),
        log: (line) => progress.log(line),
        onStart: ({ backend, params, nonEmbedding, steps, resumedAt }) => {
          const info = backend.info();
          progress.log(
            `train: ${si(params)} params (N = ${si(nonEmbedding)} non-embedding), ${steps} steps, backend ${info.name}` +
              `${info.blasCore ? ` (OpenBLAS ${info.blasCore})` : ""}, ${info.threads} threads${resumedAt ? `, resuming at step ${resumedAt}` : ""}`,
          );
        },
        onProgress: (e) => {
          const val = e.valLoss !== undefined ? ` val ${e.valLoss.toFixed(3)}` : "";
          progress.update(e.step, e.steps, `loss ${e.trainLoss.toFixed(3)}${val} ${si(e.tokensPerSec)} tok/s ${si(e.flops)}FLOP`, e.etaSec, e.valLoss !== undefined);
        },
      }).catch(asUserError);
      if (v.json) printJson({ run: out, ...summary, config });
      else {
        console.log(
          `${summary.status === "done" ? "done" : "stopped"}: ${summary.steps} steps, ${si(summary.tokens)} tokens, ${si(summary.flops)}FLOP in ${duration(summary.elapsed)}; ` +
            `final train loss ${summary.finalTrainLoss.toFixed(4)}, val loss ${summary.finalValLoss?.toFixed(4) ?? "n/a"} → ${out}`,
        );
      }
      return 0;
    } finally {
      process.removeListener("SIGINT", onSigint);
    }
  },
};
