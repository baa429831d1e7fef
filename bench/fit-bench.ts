/**
 * Benchmark: the Chinchilla fit (4,500 L-BFGS starts) plus a 1,000-resample bootstrap on Epoch AI's 240
 * digitised points, on all cores. Target: ≤ 30 s on 2 cores.
 *
 * Run: npx tsc -p . && node dist/bench/fit-bench.js [--bootstrap K] [--workers W]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pointsFromCsv, runFit } from "../src/fit/index.js";
import { defaultWorkers } from "../src/fit/pool.js";

const { values } = parseArgs({ options: { bootstrap: { type: "string" }, workers: { type: "string" } } });
const replicates = Number(values.bootstrap ?? 1000);
const workers = Number(values.workers ?? defaultWorkers());
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const csv = path.resolve(repoRoot, "reference/chinchilla/svg_extracted_data.csv");
const points = pointsFromCsv(readFileSync(csv, "utf8"), { n: "Model Size", c: "Training FLOP", dropHighest: 5 });

const t0 = performance.now();
const fitOnly = await runFit("chinchilla", points, { workers });
const t1 = performance.now();
const report = await runFit("chinchilla", points, { workers, bootstrap: replicates, seed: 0 });
const t2 = performance.now();

const epoch: Record<string, [number, number]> = {
  E: [1.769, 1.871],
  A: [285, 744],
  B: [1042, 5810],
  alpha: [0.317, 0.373],
  beta: [0.331, 0.415],
};
const fit: Record<string, number> = { E: report.fit.E, A: report.fit.A, B: report.fit.B, alpha: report.fit.alpha, beta: report.fit.beta };
console.log(`points ${points.length}, workers ${workers}, bootstrap ${replicates}`);
console.log(`fit alone (4,500 starts):          ${((t1 - t0) / 1000).toFixed(2)} s`);
console.log(`fit + ${replicates} bootstrap resamples: ${((t2 - t1) / 1000).toFixed(2)} s  (target ≤ 30 s on 2 cores)`);
console.log("param    estimate   our 95% interval          Epoch AI 95% interval");
for (const k of Object.keys(epoch)) {
  const iv = report.bootstrap!.intervals[k];
  const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(4));
  console.log(`${k.padEnd(8)} ${f(fit[k]).padStart(9)}   (${f(iv[0])}, ${f(iv[1])})`.padEnd(48) + `(${epoch[k][0]}, ${epoch[k][1]})`);
}
console.log(`failed resamples: ${report.bootstrap!.failures}; fit-alone objective ${fitOnly.fit.objective.toExponential(6)}`);
