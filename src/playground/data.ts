/**
 * The corpus slice the page trains on, fetched from the site: a data directory written by `scaling-lab prepare`
 * (manifest.json, tokenizer.json, token shards) opened as a {@link Dataset} without a file system, so the batches
 * are the ones `scaling-lab train --data dist-web/data` reads.
 */
import { Dataset } from "../data/loader.js";
import { checkManifest } from "../data/shards.js";
import { tokenizerFromJson } from "../data/tokenizer.js";
import type { Ladder } from "../sweep/ladder.js";

/** Fetches one file of the site; a one-line error names the URL and the status. */
async function fetchOk(url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`cannot fetch ${url} (${(e as Error).message}); is the playground server still running?`);
  }
  if (!res.ok) throw new Error(`cannot fetch ${url}: HTTP ${res.status}; rebuild the site (npm run build:web)`);
  return res;
}

/** Opens the prepared data directory at `base` (a URL ending in /). */
export async function fetchDataset(base: string): Promise<Dataset> {
  const manifest = checkManifest(await (await fetchOk(base + "manifest.json")).json(), base + "manifest.json");
  const tokenizer = tokenizerFromJson(await (await fetchOk(base + manifest.tokenizer.file)).json(), base + manifest.tokenizer.file);
  const files = new Map<string, Uint8Array>();
  await Promise.all(manifest.shards.map(async (s) => files.set(s.file, new Uint8Array(await (await fetchOk(base + s.file)).arrayBuffer()))));
  return Dataset.fromFiles(base, manifest, tokenizer, files);
}

/** The ladder the site was built with (data/ladder.json, validated by the build). */
export async function fetchLadder(base: string): Promise<Ladder> {
  return (await (await fetchOk(base + "ladder.json")).json()) as Ladder;
}
