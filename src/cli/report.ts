/** `scaling-lab report` — the self-contained HTML report of a sweep, with every chart as SVG and PNG. */
import { DEFAULT_LAB_DIR, LabError } from "../store/index.js";
import { ReportError, ReportInputError, overlayLaws, writeReport } from "../report/index.js";
import { type Command, UserError, intFlag, numberFlag, parseFlags, printJson } from "./command.js";

const HELP = `scaling-lab report — write a sweep's report: OUT/index.html (self-contained, opens offline) plus every chart
as OUT/<chart>.svg and OUT/<chart>.png

Usage: scaling-lab report [--lab DIR] [--sweep NAME] [--out DIR] [--cost-per-hour 0.10] [--target-loss L]
                          [--budget USD] [--halving-months 16] [--bootstrap 200] [--overlay LAW[,LAW]] [--json]

Charts: loss vs compute for every run with the fitted frontier (GPT-3 Figure 3.1 view); final loss vs
non-embedding N with L(N); IsoFLOP profiles (isoflop sweeps); the held-out prediction against the actual loss;
few-shot accuracy vs compute (when evaluated); the forecast (frontier extrapolated to the target loss; cost vs
year against the budget). A chart the data does not allow (one run, no evals, an empty lab) is replaced by a note.

Flags:
  --lab DIR             the lab directory (default ${DEFAULT_LAB_DIR})
  --sweep NAME          the sweep to report (default: the newest)
  --out DIR             output directory (default LAB/report)
  --cost-per-hour USD   price of the machine that trained the runs, for the forecast (default 0.10)
  --target-loss L       forecast target in nats/token (default: half the largest run's loss on the law)
  --budget USD          forecast budget (default 1e9)
  --halving-months M    months for the cost of a capability to halve (default 16)
  --bootstrap N         bootstrap resamples of the held-out prediction (default 200; 0 skips it)
  --overlay LIST        draw published laws over your points (dotted red): kaplan-c, gpt3-c, kaplan-n
                        (laws of C on loss vs compute, of N on loss vs parameters; sources in
                        presets/published/README.md; they were fitted on other data, so compare slopes)
  --json                one JSON line: out, index, sweep, charts [{name, svg, png, note}]

Example:
  scaling-lab report --lab lab --out lab/report && xdg-open lab/report/index.html
  scaling-lab report --lab lab --sweep hf --overlay kaplan-c,gpt3-c`;

/** The `report` command. */
export const reportCommand: Command = {
  name: "report",
  summary: "HTML report of a sweep with every chart as SVG and PNG (offline)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("report", argv, {
      lab: { type: "string" }, sweep: { type: "string" }, out: { type: "string" }, "cost-per-hour": { type: "string" },
      "target-loss": { type: "string" }, budget: { type: "string" }, "halving-months": { type: "string" }, bootstrap: { type: "string" },
      overlay: { type: "string" },
    });
    const overlays = v.overlay !== undefined ? v.overlay.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean) : [];
    const unknown = overlays.filter((o) => !overlayLaws().includes(o));
    if (unknown.length) throw new UserError(`--overlay "${unknown[0]}" is not a published law of C or N; use one of ${overlayLaws().join(", ")}`);
    const positive = (name: "cost-per-hour" | "target-loss" | "budget" | "halving-months"): number | undefined => {
      const raw = v[name];
      if (raw === undefined) return undefined;
      const x = numberFlag(name, raw, NaN);
      if (!(x > 0)) throw new UserError(`--${name} must be a positive number, got "${raw}"`);
      return x;
    };
    const result = await writeReport({
      lab: v.lab ?? DEFAULT_LAB_DIR,
      sweep: v.sweep,
      out: v.out,
      costPerHour: positive("cost-per-hour"),
      targetLoss: positive("target-loss"),
      budgetUSD: positive("budget"),
      halvingMonths: positive("halving-months"),
      bootstrap: intFlag("bootstrap", v.bootstrap, 200, 0),
      overlays,
      log: (l) => process.stderr.write(l + "\n"),
    }).catch((e: unknown) => {
      if (e instanceof LabError || e instanceof ReportError || e instanceof ReportInputError) throw new UserError(e.message);
      throw e;
    });
    if (!result.fontsFound) {
      process.stderr.write("report: DejaVu Sans not found, PNG text uses system fonts (Debian: apt-get install fonts-dejavu-core)\n");
    }
    if (v.json) {
      printJson(result);
    } else {
      for (const c of result.charts) {
        process.stdout.write(c.svg ? `${c.name}: ${c.svg}, ${c.png}\n` : `${c.name}: not drawn (${c.note})\n`);
      }
      process.stdout.write(`report: ${result.index}\n`);
    }
    return 0;
  },
};
