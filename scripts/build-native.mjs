#!/usr/bin/env node
// Builds the optional N-API addon (native/) with node-gyp during `npm install` / `npm ci`.
// The addon is optional: when the build fails (no compiler, no OpenBLAS headers) the install still
// succeeds and scaling-lab falls back to the portable `wasm` backend, saying so in one line.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(join(root, "binding.gyp"))) process.exit(0);
if (process.env.SCALING_LAB_SKIP_NATIVE === "1") {
  console.error("scaling-lab: SCALING_LAB_SKIP_NATIVE=1, not building the native addon (the portable wasm backend will be used)");
  process.exit(0);
}
// npm exposes its bundled node-gyp through npm_config_node_gyp; fall back to one on PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, "rebuild"]] : ["node-gyp", ["rebuild"]];
const r = spawnSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
if (r.status !== 0) {
  console.error(
    "scaling-lab: the native addon did not build; the portable wasm backend will be used " +
      "(fix: apt-get install -y build-essential libopenblas-dev, then npm rebuild scaling-lab)",
  );
}
process.exit(0);
