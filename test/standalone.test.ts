/**
 * The repository stands alone: no source, test, benchmark or script names a folder beside the repository (such as
 * the `shared` folder the project's reference data was first copied from), and the tests and a command that read
 * reference data pass in a copy of the repository placed where no such folder exists.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";
import { repoRoot } from "./helpers.js";

/** Paths outside the repository the project once read: `../shared`, an absolute `/work/shared`, `shared/peers`. */
const OUTSIDE = /\.\.\/shared\b|\/work\/shared\b|\bshared\/(peers|reference)\b/;

/** Every file under `dir` (recursively), skipping build output and dependencies. */
function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name === "build" || name.startsWith(".device")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

test("no file in src/, test/, bench/, scripts/, reference/, the CI or the READMEs names a folder outside the repository", () => {
  const self = join(repoRoot, "test", "standalone.test.ts"); // names the pattern it looks for
  const scanned = [
    ...["src", "test", "bench", "scripts", "reference", ".ci"].flatMap((d) => files(join(repoRoot, d))).filter((f) => !f.endsWith(".safetensors")),
    join(repoRoot, "package.json"), join(repoRoot, "README.md"),
  ];
  assert.ok(scanned.length > 100, `${scanned.length} files scanned`);
  const hits = scanned
    .filter((f) => f !== self)
    .flatMap((f) => readFileSync(f, "utf8").split("\n").map((line, i) => ({ f, i, line })))
    .filter(({ line }) => OUTSIDE.test(line))
    .map(({ f, i, line }) => `${relative(repoRoot, f)}:${i + 1}: ${line.trim()}`);
  assert.deepEqual(hits, []);
  assert.ok(OUTSIDE.test("cp ../shared/reference/x .") && OUTSIDE.test("see /work/shared/peers") && !OUTSIDE.test("a shared memory"));
});

test("the reference tests and a command reading reference data pass in a copy of the repository with nothing beside it", { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "sl-standalone-"));
  const copy = join(root, "scaling-lab");
  try {
    mkdirSync(copy);
    for (const p of ["dist/src", "dist/test", "reference", "presets", "web", "package.json"]) cpSync(join(repoRoot, p), join(copy, p), { recursive: true });
    const addon = join(repoRoot, "build", "Release", "scaling_lab.node");
    if (existsSync(addon)) cpSync(addon, join(copy, "build", "Release", "scaling_lab.node"));
    symlinkSync(realpathSync(join(repoRoot, "node_modules")), join(copy, "node_modules"));
    assert.equal(existsSync(join(copy, "..", "shared")), false);

    // the tests that read reference/ (PyTorch vectors through every CPU backend, the HF import built from them)
    const tests = ["model-reference", "model-import-score"].map((t) => `dist/test/${t}.test.js`);
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // a test runner of its own, reporting as from a shell
    const r = spawnSync(process.execPath, ["--test", ...tests], { cwd: copy, encoding: "utf8", env });
    assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr);
    assert.match(r.stdout, /^# fail 0$/m);
    assert.doesNotMatch(r.stdout, /^# pass 0$/m);

    // a command on Epoch's Chinchilla data, by the repository-relative path its --help shows
    const fit = spawnSync(process.execPath, ["dist/src/cli/main.js", "fit", "power", "--csv", "reference/chinchilla/svg_extracted_data.csv", "--json"], { cwd: copy, encoding: "utf8" });
    assert.equal(fit.status, 0, fit.stderr);
    assert.equal(JSON.parse(fit.stdout).nPoints, 245);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
