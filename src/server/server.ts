/**
 * The dashboard server (node:http, read-only): the page and its scripts, a JSON API over the lab store, a stream
 * of server-sent events that fires when runs move, text samples from checkpoints, and the lab's own files under
 * /lab/. It binds to 127.0.0.1 unless told otherwise, answers only GET and HEAD, and refuses (404) any request
 * path that would leave its directory.
 *
 *   GET /                          the dashboard page (web/index.html)
 *   GET /static/FILE               web/FILE
 *   GET /vendor/vega(-lite).min.js vega's browser builds, from node_modules
 *   GET /js/MODULE.js              the report's browser-safe modules (chart specs, forecast math, formatting)
 *   GET /api/lab                   {dir, exists, sweeps, runs}
 *   GET /api/runs?sweep=S          the runs (of one sweep), each with its last logged step
 *   GET /api/metrics?run=ID&after=STEP   a run's metric rows after STEP
 *   GET /api/report?sweep=S        the report data (fits, prediction, forecast) of a sweep
 *   GET /api/events                server-sent events: "lab" with the snapshot whenever a run moves
 *   GET /api/sample?run=ID&prompt=P&tokens=N&temperature=T&seed=S   text from the run's checkpoint
 *   GET /lab/PATH                  a file inside the lab directory
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { isAbsolute, join } from "node:path";
import { ReportError } from "../report/data.js";
import type { CollectOptions } from "../report/data.js";
import { CHECKPOINT_FILE } from "../util/run-folder.js";
import { LabWatcher } from "./live.js";
import { PAGE_MODULES, contentType, safeFile, vendorFiles, webDir } from "./paths.js";
import { MAX_SAMPLE_TOKENS, sampleRun } from "./sample.js";

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** The lab directory (it may not hold a database yet: the page waits for one). */
  lab: string;
  /** Port (default 8470; 0 picks a free one). */
  port?: number;
  /** Address to bind (default 127.0.0.1: this machine only). */
  host?: string;
  /** How often the event stream looks at the store, in ms (default 1000). */
  pollMs?: number;
  /** Options of the report data (bootstrap size, forecast assumptions). */
  report?: CollectOptions;
  /** Request errors and other lines. */
  log?: (line: string) => void;
}

/** A running dashboard. */
export interface Dashboard {
  /** http://HOST:PORT/ */
  url: string;
  port: number;
  host: string;
  server: Server;
  /** Stops the server, its event streams and the store connection. */
  close(): Promise<void>;
}

/** The default dashboard port. */
export const DEFAULT_PORT = 8470;

/** An HTTP error with a status code and a one-line message (sent as JSON {error}). */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Starts the dashboard server; resolves once it listens. */
export async function startServer(opts: ServeOptions): Promise<Dashboard> {
  const host = opts.host ?? "127.0.0.1";
  const watcher = new LabWatcher(opts.lab, opts.report ?? {});
  const log = opts.log ?? (() => {});
  const web = webDir();
  const vendor = vendorFiles();
  const events = new EventHub(watcher, opts.pollMs ?? 1000, log);

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof ReportError ? 404 : 500;
      if (status === 500) log(`serve: ${req.url}: ${(e as Error).stack ?? e}`);
      if (!res.headersSent) sendJson(res, status, { error: (e as Error).message.split("\n")[0] });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      throw new HttpError(405, "the dashboard is read-only: only GET and HEAD");
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    const q = url.searchParams;
    if (path === "/" || path === "/index.html") return sendFile(req, res, join(web, "index.html"));
    if (path === "/favicon.ico") {
      res.writeHead(204);
      res.end();
      return;
    }
    if (path.startsWith("/static/")) return sendFile(req, res, safeFile(web, path.slice("/static/".length)));
    if (path.startsWith("/vendor/")) return sendFile(req, res, vendor[path.slice("/vendor/".length)] ?? null);
    if (path.startsWith("/js/")) return sendFile(req, res, PAGE_MODULES[path.slice("/js/".length)] ?? null);
    if (path.startsWith("/lab/")) return sendFile(req, res, safeFile(watcher.dir, path.slice("/lab/".length)));
    if (path === "/api/lab") return sendJson(res, 200, watcher.snapshot());
    if (path === "/api/runs") {
      const snap = watcher.snapshot();
      const sweep = q.get("sweep");
      return sendJson(res, 200, { runs: sweep === null ? snap.runs : snap.runs.filter((r) => r.sweep === sweep) });
    }
    if (path === "/api/metrics") {
      const id = q.get("run") ?? "";
      const after = intParam(q, "after", -1, -1, Number.MAX_SAFE_INTEGER);
      const rows = watcher.metrics(id, after);
      if (!rows) throw new HttpError(404, `no run "${id}" in the lab`);
      return sendJson(res, 200, { run: id, rows });
    }
    if (path === "/api/report") {
      const data = await watcher.report(q.get("sweep") ?? undefined);
      if (!data) throw new HttpError(404, `the lab ${watcher.dir} has no database yet; start a sweep there`);
      return sendJson(res, 200, data);
    }
    if (path === "/api/events") return events.subscribe(req, res);
    if (path === "/api/sample") return sendJson(res, 200, await sample(q));
    throw new HttpError(404, `no such page: ${path}`);
  }

  async function sample(q: URLSearchParams) {
    const id = q.get("run") ?? "";
    const run = watcher.run(id);
    if (!run) throw new HttpError(404, `no run "${id}" in the lab`);
    const dir = isAbsolute(run.dir) ? run.dir : join(watcher.dir, run.dir);
    if (!existsSync(join(dir, CHECKPOINT_FILE))) throw new HttpError(404, `run "${id}" has no checkpoint yet; sample once it has saved one`);
    const prompt = q.get("prompt") ?? "";
    if (prompt.length > 2000) throw new HttpError(400, "prompt is longer than 2000 characters; shorten it");
    const temperature = Number(q.get("temperature") ?? "0.8");
    if (!(temperature >= 0 && temperature <= 5)) throw new HttpError(400, "temperature must be a number from 0 to 5");
    return sampleRun(watcher.dir, run, {
      prompt,
      maxTokens: intParam(q, "tokens", 60, 1, MAX_SAMPLE_TOKENS),
      temperature,
      seed: intParam(q, "seed", 0, 0, 2 ** 31 - 1),
    });
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? DEFAULT_PORT, host, () => {
      server.off("error", reject);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    host,
    server,
    async close() {
      events.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      watcher.close();
    },
  };
}

/** The server-sent event stream: one poll of the store per interval while anyone listens, an event on change. */
class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;
  private last = "";

  constructor(private readonly watcher: LabWatcher, private readonly pollMs: number, private readonly log: (l: string) => void) {}

  subscribe(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive", "X-Content-Type-Options": "nosniff" });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    res.write(`retry: 2000\n\n`);
    this.clients.add(res);
    this.send(res, JSON.stringify(this.watcher.snapshot()));
    req.on("close", () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    if (!this.timer) this.timer = setInterval(() => this.poll(), this.pollMs);
  }

  close(): void {
    this.stop();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private poll(): void {
    let body: string;
    try {
      const snap = this.watcher.snapshot();
      body = JSON.stringify(snap);
      const sig = JSON.stringify([snap.sweeps, snap.runs.map((r) => [r.id, r.status, r.heartbeat, r.tokensDone, r.lastStep])]);
      if (sig === this.last) return;
      this.last = sig;
    } catch (e) {
      this.log(`serve: reading the lab failed: ${(e as Error).message}`);
      return;
    }
    for (const c of this.clients) this.send(c, body);
  }

  private send(res: ServerResponse, body: string): void {
    res.write(`event: lab\ndata: ${body}\n\n`);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.last = "";
  }
}

function intParam(q: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = q.get(name);
  if (raw === null || raw === "") return fallback;
  const x = Number(raw);
  if (!Number.isInteger(x) || x < min || x > max) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return x;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
  });
  res.end(res.req?.method === "HEAD" ? undefined : body);
}

/** Sends a file (404 for null or a missing file), with `headers` added to the usual ones. */
export function sendFile(req: IncomingMessage, res: ServerResponse, file: string | null, headers: Record<string, string> = {}): void {
  if (!file || !existsSync(file) || !statSync(file).isFile()) throw new HttpError(404, `not found: ${new URL(req.url ?? "/", "http://localhost").pathname}`);
  res.writeHead(200, {
    "Content-Type": contentType(file),
    "Content-Length": statSync(file).size,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    ...headers,
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}
