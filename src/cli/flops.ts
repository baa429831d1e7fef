/**
 * `scaling-lab flops`: parameter counts and training compute of a model shape or a GPT-3 preset.
 * Every number comes from src/model/accounting.ts.
 */
import { type Command, type FlagValues, UserError, intFlag, parseFlags, printJson } from "./command.js";
import {
  ACCOUNTING_CONVENTIONS,
  type AccountingConvention,
  type FlopsOptions,
  type GPTShape,
  type ParamChoice,
  type ShapePreset,
  findPreset,
  flopsPerToken,
  gpt3Presets,
  paramCounts,
  trainingFlops,
} from "../model/accounting.js";
import { modelPresets, resolveTrainConfig } from "../train/config.js";

const HELP = `scaling-lab flops — parameters and training FLOPs of a GPT shape (C = 6·N·D [+ attention]).

Usage:
  scaling-lab flops --preset NAME [--tokens D] [accounting flags] [--json]
  scaling-lab flops --n-layer L --n-embd d [--n-head H] [--vocab-size V] [--block-size T] --tokens D [--json]
  scaling-lab flops --preset all            (the GPT-3 family, as in the paper's Table D.1)

Shape:
  --preset NAME        gpt3-small, gpt3-medium, gpt3-large, gpt3-xl, gpt3-2.7b, gpt3-6.7b, gpt3-13b, gpt3-175b, or all;
                       or a training preset of scaling-lab train (nano, micro, cpu-1m, cpu-6m, gpt2-small): its
                       vocabulary from --vocab-size (default 4096, prepare's BPE), its tokens train's default
  --n-layer, --n-embd, --n-head, --vocab-size (default 50257), --block-size (default 2048)
  --tokens D           training tokens (default for presets: 300e9, the GPT-3 runs)

Accounting (default: the "6nd" convention, C = 6 · total parameters · D, attention ignored):
  --convention NAME    6nd | gpt3 (Table D.1: N as the paper reports it) | kaplan (non-embedding N + attention)
  --params WHICH       total | non-embedding | reported   (overrides the convention's N)
  --attention          add Kaplan's attention term 6·nLayer·nCtx·d per token
  --n-ctx T            context length for the attention term (default: block size)
  --local-window W     GPT-3's alternating attention: odd layers see W keys; prints the dense and the
                       alternating per-token counts (Kaplan's, with attention) side by side

Output: N, FLOPs per token, total FLOPs and PF-days (1 PF-day = 8.64e19 FLOP); --json prints one JSON object.

Examples:
  scaling-lab flops --preset gpt3-175b --json
  scaling-lab flops --preset all --convention gpt3
  scaling-lab flops --preset cpu-1m --tokens 5e6
  scaling-lab flops --n-layer 4 --n-embd 128 --vocab-size 256 --block-size 128 --tokens 1e8 --convention kaplan
  scaling-lab flops --n-layer 4 --n-embd 256 --block-size 1024 --tokens 1e9 --local-window 128 --json`;

const PARAM_NAMES: Record<string, ParamChoice> = { total: "total", "non-embedding": "nonEmbedding", reported: "reported" };

/** The flags of `flops`. */
const FLOPS_FLAGS = {
  preset: { type: "string" },
  "n-layer": { type: "string" },
  "n-embd": { type: "string" },
  "n-head": { type: "string" },
  "vocab-size": { type: "string" },
  "block-size": { type: "string" },
  tokens: { type: "string" },
  convention: { type: "string" },
  params: { type: "string" },
  attention: { type: "boolean" },
  "n-ctx": { type: "string" },
  "local-window": { type: "string" },
} as const;

/** The `flops` command. */
export const flopsCommand: Command = {
  name: "flops",
  summary: "parameter counts and training FLOPs / PF-days of a shape or GPT-3 preset",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("flops", argv, FLOPS_FLAGS);
    const opts = accountingFromFlags(values);
    const window = values["local-window"] !== undefined ? intFlag("local-window", values["local-window"], 0, 0) : 0;
    const tokensFlag = values.tokens;
    if (tokensFlag !== undefined && !(Number(tokensFlag) > 0)) {
      throw new UserError(`--tokens must be a positive number of training tokens, got "${tokensFlag}" (e.g. --tokens 3e11)`);
    }
    const preset = values.preset;
    if (preset?.toLowerCase() === "all") {
      const rows = gpt3Presets().map((p) => describe(p.name, p.label, withWindow(p.shape, window), tokensFlag ? Number(tokensFlag) : p.tokens, opts));
      if (values.json) printJson({ convention: opts.name, formula: opts.formula, models: rows });
      else printTable(rows, opts.formula);
      return 0;
    }
    let shape: GPTShape;
    let tokens: number | undefined = tokensFlag ? Number(tokensFlag) : undefined;
    let name = "custom";
    let label = "custom shape";
    let note: string | undefined;
    if (preset) {
      const p: ShapePreset | undefined = findPreset(preset) ?? trainablePreset(preset, values);
      if (!p) {
        const names = gpt3Presets().map((x) => x.name).join(", ");
        throw new UserError(`unknown preset "${preset}" (choose one of: ${names}, all; or a training preset: ${Object.keys(modelPresets()).join(", ")})`);
      }
      shape = p.shape;
      tokens ??= p.tokens;
      name = p.name;
      label = p.label;
      note = p.note;
    } else {
      if (values["n-layer"] === undefined || values["n-embd"] === undefined) {
        throw new UserError("give a shape: --preset NAME, or --n-layer L and --n-embd d (see scaling-lab flops --help)");
      }
      shape = {
        nLayer: intFlag("n-layer", values["n-layer"], 0, 1),
        nEmbd: intFlag("n-embd", values["n-embd"], 0, 1),
        nHead: intFlag("n-head", values["n-head"], 1, 1),
        vocabSize: intFlag("vocab-size", values["vocab-size"], 50257, 1),
        blockSize: intFlag("block-size", values["block-size"], 2048, 1),
      };
      if (tokens === undefined) throw new UserError("--tokens is required for a custom shape (e.g. --tokens 1e9)");
    }
    const row = describe(name, label, withWindow(shape, window), tokens, opts);
    if (values.json) {
      printJson({ ...row, ...(note ? { note } : {}), convention: opts.name, formula: opts.formula });
    } else {
      printTable([row], opts.formula);
      if (note) console.log(`note: ${note}`);
    }
    return 0;
  },
};

/**
 * A training preset of presets/models.json (`scaling-lab train --preset`) as a shape: its vocabulary is the tokenizer's
 * in training, so --vocab-size sets it (default: the preset's own, else prepare's default BPE of 4,096); its tokens are
 * train's default budget for it unless --tokens is given.
 */
function trainablePreset(name: string, values: FlagValues<typeof FLOPS_FLAGS>): ShapePreset | undefined {
  if (!(name in modelPresets())) return undefined;
  const given = values["vocab-size"];
  const vocab = given !== undefined ? intFlag("vocab-size", given, 4096, 1) : modelPresets()[name].vocabSize ?? 4096;
  const config = resolveTrainConfig({ preset: name }, vocab);
  const vocabNote = given !== undefined || modelPresets()[name].vocabSize !== undefined ? "" : `vocabSize ${vocab} is prepare's default BPE (training uses the tokenizer's; set --vocab-size); `;
  return {
    name,
    label: `${name} (training preset)`,
    shape: config.model,
    tokens: config.tokens,
    note: `${vocabNote}tokens ${config.tokens} is scaling-lab train's default budget for ${name} unless --tokens is given`,
  };
}

interface ResolvedAccounting extends FlopsOptions {
  name: string;
  formula: string;
}

function accountingFromFlags(values: FlagValues<typeof FLOPS_FLAGS>): ResolvedAccounting {
  const conv = (values.convention ?? "6nd").toLowerCase();
  if (!(conv in ACCOUNTING_CONVENTIONS)) {
    throw new UserError(`unknown --convention "${conv}" (choose one of: ${Object.keys(ACCOUNTING_CONVENTIONS).join(", ")})`);
  }
  const base = ACCOUNTING_CONVENTIONS[conv as AccountingConvention];
  let params: ParamChoice = base.params;
  let attention: boolean = base.attention;
  let name: string = conv;
  if (values.params !== undefined) {
    const p = PARAM_NAMES[values.params.toLowerCase()];
    if (!p) throw new UserError(`unknown --params "${values.params}" (choose total, non-embedding or reported)`);
    if (p !== params) name += `, params=${values.params}`;
    params = p;
  }
  if (values.attention && !attention) {
    attention = true;
    name += ", +attention";
  }
  const nCtx = values["n-ctx"] !== undefined ? intFlag("n-ctx", values["n-ctx"], 0, 1) : undefined;
  const nWord = params === "nonEmbedding" ? "non-embedding params" : params === "reported" ? "total params as reported" : "total params";
  const formula = `C = (6·N${attention ? " + 6·nLayer·nCtx·d" : ""})·D, N = ${nWord}; PF-days = C / 8.64e19`;
  return { params, attention, ...(nCtx !== undefined ? { nCtx } : {}), name, formula };
}

/** Kaplan's per-token counts of one attention pattern (forward, training = 3 × forward, forward attention). */
type PerToken = ReturnType<typeof flopsPerToken>;

interface Row {
  preset: string;
  label: string;
  shape: GPTShape;
  paramCounts: ReturnType<typeof paramCounts>;
  N: number;
  tokens: number;
  flopsPerToken: number;
  attentionFlopsPerToken: number;
  flops: number;
  pfDays: number;
  /** With --local-window: the per-token counts of the all-dense model and of GPT-3's alternating one. */
  attentionPatterns?: { localWindow: number; dense: PerToken; alternating: PerToken };
}

/** The shape with GPT-3's local window W on its odd layers (W = 0: unchanged, dense). */
function withWindow(shape: GPTShape, W: number): GPTShape {
  return W > 0 ? { ...shape, localWindow: W } : shape;
}

function describe(name: string, label: string, shape: GPTShape, tokens: number, opts: FlopsOptions): Row {
  const t = trainingFlops(shape, tokens, opts);
  const W = shape.localWindow ?? 0;
  const nCtx = opts.nCtx ?? shape.blockSize;
  return {
    preset: name,
    label,
    shape,
    paramCounts: paramCounts(shape),
    N: t.params,
    tokens,
    flopsPerToken: t.flopsPerToken,
    attentionFlopsPerToken: t.attentionFlopsPerToken,
    flops: t.flops,
    pfDays: t.pfDays,
    ...(W > 0
      ? { attentionPatterns: { localWindow: W, dense: flopsPerToken({ ...shape, localWindow: 0 }, nCtx), alternating: flopsPerToken(shape, nCtx) } }
      : {}),
  };
}

function printTable(rows: Row[], formula: string): void {
  const head = ["model", "nLayer", "d", "total params", "non-emb params", "N used", "tokens", "FLOPs", "PF-days"];
  const body = rows.map((r) => [
    r.label,
    String(r.shape.nLayer),
    String(r.shape.nEmbd),
    sig(r.paramCounts.total),
    sig(r.paramCounts.nonEmbedding),
    sig(r.N),
    sig(r.tokens),
    r.flops.toExponential(2),
    sig(r.pfDays),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(head));
  for (const b of body) console.log(line(b));
  console.log(formula);
  for (const r of rows) {
    const a = r.attentionPatterns;
    if (!a) continue;
    const who = rows.length > 1 ? `${r.label}: ` : "";
    console.log(
      `${who}training FLOPs/token with attention (Kaplan): dense ${sig(a.dense.training)} ` +
        `(attention ${sig(3 * a.dense.attention)}), alternating dense/banded W=${a.localWindow} ${sig(a.alternating.training)} ` +
        `(attention ${sig(3 * a.alternating.attention)})`,
    );
  }
}

function sig(x: number): string {
  if (x >= 1e4) return x.toExponential(3);
  return Number(x.toPrecision(3)).toString();
}

