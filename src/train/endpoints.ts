/**
 * A run's endpoints: (N, D, C, L) points where the learning rate has been cooled down, so the loss is what a run of
 * that length reaches. Every run ends in one (`final`); a WSD run also gets one per cooldown branch (`branch`).
 * They are written to RUN_DIR/endpoints.jsonl (one JSON object a line, rewritten atomically), which the sweep
 * executors copy into the lab store.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/files.js";

/** File name of a run's endpoints inside its directory. */
export const ENDPOINTS_FILE = "endpoints.jsonl";

/** One cooled-down endpoint of a run. */
export interface Endpoint {
  /** `final`: the run's own end; `branch`: a cooldown branched off the stable phase. */
  kind: "final" | "branch";
  /** Optimizer steps of the (equivalent) run. */
  step: number;
  /** Training tokens D of the (equivalent) run. */
  tokens: number;
  /** Training FLOPs C of the (equivalent) run. */
  flops: number;
  /** Validation loss at the end of the cooldown (nats/token). */
  valLoss: number;
  /** Training loss of the last step. */
  trainLoss: number;
}

/** The endpoints recorded in a run directory (none when the file is missing; unreadable lines are skipped). */
export function readEndpoints(dir: string): Endpoint[] {
  const file = join(dir, ENDPOINTS_FILE);
  if (!existsSync(file)) return [];
  const out: Endpoint[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Endpoint);
    } catch {
      // a line cut short by a crash before the atomic rewrite existed: skip it
    }
  }
  return out;
}

/** Records an endpoint, replacing any earlier one at the same token count (a branch re-run after a resume). */
export function writeEndpoint(dir: string, e: Endpoint): void {
  const kept = readEndpoints(dir).filter((x) => x.tokens !== e.tokens);
  kept.push(e);
  kept.sort((a, b) => a.tokens - b.tokens);
  writeFileAtomic(join(dir, ENDPOINTS_FILE), kept.map((x) => JSON.stringify(x) + "\n").join(""));
}

/** Keeps only the branch endpoints whose budgets are in `branchesDone` (a resumed run redoes the others). */
export function keepEndpoints(dir: string, branchesDone: readonly number[]): void {
  const all = readEndpoints(dir);
  const kept = all.filter((x) => x.kind === "branch" && branchesDone.includes(x.tokens));
  if (kept.length !== all.length) writeFileAtomic(join(dir, ENDPOINTS_FILE), kept.map((x) => JSON.stringify(x) + "\n").join(""));
}
