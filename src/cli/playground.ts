/** `scaling-lab playground` — the scaling experiment in a web page: the built site served on this machine. */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { playgroundDir } from "../server/paths.js";
import { PLAYGROUND_PORT, PlaygroundMissingError, startPlayground } from "../server/playground.js";
import { type Command, UserError, intFlag, parseFlags, printJson } from "./command.js";
import { listenOrExplain, untilSignal } from "./listen.js";

const HELP = `scaling-lab playground — train a ladder of tiny GPTs in your browser and watch the scaling law appear

Usage: scaling-lab playground [--port ${PLAYGROUND_PORT}] [--host 127.0.0.1] [--dir DIR] [--no-isolation] [--json]

Serves the static site that npm run build:web writes to dist-web/: pick sizes of the playground ladder and a token
budget, and the page trains them one after another in a Web Worker (the wasm backend's matrix products on every
core, or WebGPU where the browser has it), draws the learning curves against compute with the fitted frontier,
predicts the largest size's loss before it trains and scores the prediction, and forecasts with sliders. Finished
runs stay in the browser; "Export the runs" saves them as a bundle that scaling-lab runs --import reads.

The server sends the cross-origin isolation headers (COOP/COEP) that give the page SharedArrayBuffer, and so
threads; any static host that sends them can serve dist-web/ as well.

Flags:
  --port P         port (default ${PLAYGROUND_PORT}; 0 picks a free one)
  --host ADDR      address to bind (default 127.0.0.1, this machine only)
  --dir DIR        the built site (default: dist-web/ of this package)
  --no-isolation   serve without COOP/COEP (the page then trains on one thread; for trying that case)
  --json           print {url, dir, isolated} as one JSON line once listening

Stop it with Ctrl-C.

Example:
  npm run build:web && scaling-lab playground --port 8471   # then open http://127.0.0.1:8471/`;

/** The `playground` command. */
export const playgroundCommand: Command = {
  name: "playground",
  summary: "the scaling experiment in a web page: serve the browser playground (npm run build:web)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags("playground", argv, {
      port: { type: "string" }, host: { type: "string" }, dir: { type: "string" }, "no-isolation": { type: "boolean" },
    });
    const dir = resolve((v.dir as string | undefined) ?? playgroundDir());
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new UserError(`no built playground at ${dir}; build it with npm run build:web (or pass --dir DIR of a built site)`);
    }
    const port = intFlag("port", v.port as string | undefined, PLAYGROUND_PORT, 0);
    if (port > 65535) throw new UserError(`--port must be at most 65535, got ${port}`);
    const host = (v.host as string | undefined) ?? "127.0.0.1";
    const isolated = !v["no-isolation"];
    const site = await listenOrExplain(async () => {
      try {
        return await startPlayground({ dir, port, host, isolate: isolated });
      } catch (e) {
        throw e instanceof PlaygroundMissingError ? new UserError(e.message) : e;
      }
    }, port, host);
    if (v.json) printJson({ url: site.url, dir, isolated });
    else process.stdout.write(`playground: ${site.url}  (${dir}${isolated ? "" : ", not cross-origin isolated"}; Ctrl-C to stop)\n`);
    await untilSignal(() => site.close());
    return 0;
  },
};
