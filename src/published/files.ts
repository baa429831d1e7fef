/** Where the published data lives: files of the package (presets/published/, reference/chinchilla/). */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of a file of the package, given relative to its root (works from src/ and from dist/src/). */
export function packageFile(rel: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ["../../..", "../.."]) {
    const p = path.resolve(here, up, rel);
    if (existsSync(p)) return p;
  }
  return path.resolve(here, "../../..", rel);
}
