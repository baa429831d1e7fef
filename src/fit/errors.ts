/**
 * The error a fit raises for bad input (missing columns, non-positive values, too few points, a law that
 * cannot be evaluated). Its message is one line that names the problem and the fix; the CLI prints it as is.
 */

/** Bad input to a fit, a CSV load or a forecast; the message is one line naming the problem and the fix. */
export class FitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FitError";
  }
}
