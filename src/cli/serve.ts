/** `scaling-lab serve` — the live dashboard of a lab, on this machine only by default. */
import { DEFAULT_PORT, startServer } from "../server/index.js";
import { DEFAULT_LAB_DIR } from "../store/index.js";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, UserError, intFlag, parseFlags, printJson } from "./command.js";
import { listenOrExplain, untilSignal } from "./listen.js";

const HELP = `scaling-lab serve — a live dashboard of a lab in the browser (read-only)

Usage: scaling-lab serve [--lab DIR] [--port ${DEFAULT_PORT}] [--host 127.0.0.1] [--json]

The page shows the runs table with status; loss curves that update live while a sweep trains (the server
watches the lab store and pushes changes as server-sent events); the fits (frontier, L(N), IsoFLOP, the held-out
prediction, few-shot accuracy); the forecast with sliders for the target loss, the halving time and the budget,
recomputed in the page; and text samples from any run's checkpoint. It never writes to the lab.

Flags:
  --lab DIR     the lab directory (default ${DEFAULT_LAB_DIR}); it may be empty: the page waits for a sweep
  --port P      port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host ADDR   address to bind (default 127.0.0.1, this machine only; 0.0.0.0 exposes the lab to the network)
  --json        print {url, lab} as one JSON line once listening

Stop it with Ctrl-C.

Example:
  scaling-lab sweep --lab lab --ladder cpu-xs & scaling-lab serve --lab lab   # then open http://127.0.0.1:${DEFAULT_PORT}/`;

/** The `serve` command. */
export const serveCommand: Command = {
  name: "serve",
  summary: "live dashboard: runs, live loss curves, fits, forecast sliders, samples",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("serve", argv, { lab: { type: "string" }, port: { type: "string" }, host: { type: "string" } });
    const lab = resolve(v.lab ?? DEFAULT_LAB_DIR);
    if (!existsSync(lab) || !statSync(lab).isDirectory()) {
      throw new UserError(`no lab directory at ${lab}; pass --lab DIR of a lab (or create it: scaling-lab demo --lab DIR)`);
    }
    const port = intFlag("port", v.port, DEFAULT_PORT, 0);
    if (port > 65535) throw new UserError(`--port must be at most 65535, got ${port}`);
    const host = v.host ?? "127.0.0.1";
    // one bootstrap thread: the fits must not compete with a sweep training on the same cores
    const dash = await listenOrExplain(() => startServer({ lab, port, host, report: { workers: 1 }, log: (l) => process.stderr.write(l + "\n") }), port, host);
    if (v.json) printJson({ url: dash.url, lab });
    else process.stdout.write(`dashboard of ${lab}: ${dash.url}  (Ctrl-C to stop)\n`);
    await untilSignal(() => dash.close());
    return 0;
  },
};
