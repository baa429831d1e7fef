/**
 * `npm run bench -- --ladder cpu-xs [--tokens N] [--vocab V] [--backend native] [--json]`: how fast each rung of a
 * ladder trains here, as the demo trains it. For every rung: the measured cost of an optimizer step, a validation and
 * a checkpoint with one thread and with all of them (src/sweep/speed.ts), the thread count the local executor would
 * give it (side by side with another run, or alone on every core), and from those the rung's wall time including
 * validation, checkpoints and cooldown branches; its model GFLOP/s (every product, attention and the head included:
 * src/model/accounting.ts) and the fraction of the sgemm ceiling measured in the same run, for the share of the
 * machine it uses. The last line is the whole ladder's estimated wall time, scheduled as the executor schedules it.
 *
 * One JSON line per rung holds at least `rung`, `tokensPerSec`, `ceilingFraction`; the last holds `ladderSeconds`.
 * Run it on an idle machine (check with `uptime` first): npm run -s bench -- --ladder cpu-xs --json
 */
import { createBackend } from "../src/engine/index.js";
import { sideBySide } from "../src/sweep/executor.js";
import { loadLadder } from "../src/sweep/ladder.js";
import { makePlan } from "../src/sweep/plan.js";
import { estimateRunSeconds, measureShapeSpeed, runWorkFlops } from "../src/sweep/speed.js";
import { resolveTrainConfig } from "../src/train/config.js";
import { sgemmCeiling } from "./ceiling.js";

/** Options of {@link ladderBench}. */
export interface LadderBenchOptions {
  ladder: string;
  tokens?: number;
  vocab?: number;
  backend?: string;
  threads?: number;
  json?: boolean;
}

/** Runs the ladder benchmark, printing one line per rung and a summary line. */
export async function ladderBench(o: LadderBenchOptions): Promise<void> {
  const ladder = loadLadder(o.ladder);
  const vocabSize = o.vocab ?? ladder.vocab ?? 2048;
  const tokens = o.tokens ?? ladder.tokens ?? 4e6;
  const all = await createBackend(o.backend ?? "auto", o.threads ? { threads: o.threads } : {});
  const threads = all.info().threads;
  const one = await createBackend(all.name, { threads: 1 });
  const log = (s: string) => {
    if (!o.json) process.stderr.write(s + "\n");
  };
  try {
    const ceiling = await sgemmCeiling(all);
    log(`backend ${all.name} (${threads} threads${all.info().blasCore ? `, OpenBLAS core ${all.info().blasCore}` : ""}); sgemm ceiling ${ceiling.toFixed(1)} GFLOP/s`);
    const plan = makePlan({ kind: "curves", sweep: "bench", ladder, data: "(bench)", tokens: [tokens], vocabSize });
    const jobs: { seconds: number; threads: number }[] = [];
    for (const run of plan) {
      const config = resolveTrainConfig(run.config, vocabSize);
      const s1 = await measureShapeSpeed(config, one);
      const sAll = threads > 1 ? await measureShapeSpeed(config, all) : s1;
      const packed = threads > 1 && sideBySide(s1.stepSec, sAll.stepSec, threads);
      const speed = packed ? s1 : sAll;
      const est = estimateRunSeconds(config, speed);
      const work = runWorkFlops(config, run.C);
      const gflops = work / est.seconds / 1e9;
      const used = packed ? 1 : threads;
      jobs.push({ seconds: est.seconds, threads: used });
      const row = {
        rung: run.size, params: run.params, nonEmbedding: run.N, tokens: run.D, flops: work, threads: used,
        stepSec: Number(speed.stepSec.toFixed(5)), tokensPerSec: Math.round(run.D / est.seconds),
        modelGflops: Number(gflops.toFixed(2)), sgemmCeilingGflops: Number(ceiling.toFixed(1)),
        ceilingFraction: Number((gflops / ((ceiling * used) / threads)).toFixed(3)),
        seconds: Number(est.seconds.toFixed(1)), evalSeconds: Number(est.evalSeconds.toFixed(1)), checkpointSeconds: Number(est.checkpointSeconds.toFixed(1)),
        oneThreadStepSec: Number(s1.stepSec.toFixed(5)), allThreadsStepSec: Number(sAll.stepSec.toFixed(5)),
      };
      if (o.json) console.log(JSON.stringify(row));
      else log(`${run.size.padEnd(6)} ${String(run.params).padStart(9)} params  ${used} thr  ${String(row.tokensPerSec).padStart(7)} tok/s  ${row.modelGflops.toFixed(1).padStart(6)} GFLOP/s  ${(100 * row.ceilingFraction).toFixed(0).padStart(3)}% of its share  ~${row.seconds.toFixed(0)} s`);
    }
    const ladderSeconds = schedule(jobs, threads);
    const summary = { ladder: ladder.name, backend: all.name, threads, tokens, vocab: vocabSize, sgemmCeilingGflops: Number(ceiling.toFixed(1)), ladderSeconds: Number(ladderSeconds.toFixed(1)) };
    if (o.json) console.log(JSON.stringify(summary));
    else log(`whole ladder: ~${(ladderSeconds / 60).toFixed(1)} min of training as the local executor schedules it`);
  } finally {
    one.dispose();
    all.dispose();
  }
}

/** Wall time of jobs on `threads` threads, longest first, each started when its threads are free (the executor's order). */
export function schedule(jobs: readonly { seconds: number; threads: number }[], threads: number): number {
  const sorted = [...jobs].sort((a, b) => b.seconds - a.seconds);
  const ends: { at: number; threads: number }[] = [];
  let now = 0;
  let free = threads;
  for (const j of sorted) {
    while (free < j.threads) {
      ends.sort((a, b) => a.at - b.at);
      const e = ends.shift()!;
      now = Math.max(now, e.at);
      free += e.threads;
    }
    free -= j.threads;
    ends.push({ at: now + j.seconds, threads: j.threads });
  }
  return Math.max(now, ...ends.map((e) => e.at));
}
