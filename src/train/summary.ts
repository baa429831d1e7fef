/** What a training run reports when it ends (summary.json), shared by the loop and the sinks it writes to. */
import type { Endpoint } from "./endpoints.js";

/** Result of a training run. */
export interface TrainSummary {
  status: "done" | "stopped";
  steps: number;
  tokens: number;
  flops: number;
  finalTrainLoss: number;
  finalValLoss: number | null;
  bestValLoss: number | null;
  elapsed: number;
  params: number;
  nonEmbeddingParams: number;
  backend: string;
  /** The run's cooled-down endpoints so far (its end when done, and its WSD branches). */
  endpoints: Endpoint[];
}
