/**
 * Redis connections for the coordinator and the workers: parsing `redis://host:port[/db][?queue=NAME]`, ioredis
 * clients that retry forever with capped exponential backoff (commands wait while Redis is away and go out when
 * it returns), and one log line when Redis goes away and one when it is back.
 */
import { Redis } from "ioredis";

/** A Redis URL that cannot be used; the message names the fix. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisUrlError";
  }
}

/** Where the queue lives. */
export interface RedisTarget {
  /** The URL handed to ioredis (without scaling-lab's own `queue` parameter). */
  url: string;
  /** BullMQ queue name. */
  queue: string;
  /** host:port/db, for messages (no password). */
  display: string;
}

/** Most milliseconds between reconnection attempts. */
export const MAX_BACKOFF_MS = 2000;

/**
 * Parses `redis://[user:password@]host[:port][/db][?queue=NAME]` (or `rediss://` for TLS). The queue defaults to
 * `defaultQueue`; a queue name is letters, digits, '.', '_' or '-'.
 */
export function parseRedisUrl(raw: string, defaultQueue: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new RedisUrlError(`"${raw}" is not a URL; write the Redis address as redis://host:6379`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new RedisUrlError(`"${raw}" is not a redis:// URL; write the Redis address as redis://host:6379`);
  }
  if (!u.hostname) throw new RedisUrlError(`"${raw}" names no host; write redis://host:6379`);
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw new RedisUrlError(`"${raw}": the path must be a database number (redis://host:6379/0)`);
  const queue = u.searchParams.get("queue") ?? defaultQueue;
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/.test(queue)) {
    throw new RedisUrlError(`queue name "${queue}" in "${raw}": use letters, digits, '.', '_' or '-'`);
  }
  u.searchParams.delete("queue");
  const port = u.port || "6379";
  return { url: u.toString(), queue, display: `${u.hostname}:${port}${db ? `/${db}` : ""}` };
}

/** Whether an error means the connection to Redis is down (as opposed to a command failing). */
export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | undefined;
  if (!err) return false;
  if (err.code && ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"].includes(err.code)) {
    return true;
  }
  return /Connection is closed|connect ETIMEDOUT|Socket closed|Stream isn't writeable|LOADING/i.test(err.message ?? "");
}

/**
 * The Redis connections of one process (a coordinator or a worker). Every connection made here retries forever
 * with capped exponential backoff; {@link RedisLink.onError} turns connection errors from any source (these
 * clients, BullMQ's own) into one "lost" line per outage, and the first reconnect prints one "back" line.
 */
export class RedisLink {
  private readonly clients: Redis[] = [];
  private down = false;
  private everReady = false;
  private closed = false;

  /**
   * @param target where Redis is
   * @param who who is speaking in log lines ("sweep", "worker NAME")
   * @param log where the lines go (stderr in the CLI)
   */
  constructor(
    readonly target: RedisTarget,
    private readonly who: string,
    private readonly log: (line: string) => void,
  ) {}

  /** A new client (BullMQ needs maxRetriesPerRequest null: commands wait for a reconnect instead of failing). */
  connect(): Redis {
    const c = new Redis(this.target.url, {
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), MAX_BACKOFF_MS),
    });
    c.on("error", (e: unknown) => this.onError(e));
    c.on("ready", () => this.onReady());
    this.clients.push(c);
    return c;
  }

  /** Whether the last thing heard is that Redis is away. */
  get isDown(): boolean {
    return this.down;
  }

  /** Reports an error from any Redis user; connection errors start an outage (one line), others are logged. */
  onError(e: unknown): void {
    if (this.closed) return;
    if (isConnectionError(e)) {
      if (this.down) return;
      this.down = true;
      const reason = (e as { code?: string }).code ?? firstLine(e);
      this.log(
        this.everReady
          ? `${this.who}: lost Redis at ${this.target.display} (${reason}); retrying with backoff (up to ${MAX_BACKOFF_MS / 1000} s apart), work continues when it is back`
          : `${this.who}: cannot reach Redis at ${this.target.display} (${reason}); retrying with backoff — is redis-server running there?`,
      );
      return;
    }
    this.log(`${this.who}: redis: ${firstLine(e)}`);
  }

  private onReady(): void {
    if (this.down && !this.closed) this.log(`${this.who}: Redis at ${this.target.display} is back; continuing`);
    this.down = false;
    this.everReady = true;
  }

  /** Closes every client made here (pending commands are dropped). */
  close(): void {
    this.closed = true;
    for (const c of this.clients) c.disconnect();
  }
}

/** The first line of an error's message. */
export function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split("\n")[0];
}
