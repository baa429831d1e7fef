/**
 * `scaling-lab contamination`: how many evaluation items of a task occur in a prepared training set (GPT-3 §4
 * style pattern search over the decoded shards; see src/evals/contamination.ts).
 */
import { DataError } from "../data/errors.js";
import { type ContaminationReport, EvalError, type EvalTask, auditContamination, resolveTasks } from "../evals/index.js";
import { type Command, UserError, intFlag, parseFlags, printJson } from "./command.js";

const HELP = `scaling-lab contamination — search a prepared training set for the evaluation items of tasks

Usage: scaling-lab contamination --task NAME[,NAME...] --data DIR [--n 2000] [--seed 1234] [--split train|val|all] [--json]

The items are the ones scaling-lab eval scores with the same --n and --seed. Their patterns are searched in the
decoded shards of DIR (made by scaling-lab prepare), at word boundaries:
  arithmetic  "48 plus 76", "48 + 76 =" (also * × x for times) and the answer form "What is 48 plus 76?\\n\\nA: 124";
              1DC: "(9 + 8) * 2" and its answer form
  words       the scrambled word ("lyinevitab") and "lyinevitab = inevitably"
  FILE.jsonl  the item's context + completion
An item counts as found when any of its patterns occurs; the report gives the fraction found.

Flags:
  --task LIST     task names or .jsonl files, comma-separated (required)
  --data DIR      a prepared data directory (required)
  --n N           items per task (default 2000)
  --seed N        seed of the items (default 1234, as scaling-lab eval)
  --split S       train (default), val, or all
  --json          one JSON object on one line: the first task's report at the top level, "results" for all

Example:
  scaling-lab contamination --task arithmetic-2da,arithmetic-3da --data data/builtin-arith --n 2000`;

/** The `contamination` command. */
export const contaminationCommand: Command = {
  name: "contamination",
  summary: "fraction of a task's evaluation items found in prepared training data (GPT-3-style audit)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("contamination", argv, {
      task: { type: "string" },
      data: { type: "string" },
      n: { type: "string" },
      seed: { type: "string" },
      split: { type: "string" },
    });
    const { task: taskList, data } = v;
    if (!taskList) throw new UserError("--task NAME is required (e.g. --task arithmetic-2da)");
    if (!data) throw new UserError("--data DIR is required (a directory made by scaling-lab prepare)");
    const split = v.split ?? "train";
    if (split !== "train" && split !== "val" && split !== "all") throw new UserError(`--split must be train, val or all, got "${split}"`);
    const n = intFlag("n", v.n, 2000, 1);
    const seed = intFlag("seed", v.seed, 1234, 0);
    const reports: ContaminationReport[] = [];
    try {
      const tasks: EvalTask[] = resolveTasks(taskList);
      for (const task of tasks) {
        const { test } = task.split(n, seed, 0);
        reports.push(auditContamination(data, task, test, { split, onProgress: (m) => process.stderr.write(`contamination: ${m}\n`) }));
      }
    } catch (e) {
      if (e instanceof EvalError || e instanceof DataError) throw new UserError(e.message);
      throw e;
    }
    if (v.json) {
      printJson(reports.length === 1 ? reports[0] : { ...reports[0], results: reports });
      return 0;
    }
    for (const r of reports) {
      console.log(`${r.task}: ${r.itemsFound} of ${r.n} items found (${(100 * r.fraction).toFixed(2)}%) in ${r.tokens} ${r.split} tokens, ${r.occurrences} occurrences`);
      for (const ex of r.examples) console.log(`  ${JSON.stringify(ex.pattern)} × ${ex.count}`);
    }
    return 0;
  },
};
