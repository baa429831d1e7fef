/**
 * Text samples for the dashboard: loads a run's checkpoint (with its tokenizer) and generates a short continuation
 * of a prompt. Requests run one at a time, so a burst of clicks cannot load many models at once.
 */
import { isAbsolute, join } from "node:path";
import { createBackend } from "../engine/index.js";
import { generate } from "../model/sample.js";
import type { RunRecord } from "../store/index.js";
import { loadModel } from "../train/load-model.js";

/** The most tokens one dashboard request may generate. */
export const MAX_SAMPLE_TOKENS = 200;

/** What the page asks for. */
export interface SampleRequest {
  prompt: string;
  maxTokens: number;
  temperature: number;
  seed: number;
}

/** What it gets back. */
export interface SampleResult {
  run: string;
  prompt: string;
  text: string;
  tokens: number;
  seconds: number;
}

let queue: Promise<unknown> = Promise.resolve();

/** Generates from the run's checkpoint in `labDir` (a relative run folder is resolved against the lab). */
export function sampleRun(labDir: string, run: RunRecord, req: SampleRequest): Promise<SampleResult> {
  const job = queue.then(() => generateFrom(labDir, run, req));
  queue = job.catch(() => undefined);
  return job;
}

async function generateFrom(labDir: string, run: RunRecord, req: SampleRequest): Promise<SampleResult> {
  const t0 = performance.now();
  const dir = isAbsolute(run.dir) ? run.dir : join(labDir, run.dir);
  const backend = await createBackend("auto", { quiet: true });
  try {
    const { model, tokenizer } = loadModel(dir, backend);
    const prompt = req.prompt ? tokenizer.encode(req.prompt) : [tokenizer.eotId];
    if (prompt.length === 0) prompt.push(tokenizer.eotId);
    const ids = await generate(model, prompt, {
      maxTokens: Math.min(MAX_SAMPLE_TOKENS, Math.max(1, req.maxTokens)),
      temperature: req.temperature,
      topK: 40,
      topP: 0.95,
      seed: req.seed,
      stopToken: tokenizer.eotId,
    });
    const text = tokenizer.decode(ids.filter((t) => t !== tokenizer.eotId));
    return { run: run.id, prompt: req.prompt, text, tokens: ids.length, seconds: (performance.now() - t0) / 1000 };
  } finally {
    backend.dispose();
  }
}
