/**
 * A training step allocates nothing that survives it: after a warm-up (the JIT's code and feedback settle in the first
 * few hundred steps), 3,000 more steps of a small model on each CPU backend leave the heap where it was (measured in a
 * child process with --expose-gc, after forced collections; ±250 KB is V8's own noise, so a leak of more than ~170
 * bytes a step fails).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const script = `
import { createBackend } from ${JSON.stringify(fileURLToPath(new URL("../src/engine/index.js", import.meta.url)))};
import { GPT } from ${JSON.stringify(fileURLToPath(new URL("../src/model/gpt.js", import.meta.url)))};
import { syntheticStep } from ${JSON.stringify(fileURLToPath(new URL("../src/model/synthetic-step.js", import.meta.url)))};
const out = {};
for (const name of process.argv.slice(1)) {
  const be = await createBackend(name);
  const model = new GPT(be, { vocabSize: 64, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16 }, 0);
  const step = syntheticStep(model, 4, 16);
  for (let i = 0; i < 500; i++) await step();
  globalThis.gc(); globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 3000; i++) await step();
  globalThis.gc(); globalThis.gc();
  out[name] = process.memoryUsage().heapUsed - before;
  be.dispose();
}
console.log(JSON.stringify(out));
`;

test("3,000 training steps do not grow the heap (no per-step garbage survives)", () => {
  const backends = process.env.SCALING_LAB_SKIP_NATIVE === "1" ? ["js", "wasm"] : ["js", "wasm", "native"];
  const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script, ...backends], { encoding: "utf8" });
  const growth = JSON.parse(out.trim().split("\n").pop()!) as Record<string, number>;
  for (const [name, bytes] of Object.entries(growth)) {
    assert.ok(bytes < 512 * 1024, `${name}: heap grew by ${bytes} bytes over 3,000 steps`);
  }
});
