/**
 * The training process a worker starts for each job: `node queue-train-child.js CONFIG_JSON OUT_DIR [--resume]`.
 * It trains with {@link runTraining} and speaks JSON lines on stdout: `{"type":"start",...}` once the backend is
 * up, then `{"type":"summary",...}` or `{"type":"error","message":...}`. SIGINT/SIGTERM checkpoint and stop.
 * It exits at once, without writing anything more, when its worker is gone (killed with SIGKILL): the run's
 * folder then belongs to whichever worker takes the job over.
 */
import { readFileSync } from "node:fs";
import type { TrainConfigInput } from "../train/config.js";
import { runTraining } from "../train/run.js";

/** A JSON line from the child to its worker. */
export type ChildMessage =
  | { type: "start"; backend: string; resumedAt: number; steps: number }
  | { type: "summary"; summary: import("../train/loop.js").TrainSummary }
  | { type: "error"; message: string };

/** Exit status of a child whose worker died. */
export const ORPHAN_EXIT = 137;

function say(m: ChildMessage): void {
  process.stdout.write(JSON.stringify(m) + "\n");
}

async function main(argv: string[]): Promise<number> {
  const [configPath, outDir, ...rest] = argv;
  const parent = process.ppid;
  const orphaned = () => process.ppid !== parent;
  const watchdog = setInterval(() => {
    if (orphaned()) process.exit(ORPHAN_EXIT);
  }, 500);
  watchdog.unref();
  let stop = false;
  process.on("SIGINT", () => (stop = true));
  process.on("SIGTERM", () => (stop = true));
  const config = JSON.parse(readFileSync(configPath, "utf8")) as TrainConfigInput;
  try {
    const { summary } = await runTraining({
      config,
      outDir,
      resume: rest.includes("--resume"),
      shouldStop: () => {
        if (orphaned()) process.exit(ORPHAN_EXIT);
        return stop;
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
