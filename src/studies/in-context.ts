/**
 * In-context learning curves of a sweep's runs (evals/icl.ts): every finished run's loss at each position of its
 * context on its own dataset's validation split, stored once in the lab's evals table (task
 * {@link ICL_TASK}, shots 0, n = windows; `extra` holds the curve and the score) and read back by `report`,
 * `serve` and the demo (format: store/eval-kinds.ts {@link StoredIclCurve}). No training: one forward pass over the validation windows per run.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { Dataset } from "../data/loader.js";
import { type AnyBackend, createBackend } from "../engine/index.js";
import { type PositionLossCurve, iclScore, positionLosses, validationStreams } from "../evals/icl.js";
import { type EvalRecord, ICL_TASK, type Lab, type RunRecord, type StoredIclCurve, storedIclCurve } from "../store/index.js";
import { CHECKPOINT_FILE } from "../util/run-folder.js";
import { loadModel } from "../train/load-model.js";

/** One run's curve and score, as {@link inContextCurves} returns it. */
export interface InContextEntry extends StoredIclCurve {
  run: string;
  /** Ladder size name (or the run's name). */
  size: string;
  N: number;
  C: number;
  /** Validation windows averaged. */
  windows: number;
  /** Whether this call computed it (false: read from the store). */
  computed: boolean;
}

/** Options of {@link inContextCurves}. */
export interface InContextOptions {
  /** A backend to use, or its name (default "auto"); a backend given is not disposed. */
  backend?: AnyBackend | string;
  /** Kernel threads when the backend is created here. */
  threads?: number;
  /** Most validation tokens read per run (default 65,536; each is predicted at 16 context lengths). */
  maxTokens?: number;
  /** Recompute curves that are already stored. */
  force?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The run folder of a stored run (absolute). */
function runFolder(lab: Lab, r: RunRecord): string {
  return isAbsolute(r.dir) ? r.dir : join(lab.dir, r.dir);
}

/** Context lengths at which each validation token is predicted in an in-context learning curve. */
export const ICL_OVERLAP = 16;

/** Computes the curve of one model on a dataset (at most `maxTokens` validation tokens); see evals/icl.ts. */
export async function computeIclCurve(runDir: string, backend: AnyBackend, dataDir: string, maxTokens = 65536): Promise<StoredIclCurve & { windows: number }> {
  const t0 = performance.now();
  const { model } = loadModel(runDir, backend);
  try {
    const dataset = Dataset.open(dataDir);
    // windows every T/16 tokens: each validation token is predicted at 16 context lengths (evals/icl.ts says why)
    const T = model.config.blockSize;
    const stride = Math.max(1, Math.round(T / ICL_OVERLAP));
    const curve: PositionLossCurve = await positionLosses(model, validationStreams(dataset, maxTokens), { maxTokens: maxTokens * Math.ceil(T / stride), stride });
    const s = iclScore(curve.losses);
    return {
      kind: "in-context-loss", T: curve.T, losses: curve.losses, tokens: curve.tokens, meanLoss: curve.meanLoss,
      score: s.score, early: s.early, late: s.late, bands: s.bands, seconds: (performance.now() - t0) / 1000, windows: curve.windows,
    };
  } finally {
    model.freeActivations();
  }
}

/**
 * The in-context learning curve of every finished run of `sweep` (runs with a checkpoint), smallest N first:
 * read from the lab where stored, else computed on the run's own dataset and stored (once per run).
 */
export async function inContextCurves(lab: Lab, sweep: string, opts: InContextOptions = {}): Promise<InContextEntry[]> {
  const log = opts.log ?? (() => {});
  const runs = lab
    .listRuns({ sweep, status: "done" })
    .filter((r) => existsSync(join(runFolder(lab, r), CHECKPOINT_FILE)))
    .sort((a, b) => a.N - b.N || a.id.localeCompare(b.id));
  const stored = new Map<string, { e: EvalRecord; c: StoredIclCurve }>();
  for (const e of lab.listEvals({ sweep, task: ICL_TASK })) {
    const c = storedIclCurve(e);
    if (c) stored.set(e.model, { e, c });
  }
  let backend: AnyBackend | undefined = typeof opts.backend === "object" ? opts.backend : undefined;
  const owned = backend === undefined;
  const out: InContextEntry[] = [];
  try {
    for (const r of runs) {
      const size = typeof r.extra.size === "string" ? r.extra.size : r.name;
      const C = r.flopsDone || r.C;
      const have = stored.get(r.id);
      if (have && !opts.force) {
        out.push({ ...have.c, run: r.id, size, N: r.N, C, windows: have.e.n, computed: false });
        continue;
      }
      backend ??= await createBackend(typeof opts.backend === "string" ? opts.backend : "auto", { threads: opts.threads });
      const data = resolve(lab.dir, String(r.config.data ?? ""));
      const { windows, ...curve } = await computeIclCurve(runFolder(lab, r), backend, data, opts.maxTokens);
      lab.recordEval({ model: r.id, task: ICL_TASK, shots: 0, n: windows, accuracy: null, meanLogLik: -curve.meanLoss, extra: { ...curve, N: r.N, C } });
      log(`icl: ${r.id} score ${curve.score.toFixed(4)} (context ${curve.bands.late.join("–")} vs ${curve.bands.early.join("–")} tokens, ${windows} windows, ${curve.seconds.toFixed(1)} s)`);
      out.push({ ...curve, run: r.id, size, N: r.N, C, windows, computed: true });
    }
  } finally {
    if (owned) backend?.dispose();
  }
  return out;
}
