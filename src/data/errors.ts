/**
 * The error class of the data layer. Its message is one line that names the problem and the fix, so the CLI can
 * print it as a user error without a stack trace (the CLI converts it to its own UserError).
 */

/** Bad or unusable input data: an empty corpus, a non-UTF-8 file, a missing text field, an unsupported vocab size… */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataError";
  }
}
