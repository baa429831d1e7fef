/**
 * `scaling-lab eval --icl`: the in-context learning curve (loss at each position of the context, on the
 * validation split) and score of every finished run of a sweep, computed once and stored in the lab; or of one
 * run directory (printed, not stored).
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createBackend } from "../engine/index.js";
import { loadCheckpoint } from "../train/checkpoint.js";
import { type InContextEntry, computeIclCurve, inContextCurves } from "../studies/in-context.js";
import { paramCounts } from "../model/accounting.js";
import { UserError, printJson } from "./command.js";
import { si } from "./progress.js";
import { labUserError, openLabForCli } from "./runs.js";
import { asUserError } from "./train.js";

/** Flags of the --icl mode. */
export interface IclFlags {
  sweep?: string;
  lab?: string;
  model?: string;
  backend?: string;
  maxTokens: number;
  force: boolean;
  json: boolean;
}

const fmt = (x: number) => x.toFixed(4);

function printTable(rows: InContextEntry[]): void {
  if (rows.length === 0) return;
  const r0 = rows[0];
  console.log(
    `in-context learning score = mean loss at context lengths ${r0.bands.late.join("–")} minus at ${r0.bands.early.join("–")} ` +
      `(T = ${r0.T}; negative: later tokens are predicted better)`,
  );
  const head = ["run", "N", "val loss", "early", "late", "score", "windows"];
  const body = rows.map((r) => [r.run, si(r.N), fmt(r.meanLoss), fmt(r.early), fmt(r.late), fmt(r.score), String(r.windows)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(head));
  for (const b of body) console.log(line(b));
}

/** Runs `eval --icl` (see the module comment); resolves to the exit status. */
export async function runIclEval(f: IclFlags): Promise<number> {
  if (!f.model === !f.sweep) throw new UserError("eval --icl takes one of --sweep NAME --lab DIR (every finished run, stored) or --model RUN_DIR (one run, printed)");
  const progress = (l: string) => process.stderr.write(l + "\n");
  let rows: InContextEntry[];
  if (f.sweep) {
    if (!f.lab) throw new UserError("--sweep needs --lab DIR (the lab that holds the sweep)");
    const lab = openLabForCli(f.lab, { create: false });
    try {
      if (!lab.getSweep(f.sweep)) {
        throw new UserError(`no sweep "${f.sweep}" in ${lab.dir}; known sweeps: ${lab.listSweeps().map((s) => s.name).join(", ") || "none"}`);
      }
      rows = await inContextCurves(lab, f.sweep, { backend: f.backend ?? "auto", maxTokens: f.maxTokens, force: f.force, log: progress }).catch((e) => {
        throw labUserError(e);
      });
      if (rows.length === 0) throw new UserError(`sweep "${f.sweep}" has no finished run with a checkpoint yet; run scaling-lab sweep --sweep ${f.sweep} to finish it`);
    } catch (e) {
      return asUserError(e);
    } finally {
      lab.close();
    }
  } else {
    const dir = resolve(f.model!);
    if (!existsSync(join(dir, "checkpoint.safetensors"))) throw new UserError(`no checkpoint.safetensors in ${dir}; --icl --model needs a scaling-lab run directory (its config names the data)`);
    const backend = await createBackend(f.backend ?? "auto").catch(asUserError);
    try {
      const config = loadCheckpoint(dir).config;
      const { windows, ...curve } = await computeIclCurve(dir, backend, resolve(config.data), f.maxTokens).catch(asUserError);
      rows = [{ ...curve, run: f.model!, size: f.model!, N: paramCounts(config.model).nonEmbedding, C: 0, windows, computed: true }];
    } finally {
      backend.dispose();
    }
  }
  if (f.json) {
    printJson({
      ...(f.sweep ? { sweep: f.sweep } : { model: f.model }),
      iclScore: rows.map((r) => r.score),
      runs: rows.map(({ losses, ...r }) => ({ ...r, losses: losses.map((x) => Number(x.toFixed(5))) })),
    });
  } else {
    printTable(rows);
  }
  return 0;
}
