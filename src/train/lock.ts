/**
 * One trainer per run folder: RUN_DIR/train.lock holds the identity of the process training it (pid, start time,
 * host). A second trainer on the same folder is refused while that process lives (two trainers would interleave
 * metrics.jsonl and overwrite each other's checkpoints); the lock of a process that died (SIGKILL, a crash) is taken
 * over at once.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type ProcessIdentity, currentProcess, describeProcess, parseProcessIdentity, processAlive } from "../util/process.js";
import { LOCK_FILE } from "../util/run-folder.js";

/** The run folder is being trained by another live process; the message names it and the fix. */
export class RunLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunLockedError";
  }
}

/** A lock file younger than this with no readable owner is being written right now (not stale). */
const FRESH_MS = 5000;

/**
 * The live process training the run in `dir`, or null when none does (no lock, or its owner is gone). An owner on
 * another host counts as live (it cannot be checked from here).
 */
export function runFolderOwner(dir: string): ProcessIdentity | null {
  const file = join(dir, LOCK_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  const owner = parseProcessIdentity(text);
  if (!owner) {
    // being written by a process that has just created it, or left half-written by a crash long ago
    let age = Infinity;
    try {
      age = Date.now() - statSync(file).mtimeMs;
    } catch {
      return null;
    }
    return age < FRESH_MS ? { host: "?", pid: 0, start: null } : null;
  }
  return processAlive(owner) === false ? null : owner;
}

/**
 * Takes the run folder's lock for this process, or throws {@link RunLockedError} naming the live owner. Returns the
 * function that releases it (it removes the file only while it is still this process's).
 */
export function lockRunFolder(dir: string): () => void {
  const file = join(dir, LOCK_FILE);
  const me = currentProcess();
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, "wx");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = runFolderOwner(dir);
      if (owner) {
        const who = owner.pid > 0 ? describeProcess(owner) : "another process";
        throw new RunLockedError(
          `${dir} is being trained by ${who}; wait for it to finish or stop it (two trainers on one run folder would interleave its metrics)${owner.host !== me.host ? `; if that process is gone, delete ${file}` : ""}`,
        );
      }
      // the owner is gone: move its lock aside (only one of several racing takers succeeds) and try again
      try {
        renameSync(file, `${file}.stale-${me.pid}`);
        rmSync(`${file}.stale-${me.pid}`, { force: true });
      } catch {
        // another process took it over first
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    return () => {
      try {
        const owner = parseProcessIdentity(readFileSync(file, "utf8"));
        if (owner && owner.pid === me.pid && owner.host === me.host && owner.start === me.start) rmSync(file, { force: true });
      } catch {
        // already gone
      }
    };
  }
  throw new RunLockedError(`could not take the lock ${file} (other processes keep taking it); make sure one trainer uses ${dir}`);
}
