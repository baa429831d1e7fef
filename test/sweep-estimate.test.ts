/**
 * Time estimates that agree: the schedule of runs as the local executor trains them, the fraction of a run done
 * (cooldown branches included), the sweep ETA that starts from the measured speed of each shape and corrects itself
 * by the time actually spent, and — on a real tiny plan — ETAs within 2× of the truth from the first progress event;
 * `sweep --dry-run` estimates from the same cached speeds and says what it measures.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openLab } from "../src/store/index.js";
import { runFractionDone, scheduleSeconds, SweepEta } from "../src/sweep/estimate.js";
import { LocalExecutor } from "../src/sweep/executor.js";
import { estimatePlan, planSweep, recordPlan, type SweepOptions } from "../src/sweep/sweep.js";
import { resolveTrainConfig } from "../src/train/config.js";
import { tinyCorpusData } from "./helpers.js";

test("the schedule: runs start in order when their threads are free, and hold them until they end", () => {
  assert.equal(scheduleSeconds([{ seconds: 2, threads: 1 }, { seconds: 2, threads: 1 }], 2), 2, "side by side");
  assert.equal(scheduleSeconds([{ seconds: 2, threads: 2 }, { seconds: 1, threads: 1 }, { seconds: 1, threads: 1 }], 2), 3, "one wide run, then two narrow");
  assert.equal(scheduleSeconds([{ seconds: 3, threads: 1 }, { seconds: 1, threads: 1 }, { seconds: 1, threads: 1 }], 2), 3, "the short ones share the second core");
  assert.equal(scheduleSeconds([{ seconds: 1, threads: 1 }, { seconds: 2, threads: 2 }], 2), 3, "a wide run waits for every thread");
  assert.equal(scheduleSeconds([], 2), 0);
});

test("the fraction of a run done counts its cooldown branches when the main run passes their start", () => {
  const config = resolveTrainConfig(
    { model: { nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 16 }, tokens: 100 * 256, batchTokens: 256, microBatch: 16, schedule: "wsd", branches: [0.3, 0.5] },
    64,
  );
  // 100 main steps; branches end at steps 30 and 50 with cooldowns of 6 and 10 steps: 116 steps in all
  assert.equal(runFractionDone(config, 0), 0);
  assert.equal(runFractionDone(config, 24), 24 / 116, "the first branch starts once step 24 is done");
  assert.equal(runFractionDone(config, 25), (25 + 6) / 116);
  assert.equal(runFractionDone(config, 41), (41 + 16) / 116);
  assert.equal(runFractionDone(config, 100), 1);
});

test("the sweep ETA starts from the estimate and follows the time actually spent", () => {
  const eta = new SweepEta([{ id: "a", threads: 1, seconds: 10 }, { id: "b", threads: 1, seconds: 10 }, { id: "c", threads: 2, seconds: 4 }], 2);
  assert.equal(eta.totalSeconds, 14);
  assert.equal(eta.secondsLeft(new Map(), 0), 14, "nothing done: the schedule");
  const half = new Map([["a", 0.5], ["b", 0.5]]);
  assert.ok(Math.abs(eta.secondsLeft(half, 5) - 9) < 1e-9, "on time: what the schedule has left");
  // twice as slow as measured: the ETA of the rest doubles (shrunk a little towards the estimate)
  const slow = eta.secondsLeft(half, 10);
  assert.ok(slow > 9 * 1.7 && slow < 9 * 2, `slow: ${slow}`);
  assert.equal(eta.secondsLeft(new Map([["a", 1], ["b", 1], ["c", 1]]), 20), 0);
  // a simulated sweep 1.6× slower than measured: every ETA within 2× of the truth
  const truthTotal = 14 * 1.6;
  for (let t = 0; t < truthTotal; t += 0.5) {
    const f = (id: string, start: number, seconds: number) => Math.min(1, Math.max(0, (t - start) / seconds));
    const done = new Map([["a", f("a", 0, 16)], ["b", f("b", 0, 16)], ["c", f("c", 16, 6.4)]]);
    const left = eta.secondsLeft(done, t);
    const truth = truthTotal - t;
    assert.ok(left <= 2 * truth && left >= truth / 2, `t=${t}: ETA ${left.toFixed(2)} s, truth ${truth.toFixed(2)} s`);
  }
});

test("ETA on a tiny plan: within 2× of the truth from the first progress event", async () => {
  const lab = mkdtempSync(join(tmpdir(), "sl-eta-"));
  const data = await tinyCorpusData();
  const opts: SweepOptions = { lab, sweep: "eta", plan: "curves", ladder: "tiny-test", data, tokens: [25600] };
  const { runs } = planSweep(opts);
  const store = openLab(lab);
  const events: { t: number; eta: number | undefined }[] = [];
  const logs: string[] = [];
  try {
    const stored = recordPlan(store, opts, runs);
    const executor = new LocalExecutor({ threads: 2 });
    const outcomes = await executor.execute(stored, store, {
      onProgress: (p) => events.push({ t: performance.now(), eta: p.etaSec }),
      log: (l) => logs.push(l),
    });
    const end = performance.now();
    assert.ok(outcomes.every((o) => o.status === "done"), JSON.stringify(outcomes));
    assert.ok(events.length > 0 && events.every((e) => e.eta !== undefined && Number.isFinite(e.eta)), "every event has an ETA");
    const total = (end - events[0].t) / 1000;
    const series = events.map((e) => `${e.eta!.toFixed(1)}/${((end - e.t) / 1000).toFixed(1)}`).join(" ");
    for (const e of events) {
      const truth = (end - e.t) / 1000;
      if (truth < Math.max(1, 0.1 * total)) continue; // the last second: any small number is right
      assert.ok(e.eta! <= 2 * truth && e.eta! >= truth / 2, `ETA ${e.eta!.toFixed(1)} s with ${truth.toFixed(1)} s to go (ETA/truth of every event: ${series})`);
    }
    // the estimate measured each shape once, said so, and cached it: a second estimate measures nothing
    assert.ok(logs.some((l) => /^measuring the speed of \d+×\d+ on \w+ with \d threads?/.test(l)), logs.join("\n"));
    const said: string[] = [];
    const est = await estimatePlan(runs, { threads: 2, onMeasure: (m) => said.push(m) });
    assert.deepEqual(said, [], "the dry run reuses the speeds the sweep measured");
    assert.equal(est.rows.length, runs.length);
    assert.ok(est.totalSeconds > 0 && est.rows.every((r) => r.estSeconds > 0 && r.tokensPerSec > 0 && r.threads >= 1));
  } finally {
    store.close();
  }
});
