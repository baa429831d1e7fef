/**
 * `npm run -s bench -- --attention --json`: GPT-3's locally banded attention against dense attention (issue 17).
 *
 * 1. One layer's attention, forward + backward, at T = 1024, d 256, 4 heads, B = 4 (train's default micro-batch
 *    at T = 1024: 4096 tokens), dense vs banded with W = 128: median seconds of several interleaved repeats.
 * 2. A whole training step (forward, backward, AdamW) of a 4-layer model of that shape, all dense vs alternating
 *    (layers 1 and 3 banded), with the share attention takes of the dense step and the step time Amdahl's law
 *    expects from the kernel speedup: the alternating step should save at least the banded layers' attention time.
 * One JSON line with --json; the machine's load average is included, since the numbers mean little on a busy machine.
 */
import { loadavg } from "node:os";
import { type AnyBackend, attentionWidth } from "../src/engine/backend.js";
import { GPT } from "../src/model/gpt.js";
import { syntheticStep } from "../src/model/synthetic-step.js";

/** The benchmark shape of issue 17. */
export const ATTENTION_SHAPE = { B: 4, T: 1024, C: 256, NH: 4, W: 128, nLayer: 4, vocabSize: 256 } as const;

/** Median of an array of numbers. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Deterministic values in [-0.5, 0.5): cheap, and the same for every backend. */
function filled(n: number, salt: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (((i + salt) * 2654435761) % 1000) / 1000 - 0.5;
  return a;
}

/** Seconds of one layer's attention forward and backward, per window, as medians of `repeats` interleaved runs. */
async function timeAttention(be: AnyBackend, windows: number[], repeats: number) {
  const { B, T, C, NH } = ATTENTION_SHAPE;
  const qkv = be.alloc(B * T * 3 * C), dout = be.alloc(B * T * C), out = be.alloc(B * T * C), dqkv = be.alloc(B * T * 3 * C);
  be.write(qkv, filled(B * T * 3 * C, 1));
  be.write(dout, filled(B * T * C, 2));
  const att = windows.map((W) => be.alloc(B * NH * T * attentionWidth(T, W)));
  const scratch = windows.map((W) => be.alloc(B * NH * T * attentionWidth(T, W)));
  const sync = () => be.read(be.view(dqkv, 0, 1)); // device backends only record kernels
  const fwd = windows.map(() => [] as number[]), bwd = windows.map(() => [] as number[]);
  for (let r = -1; r < repeats; r++) {
    for (let i = 0; i < windows.length; i++) {
      const t0 = performance.now();
      be.attentionForward(out, att[i], qkv, B, T, C, NH, windows[i]);
      await sync();
      const t1 = performance.now();
      be.attentionBackward(dqkv, scratch[i], dout, qkv, att[i], B, T, C, NH, windows[i]);
      await sync();
      if (r < 0) continue; // warm-up
      fwd[i].push((t1 - t0) / 1000);
      bwd[i].push((performance.now() - t1) / 1000);
    }
  }
  return windows.map((_, i) => ({
    forward: median(fwd[i]),
    backward: median(bwd[i]),
    total: median(fwd[i].map((f, k) => f + bwd[i][k])),
  }));
}

/** Median seconds of a training step of the benchmark model with a given window (0 = dense). */
async function timeStep(be: AnyBackend, localWindow: number, steps: number): Promise<number> {
  const { B, T, C, NH, nLayer, vocabSize } = ATTENTION_SHAPE;
  const model = new GPT(be, { vocabSize, blockSize: T, nLayer, nHead: NH, nEmbd: C, localWindow }, 0);
  const step = syntheticStep(model, B, T);
  await step(); // warm-up (allocations)
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push((performance.now() - t0) / 1000);
  }
  model.freeActivations();
  return median(times);
}

const round = (x: number, digits = 5) => Number(x.toPrecision(digits));

/** Runs the attention benchmark on `be`; returns the JSON record. */
export async function attentionBench(be: AnyBackend, opts: { repeats: number; steps: number; log: (s: string) => void }) {
  const { B, T, C, NH, W, nLayer, vocabSize } = ATTENTION_SHAPE;
  const info = be.info();
  const load = loadavg()[0];
  opts.log(`attention: ${info.name} (${info.threads} threads), B ${B} T ${T} d ${C} heads ${NH}, W ${W}; load average ${load.toFixed(2)}`);
  const [dense, banded] = await timeAttention(be, [0, W], opts.repeats);
  const speedup = dense.total / banded.total;
  opts.log(`one layer fwd+bwd: dense ${(dense.total * 1e3).toFixed(1)} ms, banded ${(banded.total * 1e3).toFixed(1)} ms: ${speedup.toFixed(2)}×`);
  const denseStep = await timeStep(be, 0, opts.steps);
  const altStep = await timeStep(be, W, opts.steps);
  const bandedLayers = Math.floor(nLayer / 2);
  const attentionShare = (nLayer * dense.total) / denseStep;
  const expectedStep = denseStep - bandedLayers * (dense.total - banded.total);
  opts.log(
    `step (${nLayer} layers): dense ${denseStep.toFixed(3)} s (attention ${(100 * attentionShare).toFixed(0)}%), ` +
      `alternating ${altStep.toFixed(3)} s; Amdahl expects ${expectedStep.toFixed(3)} s`,
  );
  return {
    bench: "attention",
    backend: info.name,
    threads: info.threads,
    blasCore: info.blasCore ?? null,
    loadAverage: round(load, 3),
    B, T, C, NH, W,
    repeats: opts.repeats,
    denseSeconds: round(dense.total),
    bandedSeconds: round(banded.total),
    speedup: round(speedup, 4),
    denseForwardSeconds: round(dense.forward),
    denseBackwardSeconds: round(dense.backward),
    bandedForwardSeconds: round(banded.forward),
    bandedBackwardSeconds: round(banded.backward),
    step: {
      nLayer, vocabSize, batch: B, bandedLayers, steps: opts.steps,
      denseStepSeconds: round(denseStep),
      alternatingStepSeconds: round(altStep),
      stepSpeedup: round(denseStep / altStep, 4),
      /** Share of the dense step spent in attention (nLayer × one layer's forward + backward). */
      attentionShare: round(attentionShare, 3),
      /** The dense step minus the banded layers' attention saving (Amdahl's law). */
      expectedAlternatingStepSeconds: round(expectedStep),
      savedSeconds: round(denseStep - altStep),
      expectedSavedSeconds: round(denseStep - expectedStep),
    },
  };
}
