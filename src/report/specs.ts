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
  EvalsData,
  ForecastData,
  FrontierData,
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
      "Learning curves of every run against training compute (log–log), coloured by model size, with the compute-efficient frontier fitted to their lower envelope (the GPT-3 Figure 3.1 view).",
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
      "The largest model's loss predicted from the smaller runs' L(N) before it was trained: the bootstrap interval against the loss it reached.",
      d.prediction.ok ? { ok: true, data: predictionSpec(d.prediction.data) } : d.prediction,
    ),
    entry(
      "accuracy-vs-compute",
      "Few-shot accuracy vs compute",
      "Few-shot accuracy of each run on each task against its training compute (emergence shows as a late rise).",
      d.evals.ok ? { ok: true, data: emergenceSpec(d.evals.data) } : d.evals,
    ),
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

/**
 * Learning curves against compute, coloured by size, with the frontier (dashed) when fitted and published laws
 * (dotted red) when asked for.
 */
export function lossComputeSpec(
  curves: CurvesData, sizes: SizeKey[], frontier: FrontierData | null, title = "Loss vs compute, every run", overlays: OverlayData[] = [],
): VlSpec {
  const pts = curves.points;
  const x = logX("C", "training compute C (FLOP)", logDomain(pts.map((p) => p.C), 1.15));
  const lossName = curves.loss === "val" ? "validation loss (nats/token)" : "training loss (nats/token)";
  const y = logY("loss", lossName, logDomain([...pts.map((p) => p.loss), ...overlays.flatMap((o) => o.points.map((p) => p.loss))], 1.03));
  const layers: VlSpec[] = [
    {
      data: { values: pts },
      mark: { type: "line", strokeWidth: 1.6, opacity: 0.9, clip: true },
      encoding: { x, y, color: sizeColor(sizes), detail: { field: "run" }, order: { field: "step", type: "quantitative" } },
    },
  ];
  let subtitle = `${pts.length} points of ${new Set(pts.map((p) => p.run)).size} runs`;
  if (frontier) {
    const law = logspace(frontier.cMin, frontier.cMax, 40).map((C) => ({ C, loss: lossAt(frontier.law, C) }));
    const eq = powerEquation(frontier.law, "C", "FLOP");
    layers.push(
      { data: { values: law }, mark: { type: "line", color: "#111", strokeDash: [7, 4], strokeWidth: 2.2, clip: true }, encoding: { x, y } },
      // the bottom-left corner (low compute, low loss) is below the frontier, where no curve passes
      {
        data: { values: [{ text: `frontier: ${eq}` }] },
        mark: { type: "text", align: "left", baseline: "bottom", fontSize: 12, fontWeight: "bold", color: "#111" },
        encoding: { x: { value: 10 }, y: { value: CHART_HEIGHT - 10 }, text: { field: "text" } },
      },
    );
    subtitle = `dashed: compute-efficient frontier ${eq}, R² = ${num(frontier.r2, 3)} on ${frontier.envelope.length} envelope points`;
  }
  layers.push(...overlayLayers(overlays, "C", x, y));
  return chart(title, subtitle + overlayNote(overlays), layers);
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

/** The held-out prediction: smaller runs, their fitted L(N) extended to the held-out size, the interval and the actual loss. */
export function predictionSpec(d: PredictionData): VlSpec {
  const kinds = ["runs fitted", "fitted L(N)", `predicted (${Math.round(d.level * 100)}% interval)`, "actual"];
  const colors = ["#4c78a8", "#555555", "#f58518", "#d62728"];
  const color = { field: "kind", type: "nominal", scale: { domain: kinds, range: colors }, legend: { title: null, orient: "top-right" } };
  const Ns = [...d.fitPoints.map((p) => p.N), d.N];
  const dom = logDomain(Ns, 1.3);
  const law = logspace(dom[0], dom[1], 40).map((N) => ({ N, loss: lossAt(d.law, N), kind: kinds[1] }));
  const lo = d.interval?.[0] ?? d.predicted;
  const hi = d.interval?.[1] ?? d.predicted;
  const losses = [...d.fitPoints.map((p) => p.loss), lo, hi, ...(d.actual !== null ? [d.actual] : [])];
  const x = logX("N", "non-embedding parameters N", dom);
  const y = linY("loss", "final validation loss (nats/token)", linDomain(losses, 0.08));
  const layers: VlSpec[] = [
    { data: { values: law }, mark: { type: "line", strokeDash: [7, 4], strokeWidth: 1.8, clip: true }, encoding: { x, y, color } },
    { data: { values: d.fitPoints.map((p) => ({ ...p, kind: kinds[0] })) }, mark: { type: "point", filled: true, size: 90 }, encoding: { x, y, color, tooltip: tooltip(["run", "N", "loss"]) } },
    {
      data: { values: [{ N: d.N, lo, hi, kind: kinds[2] }] },
      mark: { type: "rule", strokeWidth: 3 },
      encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" }, color },
    },
    {
      data: { values: [{ N: d.N, lo, hi, kind: kinds[2] }, { N: d.N, lo: hi, hi, kind: kinds[2] }] },
      mark: { type: "tick", orient: "horizontal", thickness: 2.5, size: 18 },
      encoding: { x, y: { ...y, field: "lo" }, color },
    },
    { data: { values: [{ N: d.N, loss: d.predicted, kind: kinds[2] }] }, mark: { type: "point", filled: false, size: 150, strokeWidth: 2.5 }, encoding: { x, y, color } },
  ];
  if (d.actual !== null) {
    layers.push({
      data: { values: [{ N: d.N, loss: d.actual, kind: kinds[3], run: d.run }] },
      mark: { type: "point", shape: "cross", filled: true, size: 220 },
      encoding: { x, y, color, tooltip: tooltip(["run", "N", "loss"]) },
    });
  }
  const interval = d.interval ? ` [${num(d.interval[0])}, ${num(d.interval[1])}]` : "";
  const outcome = d.actual !== null
    ? `; actual ${num(d.actual)} (error ${num(d.errorPct!, 2)}%, ${d.inInterval ? "inside" : "outside"} the interval)`
    : "; not trained yet";
  return chart(`Held-out prediction: ${d.label}`, `predicted ${num(d.predicted)}${interval} from ${d.fitPoints.length} smaller runs${outcome}`, layers);
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
  return fields.map((f) => ({ field: f, type: ["run", "task"].includes(f) ? "nominal" : "quantitative", ...(["N", "C"].includes(f) ? { format: "~s" } : {}) }));
}

function chart(title: string, subtitle: string, layer: VlSpec[]): VlSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    title: { text: title, subtitle },
    layer,
    config: CONFIG,
  };
}
