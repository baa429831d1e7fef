/**
 * What users read when a backend is missing names the right fallback: `wasm` (the portable backend `auto` falls back
 * to), not `js` (the float64 reference, only for runtimes without WebAssembly SIMD).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createBackend } from "../src/engine/index.js";
import { repoRoot } from "./helpers.js";

const buildScript = join(repoRoot, "scripts/build-native.mjs");

test("install: skipping the native addon says the wasm backend will be used", () => {
  const r = spawnSync(process.execPath, [buildScript], { encoding: "utf8", env: { ...process.env, SCALING_LAB_SKIP_NATIVE: "1" } });
  assert.equal(r.status, 0);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /SCALING_LAB_SKIP_NATIVE=1, not building the native addon \(the portable wasm backend will be used\)/);
});

test("install: a failed addon build says the wasm backend will be used, and the install still succeeds", () => {
  const fakeGyp = join(mkdtempSync(join(tmpdir(), "sl-gyp-")), "node-gyp.js");
  writeFileSync(fakeGyp, "process.exit(1);\n");
  const env: NodeJS.ProcessEnv = { ...process.env, npm_config_node_gyp: fakeGyp };
  delete env.SCALING_LAB_SKIP_NATIVE;
  const r = spawnSync(process.execPath, [buildScript], { encoding: "utf8", env });
  assert.equal(r.status, 0, "npm install must not fail for a missing compiler");
  assert.match(r.stderr, /the native addon did not build; the portable wasm backend will be used \(fix: apt-get install/);
  assert.doesNotMatch(r.stderr, /\bjs backend\b/);
});

test("webgpu: without an adapter the fix names native or wasm", async () => {
  const saved = process.env.SCALING_LAB_DAWN_FLAGS;
  process.env.SCALING_LAB_DAWN_FLAGS = "adapter=no-such-adapter-scaling-lab";
  try {
    await assert.rejects(createBackend("webgpu"), (e: Error) => {
      assert.match(e.message, /or use --backend native or wasm$/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.SCALING_LAB_DAWN_FLAGS;
    else process.env.SCALING_LAB_DAWN_FLAGS = saved;
  }
});
