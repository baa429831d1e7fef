/** `scaling-lab demo` — the whole scaling experiment on the built-in corpus, end to end. */
import { DEFAULT_LAB_DIR } from "../store/index.js";
import { demoSummary, runDemo } from "../studies/scaling.js";
import { type Command, intFlag, numberFlag, parseFlags, printJson } from "./command.js";
import { parseTokenCount } from "../data/mixture.js";
import { Progress, si } from "./progress.js";
import { sweepProgress, sweepUserError } from "./sweep.js";

const HELP = `scaling-lab demo — the scaling experiment end to end on the built-in corpus (≈15 minutes on 2 cores)

Usage: scaling-lab demo [--lab DIR] [--tokens 4e6] [--vocab 2048] [--ladder cpu-xs] [--backend auto|native|wasm|js|webgpu]
                        [--threads N] [--cost-per-hour 0.10] [--json]

Steps: prepare the built-in corpus (State of the Union addresses + Moby-Dick, offline) with a BPE tokenizer →
train the cpu-xs ladder (8 sizes, 12.8k–1.5M non-embedding parameters, the same tokens each) → predict the
largest model's loss from the 7 others BEFORE training it → train it and score the prediction → fit the L(C)
frontier to every learning curve (R²) → forecast, with the fitted law, the compute to halve the largest model's
loss → write LAB/report/demo.json, demo.txt and the report (index.html, every chart as SVG and PNG).
Re-running reuses the prepared data and every finished run.

--json ends the output with one JSON line: runs, wallSeconds, frontierR2, predictionErrorPct, and the rest.

Example:
  npx scaling-lab demo --lab lab`;

export const demoCommand: Command = {
  name: "demo",
  summary: "the whole experiment on the built-in corpus: ladder → prediction → frontier → forecast",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("demo", argv, {
      lab: { type: "string" }, tokens: { type: "string" }, vocab: { type: "string" }, ladder: { type: "string" },
      backend: { type: "string" }, threads: { type: "string" }, sizes: { type: "string" }, "cost-per-hour": { type: "string" },
    });
    const progress = new Progress("demo", process.stderr, false, (x) => `${si(x)}FLOP`);
    const result = await runDemo({
      lab: v.lab ?? DEFAULT_LAB_DIR,
      tokens: v.tokens ? parseTokenCount(v.tokens) : undefined,
      vocab: v.vocab ? intFlag("vocab", v.vocab, 2048, 257) : undefined,
      ladder: v.ladder,
      backend: v.backend,
      threads: v.threads ? intFlag("threads", v.threads, 1, 1) : undefined,
      sizes: v.sizes ? v.sizes.split(",") : undefined,
      costPerHour: numberFlag("cost-per-hour", v["cost-per-hour"], 0.1),
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
