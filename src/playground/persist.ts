/**
 * Finished runs survive a reload, a crash or a discarded tab: the page keeps its sweep in the browser's
 * localStorage as a run bundle (the same JSONL as its export), and reads it back when it opens.
 */
import { parseRunBundle, runBundleText } from "../store/bundle.js";
import { type PageSweep, fromBundle, toBundle } from "./analysis.js";

/** The localStorage key. */
export const STORAGE_KEY = "scaling-lab-playground/v1";

/** Saves the sweep's finished runs; returns a one-line problem (storage full or blocked) or null. */
export function saveSweep(storage: Storage, sweep: PageSweep): string | null {
  const bundle = toBundle(sweep);
  try {
    if (bundle.runs.length === 0) storage.removeItem(STORAGE_KEY);
    else storage.setItem(STORAGE_KEY, runBundleText(bundle));
    return null;
  } catch (e) {
    return `finished runs could not be saved in this browser (${(e as Error).message.split("\n")[0]}); export them to keep them`;
  }
}

/** The saved sweep (its finished runs), or null; a damaged entry is dropped. */
export function loadSweep(storage: Storage): PageSweep | null {
  const text = storage.getItem(STORAGE_KEY);
  if (!text) return null;
  try {
    return fromBundle(parseRunBundle(text, "saved runs"));
  } catch {
    storage.removeItem(STORAGE_KEY);
    return null;
  }
}

/** Forgets the saved runs. */
export function clearSweep(storage: Storage): void {
  storage.removeItem(STORAGE_KEY);
}
