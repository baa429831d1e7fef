/**
 * The dashboard server over HTTP: the page and its scripts, the read-only JSON API, path traversal refused with
 * 404 (encoded dots, absolute paths, NUL, symlinks out of the lab), GET/HEAD only, the event stream firing when a
 * metric row lands, text samples from a checkpoint, and the serve command's contract.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Dashboard, startServer } from "../src/server/index.js";
import { openLab } from "../src/store/index.js";
import { repoRoot } from "./helpers.js";
import { fixtureRows, makeFixtureLab } from "./report-fixture.js";

const dirs: string[] = [];
let lab: string;
let ids: string[];
let dash: Dashboard;

before(async () => {
  lab = mkdtempSync(join(tmpdir(), "sl-serve-"));
  const outside = mkdtempSync(join(tmpdir(), "sl-serve-outside-"));
  dirs.push(lab, outside);
  ids = await makeFixtureLab(lab, { running: true, checkpoint: true });
  writeFileSync(join(lab, "notes.txt"), "lab notes\n");
  writeFileSync(join(outside, "secret.txt"), "TOP-SECRET-CONTENT\n");
  symlinkSync(join(outside, "secret.txt"), join(lab, "escape.txt"));
  symlinkSync(outside, join(lab, "escape-dir"));
  dash = await startServer({ lab, port: 0, pollMs: 100, report: { bootstrap: 30, workers: 1 } });
});

after(async () => {
  await dash?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One request with the path sent verbatim (no client-side normalisation). */
function request(path: string, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: dash.port, path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"] ?? ""), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const json = async (path: string) => {
  const r = await request(path);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  assert.match(r.type, /^application\/json/);
  return JSON.parse(r.body);
};

test("binds 127.0.0.1 and serves the page, its modules and vega from node_modules", async () => {
  assert.equal(dash.host, "127.0.0.1");
  assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const page = await request("/");
  assert.equal(page.status, 200);
  assert.match(page.body, /<script src="\/vendor\/vega\.min\.js">/);
  assert.doesNotMatch(page.body, /(src|href)="(https?:)?\/\//, "nothing from a CDN");
  for (const p of ["/static/app.js", "/static/style.css", "/vendor/vega.min.js", "/vendor/vega-lite.min.js", "/js/specs.js", "/js/forecast-math.js", "/js/format.js"]) {
    const r = await request(p);
    assert.equal(r.status, 200, p);
    assert.match(r.type, p.endsWith(".css") ? /text\/css/ : /text\/javascript/, p);
  }
  assert.match((await request("/js/specs.js")).body, /export function lossComputeSpec/);
});

test("the read-only JSON API: lab, runs, metrics after a step, report data", async () => {
  const snap = await json("/api/lab");
  assert.equal(snap.exists, true);
  assert.deepEqual(snap.sweeps, ["fx"]);
  assert.equal(snap.runs.length, 5);
  const live = snap.runs.find((r: { id: string }) => r.id === ids[4]);
  assert.equal(live.status, "running");
  assert.equal(live.lastStep, 30);
  assert.equal(snap.runs.find((r: { id: string }) => r.id === ids[0]).hasCheckpoint, true);
  assert.equal((await json("/api/runs?sweep=fx")).runs.length, 5);
  assert.equal((await json("/api/runs?sweep=other")).runs.length, 0);
  const m = await json(`/api/metrics?run=${ids[0]}&after=55`);
  assert.deepEqual(m.rows.map((r: { step: number }) => r.step), [56, 57, 58, 59, 60]);
  const report = await json("/api/report?sweep=fx");
  assert.equal(report.frontier.ok, true);
  assert.equal(report.forecast.ok, true);
  assert.equal((await request("/api/metrics?run=nope")).status, 404);
  assert.equal((await request(`/api/metrics?run=${ids[0]}&after=x`)).status, 400);
  const unknown = await request("/api/report?sweep=nope");
  assert.equal(unknown.status, 404);
  assert.match(JSON.parse(unknown.body).error, /no sweep "nope"/);
});

test("request paths never escape the lab (or the page folder): 404", async () => {
  const ok = await request("/lab/notes.txt");
  assert.equal(ok.status, 200);
  assert.equal(ok.body, "lab notes\n");
  assert.equal((await request(`/lab/runs/${ids[0]}/tokenizer.json`)).status, 200);
  const attacks = [
    "/lab/../../../../etc/passwd",
    "/lab/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/lab/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/lab/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/lab/runs/..%2f..%2f..%2f..%2f..%2fetc/passwd",
    "/lab/%2fetc%2fpasswd",
    "/lab//etc/passwd",
    "/lab/..%5c..%5cetc%5cpasswd",
    "/lab/notes.txt%00.png",
    "/lab/escape.txt",
    "/lab/escape-dir/secret.txt",
    "/lab/runs",
    "/lab/%E0%A4%A",
    "/static/..%2f..%2fpackage.json",
    "/static/%2e%2e/package.json",
    "/js/..%2fserver%2fserver.js",
    "/vendor/..%2f..%2fpackage.json",
  ];
  for (const path of attacks) {
    const r = await request(path);
    assert.equal(r.status, 404, `${path} → ${r.status} ${r.body.slice(0, 80)}`);
    assert.doesNotMatch(r.body, /root:|TOP-SECRET-CONTENT|"name": "scaling-lab"/);
  }
});

test("only GET and HEAD: the dashboard never writes", async () => {
  for (const method of ["POST", "PUT", "DELETE"]) {
    const r = await request("/api/lab", method);
    assert.equal(r.status, 405, method);
  }
  const head = await request("/lab/notes.txt", "HEAD");
  assert.equal(head.status, 200);
  assert.equal(head.body, "");
});

test("the event stream sends the lab, then again when a metric row lands", async () => {
  const events: { lastStep: number | null }[] = [];
  const req = http.get({ host: "127.0.0.1", port: dash.port, path: "/api/events" });
  const done = new Promise<void>((resolve, reject) => {
    req.on("response", (res) => {
      assert.match(String(res.headers["content-type"]), /text\/event-stream/);
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split("\n").find((l) => l.startsWith("data: "));
          if (!block.includes("event: lab") || !data) continue;
          const snap = JSON.parse(data.slice(6));
          events.push(snap.runs.find((r: { id: string }) => r.id === ids[4]));
          if (events.length === 1) {
            const w = openLab(lab);
            try {
              w.appendMetrics(ids[4], fixtureRows(w.getRun(ids[4])!.N, 31, 31, 60));
            } finally {
              w.close();
            }
          }
          if (events.at(-1)!.lastStep === 31) resolve();
        }
      });
    });
    req.on("error", reject);
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event with step 31; got ${JSON.stringify(events.map((e) => e.lastStep))}`)), 10_000);
  });
  try {
    await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
    req.destroy();
  }
  assert.equal(events[0].lastStep, 30);
});

test("text samples from a run's checkpoint; clear errors without one or with bad parameters", async () => {
  const s = await json(`/api/sample?run=${ids[0]}&prompt=${encodeURIComponent("The whale")}&tokens=6&temperature=0&seed=1`);
  assert.equal(s.run, ids[0]);
  assert.equal(s.prompt, "The whale");
  assert.equal(typeof s.text, "string");
  assert.ok(s.tokens >= 1 && s.tokens <= 6, `${s.tokens} tokens`);
  const again = await json(`/api/sample?run=${ids[0]}&prompt=${encodeURIComponent("The whale")}&tokens=6&temperature=0&seed=1`);
  assert.equal(again.text, s.text, "greedy sampling is deterministic");
  const none = await request(`/api/sample?run=${ids[1]}`);
  assert.equal(none.status, 404);
  assert.match(JSON.parse(none.body).error, /has no checkpoint yet/);
  assert.equal((await request(`/api/sample?run=${ids[0]}&tokens=999`)).status, 400);
  assert.equal((await request(`/api/sample?run=${ids[0]}&temperature=-1`)).status, 400);
});

test("scaling-lab serve: --json prints the URL, serves, stops on SIGTERM; one-line errors", async () => {
  const cli = join(repoRoot, "dist/src/cli/main.js");
  const child = spawn(process.execPath, [cli, "serve", "--lab", lab, "--port", "0", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
    child.on("exit", (code) => reject(new Error(`serve exited ${code}`)));
  });
  const { url } = JSON.parse(line);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const status = await new Promise<number>((resolve, reject) => http.get(`${url}api/lab`, (res) => { res.resume(); resolve(res.statusCode!); }).on("error", reject));
  assert.equal(status, 200);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
  for (const args of [["--lab", join(lab, "missing")], ["--lab", lab, "--port", "99999"]]) {
    const bad = spawnSync(process.execPath, [cli, "serve", ...args], { encoding: "utf8" });
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
  }
});
