/**
 * `scaling-lab predict` — analyse a sweep (src/analysis/) and print its leave-future-out prediction of the largest run
 * with the error at every extrapolation distance; the analysis is stored in the lab, where report and serve read it.
 */
import { type AnalysisOptions, type ExtrapolationRow, type SweepAnalysis, analyzeSweep } from "../analysis/index.js";
import { FitError } from "../fit/index.js";
import { DEFAULT_LAB_DIR, type Lab, LabError, openLab } from "../store/index.js";
import { sweepAnalysisSettings } from "../sweep/ladder.js";
import { formatStamp, versionStamp } from "../util/version.js";
import { type Command, intFlag, numberFlag, parseFlags, printJson, UserError } from "./command.js";
import { si } from "./progress.js";

const HELP = `scaling-lab predict — predict a sweep's largest run from endpoints with at most 1/K of its compute

Usage: scaling-lab predict --sweep NAME [--lab DIR] [--k 10] [--target RUN] [--params total|non-embedding]
                           [--min-tokens D] [--bootstrap 200] [--level 0.9] [--seed 0] [--json]

Analyses the sweep (the analysis report and serve show) and stores it in the lab: Chinchilla's
L(N, D) = E + A/N^α + B/D^β is fitted only to the cooled-down endpoints of other runs with at most 1/K of the
target's compute (leave-future-out), and the target's final validation loss is predicted with a 90% interval
(bootstrap by run plus the fit's scatter). The same is done at every distance the sweep allows (K = 2, 4, 10, …):
the table shows how the error grows with the extrapolation factor (target compute ÷ largest compute in the fit).
Run it before the target has trained (predict before train); once it has, each prediction is scored.
The target is the run with the most planned compute unless --target names one. K, the N the laws use and the
early endpoints left out default to the sweep's ladder's analysis settings (presets/ladders.json).

Flags:
  --sweep NAME         the sweep to analyse (required)
  --lab DIR            the lab directory (default ${DEFAULT_LAB_DIR})
  --k K                fit on endpoints with C ≤ C_target / K (default: the ladder's, else 10)
  --target RUN         the run to predict (default: the sweep's run with the most planned compute)
  --params P           N of the laws: total (every parameter) or non-embedding (default: the ladder's, else total)
  --min-tokens D       leave endpoints with fewer tokens out of the fits (default: the ladder's fraction of D)
  --bootstrap N        bootstrap replicates, at least 1 (default 200)
  --level L            interval level (default 0.9)
  --json               one JSON line: sweep, target, K, paramCount, minTokens, law, level, prediction (the row
                       at K), table (every distance), chinchilla, notes, version, stored

Example:
  scaling-lab predict --sweep demo --lab lab --k 10`;

/** The `predict` command. */
export const predictCommand: Command = {
  name: "predict",
  summary: "predict a sweep's largest run from endpoints with ≤ 1/K of its compute (stored analysis)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("predict", argv, {
      sweep: { type: "string" }, lab: { type: "string" }, k: { type: "string" }, target: { type: "string" }, params: { type: "string" },
      "min-tokens": { type: "string" }, bootstrap: { type: "string" }, level: { type: "string" }, seed: { type: "string" },
      law: { type: "string" }, below: { type: "string" }, "min-layers": { type: "string" },
    });
    if (!v.sweep) throw new UserError("--sweep NAME is required (scaling-lab runs --lab DIR lists the sweeps)");
    if (v.law !== undefined && v.law !== "chinchilla") {
      throw new UserError(`--law ${v.law} is gone: predict fits L(N, D) on the sweep's cooled-down endpoints; drop --law (scaling-lab fit ${v.law === "compute" ? "frontier" : "power"} fits the other laws)`);
    }
    if (v.below !== undefined) throw new UserError("--below is gone: predict holds out one run; name it with --target RUN and set the compute ratio with --k");
    if (v["min-layers"] !== undefined) throw new UserError("--min-layers is gone: the analysis leaves out early endpoints instead; use --min-tokens D");
    const level = numberFlag("level", v.level, 0.9);
    if (!(level > 0 && level < 1)) throw new UserError(`--level must be between 0 and 1, got "${v.level}"`);
    const K = v.k !== undefined ? numberFlag("k", v.k, 10) : undefined;
    if (K !== undefined && !(K >= 1)) throw new UserError(`--k must be at least 1 (fit on endpoints with C ≤ C_target / K), got "${v.k}"`);
    const params = v.params === undefined ? undefined : v.params === "total" ? "total" : v.params === "non-embedding" ? "nonEmbedding" : null;
    if (params === null) throw new UserError(`--params must be total or non-embedding, got "${v.params}"`);
    const minTokens = v["min-tokens"] !== undefined ? numberFlag("min-tokens", v["min-tokens"], 0) : undefined;
    if (minTokens !== undefined && !(minTokens >= 0)) throw new UserError(`--min-tokens must be a token count ≥ 0, got "${v["min-tokens"]}"`);
    const bootstrap = intFlag("bootstrap", v.bootstrap, 200, 1);
    const seed = intFlag("seed", v.seed, 0, 0);
    let lab: Lab;
    try {
      lab = openLab(v.lab ?? DEFAULT_LAB_DIR, { create: false });
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    try {
      const sweep = lab.getSweep(v.sweep);
      if (!sweep) {
        const known = lab.listSweeps().map((s) => s.name);
        throw new UserError(`no sweep "${v.sweep}" in the lab ${lab.dir} (${known.length ? `known: ${known.join(", ")}` : "it has no sweeps yet"}); check --sweep`);
      }
      const runs = lab.listRuns({ sweep: sweep.name });
      if (runs.length === 0) throw new UserError(`sweep ${sweep.name} has no runs; run scaling-lab sweep --sweep ${sweep.name} first`);
      if (v.target !== undefined && !runs.some((r) => r.id === v.target)) {
        throw new UserError(`no run "${v.target}" in sweep ${sweep.name}; --target takes a run id (scaling-lab runs --sweep ${sweep.name} lists them)`);
      }
      const settings = sweepAnalysisSettings(sweep);
      const opts: AnalysisOptions = {
        K: K ?? settings.K ?? 10, paramCount: params ?? settings.paramCount ?? "total", minTokens: minTokens ?? settings.minTokens,
        bootstrap, level, seed,
      };
      const version = formatStamp(versionStamp());
      const a = await analyzeSweep(lab, sweep.name, { ...opts, version, target: v.target, store: false }).catch((e) => {
        if (e instanceof FitError || e instanceof LabError) throw new UserError(e.message);
        throw e;
      });
      const p = a.prediction;
      if (!p?.main) {
        // nothing is stored: the lab keeps the analysis it had
        const why = (a.notes.find((n) => n.startsWith("prediction")) ?? a.notes.join("; ")).replace(/^prediction at K = [^:]+: /, "");
        const most = p?.table.length ? Math.max(...p.table.map((r) => r.K)) : null;
        throw new UserError(`no prediction at K = ${opts.K}: ${why}${most !== null ? `; lower --k (this sweep allows K ≤ ${most})` : ""}`);
      }
      lab.saveAnalysis(sweep.name, version, a);
      if (v.json) {
        printJson({
          sweep: a.sweep, target: p.run, K: p.main.K, paramCount: a.paramCount, minTokens: a.minTokens, law: p.law, level: p.level,
          N: p.N, D: p.D, C: p.C, prediction: p.main, table: p.table, chinchilla: a.chinchilla, notes: a.notes, version, stored: true,
        });
      } else {
        process.stdout.write(predictionText(a, lab.dir));
      }
      return 0;
    } finally {
      lab.close();
    }
  },
};

/** The readable prediction and its table. */
function predictionText(a: SweepAnalysis, labDir: string): string {
  const p = a.prediction!;
  const m = p.main!;
  const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}%`;
  const outcome = (r: ExtrapolationRow) =>
    r.actual !== null ? `actual ${r.actual.toFixed(4)}, error ${pct(r.errorPct!)} (${r.inInterval ? "inside" : "outside"} the interval)` : "not trained yet";
  const lines = [
    `predict ${a.sweep}: ${p.law} on cooled-down endpoints, N = ${a.paramCount === "total" ? "every parameter" : "non-embedding parameters"}` +
      (a.minTokens > 0 ? `, endpoints with D ≥ ${si(a.minTokens)}` : ""),
    `  ${p.run} (N=${si(p.N)}, D=${si(p.D)}, C=${si(p.C)}FLOP): predicted ${m.predicted.toFixed(4)} [${m.interval[0].toFixed(4)}, ${m.interval[1].toFixed(4)}] ` +
      `(${Math.round(p.level * 100)}%) from ${m.fitPoints} endpoints of ${m.fitRuns} runs with ≤ 1/${m.K} of its compute ` +
      `(${m.extrapolationFactor.toFixed(1)}× extrapolation); ${outcome(m)}`,
    "  error by extrapolation distance:",
    `  ${"K".padStart(6)} ${"extrap.".padStart(8)} ${"fit".padStart(12)} ${"predicted".padStart(9)} ${"interval".padStart(18)} ${"actual".padStart(7)} ${"error".padStart(8)}  inside`,
    ...p.table.map((r) =>
      `  ${String(r.K).padStart(6)} ${`${r.extrapolationFactor.toFixed(1)}×`.padStart(8)} ${`${r.fitPoints} (${r.fitRuns} runs)`.padStart(12)} ` +
      `${r.predicted.toFixed(4).padStart(9)} ${`[${r.interval[0].toFixed(3)}, ${r.interval[1].toFixed(3)}]`.padStart(18)} ` +
      `${(r.actual?.toFixed(4) ?? "-").padStart(7)} ${(r.errorPct !== null ? pct(r.errorPct) : "-").padStart(8)}  ${r.inInterval === null ? "-" : r.inInterval ? "yes" : "no"}`,
    ),
    ...(a.chinchilla
      ? [`  Chinchilla ${a.chinchilla.law}; compute-optimal ${a.chinchilla.tokensPerParam.toFixed(1)} tokens/parameter ` +
          `[${a.chinchilla.tokensPerParamInterval[0].toFixed(1)}, ${a.chinchilla.tokensPerParamInterval[1].toFixed(1)}] (${Math.round(a.chinchilla.level * 100)}%)`]
      : []),
    ...a.notes.map((n) => `  note: ${n}`),
    `  stored in ${labDir} (scaling-lab report --lab ${labDir} --sweep ${a.sweep} draws it)`,
    "",
  ];
  return lines.join("\n");
}
