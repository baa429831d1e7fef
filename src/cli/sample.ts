/** `scaling-lab sample` — generate text from a trained model, streaming to stdout. */
import { createBackend } from "../engine/index.js";
import { generate } from "../model/sample.js";
import { loadModel } from "../train/load-model.js";
import { type Command, intFlag, numberFlag, parseFlags, printJson, UserError } from "./command.js";
import { asUserError, windowOption } from "./train.js";

const HELP = `scaling-lab sample — generate text from a run (or an HF GPT-2 folder)

Usage: scaling-lab sample --model RUN_DIR [--prompt TEXT] [--max-tokens 200] [--temperature 0.8] [--top-k 40]
                          [--top-p 0.95] [--seed 0] [--local-window W] [--backend auto|native|wasm|js|webgpu] [--json]

Tokens stream to stdout as they are drawn; --temperature 0 is greedy. Without --prompt, generation starts from
the end-of-text token (a fresh document). The model runs with the attention it was trained with (GPT-3's
alternating dense/banded layers when its run used --local-window); --local-window W overrides the window of the
odd layers (0 = all dense; an HF GPT-2 model is dense only).

Example:
  scaling-lab sample --model runs/cpu-1m --prompt "The whale" --max-tokens 120 --temperature 0.8`;

export const sampleCommand: Command = {
  name: "sample",
  summary: "generate text from a model (temperature, top-k, top-p, seed)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("sample", argv, {
      model: { type: "string" }, prompt: { type: "string" }, "max-tokens": { type: "string" },
      temperature: { type: "string" }, "top-k": { type: "string" }, "top-p": { type: "string" }, seed: { type: "string" },
      backend: { type: "string" }, "local-window": { type: "string" },
    });
    if (!v.model) throw new UserError("--model RUN_DIR is required");
    const opts = {
      maxTokens: intFlag("max-tokens", v["max-tokens"], 200, 1),
      temperature: numberFlag("temperature", v.temperature, 0.8),
      topK: intFlag("top-k", v["top-k"], 40, 0),
      topP: numberFlag("top-p", v["top-p"], 0.95),
      seed: intFlag("seed", v.seed, 0, 0),
    };
    if (opts.temperature < 0) throw new UserError("--temperature must be ≥ 0 (0 = greedy)");
    if (!(opts.topP > 0 && opts.topP <= 1)) throw new UserError("--top-p must be in (0, 1]");
    const backend = await createBackend(v.backend ?? "auto").catch(asUserError);
    try {
      let loaded;
      try {
        loaded = loadModel(v.model, backend, windowOption(v));
      } catch (e) {
        asUserError(e);
      }
      const { model, tokenizer } = loaded;
      const prompt = v.prompt ? tokenizer.encode(v.prompt) : [tokenizer.eotId];
      if (prompt.length === 0) prompt.push(tokenizer.eotId);
      if (!v.json && v.prompt) process.stdout.write(v.prompt);
      const generated: number[] = [];
      let printed = "";
      const ids = await generate(model, prompt, { ...opts, stopToken: tokenizer.eotId }, (id) => {
        if (v.json) return;
        generated.push(id);
        const text = tokenizer.decode(generated.filter((t) => t !== tokenizer.eotId));
        // hold back a trailing U+FFFD: it may be the first bytes of a character still being generated
        const safe = text.endsWith("\uFFFD") ? text.slice(0, -1) : text;
        if (safe.length > printed.length && safe.startsWith(printed)) {
          process.stdout.write(safe.slice(printed.length));
          printed = safe;
        }
      }).catch(asUserError);
      const text = tokenizer.decode(ids.filter((t) => t !== tokenizer.eotId));
      if (v.json) printJson({ prompt: v.prompt ?? "", text, tokens: ids, ...opts });
      else {
        if (text.length > printed.length) process.stdout.write(text.slice(printed.length));
        process.stdout.write("\n");
      }
      return 0;
    } finally {
      backend.dispose();
    }
  },
};
