/** `scaling-lab export`: a sweep's points and fitted laws, with provenance, as JSON or CSV (src/analysis/export.ts). */
import { writeFileSync } from "node:fs";
import { exportCsv, exportSweep } from "../analysis/export.js";
import { DEFAULT_LAB_DIR } from "../store/index.js";
import { type Command, UserError, parseFlags, printJson } from "./command.js";
import { withLab } from "./runs.js";

const HELP = `scaling-lab export — a sweep's points and fitted laws, with their provenance, as JSON or CSV

Usage: scaling-lab export --sweep NAME [--lab DIR] [--format json|csv] [--out FILE] [--loss val|train] [--json]

What it holds: the scaling-lab version; the sweep (plan, ladder); every run (N, D, C, final losses, where it came
from: the imported file, the published dataset, or its run folder); every logged point (run, step, N, D, C, loss);
and the laws fitted to them, each with its form, constants, R² and the runs it used: the compute frontier L(C)
always, L(N) when the finished runs share D, Chinchilla's L(N, D) when their D varies. A fit the data does not allow
is listed with the reason.

Flags:
  --sweep NAME        the sweep (required)
  --lab DIR           the lab directory (default ${DEFAULT_LAB_DIR})
  --format json|csv   json (default): one object; csv: one table, a "law" row per law then a "point" row per point
  --out FILE          write there instead of stdout
  --loss val|train    which loss (default: validation, or training when the sweep logged no validation loss)
  --json              with --out: print one JSON line {out, format, sweep, laws, points}

Examples:
  scaling-lab export --sweep hf --lab lab > hf.json
  scaling-lab export --sweep hf --lab lab --format csv --out hf.csv`;

/** The `export` command. */
export const exportCommand: Command = {
  name: "export",
  summary: "a sweep's points and fitted laws with provenance, as JSON or CSV",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("export", argv, {
      lab: { type: "string" }, sweep: { type: "string" }, format: { type: "string" }, out: { type: "string" }, loss: { type: "string" },
    });
    const sweep = v.sweep as string | undefined;
    if (!sweep) throw new UserError("--sweep NAME is required (scaling-lab runs --lab DIR lists the sweeps)");
    const format = (v.format as string | undefined) ?? "json";
    if (format !== "json" && format !== "csv") throw new UserError(`--format must be json or csv, got "${format}"`);
    const loss = v.loss as string | undefined;
    if (loss !== undefined && loss !== "val" && loss !== "train") throw new UserError(`--loss must be val or train, got "${loss}"`);
    const x = await withLab(v.lab as string | undefined, { readonly: true }, (lab) => exportSweep(lab, sweep, loss ? { loss } : {}));
    const text = format === "csv" ? exportCsv(x) : JSON.stringify(x) + "\n";
    const out = v.out as string | undefined;
    if (out === undefined) {
      process.stdout.write(text);
      return 0;
    }
    try {
      writeFileSync(out, text);
    } catch (e) {
      throw new UserError(`cannot write --out ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check the path`);
    }
    const summary = { out, format, sweep, laws: x.laws.map((l) => l.name), points: x.points.length };
    if (v.json) printJson(summary);
    else console.log(`wrote ${out}: ${x.laws.length} laws (${summary.laws.join(", ")}) and ${x.points.length} points of sweep ${sweep}`);
    return 0;
  },
};
