#!/usr/bin/env node
// `npm run build:web`: the browser playground as a static site in dist-web/ — index.html, the page and its trainer
// worker bundled by esbuild from the same TypeScript modules as the CLI (src/playground/ is the page's own code),
// and a slice of the built-in corpus prepared by the project's prepare code (data/: manifest, tokenizer, shards).
//
// Node-only imports on the page's paths resolve to stubs that throw "not available in a browser" if ever called
// (the code paths the page uses have browser seams: threads, WebGPU, the run sink, in-memory shards); node:crypto
// resolves to a small SHA-256 (scripts/web-shims/crypto.mjs) for the tokenizer's fingerprint.
//
// Usage: node scripts/build-web.mjs [--out DIR] [--quiet]   (after `tsc -p .`, which npm run build:web runs first)
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The corpus slice the page trains on: prepared by `scaling-lab prepare`'s own function. */
export const SLICE = { sources: ["builtin:moby-dick"], tokenizer: "bpe", vocabSize: 512, valFraction: 0.05, seed: 0 };
/** The ladder the page offers (presets/ladders.json). */
export const LADDER = "playground";

/** Node built-ins, as esbuild sees them imported (with and without the node: prefix). */
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
/** npm packages that only run in Node (native addons, file readers) but sit on import paths the bundle follows. */
const NODE_PACKAGES = ["better-sqlite3", "@resvg/resvg-js", "hyparquet", "hyparquet-writer", "webgpu", "bullmq", "ioredis", "gpt-tokenizer"];

/** esbuild plugin: Node-only modules become stubs whose every export throws when used. */
function nodeStubs() {
  return {
    name: "node-stubs",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.replace(/^node:/, "");
        if (NODE_BUILTINS.has(args.path) || NODE_PACKAGES.some((p) => args.path === p || args.path.startsWith(p + "/"))) {
          return { path: bare, namespace: "node-stub" };
        }
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: "node-stub" }, async (args) => {
        if (args.path === "crypto") return { contents: readFileSync(join(root, "scripts/web-shims/crypto.mjs"), "utf8"), loader: "js" };
        let names = [];
        if (NODE_BUILTINS.has(args.path)) names = Object.keys(await import(`node:${args.path}`)).filter((n) => n !== "default");
        const ids = names.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));
        const lines = [
          `const unavailable = (name) => function () { throw new Error(name + " is not available in a browser (scaling-lab playground)"); };`,
          ...ids.map((n) => `export const ${n} = unavailable(${JSON.stringify(`${args.path}.${n}`)});`),
          `export default new Proxy({}, { get: (_, k) => unavailable(${JSON.stringify(args.path)} + "." + String(k)) });`,
        ];
        return { contents: lines.join("\n"), loader: "js" };
      });
    },
  };
}

/** Prepares the corpus slice into DIR unless it is there already for the same settings. */
async function prepareSlice(dir, log) {
  const key = JSON.stringify(SLICE);
  const stamp = join(dir, "slice.json");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === key && existsSync(join(dir, "manifest.json"))) return false;
  rmSync(dir, { recursive: true, force: true });
  const { prepareDataset } = await import(pathToFileURL(join(root, "dist/src/data/prepare.js")).href);
  const r = await prepareDataset({ ...SLICE, outDir: dir, onProgress: () => {} });
  writeFileSync(stamp, key);
  log(`data: ${SLICE.sources.join(",")} → ${r.manifest.tokens.train} train + ${r.manifest.tokens.val} val tokens, BPE ${SLICE.vocabSize} (${r.seconds.total.toFixed(1)} s)`);
  return true;
}

/** Bytes and gzipped bytes of every file under DIR except data/. */
function sizes(dir) {
  let bytes = 0;
  let gzip = 0;
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (relative(dir, p) !== "data") walk(p);
        continue;
      }
      const b = readFileSync(p);
      bytes += b.length;
      gzip += gzipSync(b, { level: 9 }).length;
    }
  };
  walk(dir);
  return { bytes, gzip };
}

/**
 * Builds the site into `out` (default dist-web/); resolves to what it wrote: the bundle's size (without the data
 * slice), raw and gzipped.
 */
export async function buildWeb({ out = join(root, "dist-web"), quiet = false } = {}) {
  const log = quiet ? () => {} : (line) => process.stderr.write(`build:web: ${line}\n`);
  if (!existsSync(join(root, "dist/src/data/prepare.js"))) {
    throw new Error("dist/ is missing: compile first (npx tsc -p .; npm run build:web does both)");
  }
  const esbuild = await import("esbuild");
  mkdirSync(out, { recursive: true });
  await prepareSlice(join(out, "data"), log);
  const { loadLadder } = await import(pathToFileURL(join(root, "dist/src/sweep/ladder.js")).href);
  writeFileSync(join(out, "data", "ladder.json"), JSON.stringify(loadLadder(LADDER), null, 2) + "\n");

  rmSync(join(out, "assets"), { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: "src/playground/main.ts", trainer: "src/playground/worker.ts" },
    outdir: join(out, "assets"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome111", "firefox115", "safari16.4"],
    minify: true,
    legalComments: "eof",
    metafile: true,
    logLevel: "warning",
    plugins: [nodeStubs()],
  });
  for (const f of ["index.html", "style.css"]) copyFileSync(join(root, "web/playground", f), join(out, f));
  const size = sizes(out);
  const info = { bytes: size.bytes, gzipBytes: size.gzip, inputs: Object.keys(result.metafile.inputs).length, built: new Date().toISOString() };
  writeFileSync(join(out, "build.json"), JSON.stringify(info, null, 2) + "\n");
  log(`${relative(process.cwd(), out) || out}: ${(size.bytes / 1e6).toFixed(2)} MB, ${(size.gzip / 1e6).toFixed(2)} MB gzipped (without the data slice)`);
  return { out, ...info };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--out");
  try {
    await buildWeb({ out: at >= 0 ? resolve(args[at + 1]) : undefined, quiet: args.includes("--quiet") });
  } catch (e) {
    process.stderr.write(`build:web: ${e.message.split("\n")[0]}\n`);
    process.exit(1);
  }
}
