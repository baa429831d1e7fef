/**
 * `scaling-lab runs`: lists the runs of a lab (a readable table, `--json`, or `--csv`), and imports a run folder
 * written by `scaling-lab train`, or a run bundle exported by the browser playground, into the lab. Also the helpers other commands use to open a lab with one-line
 * errors ({@link openLabForCli}, {@link withLab}).
 */
import { runAccounting } from "../model/accounting.js";
import { existsSync, statSync } from "node:fs";
import { type Command, UserError, parseFlags, printJson } from "./command.js";
import {
  DEFAULT_LAB_DIR,
  type Lab,
  LabError,
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
  --id ID            the imported run's id (default: the folder's name)

Columns: shape is nLayer·nEmbd·nHead (ctx blockSize); N = non-embedding parameters; D = planned tokens;
C = planned training FLOPs; "final val"/"best val" are validation losses in nats/token; wall = training time.

Several processes may use one lab at once; a write waits up to 10 s (SCALING_LAB_BUSY_TIMEOUT_MS) for another
process's lock. Listing never waits for writers.

Examples:
  scaling-lab runs --lab lab --sweep cpu-xs-curves
  scaling-lab runs --csv > runs.csv
  scaling-lab runs --import out/my-run --id my-run --json
  scaling-lab runs --import ~/Downloads/scaling-lab-playground.jsonl --lab lab   # then scaling-lab report --lab lab`;

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
    });
    if (values.json && values.csv) throw new UserError("choose one output: --json or --csv");
    const labDir = values.lab;
    const sweep = values.sweep;

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
        if (sweep !== undefined && !lab.getSweep(sweep)) lab.ensureSweep({ name: sweep, plan: "import" });
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
