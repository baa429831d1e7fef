/** The engine's user-facing error: the CLI prints it as one line (exit status 2), as with any bad input. */

/**
 * A backend cannot be used, or cannot do what was asked of it (no addon, no GPU adapter, a model beyond its memory);
 * the message is one line that says why and names the fix.
 */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendUnavailableError";
  }
}
