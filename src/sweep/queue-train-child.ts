/**
 * The training process a worker starts for each job: `node queue-train-child.js CONFIG_JSON OUT_DIR [--resume]`.
 * It trains with {@link runTraining} and speaks JSON lines on stdout: `{"type":"start",...}` once the backend is
 * up, then `{"type":"summary",...}` or `{"type":"error","message":...}`. A file named STOP_FILE appearing in
 * OUT_DIR (or SIGINT/SIGTERM) makes it checkpoint and stop after the current step: the file is checked after every
 * step, because training keeps the event loop busy and a signal handler would only run once training is over.
 * It exits at once, without writing anything more, when its worker is gone (killed with SIGKILL): the run's
 * folder then belongs to whichever worker takes the job over.
 * (This module runs on import: import only its types elsewhere.)
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { TrainConfigInput } from "../train/config.js";
import { runTraining } from "../train/run.js";
import { STOP_FILE } from "./queue-protocol.js";
import { exitWithParent } from "../util/process.js";

/** A JSON line from the child to its worker. */
export type ChildMessage =
  | { type: "start"; backend: string; resumedAt: number; steps: number }
  | { type: "summary"; summary: import("../train/loop.js").TrainSummary }
  | { type: "error"; message: string };

/** Exit status of a child whose worker died. */
const ORPHAN_EXIT = 137;

function say(m: ChildMessage): void {
  process.stdout.write(JSON.stringify(m) + "\n");
}

async function main(argv: string[]): Promise<number> {
  const [configPath, outDir, ...rest] = argv;
  const parent = process.ppid;
  const orphaned = () => process.ppid !== parent;
  exitWithParent(parent);
  let stop = false;
  process.on("SIGINT", () => (stop = true));
  process.on("SIGTERM", () => (stop = true));
  const stopFile = join(outDir, STOP_FILE);
  const config = JSON.parse(readFileSync(configPath, "utf8")) as TrainConfigInput;
  try {
    const { summary } = await runTraining({
      config,
      outDir,
      resume: rest.includes("--resume"),
      shouldStop: () => {
        if (orphaned()) process.exit(ORPHAN_EXIT);
        return stop || existsSync(stopFile);
      },
      onStart: ({ backend, steps, resumedAt }) => say({ type: "start", backend: backend.name, resumedAt, steps }),
    });
    say({ type: "summary", summary });
    return 0;
  } catch (e) {
    say({ type: "error", message: (e instanceof Error ? e.message : String(e)).split("\n")[0] });
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    say({ type: "error", message: String(e) });
    process.exit(1);
  },
);
