/**
 * `scaling-lab prepare`: corpus → tokenizer.json + token shards + manifest.json (see src/data/prepare.ts).
 */
import { DataError } from "../data/errors.js";
import { mixtureEpochs, parseTokenCount, parseWeights } from "../data/mixture.js";
import { prepareDataset } from "../data/prepare.js";
import { splitSourceList } from "../data/glob.js";
import { registerArithmeticSource } from "../evals/index.js";
import { type Command, UserError, intFlag, numberFlag, parseFlags, printJson } from "./command.js";

const HELP = `scaling-lab prepare — tokenize a corpus into shards for training

Usage: scaling-lab prepare --source SRC[,SRC...] --out DIR [flags]

Sources (comma-separated; each one is a mixture component):
  builtin                  the offline corpus: State of the Union addresses + Moby Dick (~12 MB)
  builtin:sotu, builtin:moby-dick   one of the two
  PATH                     a .txt/.md, .jsonl/.ndjson or .parquet file, a folder, or a quoted glob ("data/**/*.jsonl")
  NAME=PATH                the same, named NAME in the manifest

Flags:
  --source LIST            what to read (required)
  --out DIR                output directory (required): DIR/tokenizer.json, DIR/manifest.json, DIR/*.bin
  --tokenizer KIND         bpe (train one, default), gpt2 (GPT-2's 50,257 tokens), bytes (256), or a tokenizer.json
  --vocab N                vocab size of a trained BPE, end-of-text included (default 4096)
  --weights W1,W2,...      mixture weights, one per source (default: proportional to size)
  --val-fraction F         share of each source's text held out as whole documents (default 0.01)
  --text-field NAME        JSONL field / Parquet column with the text (default text)
  --doc-chars N            cut plain-text files into documents of about N characters (default 65536, 0 = never)
  --tokenizer-train-mb N   train BPE on at most N MB (million characters) of text (default: all)
  --shard-tokens N         largest shard file in tokens (default 67108864)
  --plan-tokens D          also report the epochs each source sees in a run of D tokens (e.g. 50M)
  --seed N                 seed of the train/validation split (default 0)
  --json                   print one JSON object instead of a table

Example:
  scaling-lab prepare --source builtin --tokenizer bpe --vocab 4096 --out data/builtin
  scaling-lab prepare --source web=crawl/,books=books/ --weights 0.7,0.3 --tokenizer gpt2 --out data/mix --plan-tokens 300M`;

/** The `prepare` command. */
export const prepareCommand: Command = {
  name: "prepare",
  summary: "tokenize a corpus (builtin, txt, jsonl, parquet; mixtures) into shards with a manifest",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    registerArithmeticSource(); // --source arithmetic:TASKS[:PROBLEMS]
    const { values } = parseFlags("prepare", argv, {
      source: { type: "string" },
      out: { type: "string" },
      tokenizer: { type: "string" },
      vocab: { type: "string" },
      weights: { type: "string" },
      "val-fraction": { type: "string" },
      "text-field": { type: "string" },
      "doc-chars": { type: "string" },
      "tokenizer-train-mb": { type: "string" },
      "shard-tokens": { type: "string" },
      "plan-tokens": { type: "string" },
      seed: { type: "string" },
    });
    const { source, out } = values;
    if (!source) throw new UserError("--source is required; e.g. --source builtin (see scaling-lab prepare --help)");
    if (!out) throw new UserError("--out is required; e.g. --out data/builtin (see scaling-lab prepare --help)");
    const tokenizer = values.tokenizer ?? "bpe";
    const vocab = intFlag("vocab", values.vocab, 4096, 1);
    if (values.vocab !== undefined && tokenizer !== "bpe") {
      throw new UserError(`--vocab only applies to --tokenizer bpe (${tokenizer} has a fixed vocab); drop --vocab or use --tokenizer bpe`);
    }
    const valFraction = numberFlag("val-fraction", values["val-fraction"], 0.01);
    if (!(valFraction >= 0 && valFraction < 1)) throw new UserError(`--val-fraction must be in [0, 1), got ${valFraction}`);
    const json = values.json === true;
    try {
      const sourceCount = splitSourceList(source).length;
      const weights = values.weights !== undefined ? parseWeights(values.weights, sourceCount) : undefined;
      const planned = values["plan-tokens"] !== undefined ? parseTokenCount(values["plan-tokens"]) : undefined;
      const trainMb = numberFlag("tokenizer-train-mb", values["tokenizer-train-mb"], 0);
      if (trainMb < 0) throw new UserError(`--tokenizer-train-mb must be ≥ 0, got ${trainMb}`);
      const result = await prepareDataset({
        sources: source,
        weights,
        tokenizer,
        vocabSize: vocab,
        outDir: out,
        valFraction,
        textField: values["text-field"] ?? "text",
        seed: intFlag("seed", values.seed, 0),
        docChars: intFlag("doc-chars", values["doc-chars"], 65536),
        shardTokens: intFlag("shard-tokens", values["shard-tokens"], 1 << 26, 1),
        tokenizerTrainChars: Math.round(trainMb * 1e6),
        onProgress: (m) => process.stderr.write(`prepare: ${m}\n`),
      });
      const m = result.manifest;
      const epochs =
        planned !== undefined
          ? mixtureEpochs(m.sources.map((s) => ({ name: s.name, tokens: s.tokens.train, weight: s.weight })), planned)
          : undefined;
      if (json) {
        printJson({
          out: result.outDir,
          tokenizer: m.tokenizer,
          dtype: m.dtype,
          tokens: m.tokens,
          documents: m.documents,
          bytes: m.bytes,
          unigram: m.unigram,
          sources: m.sources.map((s, i) => ({ ...s, ...(epochs ? { plannedTokens: epochs[i].sampledTokens, epochs: epochs[i].epochs } : {}) })),
          shards: m.shards.length,
          plannedTokens: planned ?? null,
          seconds: result.seconds,
        });
      } else {
        console.log(formatSummary(result.outDir, m, epochs, planned, result.seconds.total));
      }
      return 0;
    } catch (e) {
      if (e instanceof DataError) throw new UserError(e.message);
      throw e;
    }
  },
};

function formatSummary(
  out: string,
  m: import("../data/shards.js").DataManifest,
  epochs: ReturnType<typeof mixtureEpochs> | undefined,
  planned: number | undefined,
  seconds: number,
): string {
  const lines: string[] = [];
  lines.push(`${out}: ${m.tokenizer.kind} tokenizer, vocab ${m.tokenizer.vocabSize} (end-of-text ${m.tokenizer.eotId}, hash ${m.tokenizer.hash}), ${m.dtype} shards`);
  const header = ["source", "weight", "docs train/val", "tokens train", "tokens val", "bytes/token"];
  if (epochs) header.push(`epochs @ ${fmtCount(planned!)}`);
  const rows = m.sources.map((s, i) => {
    const row = [
      s.name,
      s.weight.toFixed(3),
      `${s.documents.train}/${s.documents.val}`,
      String(s.tokens.train),
      String(s.tokens.val),
      (s.bytes.train / Math.max(1, s.tokens.train)).toFixed(2),
    ];
    if (epochs) row.push(epochs[i].epochs.toFixed(2));
    return row;
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (r: string[]) => r.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join("  ");
  lines.push(fmt(header), ...rows.map(fmt));
  lines.push(`total: ${m.tokens.train} train + ${m.tokens.val} val tokens in ${m.shards.length} shard(s), ${seconds.toFixed(1)} s`);
  const ce = m.unigram.valCrossEntropy;
  lines.push(`unigram baseline: train entropy ${m.unigram.trainEntropy.toFixed(3)} nats/token` + (ce !== null ? `, val cross-entropy ${ce.toFixed(3)}` : ""));
  return lines.join("\n");
}

function fmtCount(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(2)}k`;
  return String(n);
}
