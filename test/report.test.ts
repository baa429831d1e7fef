/**
 * The report: every chart as SVG and PNG plus a self-contained index.html from a fixture lab (curves, endpoints,
 * evals, IsoFLOP) and from a tiny sweep trained with WSD cooldown branches (the endpoint frontier, the prediction
 * table, the Chinchilla interval); a stored analysis shown as stored, not refitted; notes instead of charts for an
 * empty lab, a bare directory and a one-run sweep; legend order; the page's forecast arithmetic against
 * runForecast; the CLI contract; formatting and font metrics.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { powerComputeLaw, runForecast } from "../src/forecast/index.js";
import { PF_DAY } from "../src/util/units.js";
import { findFonts, ReportError, ReportInputError, prefixSvgIds, writeReport } from "../src/report/index.js";
import { thinCurve } from "../src/report/data.js";
import { loadFontMetrics } from "../src/report/fontmetrics.js";
import { isForecastError, labForecast, sliderFraction, sliderLabel, sliderTarget } from "../src/report/forecast-math.js";
import { si, usd } from "../src/report/format.js";
import { analyzeSweep } from "../src/analysis/index.js";
import { openLab } from "../src/store/index.js";
import { LocalExecutor } from "../src/sweep/executor.js";
import { sweepAnalysisSettings } from "../src/sweep/ladder.js";
import { runSweep, type SweepOptions } from "../src/sweep/sweep.js";
import { repoRoot, tinyCorpusData } from "./helpers.js";
import { makeFixtureLab, makeIsoflopLab } from "./report-fixture.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "sl-report-"));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const fast = { bootstrap: 40, workers: 1, now: new Date("2026-06-01T00:00:00Z") };

/** Text content of an SVG's <text> elements, in document order. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&amp;/g, "&"));
}

test("a curves sweep with evals: index.html plus every chart as SVG and PNG, legend by size, equations shown", async () => {
  const lab = tmp();
  const out = join(lab, "out");
  const ids = await makeFixtureLab(lab, { evals: true, icl: true });
  // the fixture's law is in non-embedding N: the analysis made for the report takes the sweep's settings
  const r = await writeReport({ lab, out, ...fast, analysisSettings: () => ({ paramCount: "nonEmbedding" }) });
  assert.equal(r.sweep, "fx");
  assert.equal(r.index, join(out, "index.html"));
  const names = r.charts.map((c) => c.name);
  assert.deepEqual(names, ["loss-vs-compute", "loss-vs-params", "prediction", "extrapolation", "icl-curves", "icl-score", "accuracy-vs-compute", "forecast-law", "forecast-cost"]);
  for (const c of r.charts) {
    assert.equal(c.note === null || c.name === "loss-vs-compute", true, `${c.name}: ${c.note}`);
    assert.equal(c.svg, join(out, `${c.name}.svg`));
    const svg = readFileSync(c.svg!, "utf8");
    assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
    const png = readFileSync(c.png!);
    assert.deepEqual(png.subarray(0, 8), PNG_MAGIC, `${c.name}.png is a PNG`);
    assert.ok(png.length > 20_000, `${c.name}.png has content (${png.length} bytes)`);
  }
  // the main chart: every run, legend ordered by N, the frontier's equation, SI ticks on the compute axis
  const main = svgTexts(readFileSync(join(out, "loss-vs-compute.svg"), "utf8"));
  const legend = ["f-1", "f-2", "f-3", "f-4", "f-5"].map((s) => main.findIndex((t) => t.startsWith(`${s} · N=`)));
  assert.ok(legend.every((i) => i >= 0), "every size is in the legend");
  assert.deepEqual(legend.slice().sort((a, b) => a - b), legend, "legend in increasing N");
  assert.ok(main.some((t) => /^frontier: L = [\d.]+ \+ [\d.]+·C\^−[\d.]+ \(C in FLOP\)$/.test(t)), "frontier equation (with its floor E) on the chart");
  assert.ok(main.some((t) => /^dotted: Kaplan's method, L = [\d.]+·C\^−[\d.]+ \(mid-schedule envelope\)$/.test(t)), "Kaplan's frontier labelled beside it");
  assert.ok(main.some((t) => /^\d+(\.\d+)?[kMG]$/.test(t)), "SI-prefixed ticks");
  // the sections come from one analysis of the sweep, made for the report (none is stored)
  const data = JSON.parse(readFileSync(r.json, "utf8"));
  assert.equal(data.analysis.source, "computed");
  assert.equal(data.analysis.paramCount, "nonEmbedding");
  assert.equal(data.frontier.data.endpoints.length, 15, "every endpoint: 5 runs × (D/4, D/2, D)");
  // the held-out prediction is of the largest run, from endpoints with ≤ 1/10 of its compute, scored against its loss
  assert.equal(data.prediction.ok, true);
  const p = data.prediction.data;
  assert.equal(p.run, ids[4]);
  assert.equal(p.main.K, 10);
  assert.ok(p.fitPoints.length === p.main.fitPoints && p.fitPoints.every((q: { run: string; C: number }) => q.run !== ids[4] && q.C <= p.C / 10));
  assert.ok(Math.abs(p.main.errorPct) < 1, `prediction error ${p.main.errorPct}%`);
  assert.ok(Math.abs(data.paramsLaw.data.law.alpha - 0.34) < 0.15, `L(N) exponent ${data.paramsLaw.data.law.alpha}`);
  // the page is self-contained: inline SVGs with distinct ids, no scripts, nothing fetched from elsewhere
  const html = readFileSync(r.index, "utf8");
  assert.equal((html.match(/<svg/g) ?? []).length, 9);
  assert.doesNotMatch(html, /<script|<link|(src|href)="(https?:)?\/\//i);
  const ids2 = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids2).size, ids2.length, "ids unique across the inlined charts");
  assert.match(html, /Compute frontier of the cooled-down endpoints: <b>L = /);
  assert.match(html, /compute-optimal <b>[\d.]+ tokens per parameter<\/b> \[[\d.]+, [\d.]+\] \(90%\)/);
  assert.match(html, /<h2 id="extrapolation-table">/);
  // in-context learning: the score per size in the summary, more negative for the bigger models of the fixture
  assert.match(html, /In-context learning score \(mean loss at 26–40 minus at 3–4 tokens of context/);
  const scores = data.icl.data.scores.map((x: { score: number }) => x.score);
  assert.equal(scores.length, 5);
  assert.ok(scores.every((x: number, i: number) => x < 0 && (i === 0 || x < scores[i - 1])), `${scores}`);
  assert.ok(svgTexts(readFileSync(join(out, "icl-curves.svg"), "utf8")).some((t) => t.startsWith("f-5 · N=")), "sizes in the legend");
});

test("a tiny sweep trained with WSD cooldown branches: endpoint frontier, prediction table and Chinchilla interval", async () => {
  const lab = tmp();
  const opts: SweepOptions = { lab, sweep: "wsd", plan: "curves", ladder: "tiny-test", data: await tinyCorpusData(), tokens: [256 * 40] };
  await runSweep(opts, new LocalExecutor({ threads: 1, pollMs: 100 }));
  // no stored analysis: the report makes one with the ladder's settings (tiny-test: K 2)
  const r = await writeReport({ lab, out: join(lab, "out"), ...fast, analysisSettings: sweepAnalysisSettings });
  const data = JSON.parse(readFileSync(r.json, "utf8"));
  assert.equal(data.analysis.source, "computed");
  assert.equal(data.analysis.K, 2);
  assert.equal(data.frontier.ok, true, data.frontier.note);
  assert.equal(data.frontier.data.endpoints.length, 15, "5 runs × (branches at D/4 and D/2, and D)");
  assert.ok(data.frontier.data.envelope.length >= 4 && data.frontier.data.decades > 1);
  assert.equal(data.prediction.ok, true, data.prediction.note);
  const p = data.prediction.data;
  assert.equal(p.run, "wsd.t-5.d10.24k.s1337");
  assert.equal(p.main.K, 2);
  assert.ok(p.main.extrapolationFactor >= 2 && p.main.actual !== null);
  assert.ok(p.table.length >= 1 && p.table.every((row: { K: number; extrapolationFactor: number }) => row.extrapolationFactor >= row.K));
  assert.equal(data.chinchilla.ok, true, data.chinchilla.note);
  const [lo, hi] = data.chinchilla.data.tokensPerParamInterval;
  assert.ok(lo <= data.chinchilla.data.tokensPerParam && data.chinchilla.data.tokensPerParam <= hi);
  for (const name of ["loss-vs-compute", "prediction", "extrapolation"]) {
    const c = r.charts.find((x) => x.name === name)!;
    assert.ok(c.png && existsSync(c.png), `${name} drawn (${c.note})`);
  }
  const html = readFileSync(r.index, "utf8");
  const table = html.slice(html.indexOf('<h2 id="extrapolation-table">'));
  assert.equal((table.slice(0, table.indexOf("</table>")).match(/<tr/g) ?? []).length, 1 + p.table.length, "one row per distance");
  assert.match(html, /tokens per parameter<\/b> \[/);
});

test("a stored analysis is shown as stored, not refitted; one that no longer covers the endpoints is not used", async () => {
  const lab = tmp();
  const ids = await makeFixtureLab(lab);
  const w = openLab(lab);
  const stored = await analyzeSweep(w, "fx", { version: "stored-1", bootstrap: 20, workers: 1, K: 4 });
  // numbers no refit would give: the report must show exactly these
  const doctored = structuredClone(stored);
  doctored.frontier!.A = 1234.5;
  doctored.frontier!.E = 0.5;
  doctored.prediction!.main!.predicted = 9.875;
  doctored.chinchilla!.tokensPerParam = 42.25;
  w.saveAnalysis("fx", "stored-1", doctored);
  w.close();
  const data = JSON.parse(readFileSync((await writeReport({ lab, out: join(lab, "out"), ...fast })).json, "utf8"));
  assert.equal(data.analysis.source, "stored");
  assert.equal(data.analysis.version, "stored-1");
  assert.deepEqual(data.frontier.data.law, { k: 1234.5, alpha: stored.frontier!.alpha, E: 0.5 });
  assert.equal(data.prediction.data.main.predicted, 9.875);
  assert.equal(data.prediction.data.main.K, 4);
  assert.equal(data.chinchilla.data.tokensPerParam, 42.25);
  assert.deepEqual(data.forecast.data.law, data.frontier.data.law, "the forecast extrapolates the analysis's frontier");

  // a new endpoint since: the report makes its own analysis (with the stored one's K) and says why
  const w2 = openLab(lab);
  w2.recordEndpoints(ids[0], [{ kind: "branch", step: 45, tokens: 45 * 1024, flops: 6 * w2.getRun(ids[0])!.N * 45 * 1024, valLoss: 3.5, trainLoss: 3.5 }]);
  w2.close();
  const fresh = JSON.parse(readFileSync((await writeReport({ lab, out: join(lab, "out"), ...fast })).json, "utf8"));
  assert.equal(fresh.analysis.source, "computed");
  assert.match(fresh.analysis.notes[0], /^the analysis stored on \d{4}-\d\d-\d\d does not cover the sweep's 16 endpoints/);
  assert.equal(fresh.prediction.data.main.K, 4);
  assert.notEqual(fresh.prediction.data.main.predicted, 9.875);
});

test("an IsoFLOP sweep gets its profiles with minima inside the sampled sizes", async () => {
  const lab = tmp();
  makeIsoflopLab(lab);
  const r = await writeReport({ lab, out: join(lab, "out"), ...fast });
  const iso = r.charts.find((c) => c.name === "isoflop")!;
  assert.ok(iso.svg && existsSync(iso.png!), "isoflop chart drawn");
  const data = JSON.parse(readFileSync(r.json, "utf8"));
  assert.equal(data.isoflop.data.groups.length, 3);
  for (const g of data.isoflop.data.groups) assert.ok(g.inRange, `N_opt ${g.Nopt} inside the sizes at C=${g.C}`);
  const nOpt = data.isoflop.data.groups.map((g: { Nopt: number }) => g.Nopt);
  assert.ok(nOpt[0] < nOpt[1] && nOpt[1] < nOpt[2], "N_opt grows with compute");
  assert.match(r.charts.find((c) => c.name === "loss-vs-params")!.note!, /IsoFLOP/);
  // the planned compute of these fixture runs is not their budget: the analysis's target has no smaller endpoints
  assert.match(r.charts.find((c) => c.name === "prediction")!.note!, /^no held-out prediction of iso\.i-5\S*: .*needs at least 8 endpoints/);
});

test("empty lab, bare directory and a one-run sweep: the report renders with notes instead of charts", async () => {
  // an empty lab (database, no runs)
  const empty = tmp();
  openLab(empty).close();
  const r1 = await writeReport({ lab: empty, out: join(empty, "out"), ...fast });
  assert.ok(r1.charts.every((c) => c.svg === null && c.png === null && c.note));
  assert.match(readFileSync(r1.index, "utf8"), /the lab has no runs yet/);

  // a directory without a database
  const bare = tmp();
  const r2 = await writeReport({ lab: bare, ...fast });
  assert.equal(r2.out, join(bare, "report"));
  assert.match(readFileSync(r2.index, "utf8"), /is empty \(no lab\.sqlite yet\)/);

  // one run: its curve is drawn, every fit is a note
  const one = tmp();
  await makeFixtureLab(one, { sizes: 1 });
  const out = join(one, "out");
  const r3 = await writeReport({ lab: one, out, ...fast });
  const byName = new Map(r3.charts.map((c) => [c.name, c]));
  assert.ok(byName.get("loss-vs-compute")!.svg, "the one learning curve is drawn");
  assert.match(byName.get("loss-vs-compute")!.note!, /^no frontier fit: the endpoints' compute frontier has \d points \(need 4\); add sizes or cooldown branches$/);
  for (const n of ["loss-vs-params", "prediction", "extrapolation", "forecast-law", "forecast-cost"]) {
    assert.equal(byName.get(n)!.svg, null, n);
    assert.equal(existsSync(join(out, `${n}.png`)), false, `${n}.png not written`);
  }
  const html = readFileSync(r3.index, "utf8");
  assert.match(html, /class="note">no L\(N\) fit: it needs finished runs of at least 3 sizes/);
  assert.match(html, /class="note">no forecast/);

  // no such directory, unknown sweep: one-line errors naming the fix
  await assert.rejects(writeReport({ lab: join(bare, "nope") }), (e) => e instanceof ReportInputError && /pass --lab DIR/.test(e.message));
  await assert.rejects(writeReport({ lab: one, sweep: "nope", ...fast }), (e) => e instanceof ReportError && /known: fx/.test(e.message));
});

test("the page's forecast arithmetic agrees with runForecast", () => {
  const law = { k: 11.2, alpha: 0.0464, E: 0 };
  for (const [targetLoss, budgetUSD, halvingMonths] of [[2, 1e9, 16], [3.5, 10, 12], [1.2, 1e3, 30]]) {
    const refFlops = 4e9;
    const a = labForecast({ law, referenceFlops: refFlops, referenceCostUSD: 1e-3, referenceYear: 2026.4, targetLoss, budgetUSD, halvingMonths });
    const b = runForecast({
      law: powerComputeLaw(law.k, law.alpha, law.E, "flop"), referencePfDays: refFlops / PF_DAY, referenceCostUSD: 1e-3,
      referenceYear: 2026.4, targetLoss, budgetUSD, halvingMonths, samples: 0,
    });
    assert.ok(!isForecastError(a));
    for (const [x, y] of [[a.computeMultiple, b.computeMultiple], [a.costUSD, b.costUSD], [a.yearWithinBudget, b.yearWithinBudget], [a.targetFlops, b.targetComputeFlops], [a.referenceLoss, b.referenceLoss]]) {
      assert.ok(Math.abs(x - y) <= 1e-9 * Math.abs(y), `${x} vs ${y}`);
    }
  }
  const withFloor = { k: 50, alpha: 0.1, E: 1.5 };
  const base = { law: withFloor, referenceFlops: 1e10, referenceCostUSD: 1, referenceYear: 2026, budgetUSD: 1e6, halvingMonths: 16 };
  assert.match((labForecast({ ...base, targetLoss: 1.4 }) as { error: string }).error, /never reaches loss 1.4 \(its floor is 1.5\)/);
  assert.match((labForecast({ ...base, targetLoss: 10 }) as { error: string }).error, /not below the reference loss/);
  assert.match((labForecast({ ...base, targetLoss: 2, budgetUSD: 0 }) as { error: string }).error, /budget must be a positive number/);
  // the sliders keep a fraction of the reducible loss: every position is a loss the law reaches
  const refLoss = withFloor.E + withFloor.k * 1e10 ** -withFloor.alpha;
  for (const frac of [0.2, 0.5, 0.99]) {
    const t = sliderTarget(withFloor, refLoss, frac);
    assert.ok(t > withFloor.E && t < refLoss);
    assert.ok(Math.abs(sliderFraction(withFloor, refLoss, t) - frac) < 1e-12);
    assert.ok(!isForecastError(labForecast({ ...base, targetLoss: t })), `slider at ${frac}`);
  }
  assert.equal(sliderTarget({ k: 50, alpha: 0.1, E: 0 }, 4, 0.5), 2, "a pure power law: a fraction of the loss itself");
  assert.match(sliderLabel(withFloor, refLoss, 0.5, (x, d) => x.toFixed(d)), /^\d\.\d{3} \(0\.50× the reducible loss \d\.\d{3} above the floor 1\.500\)$/);
});

test("scaling-lab report: --json contract, default output in LAB/report, one-line errors", async () => {
  const lab = tmp();
  await makeFixtureLab(lab, { sizes: 3 });
  const cli = join(repoRoot, "dist/src/cli/main.js");
  const ok = spawnSync(process.execPath, [cli, "report", "--lab", lab, "--bootstrap", "0", "--json"], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  const lines = ok.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]);
  assert.equal(j.index, join(lab, "report", "index.html"));
  assert.ok(existsSync(j.index));
  assert.ok(j.charts.some((c: { name: string; png: string | null }) => c.name === "loss-vs-compute" && c.png && existsSync(c.png)));
  for (const args of [["--lab", join(lab, "missing")], ["--lab", lab, "--sweep", "zz"], ["--lab", lab, "--budget", "-3"]]) {
    const bad = spawnSync(process.execPath, [cli, "report", ...args], { encoding: "utf8" });
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.match(bad.stderr, /^scaling-lab report: /);
  }
  const help = spawnSync(process.execPath, [cli, "report", "--help"], { encoding: "utf8" });
  assert.match(help.stdout, /Example:\n  scaling-lab report --lab/);
});

test("helpers: SI and dollar formats, curve thinning, id prefixing, font metrics", () => {
  assert.equal(si(12800), "12.8k");
  assert.equal(si(4.07e9), "4.07G");
  assert.equal(si(888), "888");
  assert.equal(si(0.002), "2m");
  assert.equal(usd(1e9), "$1B");
  assert.equal(usd(35.75), "$35.75");
  assert.equal(usd(4.6e6), "$4.6M");
  const rows = Array.from({ length: 1000 }, (_, i) => i);
  const thin = thinCurve(rows, 50);
  assert.ok(thin.length <= 50 && thin[0] === 0 && thin[thin.length - 1] === 999);
  assert.deepEqual(thin, [...thin].sort((a, b) => a - b));
  assert.deepEqual(thinCurve([1, 2, 3], 50), [1, 2, 3]);
  assert.equal(
    prefixSvgIds('<clipPath id="clip1"/><g clip-path="url(#clip1)"/><use href="#clip1"/>', "a"),
    '<clipPath id="a-clip1"/><g clip-path="url(#a-clip1)"/><use href="#a-clip1"/>',
  );
  const fonts = findFonts();
  if (fonts.length > 0) {
    const m = loadFontMetrics(fonts[0]);
    assert.ok(m.width("mmmm", 10) > 2 * m.width("iiii", 10));
    assert.ok(Math.abs(m.width("0", 10) - 6.36) < 0.1, `DejaVu digit width ${m.width("0", 10)}`);
    assert.equal(m.width("", 12), 0);
  }
});
