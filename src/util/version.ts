/**
 * The version of this installation: the package version, and a stamp that also hashes the code that decides what a
 * run computes (so a Redis job or a stored analysis records exactly which code made it).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The code a job must be trained with (or an analysis was made by): package version plus a hash of the training code and config schema. */
export interface VersionStamp {
  /** package.json version, e.g. "0.1.0". */
  package: string;
  /** sha256 (16 hex digits) of the compiled train/, model/, engine/ and data/ modules. */
  code: string;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The package version (package.json next to dist/ or src/). */
export function packageVersion(): string {
  for (const rel of ["../../../package.json", "../../package.json"]) {
    const p = resolve(here, rel);
    if (existsSync(p)) return (JSON.parse(readFileSync(p, "utf8")) as { version?: string }).version ?? "0.0.0";
  }
  return "0.0.0";
}

let cachedStamp: VersionStamp | undefined;

/**
 * This installation's version stamp: the package version and a hash of the modules that decide what a run
 * computes (the training loop and its config schema, the model, the engine, the data loader), as they run here.
 */
export function versionStamp(): VersionStamp {
  if (cachedStamp) return cachedStamp;
  const root = resolve(here, ".."); // src/ (or dist/src/)
  const h = createHash("sha256");
  for (const folder of ["train", "model", "engine", "data"]) {
    const dir = join(root, folder);
    if (!existsSync(dir)) continue;
    const files = (readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => (f.endsWith(".js") || f.endsWith(".ts")) && !f.endsWith(".d.ts"))
      .map((f) => f.split(sep).join("/"))
      .sort();
    for (const f of files) {
      h.update(`${folder}/${f}\0`);
      h.update(readFileSync(join(dir, f)));
      h.update("\0");
    }
  }
  cachedStamp = { package: packageVersion(), code: h.digest("hex").slice(0, 16) };
  return cachedStamp;
}

/** "0.1.0+1a2b3c4d5e6f7a8b": a stamp for messages. */
export function formatStamp(v: VersionStamp): string {
  return `${v.package}+${v.code}`;
}
