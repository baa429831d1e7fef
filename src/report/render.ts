/**
 * Rendering in Node: a Vega-Lite spec → Vega (vega-lite's compiler) → SVG (vega's headless renderer, no canvas
 * needed) → PNG (@resvg/resvg-js, a prebuilt Rust renderer shipped inside its npm package). resvg draws text only
 * with fonts it is given: {@link findFonts} loads DejaVu Sans explicitly (Debian: fonts-dejavu-core) and falls back
 * to the system's fonts.
 */
import { existsSync } from "node:fs";
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { type FontMetrics, loadFontMetrics } from "./fontmetrics.js";
import type { VlSpec } from "./specs.js";

/** Directories searched for DejaVu Sans. */
const FONT_DIRS = [
  "/usr/share/fonts/truetype/dejavu",
  "/usr/share/fonts/dejavu",
  "/usr/share/fonts/TTF",
  "/usr/share/fonts/dejavu-sans-fonts",
  "/usr/local/share/fonts",
  "/opt/homebrew/share/fonts",
  "/Library/Fonts",
];
const FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];

/** The fonts the PNG renderer loads: DejaVu Sans files found on this machine (empty: none found). */
export function findFonts(): string[] {
  for (const dir of FONT_DIRS) {
    const files = FONT_FILES.map((f) => `${dir}/${f}`).filter((p) => existsSync(p));
    if (files.length > 0) return files;
  }
  return [];
}

/** A text item as vega's text measurement sees it. */
interface TextItem {
  fontSize?: number | string;
  fontWeight?: number | string;
}

let metricsInstalled = false;

/**
 * Makes vega measure text with DejaVu Sans's real advance widths (the font the PNG is drawn with) instead of its
 * 0.8-em-per-character guess. Without the font files the guess stays.
 */
function installTextMetrics(): void {
  if (metricsInstalled) return;
  metricsInstalled = true;
  const fonts = findFonts();
  const regularFile = fonts.find((f) => f.endsWith("/DejaVuSans.ttf"));
  if (!regularFile) return;
  const boldFile = fonts.find((f) => f.endsWith("/DejaVuSans-Bold.ttf"));
  let regular: FontMetrics;
  let bold: FontMetrics;
  try {
    regular = loadFontMetrics(regularFile);
    bold = boldFile ? loadFontMetrics(boldFile) : regular;
  } catch {
    return;
  }
  const metrics = (vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
  metrics.width = (item, text) => {
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const w = item.fontWeight === "bold" || Number(item.fontWeight) >= 600 ? bold : regular;
    return w.width(text == null ? "" : String(text).trim(), size);
  };
}

/** Renders a Vega-Lite spec to an SVG document (deterministic for a given spec). */
export async function renderSvg(spec: VlSpec): Promise<string> {
  installTextMetrics();
  const quiet = vega.logger(vega.Error);
  const compiled = compile(spec as unknown as TopLevelSpec, { logger: quiet }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none", logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Prefixes every id in an SVG document (and the url(#…)/href="#…" references to it), so several charts can be
 * inlined in one HTML page without their clip paths colliding.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id: string) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_m, id: string) => `href="#${prefix}-${id}"`);
}

/** Options of {@link svgToPng}. */
export interface PngOptions {
  /** Pixel scale (default 2: crisp on high-density screens and in documents). */
  scale?: number;
  /** Font files (default {@link findFonts}; system fonts are loaded when none are given or found). */
  fonts?: string[];
}

/** Rasterises an SVG document to PNG bytes on a white background. */
export function svgToPng(svg: string, opts: PngOptions = {}): Buffer {
  const fonts = opts.fonts ?? findFonts();
  const resvg = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: opts.scale ?? 2 },
    font: {
      fontFiles: fonts,
      loadSystemFonts: fonts.length === 0,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
  });
  return resvg.render().asPng();
}
