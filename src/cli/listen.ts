/** What the commands that serve a page share (serve, playground): bind errors as one line, and serving until Ctrl-C. */
import { startedByNpm, watchParent } from "../util/parent.js";
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

/**
 * Resolves once SIGINT or SIGTERM arrived — or, started through npm (`npx scaling-lab serve &`), once npm's process
 * has exited — and `close` has finished. npm's wrapper does not pass its end on to the command it runs, so without
 * the second `kill $!` would stop npm and leave the server answering.
 */
export function untilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise<void>((done) => {
    let unwatch = () => {};
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      unwatch();
      close().then(done, done);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (startedByNpm()) {
      unwatch = watchParent(() => {
        process.stderr.write("npm's process has exited; stopping the server\n");
        stop();
      });
    }
  });
}
