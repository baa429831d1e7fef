/**
 * Vega-Lite specs of every chart, built from {@link ReportData} sections. Browser-safe (no Node imports): the
 * report renders these specs to SVG/PNG in Node, and the dashboard page imports the compiled file and renders the
 * same specs in the browser (recomputing the forecast charts when a slider moves).
 *
 * Conventions: log–log axes with SI-prefixed ticks (1k, 10M, 1G), padded data domains, a sans-serif font,
 * sizes coloured on one sequential scale and listed in increasing N.
 */
import { num, powerEquation, si, usd, year } from "./format.js";
import { type LabForecast, costInYear, lossAt } from "./forecast-math.js";
import type {
  CurvesData,
  EmergenceData,
  EvalsData,
  ForecastData,
  FrontierData,
  IclData,
  IsoflopData,
  OverlayData,
  ParamsLawData,
  PredictionData,
  ReportData,
  SizeKey,
} from "./types.js";

/** A Vega-Lite specification (checked by vega-lite when compiled). */
export type VlSpec = Record<string, unknown>;

/** The font stack of every chart (DejaVu Sans is the one the PNG renderer loads). */
export const FONT = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif";

/** Plot width in pixels (the legend adds to it). */
export const CHART_WIDTH = 560;
/** Plot height in pixels (the title adds to it). */
export const CHART_HEIGHT = 340;

/** One chart of the report: its spec, or the note shown instead. */
export interface ChartEntry {
  /** File stem: OUT/<name>.svg and .png. */
  name: string;
  title: string;
  /** What the chart shows, for the HTML page. */
  caption: string;
  spec: VlSpec | null;
  /** Why the chart is missing (when spec is null). */
  note: string | null;
}

const CONFIG = {
  font: FONT,
  background: "white",
  padding: 12,
  view: { stroke: "#ccc" },
  title: { fontSize: 15, subtitleFontSize: 11.5, subtitleColor: "#444", anchor: "start", offset: 10 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", gridColor: "#e8e8e8", labelOverlap: "greedy", labelSeparation: 6 },
  legend: { labelFontSize: 11, titleFontSize: 11.5, titleFontWeight: "normal", symbolSize: 90, labelLimit: 320 },
};

/** Colours of sizes: viridis without its pale yellow end. */
const SIZE_SCHEME = { name: "viridis", extent: [0, 0.88] };

/** Every chart of a report, in page order: a spec where the data allows, a note otherwise. */
export function reportCharts(d: ReportData): ChartEntry[] {
  const frontier = d.frontier.ok ? d.frontier.data : null;
  const out: ChartEntry[] = [
    entry(
      "loss-vs-compute",
      "Loss vs compute, every run",
      "Learning curves of every run against training compute (log–log), coloured by model size (the GPT-3 Figure 3.1 view). " +
        "Dots: the cooled-down endpoints (each run's end and its WSD cooldown branches), ringed where they form the lower envelope; " +
        "dashed: the compute frontier E + A·C^−α fitted to that envelope. Dotted grey: Kaplan et al.'s method, a power law on the " +
        "envelope of mid-schedule learning-curve points, which lie above what a run of that length reaches once cooled down.",
      d.curves.ok ? { ok: true, data: lossComputeSpec(d.curves.data, d.sizes, frontier, undefined, overlaysOf(d, "C")) } : d.curves,
      frontier ? null : d.frontier.ok ? null : d.frontier.note,
    ),
    entry(
      "loss-vs-params",
      "Final loss vs parameters",
      "Final validation loss of each finished run against its non-embedding parameters N, with the fitted L(N).",
      d.paramsLaw.ok ? { ok: true, data: lossParamsSpec(d.paramsLaw.data, d.sizes, overlaysOf(d, "N")) } : d.paramsLaw,
    ),
  ];
  if (d.isoflop) {
    out.push(entry(
      "isoflop",
      "IsoFLOP profiles",
      "Final loss against N for each compute budget, a parabola in log N per budget, and its minimum N_opt (Chinchilla approach 2).",
      d.isoflop.ok ? { ok: true, data: isoflopSpec(d.isoflop.data) } : d.isoflop,
    ));
  }
  out.push(
    entry(
      "prediction",
      "Held-out prediction",
      "The largest model's loss predicted before it was trained, leave-future-out: Chinchilla's L(N, D) fitted only to the " +
        "endpoints of other runs with at most 1/K of its compute (coloured by their tokens D), drawn at the target's D, " +
        "with the prediction interval (bootstrap by run plus the fit's scatter) against the loss it reached.",
      d.prediction.ok ? { ok: true, data: predictionSpec(d.prediction.data) } : d.prediction,
    ),
    entry(
      "extrapolation",
      "Prediction error vs extrapolation distance",
      "The same prediction from endpoints with at most 1/K of the target's compute, for every K the sweep allows: its error " +
        "against the extrapolation factor (the target's compute ÷ the largest compute in the fit), with the interval as " +
        "a bar. The table below lists each row.",
      d.prediction.ok ? extrapolationSection(d.prediction.data) : d.prediction,
    ),
    entry(
      "icl-curves",
      "In-context learning: loss vs position in the context",
      "Validation loss at each position of the context (log axis), averaged over the validation set, one line per size (Kaplan et al. 2020, Fig. 20): a curve that keeps falling means the model uses more of its context. Shaded: the bands the score compares.",
      d.icl.ok ? { ok: true, data: iclCurvesSpec(d.icl.data, d.sizes) } : d.icl,
    ),
    entry(
      "icl-score",
      "In-context learning score vs size",
      "The in-context learning score (Olsson et al. 2022): mean loss late in the context minus early in it (more negative = more in-context learning), against model size.",
      d.icl.ok ? { ok: true, data: iclScoreSpec(d.icl.data, d.sizes) } : d.icl,
    ),
    entry(
      "accuracy-vs-compute",
      "Few-shot accuracy vs compute",
      "Few-shot accuracy of each run on each task against its training compute (emergence shows as a late rise).",
      d.evals.ok ? { ok: true, data: emergenceSpec(d.evals.data) } : d.evals,
    ),
  );
  if (d.emergence) {
    const e = d.emergence;
    out.push(
      entry(
        "emergence-exact-vs-smooth",
        "Exact match beside the smooth metric, vs compute",
        "Left: exact match (the sharp metric) with 95% Wilson intervals; right: the mean log-likelihood of the correct answer on the same items (Schaeffer et al. 2023: a smooth metric shows the progress that exact match hides).",
        e.ok ? { ok: true, data: emergenceComputeSpec(e.data) } : e,
      ),
      entry(
        "emergence-resolved",
        "Digit accuracy and sampled pass rate vs compute",
        "Left: digit-level partial credit (answer digits that are the model's argmax given the correct digits before them); right: the pass rate of temperature-1 samples on a log axis, sampled until 50 passes (PassUntil-style, Hu et al. 2023), which resolves rates far below 1/n.",
        e.ok ? { ok: true, data: emergenceResolvedSpec(e.data) } : e,
      ),
      entry(
        "accuracy-vs-shots",
        "Accuracy vs number of shots, per size",
        "Exact match against the number of demonstrations in the prompt, one line per model size (the GPT-3 Figure 1.2 view: bigger models gain more from demonstrations).",
        e.ok ? { ok: true, data: shotsSpec(e.data, d.sizes) } : e,
      ),
    );
  }
  out.push(
    entry(
      "forecast-law",
      "Forecast: the frontier extrapolated",
      "The fitted frontier extended (dashed) to the target loss: the compute it needs, as a multiple of the largest run.",
      d.forecast.ok ? { ok: true, data: forecastLawSpec(d.forecast.data) } : d.forecast,
    ),
    entry(
      "forecast-cost",
      "Forecast: cost vs year",
      "What the target run costs if bought in each year (prices halve every halving time), against the budget.",
      d.forecast.ok ? { ok: true, data: forecastCostSpec(d.forecast.data) } : d.forecast,
    ),
  );
  return out;
}

function entry(
  name: string, title: string, caption: string, s: { ok: true; data: VlSpec } | { ok: false; note: string }, extraNote: string | null = null,
): ChartEntry {
  return s.ok ? { name, title, caption, spec: s.data, note: extraNote } : { name, title, caption, spec: null, note: s.note };
}

function overlaysOf(d: ReportData, variable: "C" | "N"): OverlayData[] {
  return (d.overlays ?? []).filter((o) => o.variable === variable);
}

/** Published laws as dotted red lines, each labelled at its right end. */
function overlayLayers(overlays: OverlayData[], field: "C" | "N", x: VlSpec, y: VlSpec): VlSpec[] {
  return overlays.flatMap((o) => {
    const values = o.points.map((p) => ({ [field]: p.x, loss: p.loss }));
    return [
      { data: { values }, mark: { type: "line", color: "#c0392b", strokeDash: [2, 3], strokeWidth: 2, clip: true }, encoding: { x, y } },
      {
        data: { values: [{ ...values[values.length - 1], text: o.name }] },
        mark: { type: "text", align: "right", baseline: "bottom", dy: -4, fontSize: 11, color: "#c0392b", clip: true },
        encoding: { x, y, text: { field: "text" } },
      },
    ];
  });
}

function overlayNote(overlays: OverlayData[]): string {
  return overlays.length ? `; dotted red: ${overlays.map((o) => o.label).join("; ")} (published, on its own data)` : "";
}

/** The overlay note appended to the last line of a (one- or several-line) subtitle. */
function withOverlayNote(subtitle: string | string[], overlays: OverlayData[]): string | string[] {
  if (typeof subtitle === "string") return subtitle + overlayNote(overlays);
  return subtitle.map((line, i) => (i === subtitle.length - 1 ? line + overlayNote(overlays) : line));
}

/**
 * Learning curves against compute, coloured by size; with the analysis's frontier: the cooled-down endpoints (the
 * envelope ringed), the frontier law (dashed) and Kaplan's learning-curve frontier (dotted grey); published laws
 * (dotted red) when asked for.
 */
export function lossComputeSpec(
  curves: CurvesData, sizes: SizeKey[], frontier: FrontierData | null, title = "Loss vs compute, every run", overlays: OverlayData[] = [],
): VlSpec {
  const pts = curves.points;
  const ends = frontier?.endpoints ?? [];
  const x = logX("C", "training compute C (FLOP)", logDomain([...pts.map((p) => p.C), ...ends.map((p) => p.C)], 1.15));
  const lossName = curves.loss === "val" ? "validation loss (nats/token)" : "training loss (nats/token)";
  const allLoss = [...pts.map((p) => p.loss), ...ends.map((p) => p.loss), ...overlays.flatMap((o) => o.points.map((p) => p.loss))];
  const y = logY("loss", lossName, logDomain(allLoss, 1.03));
  const color = sizeColor(sizes);
  const layers: VlSpec[] = [
    {
      data: { values: pts },
      mark: { type: "line", strokeWidth: 1.6, opacity: frontier ? 0.55 : 0.9, clip: true },
      encoding: { x, y, color, detail: { field: "run" }, order: { field: "step", type: "quantitative" } },
    },
  ];
  let subtitle: string | string[] = `${pts.length} points of ${new Set(pts.map((p) => p.run)).size} runs`;
  if (frontier) {
    const eq = powerEquation(frontier.law, "C", "FLOP");
    const law = logspace(frontier.cMin, frontier.cMax, 40).map((C) => ({ C, loss: lossAt(frontier.law, C) }));
    if (frontier.kaplan) {
      const Cs = pts.map((p) => p.C);
      const kaplan = logspace(Math.min(...Cs), Math.max(...Cs), 40).map((C) => ({ C, loss: lossAt(frontier.kaplan!.law, C) }));
      layers.push(
        { data: { values: kaplan }, mark: { type: "line", color: "#777", strokeDash: [2, 3], strokeWidth: 2, clip: true }, encoding: { x, y } },
        // above the frontier's equation, in the empty bottom-left corner
        {
          data: { values: [{ text: `dotted: Kaplan's method, ${powerEquation(frontier.kaplan.law, "C")} (mid-schedule envelope)` }] },
          mark: { type: "text", align: "left", baseline: "bottom", fontSize: 11, color: "#555" },
          encoding: { x: { value: 10 }, y: { value: CHART_HEIGHT - 28 }, text: { field: "text" } },
        },
      );
    }
    layers.push(
      {
        data: { values: ends },
        mark: { type: "point", filled: true, size: 55, opacity: 1, stroke: "#222", strokeWidth: 0.6 },
        encoding: { x, y, color, tooltip: tooltip(["run", "N", "D", "C", "loss"]) },
      },
      { data: { values: frontier.envelope }, mark: { type: "point", filled: false, size: 170, color: "#111", strokeWidth: 1.4 }, encoding: { x, y } },
      { data: { values: law }, mark: { type: "line", color: "#111", strokeDash: [7, 4], strokeWidth: 2.2, clip: true }, encoding: { x, y } },
      // the bottom-left corner (low compute, low loss) is below the frontier, where no curve passes
      {
        data: { values: [{ text: `frontier: ${eq}` }] },
        mark: { type: "text", align: "left", baseline: "bottom", fontSize: 12, fontWeight: "bold", color: "#111" },
        encoding: { x: { value: 10 }, y: { value: CHART_HEIGHT - 10 }, text: { field: "text" } },
      },
    );
    subtitle = [
      `dots: ${ends.length} cooled-down endpoints; dashed: frontier ${eq} on the ${frontier.envelope.length} ringed, ` +
        `R² = ${num(frontier.r2, 3)} over ${num(frontier.decades, 3)} decades`,
      frontier.kaplan
        ? `dotted grey: Kaplan's method, ${powerEquation(frontier.kaplan.law, "C")} on the mid-schedule envelope (R² = ${num(frontier.kaplan.r2, 3)})`
        : "",
    ].filter(Boolean);
  }
  layers.push(...overlayLayers(overlays, "C", x, y));
  return chart(title, withOverlayNote(subtitle, overlays), layers);
}

/** Final loss against N with the fitted L(N), and published laws of N (dotted red) when asked for. */
export function lossParamsSpec(d: ParamsLawData, sizes: SizeKey[], overlays: OverlayData[] = []): VlSpec {
  const Ns = d.points.map((p) => p.N);
  const dom = logDomain(Ns, 1.3);
  const x = logX("N", "non-embedding parameters N", dom);
  const law = logspace(dom[0], dom[1], 40).map((N) => ({ N, loss: lossAt(d.law, N) }));
  const overlayLoss = overlays.flatMap((o) => o.points.map((p) => p.loss));
  const y = logY("loss", "final validation loss (nats/token)", logDomain([...d.points.map((p) => p.loss), ...law.map((p) => p.loss), ...overlayLoss], 1.02));
  const subtitle = `dashed: ${powerEquation(d.law, "N")}, R² = ${num(d.r2, 3)} on ${d.points.length} runs (D = ${si(d.points[0].D)} tokens)`;
  return chart("Final loss vs parameters", subtitle + overlayNote(overlays), [
    ...overlayLayers(overlays, "N", x, y),
    { data: { values: law }, mark: { type: "line", color: "#111", strokeDash: [7, 4], strokeWidth: 2, clip: true }, encoding: { x, y } },
    {
      data: { values: d.points },
      mark: { type: "point", filled: true, size: 110, opacity: 1, stroke: "#222", strokeWidth: 0.6 },
      encoding: { x, y, color: sizeColor(sizes), tooltip: tooltip(["run", "N", "loss"]) },
    },
  ]);
}

/** IsoFLOP profiles: points and parabolas per budget, minima marked. */
export function isoflopSpec(d: IsoflopData): VlSpec {
  const budgets = d.groups.map((g) => g.label);
  const curves = d.groups.flatMap((g) =>
    logspace(g.nMin, g.nMax, 40).map((N) => {
      const l = Math.log(N);
      return { N, loss: g.parabola.c0 + g.parabola.c1 * l + g.parabola.c2 * l * l, budget: g.label };
    }),
  );
  const minima = d.groups.map((g) => ({ N: g.Nopt, loss: g.lossMin, budget: g.label, text: `N_opt ${si(g.Nopt)}` }));
  const x = logX("N", "non-embedding parameters N", logDomain([...d.points.map((p) => p.N), ...minima.map((m) => m.N)], 1.3));
  const y = linY("loss", "final validation loss (nats/token)", linDomain([...d.points.map((p) => p.loss), ...minima.map((m) => m.loss)], 0.06));
  const color = { field: "budget", type: "ordinal", scale: { domain: budgets, scheme: { name: "plasma", extent: [0, 0.85] } }, legend: { title: "compute budget" } };
  return chart("IsoFLOP profiles", `diamonds: loss-minimising N per budget; N_opt ∝ C^${num(d.a, 3)}, D_opt ∝ C^${num(d.b, 3)}`, [
    { data: { values: curves }, mark: { type: "line", strokeWidth: 1.8, clip: true }, encoding: { x, y, color, detail: { field: "budget" } } },
    { data: { values: d.points }, mark: { type: "point", filled: true, size: 70 }, encoding: { x, y, color, tooltip: tooltip(["run", "N", "C", "loss"]) } },
    { data: { values: minima }, mark: { type: "point", shape: "diamond", filled: true, size: 220, stroke: "#111", strokeWidth: 1.2 }, encoding: { x, y, color } },
  ]);
}

/**
 * The held-out prediction: the endpoints the fit used (loss vs N, coloured by D), the fitted L(N, D) at the target's
 * D, the prediction with its interval, and the loss the target reached.
 */
export function predictionSpec(d: PredictionData): VlSpec {
  const m = d.main;
  const [PRED, ACTUAL] = ["#e8710a", "#d62728"];
  const Ns = [...d.fitPoints.map((p) => p.N), d.N];
  const dom = logDomain(Ns, 1.3);
  const c = m.constants;
  const law = c ? logspace(dom[0], dom[1], 40).map((N) => ({ N, loss: c.E + c.A / N ** c.alpha + c.B / d.D ** c.beta })) : [];
  const [lo, hi] = m.interval;
  const losses = [...d.fitPoints.map((p) => p.loss), lo, hi, ...(m.actual !== null ? [m.actual] : []), ...law.map((p) => p.loss)];
  const x = logX("N", d.paramCount === "total" ? "parameters N (every parameter)" : "non-embedding parameters N", dom);
  // room under the interval for its two labels (below the law, which falls from the left)
  const span = Math.max(...losses) - Math.min(...losses);
  const y = linY("loss", "validation loss (nats/token)", linDomain([...losses, lo - 0.14 * span], 0.06));
  const fill = {
    field: "D", type: "quantitative", scale: { type: "log", scheme: { name: "viridis", extent: [0, 0.88] } },
    legend: { title: "fitted endpoints: D", format: "~s", gradientLength: 120 },
  };
  const label = (values: Record<string, unknown>[], mark: VlSpec) => ({ data: { values }, mark: { type: "text", fontSize: 11.5, ...mark }, encoding: { x, y, text: { field: "text" } } });
  const layers: VlSpec[] = [];
  if (c) {
    layers.push(
      { data: { values: law }, mark: { type: "line", color: "#111", strokeDash: [7, 4], strokeWidth: 1.8, clip: true }, encoding: { x, y } },
      label([{ ...law[Math.round(law.length * 0.55)], text: `L(N, D = ${si(d.D)}) fitted` }], { align: "right", baseline: "top", dx: -6, dy: 10, color: "#111" }),
    );
  }
  layers.push(
    {
      data: { values: d.fitPoints },
      mark: { type: "point", filled: true, size: 80, stroke: "#222", strokeWidth: 0.5 },
      encoding: { x, y, fill, tooltip: tooltip(["run", "N", "D", "loss"]) },
    },
    { data: { values: [{ N: d.N, lo, hi }] }, mark: { type: "rule", strokeWidth: 3, color: PRED }, encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" } } },
    {
      data: { values: [{ N: d.N, lo }, { N: d.N, lo: hi }] },
      mark: { type: "tick", orient: "horizontal", thickness: 2.5, size: 18, color: PRED },
      encoding: { x, y: { ...y, field: "lo" } },
    },
    { data: { values: [{ N: d.N, loss: m.predicted }] }, mark: { type: "point", filled: false, size: 150, strokeWidth: 2.5, color: PRED }, encoding: { x, y } },
    label([{ N: d.N, loss: lo, text: `predicted ${num(m.predicted)} [${num(lo)}, ${num(hi)}]` }], { align: "right", dx: 4, dy: 6, baseline: "top", color: PRED }),
  );
  if (m.actual !== null) {
    layers.push(
      {
        data: { values: [{ N: d.N, loss: m.actual, run: d.run }] },
        mark: { type: "point", shape: "cross", filled: true, size: 220, color: ACTUAL },
        encoding: { x, y, tooltip: tooltip(["run", "N", "loss"]) },
      },
      label([{ N: d.N, loss: lo, text: `actual ${num(m.actual)}` }], { align: "right", dx: 4, dy: 21, baseline: "top", color: ACTUAL }),
    );
  }
  const outcome = m.actual !== null
    ? `actual ${num(m.actual)}: error ${signed(m.errorPct!)}%, ${m.inInterval ? "inside" : "outside"} the interval`
    : "not trained yet";
  return chart(`Held-out prediction: ${d.label}`, [
    `predicted ${num(m.predicted)} [${num(lo)}, ${num(hi)}] from ${m.fitPoints} endpoints of ${m.fitRuns} runs with ≤ 1/${num(m.K, 3)} of its compute ` +
      `(${num(m.extrapolationFactor, 3)}× extrapolation); ${outcome}`,
    c ? `dashed: ${d.law} fitted to them, at the target's D = ${si(d.D)} tokens` : "the fitted law's constants were not stored with this analysis",
  ], layers);
}

/** The extrapolation chart, or a note while the target has no loss to score the predictions against. */
function extrapolationSection(d: PredictionData): { ok: true; data: VlSpec } | { ok: false; note: string } {
  if (d.main.actual === null) return { ok: false, note: `${d.label} has not finished training: the error at each distance is measured once it has` };
  return { ok: true, data: extrapolationSpec(d) };
}

/** Error of the prediction against the extrapolation factor (log x), with each interval as a bar (in % of the actual). */
export function extrapolationSpec(d: PredictionData): VlSpec {
  const rows = d.table
    .filter((r) => r.actual !== null)
    .map((r) => ({
      K: r.K, factor: r.extrapolationFactor, error: r.errorPct!, lo: (100 * (r.interval[0] - r.actual!)) / r.actual!,
      hi: (100 * (r.interval[1] - r.actual!)) / r.actual!, inside: r.inInterval ? "inside the interval" : "outside the interval",
      text: `K=${num(r.K, 3)}: ${num(r.extrapolationFactor, 3)}×`, fitPoints: r.fitPoints, fitRuns: r.fitRuns, predicted: r.predicted,
    }));
  const domain = logDomain(rows.map((r) => r.factor), 1.3);
  const ticks = [1, 2, 3, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4].map((e) => m * e)).filter((t) => t >= domain[0] && t <= domain[1]);
  const x = {
    field: "factor", type: "quantitative", scale: { type: "log", domain, nice: false },
    axis: { title: "extrapolation factor: target compute ÷ largest compute in the fit", values: ticks, labelExpr: "format(datum.value, '~r') + '×'", grid: true },
  };
  const y = linY("error", "prediction error (% of the actual loss)", linDomain([0, ...rows.flatMap((r) => [r.lo, r.hi, r.error])], 0.08));
  const color = { field: "inside", type: "nominal", scale: { domain: ["inside the interval", "outside the interval"], range: ["#2f7d32", "#d62728"] }, legend: { title: null, orient: "top-left" } };
  const main = d.table.find((r) => r.K === d.main.K);
  return chart("Prediction error vs extrapolation distance", [
    `${d.label} predicted from endpoints with ≤ 1/K of its compute, K = ${d.table.map((r) => num(r.K, 3)).join(", ")}; bars: the ${Math.round(d.level * 100)}% interval`,
    main ? `headline K = ${num(main.K, 3)}: ${num(main.extrapolationFactor, 3)}× extrapolation, error ${signed(main.errorPct!)}%` : "",
  ].filter(Boolean), [
    { data: { values: [{ error: 0 }] }, mark: { type: "rule", color: "#888", strokeDash: [4, 3] }, encoding: { y: { field: "error", type: "quantitative" } } },
    { data: { values: rows }, mark: { type: "rule", strokeWidth: 2.5, opacity: 0.6 }, encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" }, color } },
    { data: { values: rows }, mark: { type: "line", color: "#999", strokeWidth: 1 }, encoding: { x, y } },
    {
      data: { values: rows },
      mark: { type: "point", filled: true, size: 110, stroke: "#222", strokeWidth: 0.6 },
      encoding: { x, y, color, tooltip: [{ field: "K" }, { field: "factor", format: ".3r" }, { field: "fitPoints" }, { field: "fitRuns" }, { field: "predicted", format: ".4r" }, { field: "error", format: "+.2f" }].map((t) => ({ ...t, type: "quantitative" })) },
    },
    { data: { values: rows }, mark: { type: "text", align: "left", dx: 8, dy: -8, fontSize: 11, color: "#333" }, encoding: { x, y, text: { field: "text" } } },
  ]);
}

/** "+1.23" / "−0.45": a signed percentage. */
function signed(x: number): string {
  return `${x >= 0 ? "+" : "−"}${num(Math.abs(x), 3)}`;
}

/** Few-shot accuracy against compute, one line per task and shot count. */
export function emergenceSpec(d: EvalsData): VlSpec {
  const x = logX("C", "training compute C (FLOP)", logDomain(d.points.map((p) => p.C), 1.3));
  const y = { field: "accuracy", type: "quantitative", scale: { domain: [0, 1] }, axis: { title: "accuracy", format: ".0%" } };
  const color = { field: "series", type: "nominal", legend: { title: "task" } };
  return chart("Few-shot accuracy vs compute", `${new Set(d.points.map((p) => p.series)).size} task settings on ${new Set(d.points.map((p) => p.run)).size} runs`, [
    { data: { values: d.points }, mark: { type: "line", strokeWidth: 1.8, point: { filled: true, size: 60 } }, encoding: { x, y, color, tooltip: tooltip(["run", "task", "shots", "accuracy", "n"]) } },
  ]);
}

/** The frontier law extrapolated to the target loss, with the target's compute marked. */
export function forecastLawSpec(f: ForecastData): VlSpec {
  const r = f.result;
  const hiC = Math.max(r.targetFlops * 3, f.cMax * 10);
  const fitted = logspace(f.cMin, f.cMax, 30).map((C) => ({ C, loss: lossAt(f.law, C) }));
  const extra = logspace(f.cMax, hiC, 40).map((C) => ({ C, loss: lossAt(f.law, C) }));
  const x = logX("C", "training compute C (FLOP)", [f.cMin / 1.5, hiC]);
  const losses = [...f.envelope.map((p) => p.loss), r.targetLoss, ...extra.map((p) => p.loss)];
  const y = logY("loss", "loss (nats/token)", logDomain(losses, 1.06));
  const targetText = `target ${num(r.targetLoss, 3)}: ${si(r.targetFlops)}FLOP = ${num(r.computeMultiple, 3)}× the largest run`;
  return chart("Forecast: the frontier extrapolated", `${powerEquation(f.law, "C", "FLOP")}; reference ${f.reference.run} at ${si(f.reference.flops)}FLOP`, [
    { data: { values: f.envelope }, mark: { type: "point", filled: true, size: 28, color: "#999" }, encoding: { x, y } },
    { data: { values: fitted }, mark: { type: "line", color: "#111", strokeWidth: 2.2, clip: true }, encoding: { x, y } },
    { data: { values: extra }, mark: { type: "line", color: "#111", strokeWidth: 2, strokeDash: [7, 4], clip: true }, encoding: { x, y } },
    { data: { values: [{ loss: r.targetLoss }] }, mark: { type: "rule", color: "#d62728", strokeDash: [3, 3], strokeWidth: 1.5 }, encoding: { y } },
    { data: { values: [{ C: f.reference.flops, loss: f.reference.loss, text: "largest run" }] }, mark: { type: "point", filled: true, size: 90, color: "#111" }, encoding: { x, y } },
    { data: { values: [{ C: f.reference.flops, loss: f.reference.loss, text: "largest run" }] }, mark: { type: "text", align: "left", dx: 8, dy: -10, fontSize: 11 }, encoding: { x, y, text: { field: "text" } } },
    { data: { values: [{ C: r.targetFlops, loss: r.targetLoss }] }, mark: { type: "point", filled: true, size: 120, color: "#d62728" }, encoding: { x, y } },
    {
      data: { values: [{ C: r.targetFlops, loss: r.targetLoss, text: targetText }] },
      // below the target line, left of the point: the falling law line is above it there
      mark: { type: "text", align: "right", baseline: "top", dx: -10, dy: 8, fontSize: 11.5, color: "#b01c1c" },
      encoding: { x, y, text: { field: "text" } },
    },
  ]);
}

/** The target run's cost by the year it is bought, against the budget line. */
export function forecastCostSpec(f: ForecastData): VlSpec {
  const r: LabForecast = f.result;
  const start = f.reference.year;
  const end = Math.max(start + 10, r.yearWithinBudget + 4);
  const years = Array.from({ length: 61 }, (_, i) => start + ((end - start) * i) / 60);
  const cost = years.map((t) => ({ year: t, cost: costInYear(r.costUSD, start, f.halvingMonths, t) }));
  const values = [...cost.map((c) => c.cost), f.budgetUSD];
  const x = { field: "year", type: "quantitative", scale: { domain: [start, end], nice: false, zero: false }, axis: { title: "year bought", format: "d", tickMinStep: 1 } };
  const y = {
    field: "cost", type: "quantitative", scale: { type: "log", domain: logDomain(values, 3), nice: false },
    axis: { title: "cost of the target run (US$)", labelExpr: "replace(format(datum.value, '$~s'), 'G', 'B')", grid: true },
  };
  const within = r.yearsToBudget > 0 ? `within budget in ${year(r.yearWithinBudget)}` : "within budget already";
  return chart("Forecast: cost vs year", `${usd(r.costUSD)} at today's prices, halving every ${num(f.halvingMonths, 3)} months; budget ${usd(f.budgetUSD)}: ${within}`, [
    { data: { values: cost }, mark: { type: "line", color: "#4c78a8", strokeWidth: 2.4, clip: true }, encoding: { x, y } },
    { data: { values: [{ cost: f.budgetUSD }] }, mark: { type: "rule", color: "#2ca02c", strokeDash: [6, 4], strokeWidth: 2 }, encoding: { y } },
    {
      data: { values: [{ year: end, cost: f.budgetUSD, text: `budget ${usd(f.budgetUSD)}` }] },
      mark: { type: "text", align: "right", dy: -9, fontSize: 11.5, color: "#1e7b1e" },
      encoding: { x, y, text: { field: "text" } },
    },
    { data: { values: [{ year: r.yearWithinBudget, cost: Math.min(f.budgetUSD, r.costUSD) }] }, mark: { type: "point", filled: true, size: 110, color: "#d62728" }, encoding: { x, y } },
    {
      data: { values: [{ year: r.yearWithinBudget, cost: Math.min(f.budgetUSD, r.costUSD), text: within }] },
      mark: { type: "text", align: "left", dx: 10, dy: -14, fontSize: 11.5, color: "#b01c1c" },
      encoding: { x, y, text: { field: "text" } },
    },
  ]);
}

/** `n` values spaced evenly in log between lo and hi (inclusive). */
export function logspace(lo: number, hi: number, n: number): number[] {
  if (!(lo > 0) || !(hi > 0) || n < 2) return [lo];
  const a = Math.log(lo);
  const b = Math.log(hi);
  return Array.from({ length: n }, (_, i) => Math.exp(a + ((b - a) * i) / (n - 1)));
}

/** [min / pad, max × pad] of the positive finite values (a sensible log-axis domain). */
export function logDomain(values: number[], pad: number): [number, number] {
  const v = values.filter((x) => x > 0 && Number.isFinite(x));
  if (v.length === 0) return [1, 10];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (hi / lo < 1.05) {
    lo /= 1.05;
    hi *= 1.05;
  }
  return [lo / pad, hi * pad];
}

function linDomain(values: number[], frac: number): [number, number] {
  const v = values.filter((x) => Number.isFinite(x));
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const span = Math.max(hi - lo, Math.abs(hi) * 0.02, 1e-6);
  return [lo - span * frac, hi + span * frac];
}

function logX(field: string, title: string, domain: [number, number]): VlSpec {
  return { field, type: "quantitative", scale: { type: "log", domain, nice: false }, axis: { title, format: "~s", grid: true } };
}

function logY(field: string, title: string, domain: [number, number]): VlSpec {
  return { field, type: "quantitative", scale: { type: "log", domain, nice: false }, axis: { title, format: "~r", grid: true, tickCount: 8 } };
}

function linY(field: string, title: string, domain: [number, number]): VlSpec {
  return { field, type: "quantitative", scale: { domain, nice: false, zero: false }, axis: { title, format: "~r", grid: true } };
}

function sizeColor(sizes: SizeKey[]): VlSpec {
  return { field: "label", type: "ordinal", scale: { domain: sizes.map((s) => s.label), scheme: SIZE_SCHEME }, legend: { title: "model size" } };
}

function tooltip(fields: string[]): VlSpec[] {
  return fields.map((f) => ({ field: f, type: ["run", "task"].includes(f) ? "nominal" : "quantitative", ...(["N", "C", "D"].includes(f) ? { format: "~s" } : {}) }));
}

function chart(title: string, subtitle: string | string[], layer: VlSpec[]): VlSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    title: { text: title, subtitle },
    layer,
    config: CONFIG,
  };
}

/** In-context learning curves: loss against context length (log axis), one line per size, score bands shaded. */
export function iclCurvesSpec(d: IclData, sizes: SizeKey[]): VlSpec {
  const x = { field: "position", type: "quantitative", scale: { type: "log", domain: [1, d.T], nice: false }, axis: { title: "position in the context (tokens seen)", format: "~s", grid: true } };
  const y = linY("loss", "validation loss (nats/token)", linDomain(d.points.map((p) => p.loss), 0.05));
  const bands = [
    { from: d.bands.early[0], to: d.bands.early[1], text: "early" },
    { from: d.bands.late[0], to: d.bands.late[1], text: "late" },
  ];
  return chart("In-context learning: loss vs position", `${d.scores.length} runs, context ${d.T}; score = mean loss at ${d.bands.late.join("–")} minus at ${d.bands.early.join("–")} tokens`, [
    { data: { values: bands }, mark: { type: "rect", color: "#eeeeee" }, encoding: { x: { ...x, field: "from" }, x2: { field: "to" } } },
    { data: { values: bands }, mark: { type: "text", baseline: "top", dy: 4, fontSize: 11, color: "#666" }, encoding: { x: { ...x, field: "from" }, y: { value: 0 }, text: { field: "text" } } },
    { data: { values: d.points }, mark: { type: "line", strokeWidth: 1.6, clip: true }, encoding: { x, y, color: sizeColor(sizes), detail: { field: "run" } } },
  ]);
}

/** The in-context learning score against N. */
export function iclScoreSpec(d: IclData, sizes: SizeKey[]): VlSpec {
  const x = logX("N", "non-embedding parameters N", logDomain(d.scores.map((p) => p.N), 1.3));
  const y = linY("score", "in-context learning score (nats; late − early)", linDomain([0, ...d.scores.map((p) => p.score)], 0.1));
  return chart("In-context learning score vs size", `loss at ${d.bands.late.join("–")} minus at ${d.bands.early.join("–")} tokens of context; below 0: later tokens are predicted better`, [
    { data: { values: [{ score: 0 }] }, mark: { type: "rule", color: "#999", strokeDash: [4, 3] }, encoding: { y } },
    { data: { values: d.scores }, mark: { type: "line", color: "#888", strokeWidth: 1.2 }, encoding: { x, y } },
    { data: { values: d.scores }, mark: { type: "point", filled: true, size: 110, stroke: "#222", strokeWidth: 0.6 }, encoding: { x, y, color: sizeColor(sizes), tooltip: tooltip(["run", "N", "score"]) } },
  ]);
}

const PANEL_WIDTH = 360;

/** Two panels side by side sharing the colour legend. */
function panels(title: string, subtitle: string, left: VlSpec, right: VlSpec): VlSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, subtitle },
    hconcat: [left, right].map((p) => ({ width: PANEL_WIDTH, height: CHART_HEIGHT - 40, ...p })),
    resolve: { scale: { color: "shared" } },
    config: CONFIG,
  };
}

function seriesColor(d: EmergenceData): VlSpec {
  return { field: "series", type: "nominal", scale: { domain: [...new Set(d.points.map((p) => p.series))] }, legend: { title: "task (shots)" } };
}

/** Exact match (with 95% intervals) beside the answer log-likelihood, both against compute. */
export function emergenceComputeSpec(d: EmergenceData): VlSpec {
  const x = logX("C", "training compute C (FLOP)", logDomain(d.points.map((p) => p.C), 1.3));
  const color = seriesColor(d);
  const acc = { field: "exactMatch", type: "quantitative", scale: { domain: [0, 1] }, axis: { title: "exact match", format: ".0%" } };
  const ll = linY("answerLogLikelihood", "log-likelihood of the correct answer (nats)", linDomain(d.points.map((p) => p.answerLogLikelihood), 0.06));
  const n = Math.max(...d.points.map((p) => p.n));
  return panels("Exact match vs the smooth metric, against compute", `n = ${n} unseen items per point; bars: 95% Wilson intervals`, {
    title: "exact match (sharp)",
    layer: [
      { data: { values: d.points }, mark: { type: "rule", strokeWidth: 1.5 }, encoding: { x, y: { ...acc, field: "lo" }, y2: { field: "hi" }, color } },
      { data: { values: d.points }, mark: { type: "line", strokeWidth: 1.8, point: { filled: true, size: 50 } }, encoding: { x, y: acc, color, tooltip: tooltip(["run", "task", "shots", "exactMatch", "n"]) } },
    ],
  }, {
    title: "answer log-likelihood (smooth)",
    layer: [{ data: { values: d.points }, mark: { type: "line", strokeWidth: 1.8, point: { filled: true, size: 50 } }, encoding: { x, y: ll, color, tooltip: tooltip(["run", "task", "shots", "answerLogLikelihood"]) } }],
  });
}

/** Digit accuracy beside the sampled pass rate (log axis, with intervals), against compute. */
export function emergenceResolvedSpec(d: EmergenceData): VlSpec {
  const x = logX("C", "training compute C (FLOP)", logDomain(d.points.map((p) => p.C), 1.3));
  const color = seriesColor(d);
  const digits = { field: "digitAccuracy", type: "quantitative", scale: { domain: [0, 1] }, axis: { title: "answer digits right (teacher-forced)", format: ".0%" } };
  const positive = d.points.filter((p) => p.sampledPassRate > 0);
  const rates = positive.flatMap((p) => [p.sampledPassRate, p.sampledLo > 0 ? p.sampledLo : p.sampledPassRate, p.sampledHi]);
  const y = { field: "sampledPassRate", type: "quantitative", scale: { type: "log", domain: logDomain(rates, 1.5), nice: false }, axis: { title: "pass rate of sampled answers", format: ".0e", grid: true } };
  return panels("Partial credit and sampled pass rate, against compute", "right: temperature-1 samples, drawn until 50 passed (PassUntil-style); bars: 95% intervals; zero-pass points are left out", {
    title: "digit accuracy",
    layer: [{ data: { values: d.points }, mark: { type: "line", strokeWidth: 1.8, point: { filled: true, size: 50 } }, encoding: { x, y: digits, color, tooltip: tooltip(["run", "task", "shots", "digitAccuracy"]) } }],
  }, {
    title: "sampled pass rate",
    layer: [
      { data: { values: positive.map((p) => ({ ...p, sampledLo: Math.max(p.sampledLo, rates.length ? Math.min(...rates) / 1.5 : 1e-9) })) }, mark: { type: "rule", strokeWidth: 1.5 }, encoding: { x, y: { ...y, field: "sampledLo" }, y2: { field: "sampledHi" }, color } },
      { data: { values: positive }, mark: { type: "line", strokeWidth: 1.8, point: { filled: true, size: 50 } }, encoding: { x, y, color, tooltip: tooltip(["run", "task", "shots", "sampledPassRate"]) } },
    ],
  });
}

/** Exact match against the number of demonstrations, one line per size (dashed lines for a second task). */
export function shotsSpec(d: EmergenceData, sizes: SizeKey[]): VlSpec {
  const shots = [...new Set(d.points.map((p) => p.shots))].sort((a, b) => a - b);
  const x = { field: "shots", type: "quantitative", scale: { domain: [shots[0], shots[shots.length - 1]], nice: false }, axis: { title: "demonstrations in the prompt (shots)", values: shots, format: "d" } };
  const y = { field: "exactMatch", type: "quantitative", scale: { domain: [0, 1] }, axis: { title: "exact match", format: ".0%" } };
  const tasks = [...new Set(d.points.map((p) => p.task))];
  return chart("Accuracy vs number of shots, per size", `${tasks.join(", ")}; zero-shot at 0, few-shot to the right (n = ${Math.max(...d.points.map((p) => p.n))} per point)`, [
    {
      data: { values: d.points },
      mark: { type: "line", strokeWidth: 1.8, point: { filled: true, size: 55 } },
      encoding: { x, y, color: sizeColor(sizes), detail: [{ field: "run" }, { field: "task" }], ...(tasks.length > 1 ? { strokeDash: { field: "task", type: "nominal", legend: { title: "task" } } } : {}), tooltip: tooltip(["run", "task", "shots", "exactMatch"]) },
    },
  ]);
}
