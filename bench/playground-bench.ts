/**
 * The browser playground against Node, in one run: for each size of the playground ladder, training throughput of
 * the page's trainer (headless Chromium, the wasm backend on the page's threads) and of Node's wasm backend on the
 * same threads, shapes, data and config (src/playground/bench.ts measures both alike), interleaved so that load
 * from elsewhere hits both; then the page's default 4-size ladder timed from Start until the prediction of the
 * largest size is scored.
 *
 * Usage: node dist/bench/playground-bench.js [--steps 12] [--sizes p-1,p-2,p-3,p-4] [--no-ladder] [--tokens N] [--json]
 * (builds dist-web/ first when it is missing; needs /usr/bin/chromium). Run it on an idle machine.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { Dataset } from "../src/data/loader.js";
import { createWasmBackend } from "../src/engine/wasm.js";
import { measureThroughput } from "../src/playground/bench.js";
import { startPlayground } from "../src/server/playground.js";
import type { Ladder } from "../src/sweep/ladder.js";
import { sizeLearningRate } from "../src/sweep/ladder.js";
import { resolveTrainConfig, type TrainConfigInput } from "../src/train/config.js";
import { DatasetData } from "../src/train/dataset-data.js";
import { politeChromium } from "./chromium.js";
import { repoRoot } from "./paths.js";

/**
 * CPU seconds (user + system) used so far by this process's descendants — the browser, its renderer and workers —
 * from /proc (Linux): on a shared machine a page's wall time says little, its CPU time says what an idle machine
 * would take (about CPU time ÷ threads).
 */
function childrenCpuSeconds(): number {
  const tick = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from the 3rd on: state, ppid, …
      parent.set(Number(name), Number(f[1]));
      cpu.set(Number(name), (Number(f[11]) + Number(f[12])) / tick); // utime, stime
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}

const { values: flags } = parseArgs({
  options: {
    steps: { type: "string" }, sizes: { type: "string" }, "no-ladder": { type: "boolean" }, tokens: { type: "string" }, json: { type: "boolean" },
  },
});
const site = join(repoRoot, "dist-web");
const steps = Number(flags.steps ?? 12);
const say = (line: string) => {
  if (!flags.json) process.stdout.write(line + "\n");
};

if (!existsSync(join(site, "index.html"))) {
  const r = spawnSync(process.execPath, [join(repoRoot, "scripts/build-web.mjs")], { stdio: "inherit" });
  if (r.status !== 0) process.exit(1);
}
const ladder = JSON.parse(readFileSync(join(site, "data/ladder.json"), "utf8")) as Ladder;
const sizes = flags.sizes ? ladder.sizes.filter((s) => flags.sizes!.split(",").includes(s.name)) : ladder.sizes.slice(0, 4);
const dataset = Dataset.open(join(site, "data"));

const server = await startPlayground({ dir: site, port: 0 });
const profile = mkdtempSync(join(tmpdir(), "sl-pg-bench-"));
const context = await chromium.launchPersistentContext(join(profile, "profile"), {
  executablePath: politeChromium(profile),
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const results: Record<string, unknown>[] = [];
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url + "?backend=wasm");
  await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 60_000 });
  const engine = (await page.textContent("#engine")) ?? "";
  const threads = Number(/on (\d+) threads?/.exec(engine)?.[1] ?? 1);
  say(`page: ${engine}\nnode: wasm backend on ${threads} thread(s), the same data (dist-web/data) and configs; ${steps} timed steps each`);
  const node = await createWasmBackend(threads);
  say("size   N          page tok/s   node tok/s   page/node");
  for (const s of sizes) {
    const input: TrainConfigInput = {
      preset: `${ladder.name}/${s.name}`, data: "dist-web/data", model: { nLayer: s.nLayer, nHead: s.nHead, nEmbd: s.nEmbd, blockSize: ladder.blockSize },
      tokens: ladder.batchTokens * (steps + 1), batchTokens: ladder.batchTokens, microBatch: ladder.batchTokens / ladder.blockSize,
      lr: sizeLearningRate(s, ladder, dataset.tokenizer.vocabSize), evalEvery: 1_000_000, evalTokens: ladder.blockSize, backend: "wasm",
    };
    const pageRun = await page.evaluate(([c, n]) => (window as unknown as { playground: { bench(c: unknown, n: number): Promise<{ tokensPerSec: number }> } }).playground.bench(c, n), [input, steps + 1] as const);
    const config = resolveTrainConfig(input, dataset.tokenizer.vocabSize);
    const nodeRun = await measureThroughput(config, new DatasetData(dataset, config.seed), node);
    const N = 12 * s.nLayer * s.nEmbd * s.nEmbd + 13 * s.nLayer * s.nEmbd + 2 * s.nEmbd;
    const row = { size: s.name, N, pageTokensPerSec: Math.round(pageRun.tokensPerSec), nodeTokensPerSec: Math.round(nodeRun.tokensPerSec), ratio: pageRun.tokensPerSec / nodeRun.tokensPerSec };
    results.push(row);
    say(`${s.name.padEnd(6)} ${String(N).padEnd(10)} ${String(row.pageTokensPerSec).padStart(10)}   ${String(row.nodeTokensPerSec).padStart(10)}   ${row.ratio.toFixed(2)}`);
  }
  node.dispose();
  const ratios = results.map((r) => r.ratio as number);
  const summary: Record<string, unknown> = { threads, steps, minRatio: Math.min(...ratios), meanRatio: ratios.reduce((a, b) => a + b, 0) / ratios.length, sizes: results };

  if (!flags["no-ladder"]) {
    const tokens = Number(flags.tokens ?? 102_400);
    await page.goto(server.url + `?sizes=${sizes.map((s) => s.name).join(",")}&tokens=${tokens}&backend=wasm`);
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.state === "ready", null, { timeout: 60_000 });
    const cpu0 = childrenCpuSeconds();
    const t0 = performance.now();
    await page.click("#start");
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state ?? ""), null, { timeout: 1_800_000, polling: 1000 });
    await page.waitForFunction(() => document.getElementById("prediction")?.dataset.scored === "true", null, { timeout: 60_000, polling: 500 }).catch(() => undefined);
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = childrenCpuSeconds() - cpu0;
    const prediction = (await page.textContent("#prediction")) || (await page.textContent("#chart-prediction")) || (await page.textContent("#status"));
    summary.ladder = { sizes: sizes.map((s) => s.name), tokens, seconds, cpuSeconds, state: await page.evaluate(() => document.body.dataset.state), prediction };
    say(
      `ladder ${sizes.map((s) => s.name).join(",")} × ${tokens} tokens: trained and the prediction scored in ${seconds.toFixed(0)} s ` +
        `(the browser used ${cpuSeconds.toFixed(0)} CPU seconds: about ${(cpuSeconds / threads).toFixed(0)} s on ${threads} idle cores)\n  ${prediction}`,
    );
  }
  if (flags.json) process.stdout.write(JSON.stringify(summary) + "\n");
} finally {
  await context.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
