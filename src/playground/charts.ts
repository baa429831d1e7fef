/**
 * The page's charts: the report's Vega-Lite specs drawn by the dashboard's renderer (src/report/view.ts) with the
 * vega and vega-lite modules bundled into the page.
 */
import * as vega from "vega";
import * as vegaLite from "vega-lite";
import type { VlSpec } from "../report/specs.js";
import { type VegaLibs, chartNote, renderChart as render } from "../report/view.js";

const libs = { vega, vegaLite } as unknown as VegaLibs;

/** Renders `spec` into `el` as SVG (see src/report/view.ts). */
export function renderChart(el: HTMLElement, spec: VlSpec): Promise<void> {
  return render(libs, el, spec);
}

export { chartNote };
