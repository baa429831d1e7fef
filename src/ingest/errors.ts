/** The ingest module's one error class: a one-line message that names the file, the problem and the fix. */

/** A source that cannot be imported (unknown format, truncated record, missing field, NaN loss, ...). */
export class IngestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IngestError";
  }
}
