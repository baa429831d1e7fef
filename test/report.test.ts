/**
 * The report: every chart as SVG and PNG plus a self-contained index.html from a fixture lab (curves, evals,
 * IsoFLOP); notes instead of charts for an empty lab, a bare directory and a one-run sweep; legend order; the
 * page's forecast arithmetic against runForecast; the CLI contract; formatting and font metrics.
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
import { isForecastError, labForecast } from "../src/report/forecast-math.js";
import { si, usd } from "../src/report/format.js";
import { openLab } from "../src/store/index.js";
import { repoRoot } from "./helpers.js";
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
  const ids = await makeFixtureLab(lab, { evals: true });
  const r = await writeReport({ lab, out, ...fast });
  assert.equal(r.sweep, "fx");
  assert.equal(r.index, join(out, "index.html"));
  const names = r.charts.map((c) => c.name);
  assert.deepEqual(names, ["loss-vs-compute", "loss-vs-params", "prediction", "accuracy-vs-compute", "forecast-law", "forecast-cost"]);
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
  assert.ok(main.some((t) => /^frontier: L = [\d.]+·C\^−[\d.]+ \(C in FLOP\)$/.test(t)), "frontier equation on the chart");
  assert.ok(main.some((t) => /^\d+(\.\d+)?[kMG]$/.test(t)), "SI-prefixed ticks");
  // the held-out prediction is of the largest run, scored against its loss
  const data = JSON.parse(readFileSync(r.json, "utf8"));
  assert.equal(data.prediction.ok, true);
  assert.equal(data.prediction.data.run, ids[4]);
  assert.ok(Math.abs(data.prediction.data.errorPct) < 5, `prediction error ${data.prediction.data.errorPct}%`);
  assert.ok(Math.abs(data.paramsLaw.data.law.alpha - 0.34) < 0.15, `L(N) exponent ${data.paramsLaw.data.law.alpha}`);
  // the page is self-contained: inline SVGs with distinct ids, no scripts, nothing fetched from elsewhere
  const html = readFileSync(r.index, "utf8");
  assert.equal((html.match(/<svg/g) ?? []).length, 6);
  assert.doesNotMatch(html, /<script|<link|(src|href)="(https?:)?\/\//i);
  const ids2 = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids2).size, ids2.length, "ids unique across the inlined charts");
  assert.match(html, /Compute frontier: <b>L = /);
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
  assert.match(r.charts.find((c) => c.name === "prediction")!.note!, /isoflop sweep/);
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
  assert.match(byName.get("loss-vs-compute")!.note!, /at least 2 model sizes \(this sweep has 1\)/);
  for (const n of ["loss-vs-params", "prediction", "forecast-law", "forecast-cost"]) {
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
