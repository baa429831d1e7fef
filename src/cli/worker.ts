/** `scaling-lab worker` — train a sweep's runs from a Redis queue (BullMQ), on this machine. */
import { BACKEND_NAMES } from "../engine/index.js";
import { RedisUrlError } from "../sweep/redis-connection.js";
import { runWorker, type WorkerReport, WorkerSetupError } from "../sweep/redis-worker.js";
import { type Command, intFlag, numberFlag, parseFlags, printJson, UserError } from "./command.js";

const HELP = `scaling-lab worker — train runs of sweeps queued on Redis, on this machine, until stopped (Ctrl-C)

Usage: scaling-lab worker --redis redis://HOST:6379[/DB][?queue=NAME] [--concurrency K] [--artifacts DIR]
                          [--backend auto|native|wasm|js|webgpu] [--threads N] [--data DIR] [--name NAME]
                          [--lock-seconds S] [--json]

A coordinator (scaling-lab sweep ... --executor redis://HOST:6379) queues one job per run; workers on any number
of machines take them, train them, and send their metrics back; the coordinator writes the lab store.

Flags:
  --redis URL        the Redis the coordinator uses (add ?queue=NAME when the coordinator does)
  --concurrency K    runs trained at once here (default 1); --threads N cores are split between them (default: all)
  --artifacts DIR    run folders go to DIR/<run id>/ (default ./artifacts). Put DIR on a filesystem all workers
                     share and a run whose worker died resumes from its last checkpoint; otherwise it restarts
  --data DIR         the prepared data on this machine (default: the coordinator's path, e.g. a shared mount)
  --name NAME        recorded as the run's machine, with the host (default: host, CPUs, OS)
  --lock-seconds S   BullMQ lock and stalled-check interval (default 30): how soon a dead worker's run moves on
  --json             on exit, one JSON object {machine, queue, runs:[{id, status}]} on stdout

A job queued by another scaling-lab version, or for other data, is refused: it goes back to the queue and the
worker stops with a one-line error. Redis going away is retried with backoff; training goes on meanwhile.
Ctrl-C: running runs checkpoint and go back to the queue; a second Ctrl-C stops at once.

Example:
  scaling-lab worker --redis redis://10.0.0.5:6379 --artifacts /mnt/shared/artifacts --data /mnt/shared/data/builtin-2k`;

const FLAGS = {
  redis: { type: "string" }, concurrency: { type: "string" }, artifacts: { type: "string" }, backend: { type: "string" },
  threads: { type: "string" }, data: { type: "string" }, name: { type: "string" }, "lock-seconds": { type: "string" },
} as const;

/** The `worker` command: flags → {@link runWorker}; Ctrl-C/SIGTERM hand running runs back to the queue. */
export const workerCommand: Command = {
  name: "worker",
  summary: "train runs of sweeps queued on Redis (for sweep --executor redis://...)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("worker", argv, FLAGS);
    if (!v.redis) throw new UserError("--redis URL is required (the coordinator's Redis, e.g. --redis redis://10.0.0.5:6379)");
    const backend = v.backend;
    if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
      throw new UserError(`unknown --backend "${backend}" (use one of: ${BACKEND_NAMES.join(", ")})`);
    }
    const lockSeconds = numberFlag("lock-seconds", v["lock-seconds"], 30);
    if (!(lockSeconds >= 1)) throw new UserError(`--lock-seconds must be at least 1, got "${v["lock-seconds"]}"`);
    const controller = new AbortController();
    const log = (line: string) => process.stderr.write(line + "\n");
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals === 1) {
        log("worker: stopping: running runs checkpoint and go back to the queue (Ctrl-C again to stop at once)");
        controller.abort();
      } else {
        process.exit(130);
      }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    let report: WorkerReport;
    try {
      report = await runWorker({
        redis: v.redis,
        concurrency: intFlag("concurrency", v.concurrency, 1, 1),
        artifacts: v.artifacts,
        backend,
        threads: v.threads ? intFlag("threads", v.threads, 1, 1) : undefined,
        data: v.data,
        name: v.name,
        lockSeconds,
        log,
        signal: controller.signal,
      }).catch((e) => {
        if (e instanceof RedisUrlError || e instanceof WorkerSetupError) throw new UserError(e.message);
        throw e;
      });
    } finally {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
    if (v.json) printJson(report);
    else log(`worker: stopped after ${report.runs.filter((r) => r.status === "done").length} runs done here`);
    return report.refused ? 2 : 0; // the refusal was logged as one line

  },
};
