/**
 * The browser playground end to end in Debian's Chromium (playwright-core): the site is built (npm run build:web's
 * script), served by the playground server, and a ladder of 4 tiny sizes trains to the end in the page. Checks the
 * learning-curve chart, the fitted frontier, the largest size predicted and then scored, the forecast sliders, the
 * exported bundle imported by the CLI, and that the page's losses are the CLI's for the same config, seed and
 * backend. Also: a page put to sleep mid-training says so in one line and finishes; a reload restores the
 * finished runs; a page that is not cross-origin isolated says it trains on one thread.
 *
 * Skipped only where Chromium is missing AND the run is not CI (CI=true must run it).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { CHROMIUM, politeChromium } from "../bench/chromium.js";
import { startPlayground } from "../src/server/playground.js";
import { type MetricRecord, openLab, parseRunBundle } from "../src/store/index.js";
import { repoRoot, runCli } from "./helpers.js";

const skip = !existsSync(CHROMIUM) && process.env.CI !== "true" ? `${CHROMIUM} is missing (apt-get install chromium)` : false;
const SITE = join(repoRoot, "dist-web");
/** Four sizes, 20 steps of 512 tokens each: the whole ladder trains in seconds. */
const QUERY = "?sizes=p-1,p-2,p-3,p-4&tokens=10240&batch=512&backend=wasm";

async function launch(dir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: politeChromium(dir),
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1200, height: 900 },
    acceptDownloads: true,
  });
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  return errors;
}

const text = async (page: Page, sel: string) => (await page.textContent(sel)) ?? "";

test("playground in Chromium: a 4-size ladder trains, the frontier is fitted, the largest size is predicted and scored, the export imports, losses match the CLI", { skip, timeout: 600_000 }, async () => {
  const built = spawnSync(process.execPath, [join(repoRoot, "scripts/build-web.mjs"), "--quiet"], { encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
  const size = JSON.parse(readFileSync(join(SITE, "build.json"), "utf8")) as { gzipBytes: number };
  assert.ok(size.gzipBytes < 2e6, `bundle ${size.gzipBytes} bytes gzipped (target ≤ 2 MB)`);

  const tmp = mkdtempSync(join(tmpdir(), "sl-playground-"));
  const site = await startPlayground({ dir: SITE, port: 0 });
  const plain = await startPlayground({ dir: SITE, port: 0, isolate: false });
  const context = await launch(tmp);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors = watchErrors(page);
    await page.goto(site.url + QUERY);
    await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 60_000 });
    assert.match(await text(page, "#engine"), /^wasm: .* on \d+ threads?.* · cross-origin isolated$/);

    // train; put the page to sleep for 6.5 s while the second size trains, as a browser does to a background tab
    // (headless Chromium ignores Page.setWebLifecycleState, so the debugger holds the page's thread instead)
    await page.click("#start");
    await page.waitForFunction(() => document.querySelector('tr[data-run*=".p-2."] td.status')?.textContent === "running", null, { timeout: 60_000 });
    const cdp = await context.newCDPSession(page);
    await cdp.send("Debugger.enable");
    await cdp.send("Debugger.pause");
    await new Promise((r) => setTimeout(r, 6500));
    await cdp.send("Debugger.resume");
    await cdp.send("Debugger.disable");
    await page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 240_000 }).catch(async (e) => {
      throw new Error(`${(e as Error).message}: state ${await page.evaluate(() => document.body.dataset.state)}, status "${await text(page, "#status")}"`);
    });
    assert.match(await text(page, "#status"), /(asleep|froze).*training went on from where it was; the \d finished runs? (is|are) kept$/);

    // the chart, the fitted law, the prediction scored, the forecast
    assert.ok((await page.$$("#chart-curves svg .mark-line path")).length >= 5, "one learning curve per size and the frontier");
    assert.match(await text(page, "#law"), /^Compute-efficient frontier: L = .*C\^−[\d.]+ .*\(R² = [\d.]+\)$/);
    assert.equal(await page.getAttribute("#prediction", "data-scored"), "true");
    const scored = await text(page, "#prediction");
    assert.match(scored, /^Scored: p-4 · N=\S+ was predicted at [\d.]+ .*and reached [\d.]+: error [+-]?[\d.]+%/);
    await page.waitForSelector("#chart-prediction svg .mark-line path");
    await page.waitForSelector("#chart-params svg");
    assert.equal(await page.isVisible("#forecast-controls"), true);
    const before = await text(page, "#forecast-text");
    assert.match(before, /needs [\d.e+-]+× the largest run's compute/);
    await page.locator("#target").fill("0.3");
    await page.waitForFunction((t) => document.getElementById("forecast-text")?.textContent !== t, before, { timeout: 10_000 });
    assert.equal(await page.locator("tbody tr td.status", { hasText: "done" }).count(), 4);

    // the export is a lab the CLI imports
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
    const bundleFile = join(tmp, "export.jsonl");
    await download.saveAs(bundleFile);
    const bundle = parseRunBundle(readFileSync(bundleFile, "utf8"), bundleFile);
    assert.equal(bundle.runs.length, 4);
    const lab = join(tmp, "lab");
    const imported = runCli(["runs", "--import", bundleFile, "--lab", lab, "--json"]);
    assert.equal(imported.status, 0, imported.stderr);
    const l = openLab(lab);
    try {
      const runs = l.listRuns({ sweep: bundle.header.sweep });
      assert.deepEqual(runs.map((r) => [r.name, r.status]), [["p-1", "done"], ["p-2", "done"], ["p-3", "done"], ["p-4", "done"]]);
      assert.equal(l.endpointPoints(bundle.header.sweep).length, 4);
    } finally {
      l.close();
    }
    const report = runCli(["report", "--lab", lab, "--out", join(tmp, "report"), "--json"]);
    assert.equal(report.status, 0, report.stderr);

    // the page's losses are the CLI's: the same config, seed, data and backend through scaling-lab train
    const first = bundle.runs[0];
    const configFile = join(tmp, "config.json");
    writeFileSync(configFile, JSON.stringify(first.config));
    const out = join(tmp, "cli-run");
    const trained = runCli(["train", "--config", configFile, "--data", join(SITE, "data"), "--backend", "wasm", "--out", out, "--json"]);
    assert.equal(trained.status, 0, trained.stderr);
    const cli = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as MetricRecord);
    assert.equal(cli.length, first.metrics.length);
    for (let i = 0; i < cli.length; i++) {
      const [a, b] = [first.metrics[i], cli[i]];
      assert.equal(a.step, b.step);
      assert.ok(Math.abs(a.trainLoss - b.trainLoss) <= 1e-5 * b.trainLoss, `step ${b.step}: page ${a.trainLoss} vs CLI ${b.trainLoss}`);
      assert.equal(a.valLoss === undefined, b.valLoss === undefined);
      if (b.valLoss !== undefined) assert.ok(Math.abs(a.valLoss! - b.valLoss) <= 1e-5 * b.valLoss, `step ${b.step}: val ${a.valLoss} vs ${b.valLoss}`);
    }

    // a reload keeps the finished runs
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 60_000 });
    assert.match(await text(page, "#status"), /^restored 4 finished runs of playground-\d{8}-\d{6} saved in this browser$/);
    assert.equal(await page.locator("tbody tr td.status", { hasText: "done" }).count(), 4);
    assert.deepEqual(errors, [], "no errors in the page");

    // without cross-origin isolation there is no SharedArrayBuffer: one line says so, and training uses one thread;
    // a sweep stopped after its first size keeps that run through a reload and continues with the rest
    const other = await context.newPage();
    const otherErrors = watchErrors(other);
    await other.goto(plain.url + "?sizes=p-1,p-2&tokens=10240&batch=512&backend=wasm");
    await other.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 60_000 });
    assert.match(await text(other, "#engine"), /on 1 thread,/);
    assert.match(await text(other, "#status"), /^no SharedArrayBuffer: the page is not cross-origin isolated, so the wasm backend runs on one thread/);
    await other.click("#start");
    await other.waitForFunction(() => document.querySelector('tr[data-run*=".p-2."] td.step')?.textContent !== "–", null, { timeout: 60_000 });
    await other.click("#stop");
    await other.waitForFunction(() => document.body.dataset.state === "stopped", null, { timeout: 60_000 });
    assert.match(await text(other, "#status"), /^stopped; the 1 finished run is kept; Train continues with the unfinished sizes$/);
    const p1 = await text(other, 'tr[data-run*=".p-1."] td.val');
    await other.reload();
    await other.waitForFunction(() => document.body.dataset.state === "done" || document.body.dataset.state === "ready", null, { timeout: 60_000 });
    assert.match(await text(other, "#status"), /^restored 1 finished run of playground-/);
    await other.click("#start");
    await other.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 120_000 });
    assert.deepEqual(await other.$$eval("tbody tr td.status", (tds) => tds.map((td) => td.textContent)), ["done", "done"]);
    assert.equal(await text(other, 'tr[data-run*=".p-1."] td.val'), p1, "the finished run was kept, not trained again");
    assert.deepEqual(otherErrors, []);
  } finally {
    await context.close();
    await site.close();
    await plain.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
