/**
 * Which process owns something (a run folder being trained, a run claimed in the lab), and whether that owner is
 * still alive: the pid, its start time (so a reused pid is not mistaken for the owner) and the host. Also a
 * watchdog that makes a child process exit when its parent dies (Node has no PR_SET_PDEATHSIG).
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/** A process, identified across pid reuse. */
export interface ProcessIdentity {
  /** Host name of the machine it runs on. */
  host: string;
  pid: number;
  /** Its start time as the OS reports it (Linux: clock ticks since boot, /proc/PID/stat field 22); null elsewhere. */
  start: string | null;
}

/** The start time of process `pid` (Linux), or null when unknown (no /proc, or no such process). */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) is in parentheses and may hold spaces: count fields after its closing ")"
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null; // field 22 overall = index 19 after the first two
  } catch {
    return null;
  }
}

/** This process's identity. */
export function currentProcess(): ProcessIdentity {
  return { host: hostname(), pid: process.pid, start: processStartTime(process.pid) };
}

/**
 * Whether the process is still running: true or false for a process of this host, null for one on another host
 * (it cannot be checked from here). A pid that now belongs to a process started at another time is dead.
 */
export function processAlive(id: ProcessIdentity): boolean | null {
  if (id.host !== hostname()) return null;
  if (!Number.isInteger(id.pid) || id.pid <= 0) return false;
  try {
    process.kill(id.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false; // ESRCH: no such process
  }
  if (id.start === null) return true;
  const now = processStartTime(id.pid);
  return now === null ? true : now === id.start;
}

/** "pid 1234 on host" for messages. */
export function describeProcess(id: ProcessIdentity): string {
  return `pid ${id.pid} on ${id.host}`;
}

/** Parses a ProcessIdentity from JSON text; null for anything else. */
export function parseProcessIdentity(text: string | null | undefined): ProcessIdentity | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Partial<ProcessIdentity>;
    if (typeof v.host === "string" && Number.isInteger(v.pid) && (typeof v.start === "string" || v.start === null)) {
      return { host: v.host, pid: v.pid!, start: v.start ?? null };
    }
  } catch {
    // not JSON
  }
  return null;
}

/** The environment variable that names the process a child must not outlive (see {@link exitWithParent}). */
export const PARENT_PID_ENV = "SCALING_LAB_PARENT_PID";

/**
 * Exits this process (status 137, as if killed) soon after the process `parentPid` is gone: a child started by a
 * sweep or a worker dies with it instead of training on untracked. Checks every `everyMs` (default 500) on an
 * unref'd timer, so it never keeps the process alive; training yields to the event loop once a step, so the check
 * runs between steps. Returns a function that stops the watchdog.
 */
export function exitWithParent(parentPid: number = process.ppid, everyMs = 500): () => void {
  const gone = () => process.ppid !== parentPid;
  if (gone()) process.exit(137);
  const timer = setInterval(() => {
    if (gone()) process.exit(137);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
