/**
 * `scaling-lab runs`: lists the runs of a lab (a readable table, `--json`, or `--csv`), and imports a run folder
 * written by `scaling-lab train`, or a run bundle exported by the browser playground, into the lab. Also the helpers other commands use to open a lab with one-line
 * errors ({@link openLabForCli}, {@link withLab}).
 */
import { runAccounting } from "../model/accounting.js";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, UserError, parseFlags, printJson } from "./command.js";
import { importMismatch } from "../sweep/sweep.js";
import {
  DEFAULT_LAB_DIR,
  Lab,
  LAB_DB_FILE,
  LabError,
  readRunFolder,
  type OpenLabOptions,
  RUN_STATUSES,
  type RunStatus,
  importRunBundle,
  openLab,
  runsCsv,
  runsTable,
} from "../store/index.js";

const HELP = `scaling-lab runs — list the runs stored in a lab (sweeps, shapes, N, D, C, status, losses, wall time).

Usage:
  scaling-lab runs [--lab DIR] [--sweep NAME] [--status S[,S...]] [--json | --csv]
  scaling-lab runs --import RUN_FOLDER [--id ID] [--sweep NAME] [--lab DIR] [--json]
  scaling-lab runs --import BUNDLE.jsonl [--sweep NAME] [--lab DIR] [--json]
  scaling-lab runs --rebuild [--lab DIR] [--force] [--json]

Flags:
  --lab DIR          the lab directory (default ${DEFAULT_LAB_DIR}); it must exist
  --sweep NAME       only this sweep's runs
  --status LIST      only runs with these statuses: ${RUN_STATUSES.join(", ")} (comma-separated)
  --json             one JSON object {lab, runs:[...]} on one line (every stored field, the resolved config included)
  --csv              CSV with a header line (one row per run; the config is left to --json)
  --import DIR       store a run folder written by scaling-lab train (config.json, metrics.jsonl, summary.json)
                     as a run of the lab (creating the lab if needed); its status follows the folder.
                     A FILE is a run bundle exported by the playground page (scaling-lab playground): its runs
                     are unpacked into LAB/runs/<id>/ and stored as a sweep (the bundle's, or --sweep NAME)
  --id ID            the imported run's id (default: the folder's name); an id the lab already has for another
                     folder is refused. Into a --sweep, a run on other data, vocabulary, context, batch or recipe
                     than the sweep's runs is refused (its fits would mix two studies)
  --rebuild          rebuild a damaged or lost lab.sqlite from the run folders under DIR/runs/ (metrics, summaries,
                     endpoints, and each run's sweep from its lab-run.json); the old file is kept beside it as
                     lab.sqlite.damaged-TIME. Eval results and analyses are not in run folders: run them again.
                     A healthy lab is left alone unless --force

Columns: shape is nLayer·nEmbd·nHead (ctx blockSize); N = non-embedding parameters; D = planned tokens;
C = planned training FLOPs; "final val"/"best val" are validation losses in nats/token; wall = training time.

Several processes may use one lab at once; a write waits up to 10 s (SCALING_LAB_BUSY_TIMEOUT_MS) for another
process's lock. Listing never waits for writers.

Examples:
  scaling-lab runs --lab lab --sweep cpu-xs-curves
  scaling-lab runs --csv > runs.csv
  scaling-lab runs --import out/my-run --id my-run --json
  scaling-lab runs --import ~/Downloads/scaling-lab-playground.jsonl --lab lab   # then scaling-lab report --lab lab
  scaling-lab runs --rebuild --lab lab`;

/** Turns a store error into the CLI's one-line UserError; other errors pass through unchanged. */
export function labUserError(e: unknown): unknown {
  return e instanceof LabError ? new UserError(e.message) : e;
}

/** Opens a lab for a command; store errors (locked, newer version, not found, ...) become one-line UserErrors. */
export function openLabForCli(dir: string | undefined, opts: OpenLabOptions = {}): Lab {
  try {
    return openLab(dir ?? DEFAULT_LAB_DIR, opts);
  } catch (e) {
    throw labUserError(e);
  }
}

/**
 * Opens a lab, runs `fn` with it, and closes it; store errors thrown by `fn` become one-line UserErrors too.
 * @example await withLab(values.lab, { create: false }, (lab) => lab.listRuns({ sweep }))
 */
export async function withLab<T>(dir: string | undefined, opts: OpenLabOptions, fn: (lab: Lab) => T | Promise<T>): Promise<T> {
  const lab = openLabForCli(dir, opts);
  try {
    return await fn(lab);
  } catch (e) {
    throw labUserError(e);
  } finally {
    lab.close();
  }
}

/** `runs --rebuild`: see the help. A lab that opens and passes SQLite's integrity check is left alone unless `force`. */
function rebuild(dir: string, force: boolean, json: boolean): number {
  if (!force && existsSync(join(dir, LAB_DB_FILE))) {
    let healthy: { runs: number } | null = null;
    try {
      const lab = openLab(dir, { create: false });
      try {
        if (lab.integrityCheck() === "ok") healthy = { runs: lab.listRuns().length };
      } finally {
        lab.close();
      }
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
    }
    if (healthy) {
      throw new UserError(`the lab ${resolve(dir)} is healthy (${healthy.runs} runs); --rebuild is for a damaged or lost lab.sqlite (pass --force to rebuild it from the run folders anyway)`);
    }
  }
  const result = (() => {
    try {
      return Lab.rebuild(dir, { accounting: runAccounting }, (line) => process.stderr.write(line + "\n"));
    } catch (e) {
      throw labUserError(e);
    }
  })();
  if (json) printJson({ lab: resolve(dir), ...result });
  else {
    console.log(
      `rebuilt ${resolve(dir)}: ${result.runs.length} run${result.runs.length === 1 ? "" : "s"} in ${result.sweeps.length} sweep${result.sweeps.length === 1 ? "" : "s"}` +
        `${result.skipped.length ? `, ${result.skipped.length} folder(s) skipped` : ""}${result.movedTo ? `; the old database is kept as ${result.movedTo}` : ""}` +
        "; eval results and analyses are not in run folders: run them again",
    );
  }
  return 0;
}

function parseStatuses(raw: string): RunStatus[] {
  const list = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    if (!RUN_STATUSES.includes(s as RunStatus)) {
      throw new UserError(`--status "${s}" is not a run status; use one or more of ${RUN_STATUSES.join(", ")}`);
    }
  }
  return list as RunStatus[];
}

function folderName(dir: string): string {
  const parts = dir.replace(/[\\/]+$/, "").split(/[\\/]/);
  return parts[parts.length - 1] || dir;
}

/** The `runs` command. */
export const runsCommand: Command = {
  name: "runs",
  summary: "list the runs of a lab (table, --json, --csv); import a trained run folder or a playground export",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("runs", argv, {
      lab: { type: "string" },
      sweep: { type: "string" },
      status: { type: "string" },
      csv: { type: "boolean" },
      import: { type: "string" },
      id: { type: "string" },
      rebuild: { type: "boolean" },
      force: { type: "boolean" },
    });
    if (values.json && values.csv) throw new UserError("choose one output: --json or --csv");
    const labDir = values.lab;
    const sweep = values.sweep;

    if (values.rebuild) {
      if (values.import !== undefined || values.csv || values.status || sweep !== undefined || values.id !== undefined) {
        throw new UserError("--rebuild takes --lab, --force and --json only");
      }
      return rebuild(labDir ?? DEFAULT_LAB_DIR, Boolean(values.force), Boolean(values.json));
    }
    if (values.force) throw new UserError("--force goes with --rebuild");
    if (values.import !== undefined) {
      const folder = values.import;
      if (values.csv || values.status) throw new UserError("--import takes --id, --sweep, --lab and --json only");
      if (existsSync(folder) && statSync(folder).isFile()) {
        if (values.id !== undefined) throw new UserError("--id goes with a run folder; a bundle's runs keep their ids (rename the sweep with --sweep)");
        const runs = await withLab(labDir, {}, (lab) => importRunBundle(lab, folder, { accounting: runAccounting, ...(sweep !== undefined ? { sweep } : {}) }));
        if (values.json) printJson({ imported: runs });
        else console.log(`imported ${runs.length} runs of ${folder} into sweep ${runs[0].sweep}: ${runs.map((r) => `${r.name} (${r.status})`).join(", ")}`);
        return 0;
      }
      const id = values.id ?? folderName(folder);
      const run = await withLab(labDir, {}, (lab) => {
        const existing = sweep !== undefined ? lab.getSweep(sweep) : undefined;
        if (existing) {
          const why = importMismatch(existing, lab.listRuns({ sweep: existing.name }), readRunFolder(resolve(folder)).config);
          if (why) throw new UserError(`cannot import ${folder} into sweep ${existing.name}: ${why}; import it without --sweep, or into a sweep of its own`);
        }
        if (sweep !== undefined && !existing) lab.ensureSweep({ name: sweep, plan: "import" });
        return lab.importRunFolder(id, folder, { accounting: runAccounting, ...(sweep !== undefined ? { sweep } : {}) });
      });
      if (values.json) printJson({ imported: run });
      else console.log(`imported ${folder} as run ${run.id} (${run.status}, ${run.tokensDone} tokens, final val ${run.finalValLoss ?? "-"})`);
      return 0;
    }
    if (values.id !== undefined) throw new UserError("--id goes with --import DIR");

    const status = values.status !== undefined ? parseStatuses(values.status) : undefined;
    const { dir, runs } = await withLab(labDir, { create: false }, (lab) => {
      if (sweep !== undefined && !lab.getSweep(sweep)) {
        const known = lab.listSweeps().map((s) => s.name);
        throw new UserError(`no sweep "${sweep}" in ${lab.dir} (${known.length ? "known: " + known.join(", ") : "it has no sweeps yet"}); check --sweep and --lab`);
      }
      const filter: { sweep?: string; status?: RunStatus[] } = {};
      if (sweep !== undefined) filter.sweep = sweep;
      if (status !== undefined) filter.status = status;
      return { dir: lab.dir, runs: lab.listRuns(filter) };
    });

    if (values.json) {
      printJson({ lab: dir, runs });
    } else if (values.csv) {
      process.stdout.write(runsCsv(runs));
    } else if (runs.length === 0) {
      console.log(`no runs in ${dir}${sweep !== undefined ? ` for sweep ${sweep}` : ""}${status ? ` with status ${status.join("/")}` : ""}`);
    } else {
      console.log(runsTable(runs));
      const counts = RUN_STATUSES.map((s) => [s, runs.filter((r) => r.status === s).length] as const).filter(([, n]) => n > 0);
      console.log(`\n${runs.length} run${runs.length === 1 ? "" : "s"} in ${dir}: ${counts.map(([s, n]) => `${n} ${s}`).join(", ")}`);
    }
    return 0;
  },
};
