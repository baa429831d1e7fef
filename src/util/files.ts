/** Files written so that a reader or a crash never sees half of one. */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";

/**
 * Writes bytes (or UTF-8 text) atomically: to `path.tmp-<pid>`, fsync, then rename over `path`. A crash mid-write
 * leaves the previous file intact; a concurrent reader sees the old file or the new one, never a mix.
 */
export function writeFileAtomic(path: string, data: Buffer | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
