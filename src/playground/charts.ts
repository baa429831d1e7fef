/**
 * Drawing the report's Vega-Lite specs (src/report/specs.ts) in the page: compiled by vega-lite, rendered to SVG by
 * vega, the same libraries `scaling-lab report` renders them with.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { VlSpec } from "../report/specs.js";

const views = new WeakMap<HTMLElement, vega.View>();

/** Renders `spec` into `el` as SVG, replacing what was there once the new chart is ready; counts renders in data-renders. */
export async function renderChart(el: HTMLElement, spec: VlSpec): Promise<void> {
  const holder = document.createElement("div");
  const view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec), { renderer: "svg", container: holder, hover: true, logLevel: vega.Error });
  await view.runAsync();
  views.get(el)?.finalize();
  el.replaceChildren(holder);
  views.set(el, view);
  el.dataset.renders = String(Number(el.dataset.renders ?? 0) + 1);
}

/** Shows a note instead of a chart. */
export function chartNote(el: HTMLElement, text: string): void {
  views.get(el)?.finalize();
  views.delete(el);
  const p = document.createElement("p");
  p.className = "note";
  p.textContent = text;
  el.replaceChildren(p);
}
