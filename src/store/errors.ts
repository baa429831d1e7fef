/** The store's one error class: every message is one line that names the problem and the fix. */

/** What went wrong, for callers that react differently (the CLI prints all of them as one line). */
export type LabErrorCode =
  | "locked" // another process held the database past the busy timeout
  | "newer-version" // the lab was written by a newer scaling-lab
  | "not-found" // no lab at the directory (and creation was not asked for)
  | "not-a-lab" // the file is not a scaling-lab database
  | "damaged" // lab.sqlite is empty, truncated or corrupt (rebuild it from the run folders: runs --rebuild)
  | "exists" // an import would overwrite another run
  | "unknown-run" // no run with that id
  | "unknown-sweep" // no sweep with that name
  | "invalid"; // bad input (a malformed id, a run folder without config.json, ...)

/** An error from the lab store; `message` is one line naming the fix. */
export class LabError extends Error {
  /** The kind of failure. */
  readonly code: LabErrorCode;
  constructor(code: LabErrorCode, message: string) {
    super(message);
    this.name = "LabError";
    this.code = code;
  }
}
