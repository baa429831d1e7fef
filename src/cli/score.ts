/** `scaling-lab score` — mean next-token loss of a model on a text file or a token list. */
import { createBackend } from "../engine/index.js";
import { scoreTokens } from "../model/score.js";
import { loadModel } from "../train/load-model.js";
import { type Command, parseFlags, printJson, readFlagFile, UserError } from "./command.js";
import { asUserError, windowOption } from "./train.js";

const HELP = `scaling-lab score — mean next-token loss (nats/token and bits/byte) of a model

Usage: scaling-lab score --model RUN_DIR|HF_GPT2_DIR (--text FILE | --tokens 11,114,67) [--local-window W]
                         [--backend auto|native|wasm|js|webgpu] [--json]

The model is a scaling-lab run directory (or checkpoint file) or a Hugging Face GPT-2 folder (config.json +
model.safetensors). Texts longer than the context are scored with overlapping windows; every token after the first
is predicted once. A run's model keeps the attention it was trained with (GPT-3's alternating dense/banded layers
after train --local-window); --local-window W overrides the odd layers' window (0 = all dense; HF GPT-2 is dense
only).

Example:
  scaling-lab score --model runs/cpu-1m --text notes.txt
  scaling-lab score --model ./gpt2 --tokens 11,114,67 --json`;

export const scoreCommand: Command = {
  name: "score",
  summary: "mean next-token loss of a model (ours or HF GPT-2) on text or tokens",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("score", argv, {
      model: { type: "string" }, text: { type: "string" }, tokens: { type: "string" }, backend: { type: "string" },
      "local-window": { type: "string" },
    });
    if (!v.model) throw new UserError("--model DIR is required (a run directory or an HF GPT-2 folder)");
    if (!v.text === !v.tokens) throw new UserError("give exactly one of --text FILE or --tokens 1,2,3");
    const textBytes = v.text ? readFlagFile("text", v.text) : null; // a wrong path is reported before any work
    const backend = await createBackend(v.backend ?? "auto").catch(asUserError);
    try {
      const { model, tokenizer, kind } = (() => {
        try {
          return loadModel(v.model, backend, windowOption(v));
        } catch (e) {
          return asUserError(e);
        }
      })();
      let ids: number[];
      let text: string | null = null;
      if (v.tokens) {
        ids = v.tokens.split(",").map((s) => Number(s.trim()));
        const bad = ids.findIndex((x) => !Number.isInteger(x) || x < 0 || x >= model.config.vocabSize);
        if (bad >= 0) throw new UserError(`--tokens entry ${bad + 1} ("${v.tokens.split(",")[bad]}") is not a token id in [0, ${model.config.vocabSize})`);
      } else {
        const file = v.text!; // exactly one of --text and --tokens, checked above
        try {
          text = new TextDecoder("utf-8", { fatal: true }).decode(textBytes!);
        } catch {
          throw new UserError(`--text ${file} is not UTF-8 text; convert it first, e.g. iconv -f latin1 -t utf-8 ${file} > ${file}.utf8`);
        }
        ids = tokenizer.encode(text);
      }
      if (ids.length < 2) throw new UserError(`need at least 2 tokens to score, got ${ids.length} (give a longer text)`);
      const r = await scoreTokens(model, ids).catch(asUserError);
      const scoredBytes = Buffer.byteLength(tokenizer.decode(ids.slice(1)), "utf8");
      const bitsPerByte = scoredBytes > 0 ? r.totalNats / Math.LN2 / scoredBytes : null;
      const out = { model: v.model, kind, localWindow: model.config.localWindow ?? 0, loss: r.loss, bitsPerByte, predictions: r.predictions, tokens: ids.length, backend: backend.name };
      if (v.json) printJson(out);
      else console.log(`loss ${r.loss.toFixed(4)} nats/token${bitsPerByte !== null ? `, ${bitsPerByte.toFixed(4)} bits/byte` : ""} over ${r.predictions} predictions (${kind} model, ${backend.name} backend)`);
      return 0;
    } finally {
      backend.dispose();
    }
  },
};
