/**
 * `scaling-lab fit <kind>`: fits a scaling law (chinchilla, power, frontier, isoflop) to points from a CSV
 * file or from a sweep in the lab store, optionally bootstrapped, with derived quantities and predictions.
 * All math is in src/fit/.
 */
import { readFileSync } from "node:fs";
import { DEFAULT_LAB_DIR, LabError, openLab } from "../store/index.js";
import { DATASETS, datasetPoints, findDataset } from "../published/index.js";
import { type Command, type FlagValues, UserError, intFlag, numberFlag, parseFlags, printJson } from "./command.js";
import {
  type CsvPointOptions,
  FIT_KINDS,
  FitError,
  type FitKind,
  type FitReport,
  type PowerVariable,
  type PredictQuery,
  type ScalingPoint,
  pointsFromCsv,
  runFit,
} from "../fit/index.js";

/** The flags of `fit`. */
const FIT_FLAGS = {
  csv: { type: "string" },
  "n-col": { type: "string" },
  "d-col": { type: "string" },
  "c-col": { type: "string" },
  "loss-col": { type: "string" },
  "run-col": { type: "string" },
  "drop-highest": { type: "string" },
  sweep: { type: "string" },
  dataset: { type: "string" },
  lab: { type: "string" },
  loss: { type: "string" },
  x: { type: "string" },
  irreducible: { type: "boolean" },
  "huber-delta": { type: "string" },
  "group-tolerance": { type: "string" },
  "c-unit": { type: "string" },
  bootstrap: { type: "string" },
  "bootstrap-starts": { type: "string" },
  level: { type: "string" },
  seed: { type: "string" },
  workers: { type: "string" },
  "predict-n": { type: "string" },
  "predict-d": { type: "string" },
  "predict-c": { type: "string" },
} as const;

/** The parsed flags of `fit`. */
type FitFlags = FlagValues<typeof FIT_FLAGS>;

/** A source of points for `fit` (a CSV file or a sweep). `applies` says whether the flags select it. */
interface PointSource {
  /** Short name shown in output ("csv", "sweep"). */
  name: string;
  /** Whether the parsed flags select this source. */
  applies(values: FitFlags): boolean;
  /** Loads the points; `require` lists the quantities the fit kind needs. Throws UserError on bad input. */
  load(values: FitFlags, kind: FitKind, require: ("N" | "D" | "C" | "run")[]): Promise<{ points: ScalingPoint[]; description: string }>;
}

const csvSource: PointSource = {
  name: "csv",
  applies: (v) => v.csv !== undefined,
  async load(v, _kind, require) {
    const file = v.csv!;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new UserError(`cannot read --csv ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (check the path)`);
    }
    const opts: CsvPointOptions = {
      source: file,
      require,
      dropHighest: intFlag("drop-highest", v["drop-highest"], 0, 0),
    };
    if (v["n-col"] !== undefined) opts.n = v["n-col"];
    if (v["d-col"] !== undefined) opts.d = v["d-col"];
    if (v["c-col"] !== undefined) opts.c = v["c-col"];
    if (v["loss-col"] !== undefined) opts.loss = v["loss-col"];
    if (v["run-col"] !== undefined) opts.run = v["run-col"];
    const points = pointsFromCsv(text, opts);
    return { points, description: file };
  },
};

/**
 * Runs of a sweep in the lab store: learning-curve points (every validation of every run) for `frontier`, one point
 * per finished run (final validation loss, tokens and FLOPs trained) for the other kinds. `--loss train` uses the
 * training loss instead.
 */
const sweepSource: PointSource = {
  name: "sweep",
  applies: (v) => v.sweep !== undefined,
  async load(v, kind) {
    const sweep = v.sweep!;
    const labDir = v.lab ?? DEFAULT_LAB_DIR;
    const loss = v.loss === "train" ? "train" : "val";
    let lab;
    try {
      lab = openLab(labDir, { create: false });
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    try {
      const raw = kind === "frontier" ? lab.frontierPoints(sweep, { loss }) : lab.runPoints(sweep, { loss });
      const points: ScalingPoint[] = raw.map((p) => ({ N: p.N, D: p.D, C: p.C, loss: p.loss, run: p.run }));
      const drop = intFlag("drop-highest", v["drop-highest"], 0, 0);
      const kept = drop > 0 ? [...points].sort((a, b) => a.loss - b.loss).slice(0, Math.max(0, points.length - drop)) : points;
      return { points: kept, description: `sweep ${sweep} in ${labDir} (${kind === "frontier" ? "learning curves" : "finished runs"}, ${loss} loss)` };
    } catch (e) {
      if (e instanceof LabError) throw new UserError(e.message);
      throw e;
    } finally {
      lab.close();
    }
  },
};

/** A published dataset built in (src/published/): `--dataset epoch-chinchilla`. */
const datasetSource: PointSource = {
  name: "dataset",
  applies: (v) => v.dataset !== undefined,
  async load(v) {
    const ds = findDataset(v.dataset!);
    const usable = DATASETS.filter((d) => d.hasLosses);
    if (!ds || !ds.hasLosses) {
      throw new UserError(`${ds ? `the ${ds.name} dataset has no per-model losses to fit` : `unknown --dataset "${v.dataset}"`}; datasets: ${usable.map((d) => `${d.name} (${d.description})`).join("; ")}`);
    }
    const points = datasetPoints(ds.name);
    const drop = intFlag("drop-highest", v["drop-highest"], 0, 0);
    const kept = drop > 0 ? [...points].sort((a, b) => a.loss - b.loss).slice(0, Math.max(0, points.length - drop)) : points;
    return { points: kept, description: `published dataset ${ds.name}: ${ds.source}` };
  },
};

const sources: PointSource[] = [datasetSource, csvSource, sweepSource];

const HELP = `scaling-lab fit <kind> — fit a scaling law to measured losses, with bootstrap intervals.

Kinds:
  chinchilla  L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022): Huber δ=1e-3 on log L, L-BFGS from 4,500 starts
  power       L(x) = E + k·x^−α for x = C, N or D (--x); E = 0 unless --irreducible
  frontier    lower envelope of learning curves (columns run, C, loss), then L(C) = E + k·C^−α
  isoflop     Chinchilla approach 2: parabola of loss in log N per compute budget → N_opt ∝ C^a, D_opt ∝ C^b

Points:
  --csv FILE           CSV with a header row (quoted fields allowed)
  --n-col, --d-col, --c-col, --loss-col, --run-col NAME
                       column names (defaults: N/params/"model size", D/tokens, C/flops/compute, loss, run);
                       D = C/(6N) when only C is given, C = 6ND when only D is
  --drop-highest K     drop the K highest-loss points first
  --sweep NAME [--lab DIR] [--loss val|train]
                       read a sweep's runs from the lab store (default ./lab): frontier uses every logged
                       validation point of every run; the other kinds one point per finished run
  --dataset NAME       a published dataset built in: ${DATASETS.filter((d) => d.hasLosses).map((d) => d.name).join(", ")} (sources in
                       presets/published/README.md)

Fit:
  --x C|N|D            power: the variable (default C)
  --irreducible        power/frontier: also fit E ≥ 0
  --huber-delta δ      Huber threshold on log-loss residuals (chinchilla default 1e-3; power: least squares)
  --group-tolerance r  isoflop: C within this relative tolerance share a budget (default 0.1)
  --c-unit flop|pf-day unit of the C column, recorded for forecast --fit (default flop)

Uncertainty and predictions:
  --bootstrap K        K resamples with replacement → percentile intervals (uses all cores)
  --bootstrap-starts warm|grid   chinchilla: refit each resample from the full fit's distinct optima (warm,
                       default) or from the whole 4,500-start grid (slow)
  --level P            interval level (default 0.95);  --seed S (default 0);  --workers W (default: cores)
  --predict-n LIST --predict-d LIST   loss at (N, D) pairs (comma-separated, same length)
  --predict-c LIST     compute-optimal N, D, tokens/param and loss at budgets C (chinchilla, isoflop),
                       or the loss at C (power/frontier); --predict-n alone for a power law in N, etc.

Output: parameters, derived N_opt/D_opt constants, intervals; --json prints one JSON object.

Examples:
  scaling-lab fit chinchilla --csv reference/chinchilla/svg_extracted_data.csv \\
      --n-col "Model Size" --c-col "Training FLOP" --drop-highest 5 --bootstrap 1000 --json
  scaling-lab fit chinchilla --dataset epoch-chinchilla --drop-highest 5
  scaling-lab fit frontier --csv curves.csv --run-col run --c-col flops --c-unit pf-day
  scaling-lab fit isoflop --csv runs.csv --predict-c 1e21,1e23`;

/** The `fit` command. */
export const fitCommand: Command = {
  name: "fit",
  summary: "fit chinchilla / power / frontier / isoflop laws with bootstrap intervals",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags("fit", argv, FIT_FLAGS, true);
    const kind = positionals[0] as FitKind | undefined;
    if (!kind || !FIT_KINDS.includes(kind) || positionals.length > 1) {
      throw new UserError(`give one fit kind: ${FIT_KINDS.join(", ")} (e.g. scaling-lab fit chinchilla --csv runs.csv)`);
    }
    const variable = (values.x ?? "C").toUpperCase() as PowerVariable;
    if (!["C", "N", "D"].includes(variable)) throw new UserError(`--x must be C, N or D, got "${values.x}"`);
    const cUnit = (values["c-unit"] ?? "flop").toLowerCase();
    if (cUnit !== "flop" && cUnit !== "pf-day") throw new UserError(`--c-unit must be flop or pf-day, got "${values["c-unit"]}"`);
    const bootstrapStarts = values["bootstrap-starts"] ?? "warm";
    if (bootstrapStarts !== "warm" && bootstrapStarts !== "grid") {
      throw new UserError(`--bootstrap-starts must be warm or grid, got "${bootstrapStarts}"`);
    }
    const level = numberFlag("level", values.level, 0.95);
    if (!(level > 0 && level < 1)) throw new UserError(`--level must be between 0 and 1 (e.g. 0.95), got ${level}`);
    const huberRaw = values["huber-delta"];
    const huberDelta = huberRaw === undefined ? undefined : numberFlag("huber-delta", huberRaw, 1e-3);
    if (huberDelta !== undefined && !(huberDelta > 0)) throw new UserError(`--huber-delta must be positive, got ${huberRaw}`);
    const groupRaw = values["group-tolerance"];
    const groupTolerance = groupRaw === undefined ? undefined : numberFlag("group-tolerance", groupRaw, 0.1);
    if (groupTolerance !== undefined && !(groupTolerance >= 0)) throw new UserError(`--group-tolerance must be ≥ 0, got ${groupRaw}`);
    const workersRaw = values.workers;
    const predictQueries = parsePredictions(values, kind, variable);

    const source = sources.find((s) => s.applies(values));
    if (!source) throw new UserError("give the points: --csv FILE, --sweep NAME --lab DIR, or --dataset NAME");
    let report: FitReport;
    let description: string;
    try {
      const loaded = await source.load(values, kind, requirements(kind, variable));
      description = loaded.description;
      report = await runFit(kind, loaded.points, {
        variable,
        irreducible: Boolean(values.irreducible),
        ...(huberDelta !== undefined ? { huberDelta } : {}),
        ...(groupTolerance !== undefined ? { groupTolerance } : {}),
        bootstrap: intFlag("bootstrap", values.bootstrap, 0, 0),
        bootstrapStarts,
        seed: intFlag("seed", values.seed, 0, 0),
        level,
        ...(workersRaw !== undefined ? { workers: intFlag("workers", workersRaw, 1, 0) } : {}),
        predict: predictQueries,
      });
    } catch (e) {
      if (e instanceof FitError) throw new UserError(e.message);
      throw e;
    }
    const out = fitReportJson(report, { source: source.name, description, cUnit });
    if (values.json) printJson(out);
    else printHuman(out);
    return 0;
  },
};

function requirements(kind: FitKind, variable: PowerVariable): ("N" | "D" | "C" | "run")[] {
  if (kind === "chinchilla") return ["N", "D"];
  if (kind === "isoflop") return ["N", "C"];
  if (kind === "frontier") return ["C"];
  return [variable];
}

function parseList(name: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const xs = raw.split(",").map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !(x > 0) || !Number.isFinite(x))) {
    throw new UserError(`--${name} must be a comma-separated list of positive numbers, got "${raw}"`);
  }
  return xs;
}

function parsePredictions(values: FitFlags, kind: FitKind, variable: PowerVariable): PredictQuery[] {
  const ns = parseList("predict-n", values["predict-n"]);
  const ds = parseList("predict-d", values["predict-d"]);
  const cs = parseList("predict-c", values["predict-c"]);
  const out: PredictQuery[] = [];
  if (kind === "chinchilla") {
    if ((ns === undefined) !== (ds === undefined)) throw new UserError("give --predict-n and --predict-d together (lists of the same length)");
    if (ns && ds) {
      if (ns.length !== ds.length) throw new UserError(`--predict-n has ${ns.length} values but --predict-d has ${ds.length}; give pairs`);
      ns.forEach((N, i) => out.push({ N, D: ds[i] }));
    }
    for (const C of cs ?? []) out.push({ C });
  } else if (kind === "isoflop") {
    if (ns || ds) throw new UserError("isoflop predicts sizes at a budget: use --predict-c");
    for (const C of cs ?? []) out.push({ C });
  } else {
    const v = kind === "frontier" ? "C" : variable;
    const lists: Record<PowerVariable, number[] | undefined> = { N: ns, D: ds, C: cs };
    for (const k of ["N", "D", "C"] as const) {
      if (k !== v && lists[k]) throw new UserError(`this law is a function of ${v}; use --predict-${v.toLowerCase()}`);
    }
    for (const x of lists[v] ?? []) out.push({ [v]: x });
  }
  return out;
}

/** The JSON object `fit --json` prints (also read back by `forecast --fit`). */
export function fitReportJson(
  report: FitReport,
  meta: { source: string; description: string; cUnit: string },
): Record<string, unknown> {
  const { fit } = report;
  const params: Record<string, unknown> = { ...fit };
  delete params.kind;
  const out: Record<string, unknown> = { kind: report.kind, source: meta.source, input: meta.description };
  if (fit.kind === "power" || fit.kind === "frontier") out.cUnit = fit.variable === "C" ? meta.cUnit : undefined;
  if (report.kind === "chinchilla") {
    // The optimiser's coordinates a, b, e are log A, log B, log E; name them so (a, b are IsoFLOP exponents).
    const { a, b, e } = report.fit;
    delete params.optima;
    delete params.a;
    delete params.b;
    delete params.e;
    Object.assign(out, params, { logA: a, logB: b, logE: e });
    Object.assign(out, {
      G: report.optimal.G,
      nOptExponent: report.optimal.nExponent,
      dOptExponent: report.optimal.dExponent,
      lossExponent: report.optimal.lossExponent,
      K: report.optimal.K,
    });
  } else {
    Object.assign(out, params);
  }
  if (report.bootstrap) {
    const bs = report.bootstrap;
    out.intervals = { ...bs.intervals, ...(report.kind === "chinchilla" ? report.optimalIntervals : {}) };
    out.bootstrap = {
      replicates: bs.replicates,
      failures: bs.failures,
      ...(bs.firstError ? { firstError: bs.firstError } : {}),
      level: bs.level,
      seed: bs.seed,
      medians: bs.medians,
      params: bs.params,
      samples: bs.samples,
    };
  }
  if (report.predictions) out.predictions = report.predictions;
  out.seconds = Math.round(report.seconds * 1000) / 1000;
  return out;
}

function fmt(x: unknown): string {
  if (typeof x !== "number") return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e5 || a < 1e-3 ? x.toExponential(3) : Number(x.toPrecision(4)).toString();
}

function printHuman(o: Record<string, unknown>): void {
  const iv = (o.intervals ?? {}) as Record<string, [number, number]>;
  const level = (o.bootstrap as { level?: number } | undefined)?.level;
  const line = (name: string, label = name) => {
    if (o[name] === undefined) return;
    const i = iv[name];
    console.log(`  ${label.padEnd(14)} ${fmt(o[name]).padStart(11)}${i ? `   [${fmt(i[0])}, ${fmt(i[1])}]` : ""}`);
  };
  console.log(`fit ${o.kind} on ${o.nPoints ?? "?"} points from ${o.input}${level ? ` (${Math.round(level * 100)}% bootstrap intervals)` : ""}`);
  if (o.kind === "chinchilla") {
    console.log("  L(N, D) = E + A/N^alpha + B/D^beta");
    for (const k of ["E", "A", "B", "alpha", "beta"]) line(k);
    console.log("  compute-optimal: N_opt = G·(C/6)^a, D_opt = (C/6)^b / G");
    line("G");
    line("nOptExponent", "a");
    line("dOptExponent", "b");
    console.log(`  objective ${fmt(o.objective)} (Huber δ=${o.huberDelta}, ${o.starts} starts)`);
  } else if (o.kind === "isoflop") {
    console.log("  N_opt = kN·C^a, D_opt = kD·C^b");
    for (const k of ["a", "b", "kN", "kD"]) line(k);
    const groups = o.groups as { C: number; n: number; Nopt: number; lossMin: number; inRange: boolean }[];
    for (const g of groups) {
      console.log(`    C=${fmt(g.C)}  runs=${g.n}  N_opt=${fmt(g.Nopt)}  L_min=${fmt(g.lossMin)}${g.inRange ? "" : "  (extrapolated)"}`);
    }
    for (const s of o.skipped as { C: number; reason: string }[]) console.log(`    skipped C=${fmt(s.C)}: ${s.reason}`);
  } else {
    console.log(`  L(${o.variable}) = E + k·${o.variable}^-alpha${o.cUnit && o.variable === "C" ? `   (C in ${o.cUnit})` : ""}`);
    for (const k of ["E", "k", "alpha", "x0", "r2"]) line(k);
    if (o.kind === "frontier") console.log(`  frontier: ${(o.frontier as unknown[]).length} of ${o.nCandidates} points`);
  }
  for (const p of (o.predictions ?? []) as { query: PredictQuery; loss?: number; N?: number; D?: number; tokensPerParam?: number; intervals?: Record<string, [number, number]> }[]) {
    const q = Object.entries(p.query).map(([k, v]) => `${k}=${fmt(v)}`).join(" ");
    const parts = (["loss", "N", "D", "tokensPerParam"] as const)
      .filter((k) => p[k] !== undefined)
      .map((k) => `${k}=${fmt(p[k])}${p.intervals?.[k] ? ` [${fmt(p.intervals[k]![0])}, ${fmt(p.intervals[k]![1])}]` : ""}`);
    console.log(`  predict ${q}: ${parts.join("  ")}`);
  }
}
