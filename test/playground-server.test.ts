/**
 * The playground's server and command without a browser: the site's files with the cross-origin isolation headers
 * (or without, when asked), nothing outside the site's folder, and the command's one-line errors.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startPlayground } from "../src/server/playground.js";
import { assertOneLineError, cliPath, runCli } from "./helpers.js";

/** A tiny site in a folder beside a file the server must not send. */
function site(): string {
  const root = mkdtempSync(join(tmpdir(), "sl-pg-site-"));
  const dir = join(root, "site");
  mkdirSync(join(dir, "assets"), { recursive: true });
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>p</title>");
  writeFileSync(join(dir, "assets", "app.js"), "export {};");
  writeFileSync(join(root, "secret.txt"), "no");
  return dir;
}

test("the playground server sends the site cross-origin isolated, and nothing outside it", async () => {
  const dir = site();
  const s = await startPlayground({ dir, port: 0 });
  try {
    const page = await fetch(s.url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    const js = await fetch(s.url + "assets/app.js");
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.equal(js.headers.get("cross-origin-embedder-policy"), "require-corp");
    for (const path of ["../secret.txt", "%2e%2e/secret.txt", "assets/../../secret.txt", "missing.js"]) {
      assert.equal((await fetch(s.url + path)).status, 404, path);
    }
    assert.equal((await fetch(s.url, { method: "POST" })).status, 405);
  } finally {
    await s.close();
  }
  const plain = await startPlayground({ dir, port: 0, isolate: false });
  try {
    const page = await fetch(plain.url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cross-origin-embedder-policy"), null);
  } finally {
    await plain.close();
  }
});

test("scaling-lab playground: serves --dir until SIGTERM, and bad input is one line", async () => {
  const dir = site();
  assertOneLineError(runCli(["playground", "--dir", join(dir, "nope")]), "missing dir", /^scaling-lab playground: no built playground at .*nope; build it with npm run build:web/);
  const empty = mkdtempSync(join(tmpdir(), "sl-pg-empty-"));
  assertOneLineError(runCli(["playground", "--dir", empty]), "unbuilt dir", /no built playground in .* \(no index\.html\); build it with npm run build:web/);
  assertOneLineError(runCli(["playground", "--dir", dir, "--port", "70000"]), "port", /--port must be at most 65535/);
  assert.match(runCli(["playground", "--help"]).stdout, /Example:\n {2}npm run build:web && scaling-lab playground --port 8471/);

  const child = spawn(process.execPath, [cliPath, "playground", "--dir", dir, "--port", "0", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.once("exit", (code) => reject(new Error(`exited ${code} before listening`)));
  });
  const info = JSON.parse(line) as { url: string; dir: string; isolated: boolean };
  assert.equal(info.isolated, true);
  assert.equal((await fetch(info.url)).status, 200);
  const code = await new Promise<number | null>((resolve) => {
    child.once("exit", resolve);
    child.kill("SIGTERM");
  });
  assert.equal(code, 0);
});
