/**
 * Drawing a chart spec (src/report/specs.ts) in a web page: compiled by vega-lite, rendered to SVG by vega, the
 * same libraries the report renders with in Node. Browser-safe and import-free: the caller hands over the two
 * libraries (the dashboard its /vendor/ scripts' globals, the playground the modules it bundles), and the
 * dashboard serves this compiled file as it is.
 */

/** What is used of the vega and vega-lite modules. */
export interface VegaLibs {
  vega: {
    View: new (runtime: unknown, opts: Record<string, unknown>) => { runAsync(): Promise<unknown>; finalize(): void };
    parse(spec: unknown): unknown;
    Error: number;
  };
  vegaLite: { compile(spec: never): { spec: unknown } };
}

type View = InstanceType<VegaLibs["vega"]["View"]>;
const views = new WeakMap<HTMLElement, View>();

/** Renders `spec` into `el` as SVG, replacing what was there once the new chart is ready; counts renders in data-renders. */
export async function renderChart(libs: VegaLibs, el: HTMLElement, spec: unknown): Promise<void> {
  const holder = document.createElement("div");
  const { vega } = libs;
  const view = new vega.View(vega.parse(libs.vegaLite.compile(spec as never).spec), { renderer: "svg", container: holder, hover: true, logLevel: vega.Error });
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
