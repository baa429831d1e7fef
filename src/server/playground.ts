/**
 * The playground's server: the static site of `npm run build:web` (dist-web/) on 127.0.0.1, sent with the headers
 * that make the page cross-origin isolated (COOP same-origin, COEP require-corp), which is what gives it
 * SharedArrayBuffer and so the wasm backend's threads. Answers GET and HEAD only, and refuses (404) any path that
 * would leave the site's folder.
 */
import { existsSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { safeFile } from "./paths.js";
import { HttpError, sendFile } from "./server.js";

/** The default playground port. */
export const PLAYGROUND_PORT = 8471;

/** The headers of a cross-origin isolated page (and of its workers, which inherit nothing else). */
export const ISOLATION_HEADERS: Record<string, string> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/** Options of {@link startPlayground}. */
export interface PlaygroundOptions {
  /** The built site (dist-web/). */
  dir: string;
  /** Port (default 8471; 0 picks a free one). */
  port?: number;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Send the cross-origin isolation headers (default true; false serves a page without SharedArrayBuffer). */
  isolate?: boolean;
}

/** A running playground server. */
export interface Playground {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Thrown when the site has not been built; the message names the fix. */
export class PlaygroundMissingError extends Error {
  constructor(dir: string) {
    super(`no built playground in ${dir} (no index.html); build it with npm run build:web`);
    this.name = "PlaygroundMissingError";
  }
}

/** Serves the site; resolves once it listens. */
export async function startPlayground(opts: PlaygroundOptions): Promise<Playground> {
  if (!existsSync(join(opts.dir, "index.html"))) throw new PlaygroundMissingError(opts.dir);
  const host = opts.host ?? "127.0.0.1";
  const headers = opts.isolate === false ? {} : ISOLATION_HEADERS;
  const server = createServer((req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.setHeader("Allow", "GET, HEAD");
        throw new HttpError(405, "the playground is a static site: only GET and HEAD");
      }
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      const rel = path === "/" ? "index.html" : path.slice(1);
      sendFile(req, res, safeFile(opts.dir, rel), headers);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...headers });
      res.end((e as Error).message.split("\n")[0]);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? PLAYGROUND_PORT, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/`,
    port,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
