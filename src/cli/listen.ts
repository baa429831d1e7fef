/** What the commands that serve a page share (serve, playground): bind errors as one line, and serving until Ctrl-C. */
import { UserError } from "./command.js";

/** Starts a server; a port in use or an address not of this machine becomes a one-line UserError naming the fix. */
export async function listenOrExplain<T>(start: () => Promise<T>, port: number, host: string): Promise<T> {
  try {
    return await start();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new UserError(`port ${port} on ${host} is in use; choose another with --port (0 picks a free one)`);
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new UserError(`cannot bind ${host}; pass --host 127.0.0.1 or an address of this machine`);
    throw e;
  }
}

/** Resolves once SIGINT or SIGTERM arrived and `close` has finished. */
export function untilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      close().then(done, done);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
