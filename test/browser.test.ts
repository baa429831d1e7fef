/**
 * The dashboard end to end in a real browser: playwright-core driving Debian's Chromium (/usr/bin/chromium,
 * installed by .ci/run) on a fixture lab whose largest run is still training. Checks that the charts render, that
 * a metric row appended to the store shows up live (runs table and live chart), that the forecast sliders
 * recompute the forecast in the page, and that a text sample comes back from a checkpoint.
 *
 * Skipped only where Chromium is missing AND the run is not CI (CI=true must run it).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { startServer } from "../src/server/index.js";
import { openLab } from "../src/store/index.js";
import { fixtureRows, makeFixtureLab } from "./report-fixture.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = !existsSync(CHROMIUM) && process.env.CI !== "true" ? `${CHROMIUM} is missing (apt-get install chromium)` : false;

/** The multiple "needs X× the largest run's compute" of the forecast text. */
function multiple(text: string): number {
  const m = /needs ([\d.e+-]+)× the largest run/.exec(text);
  assert.ok(m, `forecast text: ${text}`);
  return Number(m[1]);
}

async function renders(page: Page, id: string): Promise<number> {
  return page.$eval(`#${id}`, (el) => Number((el as HTMLElement).dataset.renders ?? 0));
}

test("dashboard in Chromium: charts render, a new metric row appears live, sliders change the forecast, samples", { skip, timeout: 120_000 }, async () => {
  const lab = mkdtempSync(join(tmpdir(), "sl-browser-"));
  const profile = mkdtempSync(join(tmpdir(), "sl-browser-profile-"));
  const ids = await makeFixtureLab(lab, { running: true, checkpoint: true });
  const live = ids[ids.length - 1];
  const dash = await startServer({ lab, port: 0, pollMs: 200, report: { bootstrap: 30, workers: 1 } });
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic",
      ],
      viewport: { width: 1100, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(dash.url);

    // charts render: one live curve per run, the fits, a note where there is no data
    await page.waitForFunction(() => document.querySelectorAll("#chart-live .mark-line path").length >= 5, null, { timeout: 20_000 });
    for (const id of ["fit-loss-vs-compute", "fit-loss-vs-params", "fit-prediction"]) {
      await page.waitForSelector(`#${id} svg .mark-line path`, { timeout: 20_000 });
    }
    assert.match(await page.textContent("#fit-accuracy-vs-compute .note") ?? "", /no few-shot evaluations/);
    assert.equal(await page.textContent(`tr[data-run="${live}"] td.status`), "running");
    assert.equal(await page.textContent(`tr[data-run="${live}"] td.step`), "30");

    // a metric row written to the store shows up without a reload
    const before = await renders(page, "chart-live");
    const w = openLab(lab);
    try {
      w.appendMetrics(live, fixtureRows(w.getRun(live)!.N, 31, 31, 60));
    } finally {
      w.close();
    }
    await page.waitForFunction((id) => document.querySelector(`tr[data-run="${id}"] td.step`)?.textContent === "31", live, { timeout: 15_000 });
    await page.waitForFunction((n) => Number((document.getElementById("chart-live") as HTMLElement).dataset.renders) > n, before, { timeout: 15_000 });
    const liveTrain = await page.textContent(`tr[data-run="${live}"] td.train`);
    assert.match(liveTrain ?? "", /^\d+\.\d{4}$/);

    // the sliders recompute the forecast in the page
    await page.waitForSelector("#chart-forecast-law svg", { timeout: 20_000 });
    const text0 = (await page.textContent("#forecast-text")) ?? "";
    const m0 = multiple(text0);
    const lawRenders = await renders(page, "chart-forecast-law");
    await page.locator("#target").fill("0.3");
    await page.waitForFunction((t) => document.getElementById("forecast-text")?.textContent !== t, text0, { timeout: 10_000 });
    const text1 = (await page.textContent("#forecast-text")) ?? "";
    assert.ok(multiple(text1) > m0 * 1.5, `a lower target needs more compute: ${text0} → ${text1}`);
    assert.match((await page.textContent("#target-out")) ?? "", /\(0\.30× /);
    await page.waitForFunction((n) => Number((document.getElementById("chart-forecast-law") as HTMLElement).dataset.renders) > n, lawRenders, { timeout: 10_000 });
    await page.locator("#budget").fill("0");
    await page.waitForFunction(() => / in \d{4}\.\d\.$/.test(document.getElementById("forecast-text")?.textContent ?? ""), null, { timeout: 10_000 }).catch(async (e) => {
      throw new Error(`${e.message}: ${await page.textContent("#forecast-text")}`);
    });
    assert.equal(await page.textContent("#budget-out"), "$1.00");
    await page.locator("#halving").fill("6");
    assert.equal(await page.textContent("#halving-out"), "6 months");

    // a text sample from the run with a checkpoint
    assert.equal(await page.inputValue("#sample-run"), ids[0]);
    await page.fill("#sample-tokens", "5");
    await page.click("#sample-go");
    await page.waitForSelector(`#sample-output[data-run="${ids[0]}"]`, { timeout: 20_000 });

    assert.deepEqual(errors, [], "no errors in the page");
  } finally {
    await context?.close();
    await dash.close();
    rmSync(lab, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
});
