/**
 * The report: `writeReport({ lab, out })` collects a sweep's data from the lab store, builds every chart as a
 * Vega-Lite spec, renders each to OUT/<chart>.svg and OUT/<chart>.png, and writes OUT/index.html (self-contained:
 * inline SVG and CSS, opens offline) and OUT/report.json (the data behind the charts).
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LAB_DB_FILE, openLab } from "../store/index.js";
import { type CollectOptions, collectReport } from "./data.js";
import { type HtmlChart, reportHtml } from "./html.js";
import { findFonts, prefixSvgIds, renderSvg, svgToPng } from "./render.js";
import { reportCharts } from "./specs.js";
import type { ReportData } from "./types.js";

export { collectReport, overlayLaws, ReportError, type CollectOptions } from "./data.js";
export { findFonts, prefixSvgIds, renderSvg, svgToPng } from "./render.js";
export { reportCharts, type ChartEntry, type VlSpec } from "./specs.js";
export { reportHtml } from "./html.js";
export type * from "./types.js";

/** Options of {@link writeReport}. */
export interface ReportOptions extends CollectOptions {
  /** The lab directory. */
  lab: string;
  /** Output directory (default LAB/report). */
  out?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What {@link writeReport} wrote. */
export interface ReportResult {
  /** Output directory (absolute). */
  out: string;
  /** OUT/index.html. */
  index: string;
  /** OUT/report.json. */
  json: string;
  sweep: string | null;
  /** Every chart: its files, or the note shown instead. */
  charts: { name: string; title: string; svg: string | null; png: string | null; note: string | null }[];
  /** Whether the PNGs were drawn with DejaVu Sans (false: with whatever system fonts resvg found). */
  fontsFound: boolean;
}

/** An error in the report's input (no such lab directory); the message names the fix. */
export class ReportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReportInputError";
  }
}

/**
 * Writes the report of one sweep (default the lab's newest) to `opts.out` (default LAB/report). A lab directory
 * without a database yet, or without runs, still gets a report, with notes in place of the charts.
 */
export async function writeReport(opts: ReportOptions): Promise<ReportResult> {
  const labDir = resolve(opts.lab);
  const log = opts.log ?? (() => {});
  if (!existsSync(labDir) || !statSync(labDir).isDirectory()) {
    throw new ReportInputError(`no lab directory at ${labDir}; pass --lab DIR of a lab (run scaling-lab demo --lab DIR to make one)`);
  }
  const out = resolve(opts.out ?? join(labDir, "report"));
  let data: ReportData;
  if (!existsSync(join(labDir, LAB_DB_FILE))) {
    data = await emptyReport(labDir, opts);
  } else {
    const lab = openLab(labDir, { readonly: true });
    try {
      data = await collectReport(lab, opts);
    } finally {
      lab.close();
    }
  }
  mkdirSync(out, { recursive: true });
  const fonts = findFonts();
  const entries = reportCharts(data);
  const charts: ReportResult["charts"] = [];
  const html: HtmlChart[] = [];
  for (const c of entries) {
    const svgPath = join(out, `${c.name}.svg`);
    const pngPath = join(out, `${c.name}.png`);
    if (!c.spec) {
      // a chart from an earlier report that this data no longer allows must not linger next to the note
      rmSync(svgPath, { force: true });
      rmSync(pngPath, { force: true });
      charts.push({ name: c.name, title: c.title, svg: null, png: null, note: c.note });
      html.push({ name: c.name, title: c.title, caption: c.caption, svg: null, note: c.note });
      continue;
    }
    log(`report: rendering ${c.name}`);
    const svg = await renderSvg(c.spec);
    writeFileSync(svgPath, svg);
    writeFileSync(pngPath, svgToPng(svg, { fonts }));
    charts.push({ name: c.name, title: c.title, svg: svgPath, png: pngPath, note: c.note });
    html.push({ name: c.name, title: c.title, caption: c.caption, svg: prefixSvgIds(stripXmlDecl(svg), c.name), note: c.note });
  }
  const index = join(out, "index.html");
  const json = join(out, "report.json");
  writeFileSync(index, reportHtml(data, html));
  writeFileSync(json, JSON.stringify(data) + "\n");
  return { out, index, json, sweep: data.sweep, charts, fontsFound: fonts.length > 0 };
}

/** The report data of a lab directory that has no database yet. */
async function emptyReport(labDir: string, opts: CollectOptions): Promise<ReportData> {
  const note = `the lab ${labDir} is empty (no ${LAB_DB_FILE} yet); run scaling-lab demo or scaling-lab sweep with --lab ${labDir} first`;
  return {
    lab: labDir, generated: (opts.now ?? new Date()).toISOString(), sweep: null, sweeps: [], plan: null, ladder: null, runs: [], sizes: [],
    curves: { ok: false, note }, frontier: { ok: false, note }, paramsLaw: { ok: false, note }, isoflop: null,
    prediction: { ok: false, note }, evals: { ok: false, note }, forecast: { ok: false, note },
  };
}

function stripXmlDecl(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, "");
}
