/**
 * What the two structured kinds of evals-table rows hold, so that the report and the dashboard can read them without
 * knowing the code that computed them:
 * - an **in-context learning curve** (task {@link ICL_TASK}, shots 0, n = validation windows; computed by
 *   evals/icl.ts, stored by studies/in-context.ts): `extra` is a {@link StoredIclCurve};
 * - a **study evaluation** (`extra.kind` = {@link EMERGENCE_EVAL_KIND}; computed by evals/metrics.ts, stored by
 *   studies/emergence.ts): `extra.metrics` is a {@link StoredTaskMetrics}.
 */
import type { TaskMetrics } from "../util/task-metrics.js";
import type { EvalRecord } from "./types.js";

/** The evals-table task name of an in-context learning curve. */
export const ICL_TASK = "in-context-loss";

/** An in-context learning curve as stored in an evals row's `extra`. */
export interface StoredIclCurve {
  kind: "in-context-loss";
  /** Context length of the curve. */
  T: number;
  /** Mean validation loss at context lengths 1 … T (nats). */
  losses: number[];
  /** Predictions averaged (windows × T). */
  tokens: number;
  /** Mean of `losses`. */
  meanLoss: number;
  /** late − early (nats): negative when later tokens are predicted better. */
  score: number;
  early: number;
  late: number;
  /** Context-length bands (inclusive) of the score. */
  bands: { early: [number, number]; late: [number, number] };
  /** Seconds the evaluation pass took. */
  seconds: number;
}

/** The curve of an evals row, or undefined when the row is not an in-context learning curve. */
export function storedIclCurve(e: Pick<EvalRecord, "task" | "extra">): StoredIclCurve | undefined {
  const x = e.extra as Partial<StoredIclCurve>;
  return e.task === ICL_TASK && x.kind === "in-context-loss" && Array.isArray(x.losses) ? (x as StoredIclCurve) : undefined;
}

/** The `extra.kind` of an evals row holding a study evaluation's metrics in `extra.metrics`. */
export const EMERGENCE_EVAL_KIND = "emergence";

/** One (task, shots) evaluation's sharp and smooth metrics, as stored (the type evals/metrics.ts computes). */
export type StoredTaskMetrics = TaskMetrics;

/** The metrics of an evals row, or undefined when the row is not a study evaluation. */
export function storedTaskMetrics(e: Pick<EvalRecord, "extra">): StoredTaskMetrics | undefined {
  const m = e.extra.metrics as StoredTaskMetrics | undefined;
  return e.extra.kind === EMERGENCE_EVAL_KIND && m && typeof m.exactMatch === "number" ? m : undefined;
}
