/**
 * The self-contained HTML report: inline CSS and inline SVG charts (no scripts, no network), a summary of the
 * key numbers, a note in place of every chart the data does not allow, and the runs table.
 */
import { num, powerEquation, si, usd, year } from "./format.js";
import type { ReportData } from "./types.js";

/** One chart as the page shows it: its inline SVG (ids already prefixed) or the note that replaces it. */
export interface HtmlChart {
  name: string;
  title: string;
  caption: string;
  svg: string | null;
  note: string | null;
}

/** Escapes text for HTML content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const CSS = `
body{font-family:"DejaVu Sans",Verdana,Arial,Helvetica,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:0 0 8px}
.meta{color:#555;font-size:13px;margin:0 0 18px}
.summary{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 18px;margin-bottom:20px}
.summary li{margin:4px 0}
figure{background:#fff;border:1px solid #ddd;border-radius:6px;margin:0 0 20px;padding:14px}
figure svg{max-width:100%;height:auto}
figcaption{font-size:13px;color:#444;margin-top:6px}
.note{background:#fff8e1;border:1px solid #f0d98c;border-radius:4px;padding:10px 12px;font-size:14px}
table{border-collapse:collapse;background:#fff;font-size:13px;width:100%}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right} th{background:#f0f0f0}
td.l,th.l{text-align:left} code{font-size:90%} tr.main td{font-weight:bold}
h2#extrapolation-table{font-size:15px;margin:-8px 0 8px}
`;

/** Builds the report page. */
export function reportHtml(d: ReportData, charts: HtmlChart[]): string {
  const title = d.sweep ? `Scaling report: sweep ${d.sweep}` : "Scaling report";
  const meta = [
    `lab <code>${esc(d.lab)}</code>`,
    d.plan ? `plan ${esc(d.plan)}` : "",
    d.ladder ? `ladder ${esc(d.ladder)}` : "",
    `generated ${esc(d.generated.replace("T", " ").replace(/\.\d+Z$/, " UTC"))}`,
  ].filter(Boolean).join(" · ");
  const others = d.sweeps.filter((s) => s !== d.sweep);
  const body = [
    `<h1>${esc(title)}</h1>`,
    `<p class="meta">${meta}</p>`,
    summaryHtml(d),
    ...charts.map((c) => chartHtml(c) + (c.name === "extrapolation" ? extrapolationTableHtml(d) : "")),
    runsTableHtml(d),
    others.length
      ? `<p class="meta">Other sweeps in this lab: ${others.map((s) => `<code>${esc(s)}</code>`).join(", ")} — report one with <code>scaling-lab report --sweep NAME</code>.</p>`
      : "",
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body.join("\n")}
</main>
</body>
</html>
`;
}

function summaryHtml(d: ReportData): string {
  const items: string[] = [];
  const done = d.runs.filter((r) => r.status === "done").length;
  items.push(d.runs.length ? `${d.runs.length} runs, ${done} finished` : "No runs yet: run <code>scaling-lab demo</code> or <code>scaling-lab sweep</code> in this lab.");
  if (d.frontier.ok) {
    const f = d.frontier.data;
    items.push(
      `Compute frontier of the cooled-down endpoints: <b>${esc(powerEquation(f.law, "C", "FLOP"))}</b>, R² = ${num(f.r2, 3)} on ` +
        `${f.envelope.length} envelope points of ${f.endpoints.length}, over ${num(f.decades, 3)} decades of compute` +
        (f.kaplan ? `; Kaplan's method (mid-schedule learning-curve envelope): ${esc(powerEquation(f.kaplan.law, "C"))}, R² = ${num(f.kaplan.r2, 3)}` : ""),
    );
  }
  if (d.paramsLaw.ok) items.push(`L(N): <b>${esc(powerEquation(d.paramsLaw.data.law, "N"))}</b>, R² = ${num(d.paramsLaw.data.r2, 3)}`);
  if (d.prediction.ok) {
    const p = d.prediction.data;
    const m = p.main;
    items.push(
      `Held-out prediction of ${esc(p.run)} from endpoints with ≤ 1/${num(m.K, 3)} of its compute (${num(m.extrapolationFactor, 3)}× extrapolation): ` +
        `<b>${num(m.predicted)}</b> [${num(m.interval[0])}, ${num(m.interval[1])}] (${Math.round(p.level * 100)}%)` +
        (m.actual !== null ? `; actual ${num(m.actual)}, error ${num(m.errorPct!, 2)}%, ${m.inInterval ? "inside" : "outside"} the interval` : "; not trained yet"),
    );
  }
  if (d.chinchilla.ok) {
    const c = d.chinchilla.data;
    items.push(
      `Chinchilla L(N, D) on ${c.points} endpoints of ${c.runs} runs (bootstrap by run, ${c.replicates} replicates): <b>${esc(c.law)}</b>; ` +
        `compute-optimal <b>${num(c.tokensPerParam, 3)} tokens per parameter</b> [${num(c.tokensPerParamInterval[0], 3)}, ${num(c.tokensPerParamInterval[1], 3)}] ` +
        `(${Math.round(c.level * 100)}%) at ${si(c.atCompute)}FLOP; N_opt ∝ C^${num(c.nOptExponent, 3)}, D_opt ∝ C^${num(c.dOptExponent, 3)}`,
    );
  } else if (d.analysis) {
    items.push(esc(d.chinchilla.note));
  }
  if (d.analysis) {
    const a = d.analysis;
    items.push(
      `Analysis ${a.source === "stored" ? "stored in the lab" : "made for this report (not stored)"} by scaling-lab ${esc(a.version)} on ` +
        `${esc(a.created.replace("T", " ").replace(/\.\d+Z$/, " UTC"))}: ${a.points} endpoints of ${a.runs} runs, N = ${a.paramCount === "total" ? "every parameter" : "non-embedding parameters"}` +
        (a.minTokens > 0 ? `, endpoints with fewer than ${si(a.minTokens)} tokens left out of L(N, D)` : "") +
        a.notes.map((n) => `<br>Note: ${esc(n)}`).join(""),
    );
  }
  if (d.icl.ok) {
    const c = d.icl.data;
    items.push(
      `In-context learning score (mean loss at ${c.bands.late.join("–")} minus at ${c.bands.early.join("–")} tokens of context; negative = learns from context): ` +
        c.scores.map((x) => `${esc(x.label)} <b>${num(x.score, 3)}</b>`).join(", "),
    );
  }
  if (d.emergence?.ok) {
    const pts = d.emergence.data.points;
    const task = pts[0].task;
    const few = Math.max(...pts.filter((p) => p.task === task).map((p) => p.shots));
    const row = pts.filter((p) => p.task === task && p.shots === few).sort((a, b) => a.C - b.C);
    items.push(
      `${esc(task)} exact match at ${few} shots (n = ${row[0].n}), smallest to largest: ` +
        row.map((p) => `${(100 * p.exactMatch).toFixed(1)}%`).join(", ") +
        `; answer log-likelihood ${row.map((p) => num(p.answerLogLikelihood, 3)).join(", ")}`,
    );
  }
  if (d.forecast.ok) {
    const f = d.forecast.data;
    const r = f.result;
    items.push(
      `Forecast: loss ${num(r.referenceLoss, 3)} → ${num(r.targetLoss, 3)} needs ${num(r.computeMultiple, 3)}× the largest run's compute ` +
        `(${si(r.targetFlops)}FLOP), ${usd(r.costUSD)} at today's prices (${usd(f.costPerHour)}/hour); within a ${usd(f.budgetUSD)} budget ` +
        (r.yearsToBudget > 0 ? `in ${year(r.yearWithinBudget)}` : "already") + ` (prices halving every ${num(f.halvingMonths, 3)} months)`,
    );
  }
  return `<section class="summary"><ul>${items.map((i) => `<li>${i}</li>`).join("")}</ul></section>`;
}

function chartHtml(c: HtmlChart): string {
  if (!c.svg) {
    return `<figure id="chart-${esc(c.name)}"><h2>${esc(c.title)}</h2><div class="note">${esc(c.note ?? "no data")}</div><figcaption>${esc(c.caption)}</figcaption></figure>`;
  }
  const note = c.note ? `<div class="note">${esc(c.note)}</div>` : "";
  // the chart carries its own title
  return `<figure id="chart-${esc(c.name)}">${c.svg}${note}<figcaption>${esc(c.caption)} ` +
    `Files: <a href="${esc(c.name)}.svg">${esc(c.name)}.svg</a>, <a href="${esc(c.name)}.png">${esc(c.name)}.png</a>.</figcaption></figure>`;
}

/** The prediction at every extrapolation distance, one row per K (after the extrapolation chart). */
function extrapolationTableHtml(d: ReportData): string {
  if (!d.prediction.ok) return "";
  const p = d.prediction.data;
  const head = ["K", "extrapolation", "fit points", "predicted", `${Math.round(p.level * 100)}% interval`, "actual", "error", "inside"];
  const rows = p.table.map((r) => [
    `<td>${num(r.K, 3)}</td>`, `<td>${num(r.extrapolationFactor, 3)}×</td>`, `<td>${r.fitPoints} (${r.fitRuns} runs)</td>`,
    `<td>${r.predicted.toFixed(4)}</td>`, `<td>[${r.interval[0].toFixed(4)}, ${r.interval[1].toFixed(4)}]</td>`,
    `<td>${r.actual !== null ? r.actual.toFixed(4) : "–"}</td>`,
    `<td>${r.errorPct !== null ? `${r.errorPct >= 0 ? "+" : ""}${r.errorPct.toFixed(2)}%` : "–"}</td>`,
    `<td>${r.inInterval === null ? "–" : r.inInterval ? "yes" : "no"}</td>`,
  ].join(""));
  return `<h2 id="extrapolation-table">Prediction of ${esc(p.run)} at every extrapolation distance</h2>` +
    `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>` +
    `<tbody>${rows.map((r, i) => `<tr${p.table[i].K === p.main.K ? ' class="main"' : ""}>${r}</tr>`).join("")}</tbody></table>`;
}

function runsTableHtml(d: ReportData): string {
  if (d.runs.length === 0) return "";
  const head = ["run", "size", "status", "N", "D", "C (FLOP)", "step", "val loss", "time"];
  const rows = d.runs.map((r) => [
    `<td class="l">${esc(r.id)}</td>`, `<td class="l">${esc(r.size)}</td>`, `<td class="l">${esc(r.status)}</td>`,
    `<td>${si(r.N)}</td>`, `<td>${si(r.tokensDone || r.D)}</td>`, `<td>${si(r.flopsDone || r.C)}</td>`,
    `<td>${r.lastStep ?? "–"}</td>`, `<td>${r.finalValLoss !== null ? r.finalValLoss.toFixed(4) : "–"}</td>`,
    `<td>${r.wallSeconds !== null ? `${Math.round(r.wallSeconds)} s` : "–"}</td>`,
  ].join(""));
  return `<h2>Runs</h2><table><thead><tr>${head.map((h, i) => `<th${i < 3 ? ' class="l"' : ""}>${h}</th>`).join("")}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r}</tr>`).join("")}</tbody></table>`;
}
