/**
 * The page's runs and the one place the page analyses them. A sweep of the page is planned by the CLI's planner
 * (src/sweep/plan.ts: the ladder × one token budget) and analysed by the report's own collector
 * (src/report/data.ts: curves, the compute frontier, L(N), the held-out prediction of the largest size, the
 * forecast), exactly as `scaling-lab report` analyses a lab; the page only turns its in-memory runs into the
 * store's run records. The export is a run bundle (src/store/bundle.ts) that `scaling-lab runs --import` reads.
 */
import { type SweepInput, targetInput } from "../analysis/index.js";
import { flopsPerToken, paramCounts } from "../model/accounting.js";
import { type CollectOptions, reportFromRecords } from "../report/data.js";
import type { ReportData } from "../report/types.js";
import { type RunBundle, RUN_BUNDLE_FORMAT } from "../store/bundle.js";
import type { RunRecord, RunStatus } from "../store/types.js";
import type { Ladder } from "../sweep/ladder.js";
import { type PlannedRun, makePlan } from "../sweep/plan.js";
import type { TrainConfig, TrainConfigInput } from "../train/config.js";
import type { Endpoint } from "../train/endpoints.js";
import type { TrainSummary } from "../train/loop.js";
import type { MetricRecord } from "../util/run-folder.js";

/** One run of the page: the planner's id, size, N, params, D and C, and what training recorded. */
export interface PageRun extends Pick<PlannedRun, "id" | "size" | "N" | "params" | "D" | "C"> {
  /** The config the planner made (resolved by the trainer). */
  input: TrainConfigInput;
  status: "planned" | "running" | "done";
  /** The resolved config, once the run started. */
  config: TrainConfig | null;
  metrics: MetricRecord[];
  endpoints: Endpoint[];
  summary: TrainSummary | null;
}

/** A sweep of the page: one ladder, one token budget. */
export interface PageSweep {
  name: string;
  ladder: string;
  runs: PageRun[];
}

/** What the page plans: sizes of the ladder, a token budget, and the fields every run shares. */
export interface PagePlan {
  ladder: Ladder;
  sizes: string[];
  tokens: number;
  vocabSize: number;
  /** Where the data comes from, recorded in each config (the site's data/ folder). */
  data: string;
  overrides: Partial<TrainConfigInput>;
  /** Sweep name (default: playground-<time>). */
  name?: string;
}

/** A sweep name from a time: playground-20261201-153000. */
export function sweepName(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `playground-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

/** Plans a sweep with the CLI's planner (sizes in increasing N: the largest trains last). */
export function planSweep(p: PagePlan): PageSweep {
  const name = p.name ?? sweepName();
  const planned = makePlan({
    kind: "curves", sweep: name, ladder: p.ladder, data: p.data, tokens: [p.tokens], vocabSize: p.vocabSize, sizes: p.sizes, overrides: p.overrides,
  });
  return {
    name,
    ladder: p.ladder.name,
    runs: planned.map((r) => ({
      id: r.id, size: r.size, N: r.N, params: r.params, D: r.D, C: r.C, input: r.config, status: "planned",
      config: null, metrics: [], endpoints: [], summary: null,
    })),
  };
}

/** A page run as the store's run record (what the report's collector reads). */
export function toRunRecord(sweep: string, r: PageRun): RunRecord {
  const model = (r.config?.model ?? r.input.model)!;
  const last = r.metrics.at(-1);
  const s = r.summary;
  const status: RunStatus = r.status;
  return {
    id: r.id, sweep, name: r.size, status, config: (r.config ?? r.input) as RunRecord["config"],
    nLayer: model.nLayer!, nHead: model.nHead!, nEmbd: model.nEmbd!, blockSize: model.blockSize!, vocabSize: model.vocabSize!,
    params: r.params, N: r.N, D: r.D, C: r.C, tokensDone: last?.tokens ?? 0, flopsDone: last?.flops ?? 0,
    finalTrainLoss: s?.finalTrainLoss ?? null, finalValLoss: s?.finalValLoss ?? null, bestValLoss: s?.bestValLoss ?? null,
    seed: r.config?.seed ?? r.input.seed ?? null, backend: s?.backend ?? null, machine: "browser", error: null,
    created: "", started: null, ended: null, wallSeconds: s?.elapsed ?? null, dir: "", attempts: 1, heartbeat: null, owner: null, extra: { size: r.size },
  };
}

/**
 * The report's analysis of the page's sweep: learning curves, the frontier, L(N), the held-out prediction of the
 * largest size (before it trains: predicted; after: scored), the forecast.
 */
export async function analyzeSweep(s: PageSweep, opts: CollectOptions = {}): Promise<ReportData> {
  const records = s.runs.map((r) => toRunRecord(s.name, r));
  const tokens = Math.max(0, ...s.runs.map((r) => r.D));
  return reportFromRecords(
    {
      dir: "this browser",
      sweeps: [{ name: s.name, plan: "curves", ladder: s.ladder }],
      sweep: { name: s.name, plan: "curves", ladder: s.ladder, spec: { tokens: [tokens] } },
      records,
      metrics: new Map(s.runs.map((r) => [r.id, r.metrics as MetricRecord[]])),
      evals: [],
      hasCheckpoint: () => false,
      analysis: { ...sweepInputOf(s), stored: null },
    },
    { workers: 1, version: "playground", ...opts },
  );
}

/**
 * What the analysis reads of the page's sweep, as `sweepInput` reads it from a lab: every endpoint of the runs, the
 * largest planned run as the target (its final endpoint once trained), and the validation points of the curves.
 */
export function sweepInputOf(s: PageSweep): SweepInput {
  const endpoints = s.runs.flatMap((r) =>
    r.endpoints.map((e) => ({ run: r.id, nonEmbedding: r.N, params: r.params, D: e.tokens, C: e.flops, loss: e.valLoss })),
  );
  return {
    endpoints,
    target: targetInput(s.runs, (r) => r.endpoints.find((e) => e.kind === "final")),
    curves: s.runs.flatMap((r) =>
      r.metrics.filter((m) => m.valLoss !== null && m.valLoss !== undefined).map((m) => ({ run: r.id, C: m.flops, loss: m.valLoss! })),
    ),
  };
}

/** The finished runs of a sweep as a run bundle (`scaling-lab runs --import FILE` reads it). */
export function toBundle(s: PageSweep, now = new Date()): RunBundle {
  return {
    header: { format: RUN_BUNDLE_FORMAT, version: 1, sweep: s.name, plan: "curves", ladder: s.ladder, source: "scaling-lab playground", created: now.toISOString() },
    runs: s.runs
      .filter((r) => r.status === "done" && r.config && r.summary)
      .map((r) => ({ id: r.id, name: r.size, config: r.config!, metrics: r.metrics, summary: r.summary, endpoints: r.endpoints })),
  };
}

/** A sweep from a bundle (the page's saved runs): its runs, finished. */
export function fromBundle(b: RunBundle): PageSweep {
  return {
    name: b.header.sweep,
    ladder: b.header.ladder ?? "playground",
    runs: b.runs.map((r) => {
      const config = r.config as unknown as TrainConfig;
      const T = config.model.blockSize;
      const counts = paramCounts(config.model);
      return {
        id: r.id, size: r.name, N: counts.nonEmbedding, params: counts.total, D: config.tokens, C: flopsPerToken(config.model, T).training * config.tokens,
        input: config, status: "done", config, metrics: r.metrics, endpoints: r.endpoints as Endpoint[], summary: r.summary as unknown as TrainSummary,
      };
    }),
  };
}
