/** `scaling-lab predict` — predict the largest run's loss of a sweep from the smaller ones, before training it. */
import { DEFAULT_LAB_DIR, LabError, openLab } from "../store/index.js";
import { FitError } from "../fit/index.js";
import { type PredictLaw, PredictError, predictHeldOut } from "../sweep/predict.js";
import { type Command, intFlag, numberFlag, parseFlags, printJson, UserError } from "./command.js";
import { si } from "./progress.js";

const HELP = `scaling-lab predict — predict a held-out run's final loss from the rest of its sweep

Usage: scaling-lab predict --sweep NAME [--lab DIR] [--law params|compute|chinchilla] [--below C]
                           [--min-layers 2] [--bootstrap 200] [--level 0.9] [--json]

Fits a scaling law to the finished runs of the sweep except the held-out one — by default the largest model, or
every run with C ≥ --below — and predicts its final validation loss with a bootstrap interval. Run it before the
largest run has trained (predict before train); once it has, the error of the prediction is reported too.
Runs with fewer than --min-layers layers (default 2) are left out of the fit when enough deeper runs remain:
Kaplan et al. (2020) found that 1-layer models fall off the common trend in non-embedding N.
Laws: params  L(N) = E + (N0/N)^α (default; a curves sweep shares D)
      compute L(C) = E + (C0/C)^α
      chinchilla L(N, D) = E + A/N^α + B/D^β (needs runs with varied D: grid or isoflop)

Example:
  scaling-lab predict --sweep demo --lab lab`;

export const predictCommand: Command = {
  name: "predict",
  summary: "predict a sweep's largest run from the smaller ones (with interval and error)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("predict", argv, {
      sweep: { type: "string" }, lab: { type: "string" }, law: { type: "string" }, below: { type: "string" },
      bootstrap: { type: "string" }, level: { type: "string" }, seed: { type: "string" }, "min-layers": { type: "string" },
    });
    if (!v.sweep) throw new UserError("--sweep NAME is required");
    const law = (v.law ?? "params") as PredictLaw;
    if (!["params", "compute", "chinchilla"].includes(law)) throw new UserError(`--law must be params, compute or chinchilla, got "${law}"`);
    const level = numberFlag("level", v.level, 0.9);
    if (!(level > 0 && level < 1)) throw new UserError("--level must be between 0 and 1");
    let lab;
    try {
      lab = openLab(v.lab ?? DEFAULT_LAB_DIR, { create: false });
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    try {
      const r = await predictHeldOut(lab, v.sweep, {
        law, level, bootstrap: intFlag("bootstrap", v.bootstrap, 200, 0),
        seed: intFlag("seed", v.seed, 0, 0),
        minLayers: intFlag("min-layers", v["min-layers"], 2, 1),
        belowCompute: v.below !== undefined ? numberFlag("below", v.below, 0) : undefined,
      }).catch((e) => {
        if (e instanceof PredictError || e instanceof FitError || e instanceof LabError) throw new UserError(e.message);
        throw e;
      });
      const params: Record<string, number> = {};
      for (const [k, x] of Object.entries(r.report.fit)) {
        if (typeof x === "number" && !["objective", "nPoints"].includes(k)) params[k] = x;
      }
      if (v.json) {
        printJson({ sweep: r.sweep, law: r.law, fitPoints: r.fitPoints, fitRuns: r.fitRuns, excluded: r.excluded, params, predictions: r.predictions });
        return 0;
      }
      console.log(`predict ${r.sweep}: ${r.law} law fitted to ${r.fitPoints} finished runs${r.excluded ? ` (${r.excluded} one-layer runs left out; --min-layers 1 keeps them)` : ""}: ${Object.entries(params).map(([k, x]) => `${k}=${Number(x.toPrecision(4))}`).join(" ")}`);
      for (const p of r.predictions) {
        const iv = p.interval ? ` [${p.interval[0].toFixed(4)}, ${p.interval[1].toFixed(4)}] (${Math.round(level * 100)}%)` : "";
        const actual = p.actual !== null ? `; actual ${p.actual.toFixed(4)}, error ${p.errorPct! >= 0 ? "+" : ""}${p.errorPct!.toFixed(2)}%${p.inInterval ? " (inside the interval)" : " (outside the interval)"}` : " (not trained yet)";
        console.log(`  ${p.run} (N=${si(p.N)}, D=${si(p.D)}): predicted ${p.predicted.toFixed(4)}${iv}${actual}`);
      }
      return 0;
    } finally {
      lab.close();
    }
  },
};
